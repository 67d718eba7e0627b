// Reports from an authority's own monitoring (Zabbix, Nagios, OneView, Alertmanager): each becomes a
// stored result of the reporting source, on the system's probes it may report on, so the status
// engine counts it as one more vantage point. Answered only after the commit, as agents' acks are.
import type { Clock } from '../lib/clock.js';
import type { CommitQueue } from './commit-queue.js';
import type { StoredResult } from './store/types.js';

/** What a source said about a system (or one of its probes) at a time. */
export interface ExternalOutcome {
  ok: boolean;
  /** When the reporter's check ran, epoch ms. */
  ts: number;
  /** A response time the reporter measured; stored with the result, not used for slowness. */
  duration_ms?: number;
  /** Why it failed (or what it said), in the reporter's words. */
  message?: string;
  /** How it came: the generic endpoint or Alertmanager, and what exactly was said. */
  detail: Record<string, unknown>;
}

export interface ExternalReportsOptions {
  clock: Clock;
  queue: CommitQueue;
  /** Highest seq stored for an agent, so a restart continues the sequence. */
  maxSeq(agent: string): Promise<number | undefined>;
  /** Requests a source may make per second, sustained, and in a burst. */
  rate?: { perSecond: number; burst: number };
}

/**
 * Generous for any real reporter (100 systems checked every 10 s is 10 a second), but a runaway
 * script cannot fill the database or starve the agents' ingest: at most 500 results a second.
 */
export const DEFAULT_RATE = { perSecond: 100, burst: 1000 };

const firingKey = (source: string, system: string, probe: string | undefined): string => `${source}\u0000${system}\u0000${probe ?? ''}`;

export class ExternalReports {
  readonly #clock: Clock;
  readonly #queue: CommitQueue;
  readonly #maxSeq: (agent: string) => Promise<number | undefined>;
  readonly #seq = new Map<string, number>();
  readonly #loading = new Map<string, Promise<void>>();
  /** Per source, system and probe ('' for all): Alertmanager fingerprints firing now. */
  readonly #firing = new Map<string, Set<string>>();
  readonly #rate: { perSecond: number; burst: number };
  /** Per source: a token bucket, as of `at`. */
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(opts: ExternalReportsOptions) {
    this.#clock = opts.clock;
    this.#queue = opts.queue;
    this.#maxSeq = (agent) => opts.maxSeq(agent);
    this.#rate = opts.rate ?? DEFAULT_RATE;
  }

  /** Takes one request from the source's budget: undefined when allowed, else the ms until it is. */
  admit(source: string): number | undefined {
    const now = this.#clock.now();
    const { perSecond, burst } = this.#rate;
    const b = this.#buckets.get(source) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + (Math.max(0, now - b.at) * perSecond) / 1000);
    b.at = now;
    this.#buckets.set(source, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return undefined;
    }
    return Math.ceil(((1 - b.tokens) * 1000) / perSecond);
  }

  /** Stores one result per probe; resolves once committed, with the results as stored. */
  async record(source: string, system: string, probes: readonly string[], outcome: ExternalOutcome): Promise<StoredResult[]> {
    await this.#loadSeq(source);
    const now = this.#clock.now();
    const rows = probes.map((probe): StoredResult => {
      const seq = (this.#seq.get(source) ?? 0) + 1;
      this.#seq.set(source, seq);
      const r: StoredResult = {
        agent: source,
        seq,
        system,
        probe,
        ts: outcome.ts,
        ok: outcome.ok,
        duration_ms: outcome.duration_ms ?? 0,
        phases: {},
        detail: outcome.detail,
        received_at: now,
      };
      if (!outcome.ok) r.error = { code: 'reported', message: outcome.message ?? `reported by ${source}` };
      return r;
    });
    if (rows.length === 0) return rows;
    await new Promise<void>((resolve, reject) => {
      this.#queue.enqueue(rows, (err) => (err === undefined ? resolve() : reject(err)));
    });
    return rows;
  }

  /**
   * Notes that an alert (by fingerprint) fires or resolved. Alertmanager groups alerts as it likes,
   * so one notification's "resolved" must not clear an alert of the same system that another group
   * still reports firing.
   */
  noteAlert(source: string, system: string, probe: string | undefined, fingerprint: string, firing: boolean): void {
    const key = firingKey(source, system, probe);
    let set = this.#firing.get(key);
    if (firing) {
      if (set === undefined) this.#firing.set(key, (set = new Set()));
      set.add(fingerprint);
    } else {
      set?.delete(fingerprint);
      if (set?.size === 0) this.#firing.delete(key);
    }
  }

  /** How many alerts fire for the target (probe undefined: for the whole system). */
  firing(source: string, system: string, probe: string | undefined): number {
    return this.#firing.get(firingKey(source, system, probe))?.size ?? 0;
  }

  #loadSeq(source: string): Promise<void> {
    if (this.#seq.has(source)) return Promise.resolve();
    let p = this.#loading.get(source);
    if (p === undefined) {
      p = this.#maxSeq(source).then(
        (max) => {
          // Another load may have raced ahead; never go back.
          this.#seq.set(source, Math.max(this.#seq.get(source) ?? 0, max ?? 0));
          this.#loading.delete(source);
        },
        (err: unknown) => {
          this.#loading.delete(source);
          throw err;
        },
      );
      this.#loading.set(source, p);
    }
    return p;
  }
}
