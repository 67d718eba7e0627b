// The agent's data directory: results wait in the durable outbox through a collector outage and
// the agent's own restart, and the cached assignment keeps a restarted agent probing while the
// collector is still away. Real collector, real agent, real target.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent } from '../../agent/agent.js';
import { configSchema } from '../../config/schema.js';
import { TOKENS, startHarness, type Harness } from '../collector/helpers.js';

const log = pino({ level: 'silent' });
let target: Server;
let requests = 0;
let dir: string;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createNetServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function until(what: string, test: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vagt-durable-'));
  target = createServer((_req, res) => {
    requests++;
    res.end('OK');
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
});
afterAll(async () => {
  await new Promise((r) => target.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('an agent with a data directory', () => {
  it('keeps results through a collector outage and its own restart, probing on the cached assignment', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${(target.address() as { port: number }).port}/`;
    const config = (d: string) =>
      configSchema.parse({
        agents: [{ id: 'kbh-1', token: TOKENS['kbh-1'] }],
        defaults: { interval: '100ms', timeout: '90ms' },
        systems: [{ id: 'web', name: 'Web', probes: [{ id: 'front', type: 'http', url }] }],
        collector: { data_dir: d },
      });
    const collectorDir = join(dir, 'collector');
    const agentDir = join(dir, 'agent');
    const harness = (): Promise<Harness> => startHarness({ dir: collectorDir, listen: `127.0.0.1:${port}`, config });
    const agentOpts = { url: `ws://127.0.0.1:${port}/agent`, id: 'kbh-1', token: TOKENS['kbh-1'], logger: log, dataDir: agentDir, reconnect: { minMs: 50, maxMs: 200 }, batchMs: 50 };

    let h = await harness();
    let agent = startAgent(agentOpts);
    await until('results acked', () => agent.stats().acked > 5);
    await h.close();
    // Away: results pile up in the outbox; then the agent itself restarts.
    await until('results waiting', () => agent.stats().pending > 5);
    await agent.stop();
    const waiting = agent.stats().pending + agent.stats().inFlight;
    expect(waiting).toBeGreaterThan(5);

    const before = requests;
    agent = startAgent(agentOpts);
    expect(agent.probes.map((p) => p.id)).toEqual(['front']);
    await until('probing without the collector', () => requests > before + 5);
    expect(agent.connected).toBe(false);

    h = await harness();
    await until('connected again', () => agent.connected);
    await agent.stop();
    const stored = (await (await fetch(`http://127.0.0.1:${port}/api/v1/results?agent=kbh-1&limit=10000`)).json()) as { results: { seq: number }[] };
    expect(stored.results.length).toBe(requests);
    expect(new Set(stored.results.map((r) => r.seq)).size).toBe(requests);
    await h.close();
  }, 30_000);
});
