import { describe, expect, it } from 'vitest';
import { MemoryOutbox } from '../../agent/outbox.js';
import type { ResultRecord } from '../../protocol/messages.js';

function rec(seq: number, extra: Partial<ResultRecord> = {}): ResultRecord {
  return { seq, system: 'mitid', probe: 'front', ts: 1_700_000_000_000 + seq, ok: true, duration_ms: 1, phases: {}, ...extra };
}

const seqs = (b: { entries: readonly { seq: number }[] } | undefined): number[] => b?.entries.map((e) => e.seq) ?? [];

describe('MemoryOutbox', () => {
  it('hands out the oldest pending results as batches capped by count', () => {
    const o = new MemoryOutbox();
    for (let i = 1; i <= 5; i++) o.add(rec(i));
    expect(o.pending).toBe(5);
    const a = o.nextBatch(2, 1e6, 0);
    const b = o.nextBatch(2, 1e6, 0);
    expect(seqs(a)).toEqual([1, 2]);
    expect(seqs(b)).toEqual([3, 4]);
    expect(b!.id).toBeGreaterThan(a!.id);
    expect(o.pending).toBe(1);
    expect(o.inFlightBatches).toBe(2);
    expect(o.inFlightResults).toBe(4);
    // Each entry is the result's JSON, spliceable into a frame.
    expect(JSON.parse(a!.entries[0]!.json)).toEqual(rec(1));
  });

  it('caps a batch by bytes but always hands out at least one result', () => {
    const o = new MemoryOutbox();
    for (let i = 1; i <= 10; i++) o.add(rec(i));
    const one = Buffer.byteLength(JSON.stringify(rec(1))) + 1; // and a comma
    const b = o.nextBatch(1000, one * 3, 0);
    expect(seqs(b)).toEqual([1, 2, 3]);
    expect(seqs(o.nextBatch(1000, 1, 0))).toEqual([4]);
    expect(o.nextBatch(1000, 1e6, 0)?.entries).toHaveLength(6);
    expect(o.nextBatch(1000, 1e6, 0)).toBeUndefined();
  });

  it('an ack removes the batch and reports the rejected seqs that were in it', () => {
    const o = new MemoryOutbox();
    for (let i = 1; i <= 4; i++) o.add(rec(i));
    const b = o.nextBatch(4, 1e6, 0)!;
    expect(o.ack(b.id, [2, 99])).toEqual({ removed: 4, rejected: [2] });
    expect(o.inFlightBatches).toBe(0);
    expect(o.inFlightResults).toBe(0);
    expect(o.ack(b.id, [])).toBeUndefined();
  });

  it('requeues unacked batches in front of pending results, oldest first', () => {
    const o = new MemoryOutbox();
    for (let i = 1; i <= 7; i++) o.add(rec(i));
    const a = o.nextBatch(2, 1e6, 0)!;
    o.nextBatch(2, 1e6, 0);
    o.nextBatch(2, 1e6, 0);
    o.ack(a.id, []);
    expect(o.requeue()).toBe(4);
    expect(o.inFlightBatches).toBe(0);
    expect(seqs(o.nextBatch(100, 1e6, 0))).toEqual([3, 4, 5, 6, 7]);
  });

  it('requeues only batches sent before a time (an overdue ack)', () => {
    const o = new MemoryOutbox();
    for (let i = 1; i <= 4; i++) o.add(rec(i));
    o.nextBatch(2, 1e6, 100);
    o.nextBatch(2, 1e6, 200);
    expect(o.requeue(150)).toBe(2);
    expect(o.inFlightBatches).toBe(1);
    expect(seqs(o.nextBatch(100, 1e6, 300))).toEqual([1, 2]);
  });

  it('is bounded: when full, the oldest pending results are dropped and counted', () => {
    const o = new MemoryOutbox({ capacity: 5 });
    for (let i = 1; i <= 3; i++) o.add(rec(i));
    o.nextBatch(2, 1e6, 0); // 1, 2 in flight
    expect(o.add(rec(4))).toBe(0);
    expect(o.add(rec(5))).toBe(0);
    expect(o.add(rec(6))).toBe(1);
    expect(o.add(rec(7))).toBe(1);
    expect(o.dropped).toBe(2);
    expect(o.pending + o.inFlightResults).toBe(5);
    expect(seqs(o.nextBatch(100, 1e6, 0))).toEqual([5, 6, 7]);
  });

  it('keeps a long queue compact and in order', () => {
    const o = new MemoryOutbox({ capacity: 10_000 });
    let expected = 1;
    let outOfOrder = 0;
    for (let i = 1; i <= 50_000; i++) {
      o.add(rec(i));
      if (i % 100 === 0) {
        const b = o.nextBatch(100, 1e7, 0)!;
        for (const e of b.entries) if (e.seq !== expected++) outOfOrder++;
        o.ack(b.id, []);
      }
    }
    expect(outOfOrder).toBe(0);
    expect(o.pending).toBe(0);
    expect(expected).toBe(50_001);
  });

  it('truncates an oversized detail instead of producing a frame the collector refuses', () => {
    const o = new MemoryOutbox({ maxEntryBytes: 1000 });
    o.add(rec(1, { detail: { big: 'x'.repeat(5000) } }));
    const e = o.nextBatch(1, 1e6, 0)!.entries[0]!;
    expect(e.json.length).toBeLessThan(1000);
    const back = JSON.parse(e.json) as ResultRecord;
    expect(back.seq).toBe(1);
    expect(back.detail).toMatchObject({ truncated: true });
  });
});
