// Runs each assigned probe at its interval. One timer for all probes (a min-heap of due times):
// with 500 probes that is one Timeout object instead of 500, and one wake-up per due slot.
//
// Turns are scheduled by absolute time (due += interval), never by chaining a fresh
// setTimeout(interval) after a run ends, so a probe does not drift by its own duration. Each
// probe's phase is a stable random offset derived from a hash of agent id + system + probe id,
// anchored to the epoch: restarts keep the spread, and 500 probes do not fire together.
import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import pLimit, { type LimitFunction } from 'p-limit';
import type { Logger } from 'pino';
import type { ProbeOutcome, ProbeSpec } from '../protocol/messages.js';

/** Intervals below this are refused (a typo like `interval: 1` would otherwise spin the agent). */
export const MIN_INTERVAL_MS = 10;
/** How long after a probe's timeout stop() waits before it gives up on a probe that ignores its abort. */
const STOP_GRACE_MS = 1000;
/** A timer may fire this much before its due time by the wall of another clock; still counts. */
const EARLY_MS = 1;

export interface SchedulerOptions {
  agentId: string;
  logger: Logger;
  /** Probes in flight at most (p-limit); further due probes wait their turn. */
  concurrency: number;
  /** Runs one probe; must not throw (runProbe does not), but a throw is caught and reported. */
  run: (spec: ProbeSpec, signal: AbortSignal) => Promise<ProbeOutcome>;
  /** A finished run: `ts` is when it started (wall clock). */
  onResult: (spec: ProbeSpec, outcome: ProbeOutcome, ts: number) => void;
  /** Wall clock, epoch ms: result timestamps and the phase of each probe. Default Date.now. */
  wall?: () => number;
  /** Monotonic clock, ms: due times, immune to wall-clock steps. Default performance.now. */
  mono?: () => number;
}

export interface AssignOutcome {
  added: number;
  removed: number;
  changed: number;
  kept: number;
  invalid: number;
}

interface Entry {
  readonly key: string;
  spec: ProbeSpec;
  /** Canonical JSON of the spec: equal strings mean the probe did not change. */
  canon: string;
  /** Bumped when the entry is rescheduled or removed; heap items of an older generation are dead. */
  gen: number;
  removed: boolean;
  running: boolean;
}

interface Due {
  at: number;
  entry: Entry;
  gen: number;
}

/**
 * The probe's stable offset in [0, interval): the same agent, system and probe always get the
 * same offset, and different probes spread uniformly over the interval.
 */
export function stableOffset(agentId: string, system: string, probe: string, interval: number): number {
  const digest = createHash('sha256').update(`${agentId}\u0000${system}\u0000${probe}`).digest();
  const fraction = digest.readUIntBE(0, 6) / 2 ** 48;
  return Math.floor(fraction * interval);
}

/** The first time strictly after `now` that is `offset` past a multiple of `interval` (epoch-anchored). */
export function nextDue(now: number, offset: number, interval: number): number {
  return offset + (Math.floor((now - offset) / interval) + 1) * interval;
}

/** Checks a probe of an assignment well enough to schedule it; a message naming the problem, or undefined. */
export function checkSpec(p: unknown): string | undefined {
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return 'probe is not an object';
  const s = p as Record<string, unknown>;
  if (typeof s.system !== 'string' || s.system === '') return 'system: expected an id';
  if (typeof s.id !== 'string' || s.id === '') return 'id: expected an id';
  if (typeof s.type !== 'string') return 'type: expected a probe type';
  if (typeof s.interval !== 'number' || !Number.isFinite(s.interval) || s.interval < MIN_INTERVAL_MS)
    return `interval: expected milliseconds >= ${MIN_INTERVAL_MS}`;
  if (typeof s.timeout !== 'number' || !Number.isFinite(s.timeout) || s.timeout <= 0)
    return 'timeout: expected milliseconds > 0';
  return undefined;
}

