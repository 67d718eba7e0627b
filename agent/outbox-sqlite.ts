// The durable outbox: every result is in SQLite (the agent's --data-dir) before it can be sent, and
// leaves only when the collector acks it, so neither a collector that is away nor the agent's own
// restart loses one. WAL with synchronous=NORMAL: a commit survives the agent being killed (it is
// in the WAL); only a power loss can take the last commits, as for the collector's store.
//
// Rows are sent oldest first, except that after a reconnect the results produced since then (the
// "live" ones) take every other batch, so a long backlog does not keep the current status stale.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { VagtError, errorMessage } from '../lib/errors.js';
import type { ResultRecord } from '../protocol/messages.js';
import { serializeResult, type AckOutcome, type Outbox, type OutboxBatch, type OutboxEntry } from './outbox.js';

export interface SqliteOutboxOptions {
  /** Drop the oldest pending results beyond this many bytes of JSON; default 512 MiB. */
  maxBytes?: number;
  /** Drop pending results older than this (by their ts), ms; default 7 days. */
  maxAgeMs?: number;
  maxEntryBytes?: number;
  /** Wall clock for the age cap; default Date.now. */
  now?: () => number;
}

interface Flight {
  batch: OutboxBatch;
  first: number;
  last: number;
  bytes: number;
}

/** One region of the queue: rows with seq in (cursor, end). */
interface Region {
  cursor: number;
  end: number;
}

const AGE_CHECK_EVERY = 1_000;

export class SqliteOutbox implements Outbox {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #insert: Database.Statement;
  readonly #range: Database.Statement;
  readonly #deleteRange: Database.Statement;
  readonly #maxBytes: number;
  readonly #maxAgeMs: number;
  readonly #maxEntryBytes: number;
  readonly #now: () => number;
  /** Rows and bytes stored, in flight or not. */
  #rows = 0;
  #bytes = 0;
  #inFlightResults = 0;
  readonly #inFlight = new Map<number, Flight>();
  #nextBatchId = 1;
  #dropped = 0;
  #maxSeq: number | undefined;
  #backlog: Region = { cursor: -1, end: Number.MAX_SAFE_INTEGER };
  #live: Region | undefined;
  #liveTurn = false;
  #addsSinceAgeCheck = 0;

  private constructor(path: string, db: Database.Database, opts: SqliteOutboxOptions) {
    this.path = path;
    this.#db = db;
    this.#maxBytes = opts.maxBytes ?? 512 * 1024 * 1024;
    this.#maxAgeMs = opts.maxAgeMs ?? 7 * 86_400_000;
    this.#maxEntryBytes = opts.maxEntryBytes ?? 64 * 1024;
    this.#now = opts.now ?? Date.now;
    this.#insert = db.prepare('INSERT INTO outbox (seq, ts, bytes, json) VALUES (?, ?, ?, ?)');
    this.#range = db.prepare('SELECT seq, bytes, json FROM outbox WHERE seq > ? AND seq < ? ORDER BY seq LIMIT ?');
    this.#deleteRange = db.prepare('DELETE FROM outbox WHERE seq >= ? AND seq <= ?');
    const stats = db.prepare('SELECT COUNT(*) AS rows, COALESCE(SUM(bytes), 0) AS bytes, MAX(seq) AS max FROM outbox').get() as {
      rows: number;
      bytes: number;
      max: number | null;
    };
    this.#rows = stats.rows;
    this.#bytes = stats.bytes;
    this.#maxSeq = stats.max ?? undefined;
  }

  /** Opens (creating if missing) `<dir>/outbox.db`. */
  static open(dir: string, opts: SqliteOutboxOptions = {}): SqliteOutbox {
    const path = join(dir, 'outbox.db');
    let db: Database.Database | undefined;
    try {
      mkdirSync(dir, { recursive: true });
      db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      // Appends at the tail, reads and deletes at the head: a small page cache does, and the
      // agent's memory budget is tight (docs/PERFORMANCE.md).
      db.pragma('cache_size = -256');
      db.exec('CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, bytes INTEGER NOT NULL, json TEXT NOT NULL)');
      return new SqliteOutbox(path, db, opts);
    } catch (err) {
      db?.close();
      throw new VagtError('VAGT_ERR_STORE', `cannot open the outbox ${path}: ${errorMessage(err)}`, { cause: err });
    }
  }

  get pending(): number {
    return this.#rows - this.#inFlightResults;
  }
  get inFlightBatches(): number {
    return this.#inFlight.size;
  }
  get inFlightResults(): number {
    return this.#inFlightResults;
  }
  get dropped(): number {
    return this.#dropped;
  }
  /** The highest seq ever stored here, so a restarted agent continues above it. */
  get maxSeq(): number | undefined {
    return this.#maxSeq;
  }

