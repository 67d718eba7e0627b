import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../collector/store/memory.js';
import { SqliteStore } from '../../collector/store/sqlite.js';
import { SCHEMA_VERSION } from '../../collector/store/sqlite-schema.js';
import type { HourAggregate, StoredResult } from '../../collector/store/types.js';
import { result, seeded, storeSuite } from './store-suite.js';

const HOUR = 3_600_000;
const H0 = Date.UTC(2026, 0, 5, 8, 0, 0);

function withDir(fn: (path: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vagt-store-'));
    try {
      await fn(join(dir, 'vagt.db'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

const counts = (aggs: readonly HourAggregate[]): number[] => aggs.map((a) => a.count);

storeSuite('sqlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vagt-store-'));
  const path = join(dir, 'sub', 'vagt.db');
  return {
    open: () => SqliteStore.open(path),
    reopen: async (s) => {
      await s.close();
      return SqliteStore.open(path);
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe('SqliteStore specifics', () => {
  it('uses WAL, synchronous=NORMAL and records its schema version', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vagt-store-'));
    try {
      const path = join(dir, 'vagt.db');
      const store = SqliteStore.open(path);
      await store.close();
      const db = new Database(path, { readonly: true });
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('offers the status timeline as intervals in a view, for reading the file directly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vagt-store-'));
    try {
      const path = join(dir, 'vagt.db');
      const store = SqliteStore.open(path);
      await store.recordStatusChanges([
        { system: 'mitid', view: 'own', status: 'operational', cause: [], at: 1_000 },
        { system: 'mitid', view: 'own', status: 'major_outage', cause: [], at: 5_000 },
        { system: 'virk', view: 'perceived', status: 'major_outage', cause: ['mitid'], at: 5_000 },
      ]);
      await store.close();
      const db = new Database(path, { readonly: true });
      expect(db.prepare('SELECT * FROM status_intervals ORDER BY system, "from"').all()).toEqual([
        { system: 'mitid', view: 'own', status: 'operational', cause: '[]', from: 1_000, to: 5_000 },
        { system: 'mitid', view: 'own', status: 'major_outage', cause: '[]', from: 5_000, to: null },
        { system: 'virk', view: 'perceived', status: 'major_outage', cause: '["mitid"]', from: 5_000, to: null },
      ]);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('continues rolling up from its watermark after a reopen', withDir(async (path) => {
    let store = SqliteStore.open(path);
    await store.insertResults([result({ seq: 1, ts: H0 }), result({ seq: 2, ts: H0 + HOUR })]);
    expect(await store.rollupHours()).toBe(2);
    await store.close();
    store = SqliteStore.open(path);
    expect(await store.rollupHours()).toBe(0);
    await store.insertResults([result({ seq: 3, ts: H0 + 10 })]);
    await store.close();
    store = SqliteStore.open(path);
    expect(await store.rollupHours()).toBe(1);
    expect(counts(await store.hourlyAggregates({ from: H0, to: H0 + 2 * HOUR }))).toEqual([2, 1]);
    await store.close();
  }));

  it('stops a roll-up when closed, and the reopened store redoes it', withDir(async (path) => {
    let store = SqliteStore.open(path);
    await store.insertResults([result({ seq: 1, ts: H0 }), result({ seq: 2, ts: H0 + HOUR })]);
    const rolling = store.rollupHours();
    await store.close();
    expect(await rolling).toBe(0);
    store = SqliteStore.open(path);
    expect(await store.rollupHours()).toBe(2);
    await store.close();
  }));

  it('rolls up hours bigger than one step exactly as the memory store does, yielding between steps', withDir(async (path) => {
    // 50 series reporting at the same instants: ties of ts across the steps' boundaries.
    const rnd = seeded(7);
    const rows: StoredResult[] = [];
    let seq = 0;
    for (let t = 0; t < 1_000; t++)
      for (let s = 0; s < 50; s++)
        rows.push(result({ seq: ++seq, agent: `a${s % 10}`, probe: `p${Math.floor(s / 10)}`, ts: H0 + t * 3_000, ok: rnd() > 0.05, duration_ms: 20 + rnd() * 500 }));
    rows.push(result({ seq: ++seq, ts: H0 + 5 * HOUR }));
    const sqlite = SqliteStore.open(path);
    const memory = new MemoryStore();
    for (let i = 0; i < rows.length; i += 1_000) {
      await sqlite.insertResults(rows.slice(i, i + 1_000));
      await memory.insertResults(rows.slice(i, i + 1_000));
    }
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 0);
    expect(await sqlite.rollupHours()).toBe(2);
    clearInterval(ticker);
    expect(ticks).toBeGreaterThan(0);
    expect(await memory.rollupHours()).toBe(2);
    const q = { from: H0, to: H0 + 6 * HOUR };
    const encoded = (aggs: HourAggregate[]) => aggs.map((a) => ({ ...a, sketch: a.sketch.encode().toString('hex') }));
    const got = await sqlite.hourlyAggregates(q);
    expect(got).toHaveLength(51);
    expect(got.reduce((n, a) => n + a.count, 0)).toBe(rows.length);
    expect(encoded(got)).toEqual(encoded(await memory.hourlyAggregates(q)));
    await sqlite.close();
  }));

  it('prunes the aggregates of more series than one step holds', withDir(async (path) => {
    const store = SqliteStore.open(path);
    const rows = Array.from({ length: 1_200 }, (_, i) => [
      result({ seq: 2 * i, agent: `a${i % 40}`, probe: `p${Math.floor(i / 40)}`, ts: H0 }),
      result({ seq: 2 * i + 1, agent: `a${i % 40}`, probe: `p${Math.floor(i / 40)}`, ts: H0 + HOUR }),
    ]).flat();
    await store.insertResults(rows);
    expect(await store.rollupHours()).toBe(2);
    expect(await store.pruneAggregates(H0 + HOUR)).toBe(1_200);
    const left = await store.hourlyAggregates({ from: 0, to: H0 + 2 * HOUR });
    expect(left).toHaveLength(1_200);
    expect(left.every((a) => a.hour === H0 + HOUR)).toBe(true);
    await store.close();
  }));

  it('prunes many results in steps, yielding between them', withDir(async (path) => {
    const store = SqliteStore.open(path);
    const rows = Array.from({ length: 25_005 }, (_, i) => result({ seq: i, ts: i < 25_000 ? H0 + i : H0 + HOUR + i }));
    for (let i = 0; i < rows.length; i += 5_000) await store.insertResults(rows.slice(i, i + 5_000));
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 0);
    expect(await store.pruneResults(H0 + HOUR)).toBe(25_000);
    clearInterval(ticker);
    expect(ticks).toBeGreaterThan(0);
    expect(await store.queryResults({ limit: 100 })).toHaveLength(5);
    await store.close();
  }));

  it('misses no result when pruning took the newest ones and SQLite reuses their ids', withDir(async (path) => {
    const store = SqliteStore.open(path);
    await store.insertResults([result({ seq: 1, ts: H0 }), result({ seq: 2, ts: H0 + 1 }), result({ seq: 3, ts: H0 + 2 })]);
    expect(await store.rollupHours()).toBe(1);
    // Everything pruned: the next result gets id 1 again.
    expect(await store.pruneResults(H0 + HOUR)).toBe(3);
    await store.insertResults([result({ seq: 4, ts: H0 + 2 * HOUR })]);
    expect(await store.rollupHours()).toBe(1);
    expect(counts(await store.hourlyAggregates({ from: H0, to: H0 + 3 * HOUR }))).toEqual([3, 1]);
    await store.close();
  }));

  it('rolls up the results already stored when a database from before the aggregates is upgraded', withDir(async (path) => {
    let store = SqliteStore.open(path);
    await store.insertResults([result({ seq: 1, ts: H0 }), result({ seq: 2, ts: H0 + HOUR }), result({ seq: 3, ts: H0 + HOUR + 1 })]);
    await store.close();
    const db = new Database(path);
    db.exec('DROP TABLE hourly_aggregates; DROP TABLE meta; PRAGMA user_version = 4');
    db.close();
    store = SqliteStore.open(path);
    expect(await store.rollupHours()).toBe(2);
    expect(counts(await store.hourlyAggregates({ from: H0, to: H0 + 2 * HOUR }))).toEqual([1, 2]);
    await store.close();
  }));

  it('refuses a database from a newer vagt with a clear error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vagt-store-'));
    try {
      const path = join(dir, 'vagt.db');
      const db = new Database(path);
      db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
      db.close();
      expect(() => SqliteStore.open(path)).toThrow(/schema version .* newer than this vagt/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives a clear error when the file cannot be opened', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vagt-store-'));
    try {
      // A directory where the file should be.
      expect(() => SqliteStore.open(dir)).toThrow(/cannot open the database/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
