// The durable outbox: every (event, channel) that the channel wants is written to the database
// before anything is sent, then dispatched oldest first, a channel's messages in order and
// channels in parallel; a failure is retried with exponential backoff and jitter (or at the
// receiver's Retry-After, bounded) for hours, then dropped, counted and logged. A sent row is
// final, so an event reaches a channel at most once after success; the rows outlive a restart, so
// none is lost to one either.
//
// Flap damping lives here too, per channel: with a `hold`, a status event waits that long in the
// table (next_at in the future), and a flip back within the hold cancels both.
import type { Logger } from 'pino';
import type { Clock } from '../../lib/clock.js';
import { errorMessage } from '../../lib/errors.js';
import type { ChannelBacklog, Delivery, NewDelivery, Store } from '../store/types.js';
import { STATUS_EVENT_KINDS } from './events.js';
import type { Channel, NotifyEvent, NotifyEventKind } from './types.js';

export interface RetryPolicy {
  /** The first retry comes after about this long; each next one after twice as long. */
  baseMs: number;
  /** ... but never more than this apart. */
  maxMs: number;
  /** Dropped when the last attempt failed this long after the delivery was queued... */
  giveUpMs: number;
  /** ... or after this many attempts. */
  maxAttempts: number;
  /** A receiver's Retry-After is followed up to this far ahead. */
  retryAfterMaxMs: number;
}

export interface OutboxTuning extends RetryPolicy {
  /** Rows taken per dispatch round. */
  batch: number;
  /** Channels sending at the same time. */
  parallel: number;
  /** An attempt that has not settled by then counts as failed. */
  sendTimeoutMs: number;
}

export const DEFAULT_OUTBOX: OutboxTuning = {
  baseMs: 1000,
  maxMs: 600_000,
  giveUpMs: 12 * 3_600_000,
  maxAttempts: 1000,
  retryAfterMaxMs: 3_600_000,
  batch: 500,
  parallel: 16,
  sendTimeoutMs: 60_000,
};

/** A channel rejects with this (or any error with `permanent: true`) when retrying cannot help. */
export class PermanentError extends Error {
  readonly permanent = true;
}

/**
 * A channel rejects with this (or any error with a numeric `retryAt`) when the receiver said when
 * to come back (Retry-After); the outbox follows it within bounds instead of its backoff.
 */
export class RetryLaterError extends Error {
  constructor(
    message: string,
    /** Epoch ms, by the channel's clock. */
    readonly retryAt: number,
  ) {
    super(message);
  }
}

function retryAtOf(err: unknown): number | undefined {
  const at = typeof err === 'object' && err !== null ? (err as { retryAt?: unknown }).retryAt : undefined;
  return typeof at === 'number' && Number.isFinite(at) ? at : undefined;
}

export interface OutboxMetrics {
  sent(channel: string): void;
  /** An attempt failed. */
  failed(channel: string): void;
  /** A failed attempt was scheduled again. */
  retried(channel: string): void;
  dropped(channel: string, n: number): void;
  /** The pending deliveries per channel after a round. */
  pending(backlog: readonly ChannelBacklog[]): void;
}

/** The channels of one dispatch round. */
export interface ChannelDirectory {
  /** Those that can send now. */
  readonly channels: readonly Channel[];
  /**
   * Whether a channel not among `channels` is gone for good, so its pending rows are dropped;
   * false while it may come back (configured, but its type unavailable; subscribers not loaded yet).
   */
  gone(id: string): boolean;
}

/** Whether the channel wants the event: its events filter, and one of the event's systems in its systems filter. */
export function wants(c: Pick<Channel, 'systems' | 'events'>, e: Pick<NotifyEvent, 'kind' | 'systems'>): boolean {
  if (c.events !== undefined && !c.events.includes(e.kind)) return false;
  const systems = c.systems;
  return systems === undefined || e.systems.some((s) => systems.includes(s.id));
}

/** Delay before retry `attempt` (1, 2, ...): base · 2^(attempt-1), capped, ±20 % jitter (within the cap). */
export function backoff(attempt: number, p: Pick<RetryPolicy, 'baseMs' | 'maxMs'>, random: () => number): number {
  const d = Math.min(p.maxMs, p.baseMs * 2 ** Math.min(attempt - 1, 40));
  return Math.round(Math.min(p.maxMs, d * (0.8 + 0.4 * random())));
}

