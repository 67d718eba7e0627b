// Hourly aggregates in SQLite, recomputed whole from the raw results: an hour's aggregate is a pure
// function of its results, so a late result, a crash mid-way or a second run only redo work and
// never skew a count. Which hours: those of the results with an id above a watermark (ids only
// grow), kept in `meta` and advanced in the transaction that writes the last recomputed hour.
import type Database from 'better-sqlite3';
import { HOUR_MS, HourAccumulator } from './aggregates.js';
import { LatencySketch } from './sketch.js';
import type { AggregateQuery, HourAggregate } from './types.js';

/** Migration: the hourly aggregates, and a small key-value table for the roll-up's state. */
export const ROLLUP_MIGRATION = `
  CREATE TABLE hourly_aggregates (
    system TEXT NOT NULL,
    probe TEXT NOT NULL,
    agent TEXT NOT NULL,
    hour INTEGER NOT NULL,
    count INTEGER NOT NULL,
    failures INTEGER NOT NULL,
    sum_ms REAL NOT NULL,
    min_ms REAL,
    max_ms REAL,
    sketch BLOB NOT NULL,
    PRIMARY KEY (system, probe, agent, hour)
  ) WITHOUT ROWID;
  CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
  ) WITHOUT ROWID;
`;

/** meta: the highest results.id whose hour has been rolled up. */
const WATERMARK = 'rollup_max_id';
/** meta: the highest `before` pruned; hours before it have lost raw results and are left alone. */
const PRUNED_BEFORE = 'pruned_before';

/** Ids scanned per step when finding the hours touched. */
const ID_STEP = 100_000;
/** Raw results read per step (then committed, then the event loop has its turn): ~30 ms. */
const ROW_STEP = 10_000;
/** Series pruned per step. */
const SERIES_STEP = 500;
/** Raw results deleted per step: an hour of a large fleet is 300,000, most of a second at once. */
const PRUNE_STEP = 5_000;

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

type RawRow = [system: string, probe: string, agent: string, ts: number, ok: number, duration_ms: number, id: number];

interface AggregateRow {
  system: string;
  probe: string;
  agent: string;
  hour: number;
  count: number;
  failures: number;
  sum_ms: number;
  min_ms: number | null;
  max_ms: number | null;
  sketch: Buffer;
}

