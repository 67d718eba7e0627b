// The text `vagt demo` prints once everything is up.
import type { Config } from '../config/schema.js';
import { formatDuration } from '../lib/duration.js';
import { describeFault } from './faults.js';
import type { Simulator } from './simulator.js';
import { DEMO_USER } from './systems.js';

/** The parts of a running demo the banner reads; `collector.url` is the collector's origin. */
export interface BannerInput {
  collector: { url: string };
  simulator: Simulator;
  config?: Config;
}

/** What `vagt demo` prints once everything is up: the URLs and how to inject faults. */
export function demoBanner(demo: BannerInput): string {
  const base = demo.collector.url.replace(/\/$/, '');
  const ctl = demo.simulator.controlUrl;
  const systems = demo.simulator.systems;
  const idWidth = Math.max(...systems.map((s) => s.id.length));
  const nameWidth = Math.max(...systems.map((s) => s.name.length));
  const every = demo.config === undefined ? '' : ` every ${formatDuration(demo.config.defaults.interval)}`;
  const borger = systems.find((s) => s.id === 'borger-dk');
  const lines = [
    'vagt demo is running.',
    '',
    `  Status page   ${base}/`,
    `  Status API    ${base}/api/v1/status`,
    `  Metrics       ${base}/metrics`,
    '',
    `Simulated systems, probed${every} by the local agent:`,
    ...systems.map((s) => {
      const fault = s.fault.mode === 'up' ? '' : `   [${describeFault(s.fault)}]`;
      return `  ${s.id.padEnd(idWidth)}  ${s.name.padEnd(nameWidth)}  ${s.url}/${fault}`;
    }),
    '',
    `Demo login: user "${DEMO_USER.user}", password "${DEMO_USER.password}"` +
      (borger === undefined ? '' : ` at ${borger.url}/log-ind`),
    '',
    `Inject faults through the control endpoint ${ctl}:`,
    `  curl -s -X POST ${ctl}/systems/mitid/fault -H 'content-type: application/json' -d '{"mode":"down"}'`,
    `  curl -s -X POST ${ctl}/systems/virk/fault -H 'content-type: application/json' -d '{"mode":"slow","latency_ms":3000}'`,
    `  curl -s -X POST ${ctl}/systems/nemkonto/fault -H 'content-type: application/json' -d '{"mode":"error"}'`,
    `  curl -s -X POST ${ctl}/systems/mitid/fault -H 'content-type: application/json' -d '{"mode":"up"}'`,
    `  curl -s -X POST ${ctl}/reset`,
    `  curl -s ${ctl}/systems`,
    'or start with faults: npm start -- --down mitid --slow virk=3s --error nemkonto',
    '',
    `Alerts, incidents and service windows: ${base}/api/v1/alerts  ${base}/api/v1/incidents  ${base}/api/v1/maintenance`,
    ...maintenanceExample(base, demo.config),
    '',
    'Stop with Ctrl+C.',
  ];
  return lines.join('\n') + '\n';
}

/** How to announce a one-hour window on borger.dk starting now, with this run's admin token. */
function maintenanceExample(base: string, config: Config | undefined): string[] {
  const token = config?.collector.admin_token;
  if (token === undefined) return [];
  const now = Date.now();
  const body = JSON.stringify({
    systems: ['borger-dk'],
    start: new Date(now).toISOString(),
    end: new Date(now + 3_600_000).toISOString(),
    title: { da: 'Planlagt servicevindue', en: 'Planned maintenance' },
  });
  return [
    'Announce a service window (this run\'s admin token):',
    `  curl -s -X POST ${base}/api/v1/maintenance -H 'authorization: Bearer ${token}' -H 'content-type: application/json' -d '${body}'`,
  ];
}
