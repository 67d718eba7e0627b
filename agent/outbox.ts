// Results waiting for the collector's ack, behind a small interface: the durable SQLite outbox
// (outbox-sqlite.ts, with a data directory) and this in-memory one (without).
//
// Each result is serialized once, when it is added: the sender splices the stored JSON into a
// frame, so a result is never stringified twice (not even when it is resent), and a string is
// smaller than the object it came from.
import type { ResultRecord } from '../protocol/messages.js';

export interface OutboxEntry {
  readonly seq: number;
  /** The result as JSON, ready to be spliced into a `results` frame. */
  readonly json: string;
}

export interface OutboxBatch {
  readonly id: number;
  readonly entries: readonly OutboxEntry[];
  /** When the batch was handed out for sending (for the ack timeout). */
  readonly sentAt: number;
}

export interface AckOutcome {
  /** Results of the batch now gone from the outbox (accepted and rejected). */
  removed: number;
  /** The rejected seqs that were in the batch. */
  rejected: number[];
}

export interface Outbox {
  /** Adds a result; returns how many of the oldest pending results were dropped to make room. */
  add(record: ResultRecord): number;
  /**
   * The oldest pending results as a batch, marked in flight, at most `maxResults` of them and at
   * most `maxBytes` of JSON (but always at least one); undefined when nothing is pending.
   */
  nextBatch(maxResults: number, maxBytes: number, now: number): OutboxBatch | undefined;
  /** The collector stored (or refused for good) the batch: its results leave the outbox. */
  ack(batchId: number, rejected: readonly number[]): AckOutcome | undefined;
  /** Puts batches back in front of the pending results, oldest first: all of them (connection lost) or those sent before `sentBefore`. */
  requeue(sentBefore?: number): number;
  /** Results not yet sent. */
  readonly pending: number;
  /** Batches sent and not yet acked. */
  readonly inFlightBatches: number;
  /** Results in those batches. */
  readonly inFlightResults: number;
  /** Results dropped because the outbox was full (or too old), since the start. */
  readonly dropped: number;
  /** The highest seq it holds or held (a durable outbox remembers it across restarts). */
  readonly maxSeq?: number | undefined;
  /** Results added from now on are live: sent alongside the backlog, not behind it. */
  markLive?(): void;
  /** Drops results older than the outbox's age cap; returns how many. */
  dropExpired?(): number;
  close?(): void;
}

/**
 * A result as JSON, once. Only `detail` is unbounded (error messages are capped): a huge one would
 * make a frame the collector refuses, and the result would be resent and refused forever. So the
 * detail gives way and the result is kept.
 */
export function serializeResult(record: ResultRecord, maxEntryBytes: number): string {
  const json = JSON.stringify(record);
  if (json.length > maxEntryBytes / 3 && utf8Bytes(json) > maxEntryBytes)
    return JSON.stringify({ ...record, detail: { truncated: true, bytes: utf8Bytes(json) } });
  return json;
}

/** Bytes of a string as UTF-8, without allocating a buffer. */
function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/**
 * The in-memory outbox: a FIFO of pending results plus the batches in flight. Bounded: when
 * pending + in-flight would exceed `capacity`, the oldest pending results are dropped (a
 * collector that stays away long must not take the agent's memory with it).
 */
export class MemoryOutbox implements Outbox {
  readonly #capacity: number;
  /** Pending entries live in #queue[#head..]; the dead prefix is cut off now and then. */
  #queue: OutboxEntry[] = [];
  #head = 0;
  readonly #inFlight = new Map<number, OutboxBatch>();
  #inFlightResults = 0;
  #nextBatchId = 1;
  #dropped = 0;

  readonly #maxEntryBytes: number;

  constructor(opts: { capacity?: number; maxEntryBytes?: number } = {}) {
    this.#capacity = Math.max(1, opts.capacity ?? 100_000);
    this.#maxEntryBytes = opts.maxEntryBytes ?? 64 * 1024;
  }

  get pending(): number {
    return this.#queue.length - this.#head;
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

  add(record: ResultRecord): number {
    this.#queue.push({ seq: record.seq, json: serializeResult(record, this.#maxEntryBytes) });
    let dropped = 0;
    while (this.pending + this.#inFlightResults > this.#capacity && this.pending > 0) {
      this.#head++;
      dropped++;
    }
    this.#dropped += dropped;
    this.#compact();
    return dropped;
  }

  nextBatch(maxResults: number, maxBytes: number, now: number): OutboxBatch | undefined {
    if (this.pending === 0) return undefined;
    const entries: OutboxEntry[] = [];
    let bytes = 0;
    while (this.#head < this.#queue.length && entries.length < maxResults) {
      const e = this.#queue[this.#head]!;
      const size = utf8Bytes(e.json) + 1;
      if (entries.length > 0 && bytes + size > maxBytes) break;
      entries.push(e);
      bytes += size;
      this.#head++;
    }
    this.#compact();
    const batch: OutboxBatch = { id: this.#nextBatchId++, entries, sentAt: now };
    this.#inFlight.set(batch.id, batch);
    this.#inFlightResults += entries.length;
    return batch;
  }

  ack(batchId: number, rejected: readonly number[]): AckOutcome | undefined {
    const batch = this.#inFlight.get(batchId);
    if (batch === undefined) return undefined;
    this.#inFlight.delete(batchId);
    this.#inFlightResults -= batch.entries.length;
    let inBatch: number[] = [];
    if (rejected.length > 0) {
      const seqs = new Set(batch.entries.map((e) => e.seq));
      inBatch = rejected.filter((s) => seqs.has(s));
    }
    return { removed: batch.entries.length, rejected: inBatch };
  }

  requeue(sentBefore?: number): number {
    // Batch ids grow with time, so map order is oldest first; entries within a batch are in order.
    const back: OutboxEntry[] = [];
    for (const [id, batch] of this.#inFlight) {
      if (sentBefore !== undefined && batch.sentAt >= sentBefore) continue;
      this.#inFlight.delete(id);
      this.#inFlightResults -= batch.entries.length;
      for (const e of batch.entries) back.push(e);
    }
    if (back.length === 0) return 0;
    // Rare (a reconnect or an overdue ack), so a copy is fine. Batches are cut from the front of
    // the queue, so whatever was in flight is older than everything pending: order is kept.
    this.#queue = back.concat(this.#queue.slice(this.#head));
    this.#head = 0;
    return back.length;
  }

  /** Drops the consumed prefix once it is large, so the array does not grow without end. */
  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }
}
