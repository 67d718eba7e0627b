// The uptime gauges (vagt_system_uptime_ratio) for the last 24 hours and 30 days. Computing them
// reads a month of timeline per system, so it runs on a timer, not at scrape time, and a scrape
// reads the last result.
import type { SystemConfig } from '../../config/schema.js';
import type { UptimeSeries, UptimeTarget } from '../metrics.js';
import type { Store } from '../store/types.js';
import { calendarOf, systemUptime } from './system-uptime.js';
import { targetFor } from './uptime.js';

export const UPTIME_PERIODS = [
  { period: '24h', ms: 86_400_000 },
  { period: '30d', ms: 30 * 86_400_000 },
] as const;

/** The declared targets (sla.uptime) per system and window; straight from the configuration. */
export function uptimeTargets(systems: readonly SystemConfig[], timezone: string): UptimeTarget[] {
  const out: UptimeTarget[] = [];
  for (const s of systems) {
    if (s.sla === undefined) continue;
    for (const window of calendarOf(s, timezone).names) {
      const t = targetFor(s.sla.uptime, window);
      // toPrecision: 99.9 / 100 is 0.9990000000000001 in binary, and would be exported so.
      if (t !== null) out.push({ system: s.id, window, ratio: Number((t / 100).toPrecision(12)) });
    }
  }
  return out;
}

export class UptimeGauges {
  #series: UptimeSeries[] = [];
  #running: Promise<void> | undefined;

  series(): readonly UptimeSeries[] {
    return this.#series;
  }

  /** Resolves when no refresh is running: the store may close then. */
  async settled(): Promise<void> {
    await this.#running?.catch(() => undefined);
  }

  /** Recomputes every series; a refresh asked for while one runs joins it. */
  refresh(store: Store, systems: readonly SystemConfig[], timezone: string, now: number): Promise<void> {
    this.#running ??= this.#compute(store, systems, timezone, now).finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #compute(store: Store, systems: readonly SystemConfig[], timezone: string, now: number): Promise<void> {
    const next: UptimeSeries[] = [];
    for (const system of systems) {
      for (const { period, ms } of UPTIME_PERIODS) {
        const windows = await systemUptime(store, system, { from: now - ms, to: now, now, view: 'perceived', timezone });
        for (const [window, u] of Object.entries(windows))
          if (u.uptime !== null) next.push({ system: system.id, window, period, ratio: u.uptime / 100 });
      }
      // The store answers synchronously (SQLite): yield between systems, or ingest would wait for all of them.
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.#series = next;
  }
}
