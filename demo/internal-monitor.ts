// The demo's stand-in for an authority's own monitoring (a Zabbix inside Skattestyrelsen): it knows
// from the inside whether its systems' back ends are up, and reports that to the collector as an
// external source (docs/external.md), so the demo shows one more vantage point beside the agent.
import type { Logger } from 'pino';
import type { Simulator } from './simulator.js';

export const MONITOR_ID = 'skat-zabbix';

export interface InternalMonitor {
  stop(): Promise<void>;
}

/** Reports each system's state every `intervalMs`, as a real Zabbix would after each check. */
export function startInternalMonitor(opts: {
  collectorUrl: string;
  token: string;
  systems: readonly string[];
  simulator: Simulator;
  intervalMs: number;
  logger: Logger;
}): InternalMonitor {
  let running: Promise<void> = Promise.resolve();
  let warned = false;
  const reportAll = async (): Promise<void> => {
    for (const id of opts.systems) {
      const fault = opts.simulator.systems.find((s) => s.id === id)?.fault;
      if (fault === undefined) continue;
      const up = fault.mode !== 'down' && fault.mode !== 'error';
      try {
        const r = await fetch(`${opts.collectorUrl}/api/v1/systems/${id}/reports`, {
          method: 'POST',
          headers: { authorization: `Bearer ${opts.token}`, 'content-type': 'application/json' },
          body: JSON.stringify(up ? { status: 'operational' } : { status: 'major_outage', message: `back end ${fault.mode} (internal check)` }),
          signal: AbortSignal.timeout(opts.intervalMs),
        });
        await r.body?.cancel();
        if (r.status !== 202 && !warned) {
          warned = true;
          opts.logger.warn({ status: r.status, system: id }, 'the demo monitor\'s report was refused');
        }
      } catch {
        // The collector is starting or stopping; the next round tries again.
      }
    }
  };
  const timer = setInterval(() => {
    running = running.then(reportAll);
  }, opts.intervalMs);
  running = reportAll();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