  add(record: ResultRecord): number {
    const json = serializeResult(record, this.#maxEntryBytes);
    const bytes = Buffer.byteLength(json, 'utf8');
    this.#insert.run(record.seq, Math.round(record.ts), bytes, json);
    this.#rows++;
    this.#bytes += bytes;
    if (this.#maxSeq === undefined || record.seq > this.#maxSeq) this.#maxSeq = record.seq;
    let dropped = 0;
    // Down to 90 % at once, so a full outbox does not drop on every add.
    if (this.#bytes > this.#maxBytes) dropped += this.#dropOldest(() => this.#bytes > this.#maxBytes * 0.9);
    if (++this.#addsSinceAgeCheck >= AGE_CHECK_EVERY) {
      this.#addsSinceAgeCheck = 0;
      dropped += this.dropExpired();
    }
    return dropped;
  }

  /** Drops pending results older than the age cap; returns how many. */
  dropExpired(): number {
    const cutoff = this.#now() - this.#maxAgeMs;
    return this.#dropOldest((r) => r.ts < cutoff);
  }

  /**
   * Deletes pending rows from the oldest while `more(row)` holds. In-flight rows are not touched:
   * their ack removes them.
   */
  #dropOldest(more: (r: { bytes: number; ts: number }) => boolean): number {
    const select = this.#db.prepare('SELECT seq, ts, bytes FROM outbox WHERE seq > ? ORDER BY seq LIMIT 500');
    let dropped = 0;
    const del = this.#db.prepare('DELETE FROM outbox WHERE seq = ?');
    this.#db.transaction(() => {
      let after = this.#backlog.cursor;
      for (;;) {
        const rows = select.all(after) as { seq: number; ts: number; bytes: number }[];
        if (rows.length === 0) return;
        for (const r of rows) {
          after = r.seq;
          if (this.#isInFlight(r.seq)) continue;
          if (!more(r)) return;
          del.run(r.seq);
          this.#rows--;
          this.#bytes -= r.bytes;
          dropped++;
        }
      }
    })();
    this.#dropped += dropped;
    return dropped;
  }

  #isInFlight(seq: number): boolean {
    for (const f of this.#inFlight.values()) if (seq >= f.first && seq <= f.last) return true;
    return false;
  }

  /** Results from now on are live: after a reconnect they alternate with the backlog. */
  markLive(): void {
    if (this.#inFlight.size > 0) this.requeue();
    const from = this.#maxSeq ?? -1;
    this.#backlog.end = from + 0.5;
    this.#live = { cursor: from, end: Number.MAX_SAFE_INTEGER };
    this.#liveTurn = false;
  }

  nextBatch(maxResults: number, maxBytes: number, now: number): OutboxBatch | undefined {
    if (this.pending === 0) return undefined;
    const order: Region[] = [];
    if (this.#live !== undefined) order.push(...(this.#liveTurn ? [this.#live, this.#backlog] : [this.#backlog, this.#live]));
    else order.push(this.#backlog);
    this.#liveTurn = !this.#liveTurn;
    for (const region of order) {
      const rows = this.#range.all(region.cursor, region.end, maxResults) as { seq: number; bytes: number; json: string }[];
      if (rows.length === 0) continue;
      const entries: OutboxEntry[] = [];
      let bytes = 0;
      for (const r of rows) {
        if (entries.length > 0 && bytes + r.bytes + 1 > maxBytes) break;
        entries.push({ seq: r.seq, json: r.json });
        bytes += r.bytes + 1;
      }
      const first = entries[0]!.seq;
      const last = entries[entries.length - 1]!.seq;
      region.cursor = last;
      const batch: OutboxBatch = { id: this.#nextBatchId++, entries, sentAt: now };
      this.#inFlight.set(batch.id, { batch, first, last, bytes });
      this.#inFlightResults += entries.length;
      return batch;
    }
    return undefined;
  }

  ack(batchId: number, rejected: readonly number[]): AckOutcome | undefined {
    const f = this.#inFlight.get(batchId);
    if (f === undefined) return undefined;
    this.#inFlight.delete(batchId);
    this.#inFlightResults -= f.batch.entries.length;
    // Rejected results are gone for good too: the collector will never take them.
    this.#rows -= this.#deleteRange.run(f.first, f.last).changes;
    this.#bytes -= f.bytes - f.batch.entries.length;
    let inBatch: number[] = [];
    if (rejected.length > 0) {
      const seqs = new Set(f.batch.entries.map((e) => e.seq));
      inBatch = rejected.filter((s) => seqs.has(s));
    }
    return { removed: f.batch.entries.length, rejected: inBatch };
  }

  requeue(sentBefore?: number): number {
    let overdue = false;
    for (const f of this.#inFlight.values()) if (sentBefore === undefined || f.batch.sentAt < sentBefore) overdue = true;
    if (!overdue) return 0;
    // Everything in flight goes back (a later ack of it is ignored; resending is safe): the
    // queue then is again "all rows above the cursors".
    const back = this.#inFlightResults;
    this.#inFlight.clear();
    this.#inFlightResults = 0;
    this.#backlog.cursor = -1;
    if (this.#live !== undefined) this.#live.cursor = this.#backlog.end - 0.5;
    return back;
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}
