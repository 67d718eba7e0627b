// Batches results from frames that arrive close together into one store transaction, then acks
// them: few large transactions instead of one per frame is what makes SQLite fast, and an ack only
// after the commit is what makes an ack a promise the agent can rely on.
//
// Pacing: a commit starts on the next event-loop turn, but at most one per `minIntervalMs` (unless
// `maxRows` are waiting). Idle, a result is committed at once; under load, commits grow to
// hundreds of rows, which roughly halves SQLite's cost per row (bench/ingest.ts).
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { errorMessage } from '../lib/errors.js';
import type { Store, StoredResult } from './store/types.js';

/** Called once per enqueued batch: with the store's error, or with which rows were new. */
export type CommitCallback = (err: Error | undefined, inserted: readonly boolean[]) => void;

interface Entry {
  rows: readonly StoredResult[];
  done: CommitCallback;
}

export class CommitQueue {
  readonly #store: Store;
  readonly #log: Logger;
  readonly #onCommitted: (rows: readonly StoredResult[], inserted: readonly boolean[]) => void;
  readonly #minIntervalMs: number;
  readonly #maxRows: number;
  #pending: Entry[] = [];
  #pendingRows = 0;
  #timer: { kind: 'immediate'; handle: NodeJS.Immediate } | { kind: 'timeout'; handle: NodeJS.Timeout } | undefined;
  #running: Promise<void> | undefined;
  #lastStart = -Infinity;

  constructor(opts: {
    store: Store;
    logger: Logger;
    /** Runs after each commit and before the acks: latest results, metrics, status. */
    onCommitted: (rows: readonly StoredResult[], inserted: readonly boolean[]) => void;
    minIntervalMs?: number;
    maxRows?: number;
  }) {
    this.#store = opts.store;
    this.#log = opts.logger;
    this.#onCommitted = opts.onCommitted;
    this.#minIntervalMs = opts.minIntervalMs ?? 10;
    this.#maxRows = opts.maxRows ?? 5000;
  }

  /** Rows waiting for the next commit. */
  get pending(): number {
    return this.#pendingRows;
  }

  enqueue(rows: readonly StoredResult[], done: CommitCallback): void {
    this.#pending.push({ rows, done });
    this.#pendingRows += rows.length;
    this.#schedule();
  }

  /** Commits everything enqueued so far (and anything enqueued meanwhile). */
  async drain(): Promise<void> {
    while (this.#running !== undefined || this.#pending.length > 0) {
      this.#cancel();
      if (this.#running !== undefined) await this.#running;
      else await this.#flush();
    }
  }

  #schedule(): void {
    if (this.#running !== undefined) return;
    const wait = this.#lastStart + this.#minIntervalMs - performance.now();
    const now = wait <= 0 || this.#pendingRows >= this.#maxRows;
    if (this.#timer !== undefined) {
      if (!now || this.#timer.kind === 'immediate') return;
      this.#cancel();
    }
    const run = (): void => {
      this.#timer = undefined;
      void this.#flush();
    };
    // setImmediate runs after the poll phase, so every frame read in this turn joins the batch.
    this.#timer = now ? { kind: 'immediate', handle: setImmediate(run) } : { kind: 'timeout', handle: setTimeout(run, wait) };
  }

  #cancel(): void {
    if (this.#timer?.kind === 'immediate') clearImmediate(this.#timer.handle);
    else if (this.#timer?.kind === 'timeout') clearTimeout(this.#timer.handle);
    this.#timer = undefined;
  }

  #flush(): Promise<void> {
    if (this.#running !== undefined) return this.#running;
    const entries = this.#pending;
    if (entries.length === 0) return Promise.resolve();
    this.#pending = [];
    this.#pendingRows = 0;
    this.#lastStart = performance.now();
    this.#running = this.#commit(entries).finally(() => {
      this.#running = undefined;
      if (this.#pending.length > 0) this.#schedule();
    });
    return this.#running;
  }

  async #commit(entries: Entry[]): Promise<void> {
    const rows = entries.length === 1 ? entries[0]!.rows : entries.flatMap((e) => e.rows);
    let inserted: boolean[];
    try {
      inserted = await this.#store.insertResults(rows);
    } catch (err) {
      this.#log.warn({ err: errorMessage(err), results: rows.length }, 'storing results failed; they are not acked');
      const error = err instanceof Error ? err : new Error(String(err));
      for (const e of entries) this.#call(e, error, []);
      return;
    }
    try {
      this.#onCommitted(rows, inserted);
    } catch (err) {
      this.#log.warn({ err }, 'post-commit processing failed');
    }
    let offset = 0;
    for (const e of entries) {
      this.#call(e, undefined, inserted.slice(offset, offset + e.rows.length));
      offset += e.rows.length;
    }
  }

  #call(e: Entry, err: Error | undefined, inserted: readonly boolean[]): void {
    try {
      e.done(err, inserted);
    } catch (cbErr) {
      this.#log.warn({ err: cbErr }, 'ack callback failed');
    }
  }
}
