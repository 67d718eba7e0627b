// The durable outbox on a real SQLite file: what it holds survives a reopen (the agent's restart),
// acks delete, caps drop the oldest unsent results, and live results are not stuck behind a backlog.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteOutbox } from '../../agent/outbox-sqlite.js';
import type { ResultRecord } from '../../protocol/messages.js';

const T0 = 1_700_000_000_000;
function rec(seq: number, extra: Partial<ResultRecord> = {}): ResultRecord {
  return { seq, system: 'mitid', probe: 'front', ts: T0 + seq, ok: true, duration_ms: 1, phases: {}, ...extra };
}
const seqs = (b: { entries: readonly { seq: number }[] } | undefined): number[] => b?.entries.map((e) => e.seq) ?? [];

const dirs: string[] = [];
const open: SqliteOutbox[] = [];
function outbox(dir?: string, opts: Parameters<typeof SqliteOutbox.open>[1] = {}): { o: SqliteOutbox; dir: string } {
  const d = dir ?? mkdtempSync(join(tmpdir(), 'vagt-outbox-'));
  if (dir === undefined) dirs.push(d);
  const o = SqliteOutbox.open(d, opts);
  open.push(o);
  return { o, dir: d };
}
afterEach(() => {
  for (const o of open.splice(0)) o.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('SqliteOutbox', () => {
  it('hands out the oldest results in batches and deletes them on ack, rejected ones too', () => {
    const { o } = outbox();
    for (let i = 1; i <= 5; i++) o.add(rec(i));
    const a = o.nextBatch(2, 1e6, 0)!;
    expect(seqs(a)).toEqual([1, 2]);
    expect(JSON.parse(a.entries[0]!.json)).toEqual(rec(1));
    const b = o.nextBatch(2, 1e6, 0)!;
    expect(seqs(b)).toEqual([3, 4]);
    expect([o.pending, o.inFlightBatches, o.inFlightResults]).toEqual([1, 2, 4]);
    expect(o.ack(a.id, [2, 99])).toEqual({ removed: 2, rejected: [2] });
    expect(o.ack(a.id, [])).toBeUndefined();
    expect([o.pending, o.inFlightResults]).toEqual([1, 2]);
    const one = Buffer.byteLength(JSON.stringify(rec(5))) + 1;
    expect(seqs(o.nextBatch(100, one, 0))).toEqual([5]);
  });

  it('keeps every unacked result across a restart, and remembers the highest seq', () => {
    const { o, dir } = outbox();
    for (let i = 1; i <= 6; i++) o.add(rec(i));
    const a = o.nextBatch(2, 1e6, 0)!;
    o.nextBatch(2, 1e6, 0); // in flight when the agent dies: not acked, so kept
    o.ack(a.id, []);
    o.close();
    const { o: again } = outbox(dir);
    expect(again.pending).toBe(4);
    expect(again.maxSeq).toBe(6);
    expect(seqs(again.nextBatch(100, 1e6, 0))).toEqual([3, 4, 5, 6]);
  });

  it('puts everything in flight back when the connection is lost or an ack is overdue', () => {
    const { o } = outbox();
    for (let i = 1; i <= 6; i++) o.add(rec(i));
    o.nextBatch(2, 1e6, 100);
    o.nextBatch(2, 1e6, 200);
    expect(o.requeue(50)).toBe(0);
    expect(o.requeue(150)).toBe(4);
    expect(o.inFlightBatches).toBe(0);
    expect(seqs(o.nextBatch(100, 1e6, 300))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('after a reconnect, sends live results every other batch instead of behind the backlog', () => {
    const { o } = outbox();
    for (let i = 1; i <= 6; i++) o.add(rec(i));
    o.markLive();
    for (let i = 7; i <= 9; i++) o.add(rec(i));
    const order = [0, 1, 2, 3, 4].map(() => seqs(o.nextBatch(2, 1e6, 0)));
    expect(order).toEqual([[1, 2], [7, 8], [3, 4], [9], [5, 6]]);
    expect(o.nextBatch(2, 1e6, 0)).toBeUndefined();
    // Lost again: everything unacked goes back, oldest first, and new live results alternate.
    expect(o.requeue()).toBe(9);
    o.markLive();
    o.add(rec(10));
    expect([0, 1, 2].map(() => seqs(o.nextBatch(4, 1e6, 0)))).toEqual([[1, 2, 3, 4], [10], [5, 6, 7, 8]]);
  });

  it('drops the oldest unsent results beyond its size cap, never those in flight, and counts them', () => {
    const size = Buffer.byteLength(JSON.stringify(rec(10)));
    const { o } = outbox(undefined, { maxBytes: size * 10 });
    for (let i = 10; i < 20; i++) o.add(rec(i));
    const flight = o.nextBatch(2, 1e6, 0)!;
    expect(o.add(rec(20))).toBe(2); // down to 90 %: 9 rows, the two in flight kept
    expect(o.dropped).toBe(2);
    expect(o.pending + o.inFlightResults).toBe(9);
    o.ack(flight.id, []);
    expect(seqs(o.nextBatch(100, 1e6, 0))).toEqual([14, 15, 16, 17, 18, 19, 20]);
  });

  it('drops unsent results older than its age cap', () => {
    let now = T0 + 100;
    const { o } = outbox(undefined, { maxAgeMs: 50, now: () => now });
    for (let i = 1; i <= 80; i++) o.add(rec(i));
    expect(o.dropExpired()).toBe(49); // ts = T0 + seq; older than T0 + 50
    now += 1_000;
    expect(o.pending).toBe(31);
    expect(o.dropExpired()).toBe(31);
    expect(o.dropped).toBe(80);
  });

  it('truncates an oversized detail instead of producing a frame the collector refuses', () => {
    const { o } = outbox(undefined, { maxEntryBytes: 1000 });
    o.add(rec(1, { detail: { big: 'x'.repeat(5000) } }));
    const back = JSON.parse(o.nextBatch(1, 1e6, 0)!.entries[0]!.json) as ResultRecord;
    expect(back.detail).toMatchObject({ truncated: true });
  });

  it('says clearly when its file cannot be opened', () => {
    const { dir } = outbox();
    // A directory where the database file should be.
    expect(() => SqliteOutbox.open(join(dir, 'outbox.db', '..', 'outbox.db', 'x'))).toThrow(/cannot open the outbox/);
  });
});
