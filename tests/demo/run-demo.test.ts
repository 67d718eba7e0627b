// The whole demo on ephemeral ports: simulator, collector with SQLite in a temp dir, local agent.
// The status API must list the eight systems, most of them operational, within a few seconds, and
// an outage injected through the control endpoint must show.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoBanner, runDemo, type Demo } from '../../demo/demo.js';

interface StatusBody {
  systems: { id: string; name: string; status: string; own_status: string }[];
}

let demo: Demo;
let dir: string;

async function status(): Promise<StatusBody> {
  const res = await fetch(`${demo.collector.url}/api/v1/status`);
  expect(res.status).toBe(200);
  return (await res.json()) as StatusBody;
}

async function until(what: string, ok: (s: StatusBody) => boolean | Promise<boolean>, ms = 15_000): Promise<StatusBody> {
  const start = Date.now();
  for (;;) {
    const s = await status();
    if (await ok(s)) return s;
    if (Date.now() - start > ms) throw new Error(`${what} not seen within ${ms} ms: ${JSON.stringify(s.systems)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vagt-demo-'));
  demo = await runDemo({
    basePort: 0,
    listen: '127.0.0.1:0',
    dataDir: dir,
    interval: '1s',
    logger: pino({ level: 'silent' }),
  });
});

afterAll(async () => {
  await demo?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('runDemo', () => {
  it('shows the eight simulated systems, most of them operational', async () => {
    const s = await until('most systems operational', (b) => b.systems.filter((x) => x.status === 'operational').length >= 6);
    expect(s.systems.map((x) => x.id).sort()).toEqual(
      ['borger-dk', 'digital-post', 'eindkomst', 'mitid', 'nemkonto', 'nemlog-in', 'sundhed-dk', 'virk'],
    );
    expect(s.systems.find((x) => x.id === 'borger-dk')?.name).toBe('borger.dk');
    expect(demoBanner(demo)).toContain(`${demo.collector.url}/api/v1/status`);
  });

  it('has the simulated Zabbix report eIndkomst as one more vantage point, down when its back end is', async () => {
    const results = async (): Promise<{ ok: boolean; error: { message: string } | null }[]> => {
      const r = await fetch(`${demo.collector.url}/api/v1/results?system=eindkomst&agent=skat-zabbix&limit=1000`);
      return ((await r.json()) as { results: { ok: boolean; error: { message: string } | null }[] }).results;
    };
    await until('a report', async () => (await results()).some((r) => r.ok));
    await demo.simulator.applyFault('eindkomst', { mode: 'error' });
    await until('a failing report', async () => (await results()).some((r) => !r.ok && r.error?.message === 'back end error (internal check)'));
    await until('eindkomst major_outage', (b) => b.systems.find((x) => x.id === 'eindkomst')?.own_status === 'major_outage');
    await demo.simulator.applyFault('eindkomst', { mode: 'up' });
    await until('eindkomst operational', (b) => b.systems.find((x) => x.id === 'eindkomst')?.own_status === 'operational');
  });

  it('sees MitID go down through the control endpoint, and come back', async () => {
    const res = await fetch(`${demo.simulator.controlUrl}/systems/mitid/fault`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode: 'down' }),
    });
    expect(res.status).toBe(200);
    await until('mitid major_outage', (b) => b.systems.find((x) => x.id === 'mitid')?.own_status === 'major_outage');
    // NemLog-in's login fails without MitID, so NemLog-in is not operational either.
    await until('nemlog-in affected', (b) => b.systems.find((x) => x.id === 'nemlog-in')?.own_status !== 'operational');

    await demo.simulator.applyFault('mitid', { mode: 'up' });
    await until('mitid operational', (b) => b.systems.find((x) => x.id === 'mitid')?.own_status === 'operational');
  });

  it('takes borger.dk under maintenance with a window announced with the run\'s admin token', async () => {
    const token = demo.config.collector.admin_token;
    expect(token).toMatch(/^[0-9a-f]{32}$/);
    const now = Date.now();
    const res = await fetch(`${demo.collector.url}/api/v1/maintenance`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token ?? ''}`, 'content-type': 'application/json' },
      body: JSON.stringify({ systems: ['borger-dk'], start: new Date(now - 1000).toISOString(), end: new Date(now + 60_000).toISOString(), title: 'Test' }),
    });
    expect(res.status).toBe(201);
    await until('borger-dk under maintenance', (b) => b.systems.find((x) => x.id === 'borger-dk')?.status === 'under_maintenance');
  });
});
