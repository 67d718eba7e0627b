// config/demo.yaml is a valid configuration that describes the simulator, and demoConfig points
// it at a simulator on any ports.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { loadConfigText } from '../../config/load.js';
import { configSchema, type ProbeConfig } from '../../config/schema.js';
import { demoBanner } from '../../demo/banner.js';
import { DEMO_CONFIG_PATH, demoConfig } from '../../demo/demo-config.js';
import { startSimulator, type Simulator } from '../../demo/simulator.js';
import { DEMO_USER, SYSTEMS } from '../../demo/systems.js';
import { resolveProbes } from '../../config/resolve.js';
import { runProbe } from '../../probes/run.js';

const text = readFileSync(DEMO_CONFIG_PATH, 'utf8');

function probeTargets(p: ProbeConfig): string[] {
  if (p.type === 'http' || p.type === 'page') return [p.url];
  if (p.type === 'tcp') return [`http://${p.host}:${p.port}`];
  if (p.type === 'flow') return p.steps.map((s) => s.request.url);
  return [];
}

describe('config/demo.yaml', () => {
  it('parses without problems through the schema', () => {
    const r = configSchema.safeParse(YAML.parse(text));
    expect(r.success ? [] : r.error.issues).toEqual([]);
  });

  it('passes the full loader too (dependencies, cycles, interpolation)', () => {
    const r = loadConfigText(text, { env: {}, file: 'config/demo.yaml' });
    expect(r.ok ? [] : r.problems).toEqual([]);
  });

  it('describes the eight systems on the fixed demo ports with their dependencies', () => {
    const config = configSchema.parse(YAML.parse(text));
    expect(config.collector.listen).toBe('127.0.0.1:9400');
    expect(config.collector.data_dir).toBe('./data/demo');
    expect(config.collector.timezone).toBe('Europe/Copenhagen');
    // No agent but the local one; one external source, the simulated Zabbix.
    expect(config.agents.map((a) => [a.id, a.external])).toEqual([['skat-zabbix', { systems: ['eindkomst'], stale_after: 30_000 }]]);
    expect(config.defaults.interval).toBe(5000);
    expect(config.defaults.timeout).toBeLessThan(config.defaults.interval);

    const ids = config.systems.map((s) => s.id).sort();
    expect(ids).toEqual(SYSTEMS.map((s) => s.id).sort());
    const byId = new Map(config.systems.map((s) => [s.id, s]));
    expect(byId.get('nemlog-in')?.depends_on).toEqual({ mitid: 'critical' });
    for (const id of ['borger-dk', 'digital-post', 'virk']) expect(byId.get(id)?.depends_on).toEqual({ 'nemlog-in': 'critical' });
    // Every dependency names a system of the file.
    for (const s of config.systems) for (const dep of Object.keys(s.depends_on)) expect(byId.has(dep), `${s.id} -> ${dep}`).toBe(true);

    SYSTEMS.forEach((def, i) => {
      const s = byId.get(def.id)!;
      const port = 9401 + i;
      expect(s.name).toBe(def.name);
      expect(s.description).toBeTruthy();
      expect(s.url).toBe(`http://127.0.0.1:${port}/`);
      expect(s.sla).toEqual({ uptime: 99.7, windows: { primary: 'mon-fri 08:30-16:30' }, holidays: true });
      expect(s.response_time?.slow).toBeGreaterThan(0);
      expect(s.probes.length).toBeGreaterThan(0);
      for (const p of s.probes) {
        expect(['http', 'tcp', 'flow'], `${s.id}/${p.id}`).toContain(p.type);
        // A flow starts at its own system and may pass through others (the login at NemLog-in).
        const [first, ...rest] = probeTargets(p);
        expect(first, `${s.id}/${p.id}`).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}(/|$)`));
        for (const t of rest) expect(t, `${s.id}/${p.id}`).toMatch(/^http:\/\/127\.0\.0\.1:940[1-8](\/|$)/);
      }
    });
  });
});

describe('demoConfig', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ basePort: 0, latency: false });
  });
  afterAll(async () => {
    await sim?.close();
  });

  it('points every probe at the running simulator', () => {
    const config = demoConfig(sim, { listen: '127.0.0.1:0', dataDir: '/tmp/vagt-demo-x', interval: '1s' });
    expect(config.collector.listen).toBe('127.0.0.1:0');
    expect(config.collector.data_dir).toBe('/tmp/vagt-demo-x');
    expect(config.defaults.interval).toBe(1000);
    let probes = 0;
    for (const s of config.systems) {
      const origin = sim.urlOf(s.id);
      const origins = config.systems.map((x) => sim.urlOf(x.id));
      expect(s.url).toBe(origin + '/');
      for (const p of s.probes) {
        probeTargets(p).forEach((t, i) => {
          // A flow's later steps may go to another simulated system (NemLog-in's login).
          if (i === 0) expect(t.startsWith(origin), `${s.id}/${p.id}: ${t}`).toBe(true);
          else expect(origins.some((o) => t.startsWith(o)), `${s.id}/${p.id}: ${t}`).toBe(true);
          probes++;
        });
      }
    }
    expect(probes).toBeGreaterThanOrEqual(16);
    // Nothing refers to the fixed ports any more.
    expect(JSON.stringify(config)).not.toMatch(/127\.0\.0\.1:940\d/);
  });

  it('keeps the file\'s settings when not overridden', () => {
    const config = demoConfig(sim);
    expect(config.collector.listen).toBe('127.0.0.1:9400');
    expect(config.collector.data_dir).toBe('./data/demo');
    expect(config.defaults.interval).toBe(5000);
  });

  it('builds probes that pass against the simulator', async () => {
    const config = demoConfig(sim);
    for (const s of config.systems) {
      for (const p of s.probes) {
        if (p.type !== 'http') continue;
        const res = await fetch(p.url, { redirect: p.follow_redirects ? 'follow' : 'manual' });
        const body = await res.text();
        const want = p.expect.status ?? [200];
        expect(want, `${s.id}/${p.id}`).toContain(res.status);
        if (p.expect.body_contains !== undefined) expect(body, `${s.id}/${p.id}`).toContain(p.expect.body_contains);
        for (const [name, re] of Object.entries(p.expect.header ?? {})) {
          expect(res.headers.get(name) ?? '', `${s.id}/${p.id} ${name}`).toMatch(new RegExp(re));
        }
      }
    }
  });

  it('has login flows that pass against the simulator with the demo login, and fail at the right step without MitID', async () => {
    const flows = resolveProbes(demoConfig(sim)).filter((p) => p.type === 'flow');
    expect(flows.map((p) => `${p.system}/${p.id}`)).toEqual(['borger-dk/login', 'digital-post/read-mail']);
    const secrets: Record<string, string> = { DEMO_USER: DEMO_USER.user, DEMO_PASSWORD: DEMO_USER.password };
    const opts = { userAgent: 'vagt-agent/test (+agent=test)', secret: (n: string) => secrets[n] };
    for (const spec of flows) {
      const r = await runProbe(spec, opts);
      expect(r.error, `${spec.system}/${spec.id}`).toBeUndefined();
    }
    await sim.applyFault('mitid', { mode: 'down' });
    try {
      const r = await runProbe(flows[0]!, opts);
      // NemLog-in's login page answers 503 while MitID is down: the first step fails.
      expect(r.error?.message).toBe('step 1 "åbn log-in": expected status 200, got 503');
      expect(r.detail?.failed_step).toBe(0);
    } finally {
      await sim.applyFault('mitid', { mode: 'up' });
    }
  });

  it('writes a banner with the URLs and fault-injection examples', () => {
    const banner = demoBanner({
      collector: { url: 'http://127.0.0.1:9400' },
      simulator: sim,
      config: demoConfig(sim, { adminToken: 'demo-admin-token-0123456789' }),
    });
    expect(banner).toContain('http://127.0.0.1:9400/api/v1/status');
    expect(banner).toContain("curl -s -X POST http://127.0.0.1:9400/api/v1/maintenance -H 'authorization: Bearer demo-admin-token-0123456789'");
    expect(banner).toContain('http://127.0.0.1:9400/api/v1/incidents');
    expect(banner).toContain(`${sim.controlUrl}/systems/mitid/fault`);
    expect(banner).toContain('every 5s');
    expect(banner).toContain('--down mitid');
    for (const s of sim.systems) expect(banner).toContain(s.url + '/');
    expect(banner).toContain('"demo1234"');
  });
});
