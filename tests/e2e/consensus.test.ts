// Three real agents probe the same system through a real collector. The target answers each agent
// by its User-Agent, so a test can break it for one, two or three vantage points: one agent's
// failure is a partial outage, not a major one; all failing is a major outage; and a dependant that
// works on its own shows its critical dependency's outage, with the cause, to its users.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../agent/agent.js';
import { startCollector, type Collector } from '../../collector/collector.js';
import { configSchema } from '../../config/schema.js';

const AGENTS = ['kbh-1', 'aar-1', 'ode-1'] as const;
const token = (id: string): string => `consensus-token-${id}-0123456789`;
const log = pino({ level: 'silent' });

/** Agents for which MitID currently fails. */
const failingFor = new Set<string>();
/** Whether Skat answers slowly (for every agent). */
let skatSlow = false;
let target: Server;
let collector: Collector;
const agents: Agent[] = [];
let dir: string;

interface StatusBody {
  systems: { id: string; status: string; own_status: string; cause: string[] }[];
}

async function statusOf(id: string): Promise<StatusBody['systems'][number] | undefined> {
  const body = (await (await fetch(`${collector.url}/api/v1/status`)).json()) as StatusBody;
  return body.systems.find((s) => s.id === id);
}

async function until(id: string, want: Partial<StatusBody['systems'][number]>, ms = 10_000): Promise<void> {
  const start = Date.now();
  for (;;) {
    const s = await statusOf(id);
    if (s !== undefined && Object.entries(want).every(([k, v]) => JSON.stringify(s[k as keyof typeof s]) === JSON.stringify(v))) return;
    if (Date.now() - start > ms) throw new Error(`${id} not ${JSON.stringify(want)} within ${ms} ms: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vagt-consensus-'));
  target = createServer((req, res) => {
    const agent = /\(\+agent=([^)]+)\)/.exec(req.headers['user-agent'] ?? '')?.[1] ?? '';
    if (req.url === '/mitid' && failingFor.has(agent)) res.writeHead(503).end('Ikke tilgængelig');
    else if (req.url === '/skat' && skatSlow) setTimeout(() => res.writeHead(200).end('OK'), 120);
    else res.writeHead(200).end('OK');
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(target.address() as { port: number }).port}`;
  const config = configSchema.parse({
    agents: AGENTS.map((id) => ({ id, token: token(id) })),
    defaults: { interval: '200ms', timeout: '150ms', retries: 1 },
    systems: [
      { id: 'mitid', name: 'MitID', probes: [{ id: 'front', type: 'http', url: `${base}/mitid` }] },
      { id: 'nemlog-in', name: 'NemLog-in', depends_on: { mitid: 'critical' }, probes: [{ id: 'front', type: 'http', url: `${base}/nemlog-in` }] },
      {
        id: 'skat',
        name: 'Skat',
        response_time: { slow: '60ms', for: '400ms' },
        probes: [{ id: 'front', type: 'http', url: `${base}/skat`, timeout: '190ms' }],
      },
    ],
  });
  collector = await startCollector({ config, listen: '127.0.0.1:0', dataDir: dir, logger: log });
  for (const id of AGENTS)
    agents.push(startAgent({ url: collector.url.replace('http://', 'ws://') + '/agent', id, token: token(id), logger: log, batchMs: 50 }));
});

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await collector?.close();
  await new Promise((r) => target?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('consensus across three agents', () => {
  it('shows one failing vantage point as partial, all as major, and the dependant affected with its cause', async () => {
    await until('mitid', { status: 'operational' });
    await until('nemlog-in', { status: 'operational', cause: [] });

    failingFor.add('kbh-1');
    await until('mitid', { own_status: 'partial_outage' });
    // NemLog-in's users see MitID's partial outage; NemLog-in itself is fine.
    await until('nemlog-in', { status: 'partial_outage', own_status: 'operational', cause: ['mitid'] });

    for (const a of AGENTS) failingFor.add(a);
    await until('mitid', { status: 'major_outage', own_status: 'major_outage', cause: [] });
    await until('nemlog-in', { status: 'major_outage', own_status: 'operational', cause: ['mitid'] });
    const metrics = await (await fetch(`${collector.url}/metrics`)).text();
    expect(metrics).toMatch(/vagt_system_status\{system="nemlog-in",view="perceived",status="major_outage"\} 1/);
    expect(metrics).toMatch(/vagt_system_status\{system="nemlog-in",view="own",status="operational"\} 1/);

    // One incident, for the root, with the dependant among the affected; priority 1 (3 of 3).
    const open = (await (await fetch(`${collector.url}/api/v1/incidents?state=open`)).json()) as { incidents: Record<string, unknown>[] };
    expect(open.incidents).toHaveLength(1);
    expect(open.incidents[0]).toMatchObject({ system: 'mitid', state: 'open', priority: 1, peak_priority: 1, affected: ['mitid', 'nemlog-in'] });

    failingFor.clear();
    await until('mitid', { status: 'operational' });
    await until('nemlog-in', { status: 'operational', cause: [] });
    await expect.poll(async () => ((await (await fetch(`${collector.url}/api/v1/incidents?state=resolved`)).json()) as { incidents: unknown[] }).incidents.length).toBe(1);
    const all = (await (await fetch(`${collector.url}/api/v1/incidents`)).json()) as { incidents: { state: string; updates: { kind: string }[] }[] };
    expect(all.incidents.map((i) => [i.state, i.updates[0]?.kind, i.updates.at(-1)?.kind])).toEqual([['resolved', 'opened', 'resolved']]);
  });

  it('raises a long-response-time alert for a slow system, shows it degraded, and clears it', async () => {
    await until('skat', { status: 'operational' });
    const alerts = async (): Promise<{ key: string; value_ms: number }[]> =>
      ((await (await fetch(`${collector.url}/api/v1/alerts`)).json()) as { alerts: { key: string; value_ms: number }[] }).alerts;
    const metric = async (): Promise<string | undefined> =>
      /vagt_alert_active\{alert="long_response_time",system="skat"\} (\d)/.exec(await (await fetch(`${collector.url}/metrics`)).text())?.[1];
    expect(await metric()).toBe('0');

    skatSlow = true;
    await until('skat', { status: 'degraded_performance', own_status: 'degraded_performance' });
    const firing = await alerts();
    expect(firing.map((a) => a.key)).toContain('long_response_time:skat');
    expect(firing.find((a) => a.key === 'long_response_time:skat')?.value_ms).toBeGreaterThan(60);
    // The gauge is read from the same state as the API: it follows at once.
    expect(await metric()).toBe('1');

    skatSlow = false;
    await until('skat', { status: 'operational' });
    expect((await alerts()).map((a) => a.key)).not.toContain('long_response_time:skat');
    expect(await metric()).toBe('0');
    const resolved = async (): Promise<string[]> =>
      ((await (await fetch(`${collector.url}/api/v1/alerts?state=resolved`)).json()) as { alerts: { key: string }[] }).alerts.map((a) => a.key);
    await expect.poll(resolved).toContain('long_response_time:skat');
  });
});