/**
 * When to try again after a failed attempt: the receiver's time when it gave one, but no sooner
 * than the first backoff, at most retryAfterMaxMs ahead and never past the give-up deadline (so
 * that the last attempt still comes); else the backoff.
 */
export function nextAttempt(failure: unknown, attempts: number, now: number, createdAt: number, p: RetryPolicy, random: () => number): number {
  const hint = retryAtOf(failure);
  if (hint === undefined) return now + backoff(attempts, p, random);
  return Math.min(Math.max(hint, now + p.baseMs), now + p.retryAfterMaxMs, Math.max(now, createdAt + p.giveUpMs));
}

/** Per channel: what a held status event is about, so that a flip back can cancel it. */
interface Damper {
  /** System -> the latest status event for it on this channel, and when that is due. */
  last: Map<string, { eventId: string; kind: NotifyEventKind; due: number }>;
  /** System -> the status event the channel was last told (or will be, once due); none: all well. */
  told: Map<string, NotifyEventKind>;
  /** The channel's copy of held events by id (they may lose systems that flapped back). */
  held: Map<string, NotifyEvent>;
}

const newDamper = (): Damper => ({ last: new Map(), told: new Map(), held: new Map() });

export class Outbox {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #directory: () => ChannelDirectory;
  readonly #metrics: OutboxMetrics | undefined;
  readonly #t: OutboxTuning;
  readonly #random: () => number;
  readonly #dampers = new Map<string, Damper>();
  /** Channels with a worker sending now. */
  readonly #busy = new Map<string, Promise<void>>();
  /** Removed channels already logged, so a long backlog gives one line. */
  readonly #goneLogged = new Set<string>();
  /** Per busy channel, rows withdrawn while its worker holds them: it skips them. */
  readonly #withdrawn = new Map<string, Set<string>>();
  /** enqueue() and a round's taking of rows, one at a time: a held row is not taken while being cancelled. */
  #serial: Promise<unknown> = Promise.resolve();
  #round: Promise<void> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #running = false;
  #closing = false;

  constructor(opts: {
    store: Store;
    clock: Clock;
    log: Logger;
    /** Called on every round and every enqueue: the channels in force now. */
    channels: () => ChannelDirectory;
    metrics?: OutboxMetrics;
    tuning?: Partial<OutboxTuning>;
    random?: () => number;
  }) {
    this.#store = opts.store;
    this.#clock = opts.clock;
    this.#log = opts.log;
    this.#directory = opts.channels;
    this.#metrics = opts.metrics;
    this.#t = { ...DEFAULT_OUTBOX, ...opts.tuning };
    this.#random = opts.random ?? Math.random;
  }

  /**
   * Takes up what is pending (from before a restart too) and dispatches from now on: at once for
   * new events, on a timer for retries and held ones.
   */
  async start(): Promise<void> {
    await this.#restoreHeld();
    this.#running = true;
    this.kick();
  }

