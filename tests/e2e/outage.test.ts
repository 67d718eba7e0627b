// The whole path: a real HTTP target, a collector with SQLite on port 0, and a separate agent that
// connects with its token, probes the target and streams results. An outage must turn the system
// major_outage and recovery must turn it back, seen through the public API and /metrics.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startCollector, type Collector } from '../../collector/collector.js';
import { startAgent, type Agent } from '../../agent/agent.js';
import { configSchema } from '../../config/schema.js';

const TOKEN = 'e2e-token-0123456789abcdef';
const log = pino({ level: 'silent' });

let target: Server;
let targetPort = 0;
let healthy = true;
let collector: Collector;
let agent: Agent;
let dir: string;

interface StatusBody {
  updated_at: string;
  systems: { id: string; name: string; status: string; own_status: string; cause: string[]; since: string | null }[];
}

async function statusOf(id: string): Promise<string | undefined> {
  const res = await fetch(`${collector.url}/api/v1/status`);
  const body = (await res.json()) as StatusBody;
  return body.systems.find((s) => s.id === id)?.status;
}

async function waitFor(id: string, want: string, ms = 10_000): Promise<number> {
  const start = Date.now();
  for (;;) {
    if ((await statusOf(id)) === want) return Date.now() - start;
    if (Date.now() - start > ms) throw new Error(`${id} did not become ${want} within ${ms} ms (is ${await statusOf(id)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vagt-e2e-'));
  target = createServer((req, res) => {
    if (!healthy) {
      res.writeHead(503, { 'content-type': 'text/html; charset=utf-8' }).end('<h1>Ikke tilgængelig</h1>');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<h1>Selvbetjening</h1>');
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  targetPort = (target.address() as { port: number }).port;

  const config = configSchema.parse({
    collector: { listen: '127.0.0.1:0', data_dir: dir },
    agents: [{ id: 'e2e-1', name: 'Test', token: TOKEN }],
    defaults: { interval: '200ms', timeout: '150ms', retries: 1 },
    systems: [
      {
        id: 'selvbetjening',
        name: 'Selvbetjening',
        probes: [
          { id: 'front', type: 'http', url: `http://127.0.0.1:${targetPort}/`, expect: { body_contains: 'Selvbetjening' } },
          { id: 'port', type: 'tcp', host: '127.0.0.1', port: targetPort },
        ],
      },
    ],
  });
  collector = await startCollector({ config, listen: '127.0.0.1:0', dataDir: dir, logger: log });
  agent = startAgent({
    url: collector.url.replace('http://', 'ws://') + '/agent',
    id: 'e2e-1',
    token: TOKEN,
    logger: log,
    batchMs: 50,
  });
});

afterAll(async () => {
  await agent?.stop();
  await collector?.close();
  await new Promise((r) => target?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('end to end', () => {
  it('sees the system operational, detects an outage, and sees it recover', async () => {
    await waitFor('selvbetjening', 'operational');
    // The tcp probe alone can make the system operational first; wait for the http probe's pass too,
    // so that the list below holds a pass from before the outage.
    for (let i = 0; i < 200; i++) {
      const r = await fetch(`${collector.url}/api/v1/results?system=selvbetjening&probe=front&agent=e2e-1&limit=10`);
      if (((await r.json()) as { results: { ok: boolean }[] }).results.some((x) => x.ok)) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }

    healthy = false;
    const detectMs = await waitFor('selvbetjening', 'major_outage');
    // Detected within about one probe interval (200 ms) plus batching; loose bound for a busy CI.
    expect(detectMs).toBeLessThan(5_000);

    const failing = await fetch(`${collector.url}/api/v1/systems/selvbetjening`);
    expect(failing.status).toBe(200);
    const detail = JSON.stringify(await failing.json());
    expect(detail).toContain('503');

    healthy = true;
    await waitFor('selvbetjening', 'operational');

    const metrics = await (await fetch(`${collector.url}/metrics`)).text();
    expect(metrics).toMatch(/vagt_probe_success\{[^}]*system="selvbetjening"[^}]*\} 1/);
    expect(metrics).toMatch(/vagt_system_status\{[^}]*system="selvbetjening"[^}]*status="operational"[^}]*\} 1/);
    expect(metrics).toMatch(/vagt_agent_connected\{agent="e2e-1"\} 1/);

    const results = await fetch(`${collector.url}/api/v1/results?system=selvbetjening&probe=front&agent=e2e-1&limit=10000`);
    const { results: list } = (await results.json()) as { results: { ok: boolean; status_code: number | null; ts: string }[] };
    // At least the passing, failing and passing-again probes, oldest first, the outage kept with its 503.
    expect(list.length).toBeGreaterThanOrEqual(3);
    expect(list.some((r) => !r.ok && r.status_code === 503)).toBe(true);
    expect(list.some((r) => r.ok)).toBe(true);
    const times = list.map((r) => Date.parse(r.ts));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });
});
