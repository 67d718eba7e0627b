// vagt_system_uptime_target_ratio: the declared targets per window, straight from the configuration,
// so that alerting rules compare uptime with each system's own promise.
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { uptimeTargets } from '../../collector/uptime/gauges.js';

const systems = configSchema.parse({
  systems: [
    { id: 'mitid', name: 'MitID', probes: [], sla: { uptime: 99.7, windows: { primary: 'mon-fri 08:30-16:30' } } },
    { id: 'virk', name: 'Virk', probes: [], sla: { uptime: { primary: 99.9, secondary: 99 }, windows: { primary: 'mon-fri 08:30-16:30' } } },
    { id: 'skat', name: 'Skat', probes: [], sla: { uptime: 99.5 } },
    { id: 'blog', name: 'Blog', probes: [] },
  ],
}).systems;

describe('uptimeTargets', () => {
  it('gives each window its own target, else the one number, and nothing without sla', () => {
    expect(uptimeTargets(systems, 'Europe/Copenhagen')).toEqual([
      { system: 'mitid', window: 'all', ratio: 0.997 },
      { system: 'mitid', window: 'primary', ratio: 0.997 },
      { system: 'mitid', window: 'secondary', ratio: 0.997 },
      // No target for `all` when only the windows have one.
      { system: 'virk', window: 'primary', ratio: 0.999 },
      { system: 'virk', window: 'secondary', ratio: 0.99 },
      { system: 'skat', window: 'all', ratio: 0.995 },
    ]);
  });
});
