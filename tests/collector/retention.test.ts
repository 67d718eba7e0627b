// The collector's roll-up: at start (what the database holds since the last one) and on close
// (what arrived since the last pass), with a real SQLite file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { SqliteStore } from '../../collector/store/sqlite.js';
import { result } from './store-suite.js';
import { TestAgent, res, startHarness } from './helpers.js';

const HOUR = 3_600_000;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function aggregates(path: string, from: number): Promise<number[]> {
  const s = SqliteStore.open(path);
  try {
    return (await s.hourlyAggregates({ from, to: from + 10 * HOUR })).map((a) => a.count);
  } finally {
    await s.close();
  }
}

it('rolls up at start what the database holds, and on close what arrived since', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vagt-retention-'));
  dirs.push(dir);
  const path = join(dir, 'vagt.db');
  const now = Date.now();
  const h0 = now - (now % HOUR) - 2 * HOUR;
  const before = SqliteStore.open(path);
  await before.insertResults([result({ seq: 1, ts: h0 + 5 }), result({ seq: 2, ts: h0 + HOUR + 5 }), result({ seq: 3, ts: h0 + HOUR + 6 })]);
  await before.close();

  const h = await startHarness({ dir });
  try {
    let counts: number[] = [];
    for (let i = 0; i < 100 && counts.length < 2; i++) {
      counts = await aggregates(path, h0);
      if (counts.length < 2) await new Promise((r) => setTimeout(r, 20));
    }
    expect(counts).toEqual([1, 2]);
    const agent = await TestAgent.ready(h.wsUrl, 'kbh-1');
    const ack = await agent.batch(0, [res({ seq: 10, ts: now }), res({ seq: 11, ts: h0 + 10 })]);
    expect(ack.accepted).toBe(2);
    await agent.close();
  } finally {
    await h.close();
  }
  expect(await aggregates(path, h0)).toEqual([2, 2, 1]);
});
