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

    failingFor.clear();
    await until('mitid', { status: 'operational' });
    await until('nemlog-in', { status: 'operational', cause: [] });
  });
});
