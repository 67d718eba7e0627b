// Late results: a batch of back-dated results (an agent's backlog) rewrites the status history of
// the stretch it covers, for the system and its dependants, with the original timestamps, and
// leaves the current status alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestAgent, res, startHarness, type Harness } from './helpers.js';

let h: Harness;
let base: string;
const MIN = 60_000;

beforeAll(async () => {
  h = await startHarness();
  base = h.collector.url;
});
afterAll(async () => {
  await h?.close();
});

interface Interval {
  from: string;
  to: string | null;
  status: string;
  cause: string[];
}

async function history(system: string, view: string, from: number): Promise<Interval[]> {
  const r = await fetch(`${base}/api/v1/systems/${system}/history?view=${view}&from=${from}`);
  return ((await r.json()) as { intervals: Interval[] }).intervals;
}

describe('late results', () => {
  it('rewrite the timeline of the stretch they cover, for the system and its dependants, without flipping the current status', async () => {
    const now = Date.now();
    const agent = await TestAgent.ready(h.wsUrl, 'kbh-1');
    // Fresh news first: MitID works now.
    await agent.batch(1, [res({ seq: 100, ts: now })]);
    // Then the backlog from ten minutes ago: down from -8 to -5 minutes (30 s interval).
    const backlog = [];
    let seq = 1;
    for (let t = now - 10 * MIN; t < now - 3 * MIN; t += 30_000) {
      const down = t >= now - 8 * MIN && t < now - 5 * MIN;
      backlog.push(res({ seq: seq++, ts: t, ok: !down, ...(down ? { status_code: 503, error: { code: 'http_status', message: 'status 503' } } : {}) }));
    }
    expect(await agent.batch(2, backlog)).toMatchObject({ accepted: backlog.length, rejected: [] });
    await agent.close();

    const from = now - 11 * MIN;
    await expect.poll(async () => (await history('mitid', 'own', from)).map((i) => i.status), { timeout: 5_000 }).toContain('major_outage');
    const own = await history('mitid', 'own', from);
    const outage = own.find((i) => i.status === 'major_outage')!;
    expect(Date.parse(outage.from)).toBe(now - 8 * MIN);
    expect(Date.parse(outage.to ?? '')).toBe(now - 5 * MIN);
    expect(own.find((i) => Date.parse(i.from) === now - 10 * MIN)?.status).toBe('operational');

    // Virk depends critically on MitID: its users saw the same outage, caused by MitID.
    const virk = await history('virk', 'perceived', from);
    const seen = virk.find((i) => i.status === 'major_outage');
    expect(seen).toMatchObject({ cause: ['mitid'] });
    expect([Date.parse(seen!.from), Date.parse(seen!.to ?? '')]).toEqual([now - 8 * MIN, now - 5 * MIN]);

    // Old news does not change the present.
    const status = (await (await fetch(`${base}/api/v1/status`)).json()) as { systems: { id: string; status: string }[] };
    expect(status.systems.find((s) => s.id === 'mitid')?.status).toBe('operational');
    expect(own.at(-1)).toMatchObject({ status: 'operational', to: null });
  });
});