  /** Rebuilds the damping state from held status events (due later than now). */
  async #restoreHeld(): Promise<void> {
    const now = this.#clock.now();
    const rows = await this.#store.deliveries({ state: 'pending', limit: 100_000 });
    for (const r of rows) {
      if (r.next_at <= now || !STATUS_EVENT_KINDS.has(r.event.kind)) continue;
      const d = this.#damper(r.channel);
      d.held.set(r.event_id, r.event);
      for (const s of r.event.systems) {
        d.last.set(s.id, { eventId: r.event_id, kind: r.event.kind, due: r.next_at });
        // A held recovery follows an outage the channel was told of.
        if (r.event.kind === 'recovery') d.told.set(s.id, 'outage');
      }
    }
  }

  #damper(channel: string): Damper {
    let d = this.#dampers.get(channel);
    if (d === undefined) this.#dampers.set(channel, (d = newDamper()));
    return d;
  }

  /**
   * Queues the event for every channel that wants it (after damping); resolves with how many rows
   * were queued. `supersedes`: earlier events (a cancelled window's announcement) whose deliveries
   * still waiting are withdrawn first; a channel that had them but was sent none of them gets
   * this one neither (it never heard of what this one retracts).
   */
  enqueue(event: NotifyEvent, opts: { supersedes?: readonly string[] } = {}): Promise<number> {
    const run = this.#serial.then(() => this.#enqueue(event, opts.supersedes ?? []));
    this.#serial = run.catch(() => undefined);
    return run;
  }

  async #enqueue(event: NotifyEvent, supersedes: readonly string[]): Promise<number> {
    const now = this.#clock.now();
    const rows: NewDelivery[] = [];
    const untold = supersedes.length === 0 ? undefined : await this.#withdraw(supersedes, event.id, now);
    for (const ch of this.#directory().channels) {
      if (untold?.has(ch.id) === true) continue;
      if (ch.holdMs > 0 && STATUS_EVENT_KINDS.has(event.kind)) {
        // Damped on the systems filter alone: a recovery the channel does not want still cancels
        // the held outage it follows.
        if (!wants({ systems: ch.systems, events: undefined }, event)) continue;
        const held = await this.#damp(ch, event, now);
        if (held !== undefined && wants(ch, held)) rows.push({ channel: ch.id, event: held, next_at: Math.max(now, event.at + ch.holdMs), created_at: now });
        continue;
      }
      if (wants(ch, event)) rows.push({ channel: ch.id, event, next_at: now, created_at: now });
    }
    if (rows.length === 0) return 0;
    const inserted = await this.#store.enqueueDeliveries(rows);
    const n = inserted.filter(Boolean).length;
    if (n > 0) this.kick();
    return n;
  }

  /** Cancels the pending deliveries of `ids`; returns the channels that had some of them and were sent none. */
  async #withdraw(ids: readonly string[], by: string, now: number): Promise<Set<string>> {
    const told = new Map<string, boolean>();
    for (const id of ids)
      for (const r of await this.#store.deliveries({ event_id: id, limit: 100_000 })) {
        let sent = r.state === 'sent';
        if (r.state === 'pending') {
          const busy = this.#busy.has(r.channel);
          // A busy channel's worker may hold the row (or be sending it): it skips it, or it went out.
          if (busy) this.#withdrawn.set(r.channel, (this.#withdrawn.get(r.channel) ?? new Set()).add(id));
          const cancelled = await this.#store.updateDelivery(id, r.channel, { state: 'cancelled', next_at: now, last_error: `superseded by ${by}` });
          sent = busy || !cancelled;
          if (cancelled) this.#log.info({ channel: r.channel, event: id, by }, 'notification withdrawn: superseded');
        }
        told.set(r.channel, (told.get(r.channel) ?? false) || sent);
      }
    return new Set([...told].filter(([, t]) => !t).map(([c]) => c));
  }

  /**
   * Damping for one channel with a hold: a system whose previous status event is still held is
   * taken out of it (the row is cancelled when nothing is left), and the new event keeps only the
   * systems whose news differs from what the channel was last told. Returns the channel's copy of
   * the event to hold, or undefined when nothing is left of it.
   */
  async #damp(ch: Channel, event: NotifyEvent, now: number): Promise<NotifyEvent | undefined> {
    const d = this.#damper(ch.id);
    const due = Math.max(now, event.at + ch.holdMs);
    const cancel = new Map<string, Set<string>>();
    const keep = new Set<string>();
    for (const s of event.systems) {
      const prev = d.last.get(s.id);
      let baseline: NotifyEventKind | undefined;
      if (prev !== undefined && prev.due > now) {
        const set = cancel.get(prev.eventId) ?? new Set<string>();
        set.add(s.id);
        cancel.set(prev.eventId, set);
        baseline = d.told.get(s.id);
      } else {
        baseline = prev?.kind ?? d.told.get(s.id);
        if (baseline === undefined) d.told.delete(s.id);
        else d.told.set(s.id, baseline);
      }
      if (event.kind !== (baseline ?? 'recovery')) {
        keep.add(s.id);
        d.last.set(s.id, { eventId: event.id, kind: event.kind, due });
      } else d.last.delete(s.id);
    }
    for (const [eventId, systems] of cancel) {
      const old = d.held.get(eventId);
      if (old === undefined) continue;
      const rest = { ...old, systems: old.systems.filter((s) => !systems.has(s.id)) };
      if (rest.systems.length === 0 || !wants(ch, rest)) {
        d.held.delete(eventId);
        if (await this.#store.updateDelivery(eventId, ch.id, { state: 'cancelled', next_at: now, last_error: 'flapped back within the hold' }))
          this.#log.info({ channel: ch.id, event: eventId, by: event.id }, 'notification cancelled: the status flapped back within the hold');
      } else {
        d.held.set(eventId, rest);
        await this.#store.updateDelivery(eventId, ch.id, { event: rest });
      }
    }
    // Held events whose time has come no longer need their copy.
    for (const [id, e] of d.held) if (e.systems.every((s) => d.last.get(s.id)?.eventId !== id)) d.held.delete(id);
    if (keep.size === 0) return undefined;
    const mine = keep.size === event.systems.length ? event : { ...event, systems: event.systems.filter((s) => keep.has(s.id)) };
    d.held.set(event.id, mine);
    return mine;
  }

  /** Asks for a dispatch round soon (coalesced). */
  kick(): void {
    if (!this.#running || this.#closing) return;
    if (this.#round !== undefined) {
      this.#again = true;
      return;
    }
    this.#immediate ??= setImmediate(() => {
      this.#immediate = undefined;
      void this.round();
    });
  }

  /** One dispatch round: takes the due rows and starts a worker per channel. Exposed for tests. */
  round(): Promise<void> {
    if (this.#round !== undefined) {
      this.#again = true;
      return this.#round;
    }
    const run = this.#serial.then(() => this.#takeAndDispatch());
    this.#serial = run.catch(() => undefined);
    this.#round = run
      .catch((err: unknown) => {
        if (!this.#closing) this.#log.warn({ err: errorMessage(err) }, 'notification dispatch failed');
        this.#schedule(this.#clock.now() + 5000);
      })
      .finally(() => {
        this.#round = undefined;
        if (this.#again) {
          this.#again = false;
          this.kick();
        }
      });
    return this.#round;
  }

  async #takeAndDispatch(): Promise<void> {
    if (this.#closing || !this.#store.open) return;
    const now = this.#clock.now();
    const dir = this.#directory();
    const byId = new Map(dir.channels.map((c) => [c.id, c]));
    // Channel by channel, the one with the oldest due message first, so that a long backlog of one
    // channel never keeps the others waiting.
    const before = await this.#store.deliveryBacklog();
    const due = before.filter((b) => b.next_at <= now && !this.#busy.has(b.channel)).sort((a, b) => a.next_at - b.next_at);
    for (const b of due) {
      const ch = byId.get(b.channel);
      if (ch === undefined) {
        if (dir.gone(b.channel)) await this.#dropChannel(b.channel, now);
        continue;
      }
      this.#goneLogged.delete(ch.id);
      if (this.#busy.size >= this.#t.parallel) continue;
      const rows = await this.#store.deliveries({ state: 'pending', channel: ch.id, due: now, limit: this.#t.batch });
      if (rows.length === 0) continue;
      const work = this.#work(ch, rows).finally(() => {
        this.#busy.delete(ch.id);
        this.#withdrawn.delete(ch.id);
        this.kick();
      });
      this.#busy.set(ch.id, work);
    }
    const backlog = await this.#store.deliveryBacklog();
    this.#metrics?.pending(backlog);
    // The next round: when the earliest message of a channel that is not busy comes due; in a
    // second for one that is due but cannot send yet (a finished worker asks for a round too).
    let next: number | undefined;
    for (const b of backlog) {
      if (this.#busy.has(b.channel)) continue;
      const at = b.next_at > now ? b.next_at : now + 1000;
      if (next === undefined || at < next) next = at;
    }
    if (next !== undefined) this.#schedule(next);
  }

  /** Drops every pending message of a channel that is gone, held ones too; logs it once. */
  async #dropChannel(channel: string, now: number): Promise<void> {
    let n = 0;
    for (;;) {
      const rows = await this.#store.deliveries({ state: 'pending', channel, limit: this.#t.batch });
      if (rows.length === 0) break;
      for (const r of rows) if (await this.#store.updateDelivery(r.event_id, channel, { state: 'dropped', next_at: now, last_error: 'channel removed' })) n++;
    }
    if (n === 0) return;
    this.#metrics?.dropped(channel, n);
    this.#dampers.delete(channel);
    if (!this.#goneLogged.has(channel)) {
      this.#goneLogged.add(channel);
      this.#log.warn({ channel, dropped: n }, 'notifications dropped: the channel is no longer configured');
    }
  }

  #schedule(at: number): void {
    if (!this.#running || this.#closing) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    // A minute at most: the clock may be set while the collector runs.
    const delay = Math.min(60_000, Math.max(0, at - this.#clock.now()));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.kick();
    }, delay);
    this.#timer.unref();
  }

  /** Sends one channel's due rows in order; stops at the first that must wait for a retry. */
  async #work(ch: Channel, rows: readonly Delivery[]): Promise<void> {
    for (const r of rows) {
      if (this.#closing) return;
      if (this.#withdrawn.get(ch.id)?.has(r.event_id) === true) continue;
      if (!(await this.#attempt(ch, r))) return;
    }
  }

  /** One attempt; false when the channel must wait (the row is scheduled again). */
  async #attempt(ch: Channel, r: Delivery): Promise<boolean> {
    const attempts = r.attempts + 1;
    let failed = false;
    let failure: unknown;
    try {
      await withTimeout(ch.send(r.event), this.#t.sendTimeoutMs);
    } catch (err) {
      failed = true;
      failure = err;
    }
    const now = this.#clock.now();
    try {
      if (!failed) {
        await this.#store.updateDelivery(r.event_id, ch.id, { state: 'sent', attempts, sent_at: now, next_at: now, last_error: null });
        this.#metrics?.sent(ch.id);
        this.#log.debug({ channel: ch.id, event: r.event_id, attempts }, 'notification sent');
        return true;
      }
      this.#metrics?.failed(ch.id);
      const reason = errorMessage(failure).slice(0, 500);
      const permanent = typeof failure === 'object' && failure !== null && (failure as { permanent?: unknown }).permanent === true;
      if (permanent || attempts >= this.#t.maxAttempts || now - r.created_at >= this.#t.giveUpMs) {
        await this.#store.updateDelivery(r.event_id, ch.id, { state: 'dropped', attempts, next_at: now, last_error: reason });
        this.#metrics?.dropped(ch.id, 1);
        this.#log.warn(
          { channel: ch.id, event: r.event_id, attempts, err: reason },
          permanent ? 'notification dropped: the receiver refused it for good' : 'notification dropped: no success within the retry limit',
        );
        return true;
      }
      const next = nextAttempt(failure, attempts, now, r.created_at, this.#t, this.#random);
      await this.#store.updateDelivery(r.event_id, ch.id, { attempts, next_at: next, last_error: reason });
      // The channel's later messages wait behind this one, so the receiver gets them in order.
      await this.#store.deferDeliveries(ch.id, next);
      this.#metrics?.retried(ch.id);
      const log = { channel: ch.id, event: r.event_id, attempts, retry_in_ms: next - now, retry_after: retryAtOf(failure) !== undefined, err: reason };
      if (attempts === 1) this.#log.warn(log, 'notification failed; retrying');
      else this.#log.info(log, 'notification failed again; retrying');
      return false;
    } catch (err) {
      // The store closed under us (shutdown): the row stays pending and is tried after the start.
      if (!this.#closing) this.#log.warn({ channel: ch.id, event: r.event_id, err: errorMessage(err) }, 'recording a notification attempt failed');
      return false;
    }
  }

  /** Resolves when no round and no send is under way (tests, shutdown). */
  async idle(): Promise<void> {
    for (;;) {
      const pending = [this.#round, ...this.#busy.values()].filter((p) => p !== undefined);
      if (pending.length === 0 && this.#immediate === undefined) return;
      if (pending.length === 0) await new Promise((r) => setImmediate(r));
      else await Promise.allSettled(pending);
    }
  }

  /** Stops dispatching; waits up to `graceMs` for sends under way (what is cut off is sent after the next start). */
  async close(graceMs = 2000): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((r) => (timer = setTimeout(r, graceMs)));
    await Promise.race([Promise.allSettled([this.#round, ...this.#busy.values(), this.#serial]), grace]);
    clearTimeout(timer);
    this.#closing = true;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