/** JSON with sorted keys, so that equal specs compare equal whatever order the collector wrote. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

const keyOf = (system: string, probe: string): string => `${system}\u0000${probe}`;

export class Scheduler {
  readonly #o: SchedulerOptions;
  readonly #log: Logger;
  readonly #wall: () => number;
  readonly #mono: () => number;
  readonly #limit: LimitFunction;
  readonly #abort = new AbortController();
  readonly #entries = new Map<string, Entry>();
  #probes: ProbeSpec[] = [];
  /** Min-heap on `at`. Dead items (older generation) are skipped when they surface. */
  readonly #heap: Due[] = [];
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  /** Every task handed to p-limit, queued or running. */
  readonly #tasks = new Set<Promise<void>>();
  /** Specs of the runs in progress, for stop()'s wait. */
  readonly #runningSpecs = new Set<ProbeSpec>();
  #stopped = false;
  #skipped = 0;

  constructor(opts: SchedulerOptions) {
    this.#o = opts;
    this.#log = opts.logger;
    this.#wall = opts.wall ?? Date.now;
    this.#mono = opts.mono ?? (() => performance.now());
    const concurrency = Math.max(1, Math.floor(opts.concurrency));
    this.#limit = pLimit({ concurrency, rejectOnClear: true });
    // Every run in flight may listen on the shared stop signal: that many listeners are expected.
    setMaxListeners(concurrency + 10, this.#abort.signal);
  }

  /** The current assignment, in the collector's order. */
  get probes(): readonly ProbeSpec[] {
    return this.#probes;
  }
  /** Probes running now (not counting those waiting for a concurrency slot). */
  get active(): number {
    return this.#limit.activeCount;
  }
  /** Probes due and waiting for a concurrency slot. */
  get queued(): number {
    return this.#limit.pendingCount;
  }
  /** Turns skipped because the probe's previous run had not finished. */
  get skipped(): number {
    return this.#skipped;
  }

  /**
   * Replaces the assignment. Probes that did not change (same system + probe id and same spec)
   * keep their schedule, and a run in progress is not disturbed; new ones start at their offset;
   * removed ones stop (a run in progress finishes, its result is discarded).
   */
  assign(probes: readonly unknown[]): AssignOutcome {
    const out: AssignOutcome = { added: 0, removed: 0, changed: 0, kept: 0, invalid: 0 };
    if (this.#stopped) return out;
    const next: ProbeSpec[] = [];
    const seen = new Set<string>();
    for (const p of probes) {
      const problem = checkSpec(p);
      if (problem !== undefined) {
        out.invalid++;
        this.#log.warn({ problem, probe: describe(p) }, 'assigned probe is invalid; ignored');
        continue;
      }
      const spec = p as ProbeSpec;
      const key = keyOf(spec.system, spec.id);
      if (seen.has(key)) {
        out.invalid++;
        this.#log.warn({ system: spec.system, probe: spec.id }, 'probe assigned twice; the first is kept');
        continue;
      }
      seen.add(key);
      next.push(spec);
      const canon = canonical(spec);
      const entry = this.#entries.get(key);
      if (entry === undefined) {
        const created: Entry = { key, spec, canon, gen: 0, removed: false, running: false };
        this.#entries.set(key, created);
        this.#schedule(created);
        out.added++;
      } else if (entry.canon !== canon) {
        // Same probe, new spec: a run in progress finishes with the old spec; the next turn uses the new.
        entry.spec = spec;
        entry.canon = canon;
        entry.gen++;
        this.#schedule(entry);
        out.changed++;
      } else {
        out.kept++;
      }
    }
    for (const [key, entry] of this.#entries) {
      if (seen.has(key)) continue;
      entry.removed = true;
      entry.gen++;
      this.#entries.delete(key);
      out.removed++;
    }
    this.#probes = next;
    // Dead heap items would otherwise linger until their due time; rebuild when they dominate.
    if (this.#heap.length > 2 * this.#entries.size + 64) this.#rebuildHeap();
    this.#arm();
    return out;
  }

  /**
   * Stops scheduling; waits for runs in progress up to their timeout, then aborts them. Probes
   * that were due but still waiting for a concurrency slot are not started.
   */
  async stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#heap.length = 0;
      this.#limit.clearQueue();
    }
    if (this.#tasks.size === 0) return;
    let longest = 0;
    for (const s of this.#runningSpecs) longest = Math.max(longest, s.timeout);
    const all = (): Promise<unknown> => Promise.allSettled([...this.#tasks]);
    if (!(await settlesWithin(all(), longest + 100))) {
      this.#log.debug({ running: this.#tasks.size }, 'aborting probes still running at stop');
      this.#abort.abort();
      if (!(await settlesWithin(all(), STOP_GRACE_MS)))
        this.#log.warn({ running: this.#tasks.size }, 'probes ignored their abort; left behind at stop');
    }
  }

  #schedule(entry: Entry): void {
    const { spec } = entry;
    const wall = this.#wall();
    const offset = stableOffset(this.#o.agentId, spec.system, spec.id, spec.interval);
    const at = this.#mono() + (nextDue(wall, offset, spec.interval) - wall);
    this.#push({ at, entry, gen: entry.gen });
  }

  #arm(): void {
    if (this.#stopped) return;
    const top = this.#heap[0];
    if (top === undefined) {
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#timerAt = Infinity;
      return;
    }
    if (this.#timer !== undefined && this.#timerAt === top.at) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = top.at;
    const delay = Math.min(Math.max(0, Math.ceil(top.at - this.#mono())), 2 ** 31 - 1);
    this.#timer = setTimeout(() => this.#tick(), delay);
    // The connection (or the reconnect timer) keeps the process alive, not the schedule.
    this.#timer.unref();
  }

  #tick(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    if (this.#stopped) return;
    const now = this.#mono();
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined || top.at > now + EARLY_MS) break;
      this.#pop();
      const { entry } = top;
      if (top.gen !== entry.gen || entry.removed) continue;
      this.#fire(entry);
      // Absolute schedule: the next turn is one interval after this one was due, not after now.
      let at = top.at + entry.spec.interval;
      if (at <= now) {
        const missed = Math.floor((now - top.at) / entry.spec.interval);
        at = top.at + (missed + 1) * entry.spec.interval;
        this.#log.debug({ system: entry.spec.system, probe: entry.spec.id, missed }, 'turns missed (the event loop was blocked)');
      }
      this.#push({ at, entry, gen: entry.gen });
    }
    this.#arm();
  }

  #fire(entry: Entry): void {
    const spec = entry.spec;
    if (entry.running) {
      this.#skipped++;
      this.#log.debug({ system: spec.system, probe: spec.id }, 'probe still running at its next turn; turn skipped');
      return;
    }
    entry.running = true;
    const task = this.#limit(async () => {
      if (entry.removed || this.#stopped) return;
      const ts = this.#wall();
      this.#runningSpecs.add(spec);
      let outcome: ProbeOutcome;
      try {
        outcome = await this.#o.run(spec, this.#abort.signal);
      } catch (err) {
        outcome = {
          ok: false,
          duration_ms: Math.max(0, this.#wall() - ts),
          phases: {},
          error: { code: 'internal', message: err instanceof Error ? err.message : String(err) },
        };
      } finally {
        this.#runningSpecs.delete(spec);
      }
      if (entry.removed) {
        this.#log.debug({ system: spec.system, probe: spec.id }, 'probe was unassigned while it ran; result discarded');
        return;
      }
      if (!outcome.ok) this.#log.debug({ system: spec.system, probe: spec.id, error: outcome.error }, 'probe failed');
      this.#o.onResult(spec, outcome, ts);
    });
    const done = task.then(
      () => undefined,
      () => undefined, // cleared from the queue at stop (rejectOnClear), or onResult threw
    );
    const settled = done.finally(() => {
      entry.running = false;
      this.#tasks.delete(settled);
    });
    this.#tasks.add(settled);
  }

  #rebuildHeap(): void {
    const live = this.#heap.filter((d) => d.gen === d.entry.gen && !d.entry.removed);
    this.#heap.length = 0;
    for (const d of live) this.#push(d);
  }

  #push(d: Due): void {
    const h = this.#heap;
    h.push(d);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]!.at <= d.at) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = d;
  }

  #pop(): void {
    const h = this.#heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && h[r]!.at < h[l]!.at ? r : l;
      if (h[c]!.at >= last.at) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}

function describe(p: unknown): string {
  if (typeof p !== 'object' || p === null) return typeof p;
  const s = p as Record<string, unknown>;
  return `${typeof s.system === 'string' ? s.system : '?'}/${typeof s.id === 'string' ? s.id : '?'}`;
}

/** True when `p` settled within `ms`. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