export class SqliteRollup {
  readonly #db: Database.Database;
  readonly #getMeta: Database.Statement<[string], number>;
  readonly #setMeta: Database.Statement<[string, number]>;
  readonly #maxId: Database.Statement<[], number | null>;
  readonly #hoursOf: Database.Statement<[number, number], number>;
  readonly #page: Database.Statement<[number, number, number, number, number]>;
  readonly #upsert: Database.Statement;
  readonly #pruneStep: (before: number) => number;
  readonly #nextSeries: Database.Statement<[string, string, string], [string, string, string]>;
  readonly #pruneSeries: Database.Statement<[string, string, string, number]>;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#getMeta = db.prepare<[string], number>('SELECT value FROM meta WHERE key = ?').pluck();
    this.#setMeta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
    this.#maxId = db.prepare<[], number | null>('SELECT MAX(id) FROM results').pluck();
    this.#hoursOf = db
      .prepare<[number, number], number>(`SELECT DISTINCT CAST(ts / ${HOUR_MS} AS INTEGER) * ${HOUR_MS} FROM results WHERE id > ? AND id <= ?`)
      .pluck();
    // Keyset pages in (ts, id) order, which the index on ts gives without a sort.
    this.#page = db
      .prepare<[number, number, number, number, number]>(
        `SELECT system, probe, agent, ts, ok, duration_ms, id FROM results
         WHERE ts >= ? AND ts < ? AND NOT (ts = ? AND id <= ?) ORDER BY ts, id LIMIT ?`,
      )
      .raw();
    this.#upsert = db.prepare(
      `INSERT OR REPLACE INTO hourly_aggregates (system, probe, agent, hour, count, failures, sum_ms, min_ms, max_ms, sketch)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const deleteSome = db.prepare('DELETE FROM results WHERE id IN (SELECT id FROM results WHERE ts < ? LIMIT ?)');
    this.#pruneStep = db.transaction((before: number): number => {
      const n = deleteSome.run(before, PRUNE_STEP).changes;
      this.#pruned(before);
      return n;
    });
    // The key leads with the series, so old hours are deleted series by series, each a range of
    // the key; the next series is found by a seek, not a scan.
    this.#nextSeries = db
      .prepare<[string, string, string], [string, string, string]>(
        'SELECT system, probe, agent FROM hourly_aggregates WHERE (system, probe, agent) > (?, ?, ?) ORDER BY system, probe, agent LIMIT 1',
      )
      .raw();
    this.#pruneSeries = db.prepare('DELETE FROM hourly_aggregates WHERE system = ? AND probe = ? AND agent = ? AND hour < ?');
  }

  #meta(key: string): number | undefined {
    return this.#getMeta.get(key);
  }

  /**
   * Recomputes the hours touched since the watermark; returns how many. `stop` is asked between
   * steps: true leaves the watermark where it was, for the next run to redo.
   */
  async run(stop: () => boolean): Promise<number> {
    let from = this.#meta(WATERMARK) ?? 0;
    const to = this.#maxId.get() ?? 0;
    // Rows deleted from the top (by hand) let SQLite reuse ids: start over rather than miss any.
    if (to < from) from = 0;
    if (to === from) return 0;
    const touched = new Set<number>();
    for (let lo = from; lo < to; lo += ID_STEP) {
      for (const h of this.#hoursOf.all(lo, Math.min(lo + ID_STEP, to))) touched.add(h);
      await tick();
      if (stop()) return 0;
    }
    const cutoff = this.#meta(PRUNED_BEFORE) ?? -Infinity;
    const hours = [...touched].filter((h) => h >= cutoff).sort((a, b) => a - b);

    let done = 0;
    let hi = 0;
    // The keyset cursor inside an hour read over several steps; ts -1 is before any hour.
    let after = { ts: -1, id: 0 };
    let acc = new HourAccumulator();
    while (hi < hours.length) {
      // One step: read up to ROW_STEP results (finishing small hours and maybe starting a big
      // one), then write the hours finished, the last of them with the new watermark.
      const finished: HourAggregate[] = [];
      let budget = ROW_STEP;
      while (budget > 0 && hi < hours.length) {
        const hour = hours[hi]!;
        const rows = this.#page.all(Math.max(hour, after.ts), hour + HOUR_MS, after.ts, after.id, budget) as RawRow[];
        for (const [system, probe, agent, ts, ok, duration] of rows) acc.add(system, probe, agent, ts, ok === 1, duration);
        budget -= rows.length;
        const last = rows[rows.length - 1];
        if (last !== undefined && budget === 0) {
          after = { ts: last[3], id: last[6] };
          break;
        }
        finished.push(...acc.take(hour));
        acc = new HourAccumulator();
        after = { ts: -1, id: 0 };
        hi++;
      }
      const complete = hi === hours.length;
      if (finished.length > 0 || complete)
        this.#db.transaction(() => {
          for (const a of finished)
            this.#upsert.run(a.system, a.probe, a.agent, a.hour, a.count, a.failures, a.sum_ms, a.min_ms, a.max_ms, a.sketch.encode());
          if (complete) this.#setMeta.run(WATERMARK, to);
        })();
      done = hi;
      if (complete) break;
      await tick();
      if (stop()) return done;
    }
    if (hours.length === 0) this.#setMeta.run(WATERMARK, to);
    return done;
  }

  /** Deletes raw results with ts < before, PRUNE_STEP per step; returns how many. */
  async pruneResults(before: number, stop: () => boolean): Promise<number> {
    let removed = 0;
    for (;;) {
      const n = this.#pruneStep(before);
      removed += n;
      if (n < PRUNE_STEP || stop()) return removed;
      await tick();
    }
  }

  /**
   * In every prune step's transaction: hours before `before` are not rolled up again, and if the
   * newest results went too, the watermark comes down to the highest id left, since SQLite hands
   * out max(id) + 1 next (every id left at or under the old watermark was rolled up already).
   */
  #pruned(before: number): void {
    const prev = this.#meta(PRUNED_BEFORE);
    if (prev === undefined || before > prev) this.#setMeta.run(PRUNED_BEFORE, before);
    const mark = this.#meta(WATERMARK);
    const max = this.#maxId.get() ?? 0;
    if (mark !== undefined && max < mark) this.#setMeta.run(WATERMARK, max);
  }

  /** Deletes the aggregates of hours before `before`, SERIES_STEP series per step; returns how many. */
  async prune(before: number, stop: () => boolean): Promise<number> {
    let removed = 0;
    let after: [string, string, string] = ['', '', ''];
    const step = this.#db.transaction((): boolean => {
      for (let i = 0; i < SERIES_STEP; i++) {
        const next = this.#nextSeries.get(...after);
        if (next === undefined) return true;
        removed += this.#pruneSeries.run(...next, before).changes;
        after = next;
      }
      return false;
    });
    while (!step()) {
      await tick();
      if (stop()) break;
    }
    return removed;
  }

  query(q: AggregateQuery): HourAggregate[] {
    const where = ['hour >= ?', 'hour < ?'];
    const params: (string | number)[] = [q.from, q.to];
    for (const col of ['system', 'probe', 'agent'] as const) {
      const v = q[col];
      if (v !== undefined) {
        where.push(`${col} = ?`);
        params.push(v);
      }
    }
    const rows = this.#db
      .prepare(`SELECT * FROM hourly_aggregates WHERE ${where.join(' AND ')} ORDER BY system, probe, agent, hour`)
      .all(...params) as AggregateRow[];
    return rows.map((r) => ({ ...r, sketch: LatencySketch.decode(r.sketch) }));
  }
}
