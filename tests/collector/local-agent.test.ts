// --local-agent: the collector starts an in-process agent "local" with a random token that only it
// knows. The agent module is replaced here by a tiny protocol client, so this tests the collector's
// side of the wiring: what startAgent is given, that the token works, and that close stops it.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import type { CollectorMessage } from '../../protocol/messages.js';
import { getJson, startHarness, type Harness } from './helpers.js';

const calls: { url: string; id: string; token: string; dataDir?: string }[] = [];
let stopped = 0;

vi.mock('../../agent/agent.js', () => ({
  startAgent(opts: { url: string; id: string; token: string; dataDir?: string }) {
    calls.push(opts);
    const ws = new WebSocket(opts.url, { headers: { authorization: `Bearer ${opts.token}` } });
    ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', protocol: 1, agent: opts.id, version: 'mock' })));
    ws.on('message', (data) => {
      const m = JSON.parse((data as Buffer).toString('utf8')) as CollectorMessage;
      if (m.type !== 'assignment') return;
      const results = m.probes.map((p, i) => ({ seq: i, system: p.system, probe: p.id, ts: Date.now(), ok: true, duration_ms: 5, phases: {} }));
      ws.send(JSON.stringify({ type: 'results', batch: 1, results }));
    });
    ws.on('error', () => {});
    return {
      stop: async () => {
        stopped++;
        ws.close();
        await new Promise((r) => ws.once('close', r));
      },
    };
  },
}));

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ localAgent: true });
});
afterAll(async () => {
  await h?.close();
});

describe('--local-agent', () => {
  it('runs an agent "local" whose results count like any other', async () => {
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ url: `${h.wsUrl}`, id: 'local' });
    expect(calls[0]!.token.length).toBeGreaterThanOrEqual(32);
    expect(calls[0]!.dataDir).toContain(h.dir);

    await expect
      .poll(async () => (await getJson(`${h.collector.url}/api/v1/status`)).body.systems.map((s) => s.status), { timeout: 5_000 })
      .toEqual(['operational', 'operational']);
    const agents = await getJson(`${h.collector.url}/api/v1/agents`);
    expect(agents.body.agents.find((a) => a.id === 'local')).toMatchObject({ connected: true, version: 'mock', name: 'Local agent' });
  });

  it('stops the local agent on close', async () => {
    await h.close();
    expect(stopped).toBe(1);
  });
});
