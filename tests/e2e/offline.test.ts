// The collector is away for over a minute while an agent probes a target that goes down and up
// again. When the collector is back, the agent's backlog arrives and the outage is in the status
// timeline with its original times (within one probe interval), for the system and its dependant.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent } from '../../agent/agent.js';
import { configSchema } from '../../config/schema.js';
import { TOKENS, startHarness } from '../collector/helpers.js';

const log = pino({ level: 'silent' });
let target: Server;
let down = false;
let dir: string;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vagt-offline-'));
  target = createServer((_req, res) => {
    res.writeHead(down ? 503 : 200).end(down ? 'nede' : 'OK');
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
});
afterAll(async () => {
  await new Promise((r) => target.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('an outage while the collector is away', () => {
  it('is in the timeline with its original times once the backlog arrives', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createNetServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const url = `http://127.0.0.1:${(target.address() as { port: number }).port}/`;
    const config = (d: string) =>
      configSchema.parse({
        agents: [{ id: 'kbh-1', token: TOKENS['kbh-1'] }],
        defaults: { interval: '1s', timeout: '500ms' },
        systems: [
          { id: 'mitid', name: 'MitID', probes: [{ id: 'front', type: 'http', url }] },
          { id: 'borger-dk', name: 'borger.dk', depends_on: { mitid: 'critical' }, probes: [] },
        ],
        collector: { data_dir: d },
      });
    const start = () => startHarness({ dir: join(dir, 'collector'), listen: `127.0.0.1:${port}`, config });
    let h = await start();
    const agent = startAgent({
      url: `ws://127.0.0.1:${port}/agent`,
      id: 'kbh-1',
      token: TOKENS['kbh-1'],
      logger: log,
      dataDir: join(dir, 'agent'),
      reconnect: { minMs: 200, maxMs: 1_000 },
    });
    await sleep(3_000);
    await h.close();

    // Away for 65 s; the target is down from 20 s to 40 s into it.
    await sleep(20_000);
    down = true;
    const wentDown = Date.now();
    await sleep(20_000);
    down = false;
    const cameBack = Date.now();
    await sleep(25_000);

    h = await start();
    const base = h.collector.url;
    type Interval = { from: string; to: string | null; status: string; cause: string[] };
    const history = async (system: string, view: string): Promise<Interval[]> =>
      ((await (await fetch(`${base}/api/v1/systems/${system}/history?view=${view}&from=${wentDown - 60_000}`)).json()) as { intervals: Interval[] }).intervals;
    await expect.poll(async () => (await history('mitid', 'own')).some((i) => i.status === 'major_outage'), { timeout: 15_000, interval: 250 }).toBe(true);
    await agent.stop();

    const outage = (await history('mitid', 'own')).filter((i) => i.status === 'major_outage');
    expect(outage).toHaveLength(1);
    const [o] = outage;
    // Within one probe interval (1 s) of the truth, plus the probe's own time.
    expect(Math.abs(Date.parse(o!.from) - wentDown)).toBeLessThanOrEqual(1_500);
    expect(Math.abs(Date.parse(o!.to ?? '') - cameBack)).toBeLessThanOrEqual(1_500);
    const perceived = (await history('borger-dk', 'perceived')).filter((i) => i.status === 'major_outage');
    expect(perceived).toEqual([{ ...o, cause: ['mitid'], to: o!.to, from: o!.from, duration_s: expect.any(Number) }]);
    await h.close();
  }, 120_000);
});
