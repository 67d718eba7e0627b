// Late results are first-class: a result that arrives after it went stale (an agent's backlog
// after an outage of the collector or the network) cannot change the current status, but it does
// change what the status *was*. This notes the stretch such results cover per system and, shortly
// after the last of them, rewrites that stretch of the status timeline from the stored results
// (replay.ts): the system's own view, then the perceived view of it and its dependants.
import type { Logger } from 'pino';
import type { Impact } from '../config/schema.js';
import type { Clock } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import { freshFor } from './status/derive.js';
import { replayOwn, replayPerceived, type Point } from './status/replay.js';
import type { MaintenanceLookup, TrackedSystem } from './status/tracker.js';
import type { View } from './status/types.js';
import type { StatusChange, Store, StoredResult } from './store/types.js';

/** Wait this long after the last late result before rewriting: a backlog arrives in many batches. */
const SETTLE_MS = 1_000;
/** At most this many results are replayed per system and pass; a longer backlog is done in parts. */
const MAX_RESULTS = 500_000;

export interface BackfillOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  maintenance?: MaintenanceLookup;
  /** The tracked systems now, by id (they change on reload). */
  systems: () => ReadonlyMap<string, TrackedSystem>;
  /** Called after a system's history was rewritten. */
  onRewritten?: (systems: readonly string[], from: number, to: number) => void;
}

export class Backfill {
  readonly #o: BackfillOptions;
  /** System -> the span of late results not yet replayed. */
  readonly #pending = new Map<string, { from: number; to: number }>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(opts: BackfillOptions) {
    this.#o = opts;
  }

  /** Looks at committed results; those that were stale on arrival are scheduled for replay. */
  note(r: StoredResult): void {
    const system = this.#o.systems().get(r.system);
    const probe = system?.probes.find((p) => p.id === r.probe);
    if (probe === undefined || r.received_at - r.ts <= freshFor(probe.interval, probe.timeout)) return;
    const span = this.#pending.get(r.system);
    if (span === undefined) this.#pending.set(r.system, { from: r.ts, to: r.ts });
    else {
      span.from = Math.min(span.from, r.ts);
      span.to = Math.max(span.to, r.ts);
    }
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.flush(), SETTLE_MS);
    this.#timer.unref();
  }

  /** Replays every pending span now (one pass at a time). */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#running = this.#running.then(() => this.#pass());
    return this.#running;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  async #pass(): Promise<void> {
    if (this.#closed || this.#pending.size === 0) return;
    const work = [...this.#pending];
    this.#pending.clear();
    for (const [id, span] of work) {
      try {
        await this.#replay(id, span.from, span.to);
      } catch (err) {
        this.#o.logger.warn({ err: errorMessage(err), system: id }, 'rewriting the status history for late results failed');
      }
    }
  }

  async #replay(id: string, first: number, last: number): Promise<void> {
    const systems = this.#o.systems();
    const system = systems.get(id);
    if (system === undefined || !this.#o.store.open) return;
    const window = Math.max(...system.probes.map((p) => freshFor(p.interval, p.timeout)), 0);
    const lookback = Math.max(...system.probes.map((p) => freshFor(p.interval, p.timeout) + (p.retries ?? 1) * p.interval), 0);
    const from = first;
    // The late results count until they go stale; not past now.
    const to = Math.min(last + window + 1, this.#o.clock.now());
    if (to <= from) return;
    const results = await this.#o.store.queryResults({ system: id, from: from - lookback, to, limit: MAX_RESULTS });
    const own = replayOwn(system, results, from, to, this.#o.maintenance);
    await this.#rewrite(id, 'own', from, to, own);

    // The perceived view of the system and of everything that depends on it.
    const depends = new Map<string, Readonly<Record<string, Impact>>>([...systems.values()].map((s) => [s.id, s.depends_on ?? {}]));
    const affected = dependantsOf(id, depends);
    const needed = new Set<string>();
    const up = (s: string): void => {
      if (needed.has(s)) return;
      needed.add(s);
      for (const d of Object.keys(depends.get(s) ?? {})) up(d);
    };
    for (const s of affected) up(s);
    const timelines = new Map<string, Point[]>();
    for (const s of needed) timelines.set(s, await this.#timeline(s, 'own', from, to));
    const perceived = replayPerceived(affected, timelines, depends, from);
    for (const [s, points] of perceived) await this.#rewrite(s, 'perceived', from, to, points);
    this.#o.logger.info(
      { system: id, from: new Date(from).toISOString(), to: new Date(to).toISOString(), results: results.length, rewritten: [...affected] },
      'status history rewritten for late results',
    );
    this.#o.onRewritten?.([...affected], from, to);
  }

  /** The stored timeline of one view over [from, to] as points (the status at `from` first). */
  async #timeline(system: string, view: View, from: number, to: number): Promise<Point[]> {
    const intervals = await this.#o.store.statusIntervals({ system, view, from, to: to + 1 });
    return intervals.map((i) => ({ at: i.from, status: i.status, cause: i.cause }));
  }

  /**
   * Replaces [from, to] of a view with `points`, keeping what was stored after: the status in
   * force at `to` stays (it is the live engine's, or a later replay's), unless nothing was stored.
   */
  async #rewrite(system: string, view: View, from: number, to: number, points: readonly Point[]): Promise<void> {
    const after = (await this.#o.store.statusIntervals({ system, view, from: to, to: to + 1 }))[0];
    const changes: StatusChange[] = points.filter((p) => p.at < to).map((p) => ({ system, view, status: p.status, cause: [...p.cause], at: p.at }));
    const atTo = after ?? points.find((p) => p.at === to);
    const last = changes[changes.length - 1];
    if (atTo !== undefined && (last === undefined || last.status !== atTo.status || last.cause.join() !== atTo.cause.join()))
      changes.push({ system, view, status: atTo.status, cause: [...atTo.cause], at: to });
    await this.#o.store.replaceStatusChanges(system, view, from, to + 1, changes);
  }
}

/** The system and every system that depends on it, directly or through others. */
function dependantsOf(id: string, depends: ReadonlyMap<string, Readonly<Record<string, Impact>>>): Set<string> {
  const out = new Set<string>([id]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [s, deps] of depends)
      if (!out.has(s) && Object.keys(deps).some((d) => out.has(d))) {
        out.add(s);
        grew = true;
      }
  }
  return out;
}
