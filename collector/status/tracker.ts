// Keeps each system's current status and when it last changed, re-deriving it on demand from the
// latest results and the injected clock. It returns the changes; the caller persists them and
// updates the gauges, so this stays free of I/O and easy to replace with the full status engine.
import type { Clock } from '../../lib/clock.js';
import type { LatestResults } from '../latest.js';
import type { StatusChange } from '../store/types.js';
import type { Impact } from '../../config/schema.js';
import { deriveSystemStatus, type Derived } from './derive.js';
import { derivePerceived } from './perceived.js';
import type { Status, SystemStatus } from './types.js';

export interface TrackedProbe {
  id: string;
  interval: number;
  timeout: number;
  retries?: number;
  agents?: readonly string[] | undefined;
}

export interface TrackedSystem {
  id: string;
  probes: readonly TrackedProbe[];
  /** Dependencies and their impact: the perceived status follows them. */
  depends_on?: Readonly<Record<string, Impact>>;
}

const sameCause = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

export class StatusTracker {
  readonly #clock: Clock;
  readonly #latest: LatestResults;
  #systems: readonly TrackedSystem[] = [];
  #depends = new Map<string, Readonly<Record<string, Impact>>>();
  /** System -> the systems that depend on it directly. */
  #dependants = new Map<string, string[]>();
  readonly #state = new Map<string, SystemStatus>();
  /** Each system's own status as last derived from its results. */
  readonly #own = new Map<string, Status>();
  /** Stored state from before a restart, used when a system is first evaluated. */
  readonly #restored = new Map<string, { own?: StatusChange; perceived?: StatusChange }>();
  #updatedAt: number;

  constructor(opts: { clock: Clock; latest: LatestResults }) {
    this.#clock = opts.clock;
    this.#latest = opts.latest;
    this.#updatedAt = opts.clock.now();
  }

  /** When statuses were last evaluated, epoch ms. */
  get updatedAt(): number {
    return this.#updatedAt;
  }

  /** The systems to track, in display order; state of systems no longer listed is dropped. */
  setSystems(systems: readonly TrackedSystem[]): void {
    this.#systems = systems;
    this.#depends = new Map(systems.map((s) => [s.id, s.depends_on ?? {}]));
    this.#dependants = new Map();
    for (const s of systems)
      for (const dep of Object.keys(s.depends_on ?? {})) {
        const list = this.#dependants.get(dep) ?? [];
        list.push(s.id);
        this.#dependants.set(dep, list);
      }
    const ids = new Set(systems.map((s) => s.id));
    for (const id of this.#state.keys()) if (!ids.has(id)) this.#state.delete(id);
    for (const id of this.#own.keys()) if (!ids.has(id)) this.#own.delete(id);
  }

  /** The last stored change per (system, view), so `since` survives a restart. */
  restore(changes: readonly StatusChange[]): void {
    for (const c of changes) {
      const r = this.#restored.get(c.system) ?? {};
      r[c.view] = c;
      this.#restored.set(c.system, r);
    }
  }

  get(id: string): SystemStatus | undefined {
    return this.#state.get(id);
  }

  /**
   * Re-derives the own status of the given systems (default: all), then the perceived status of
   * every system (a change here shows in its dependants), and returns the changes, both views.
   */
  evaluate(ids?: Iterable<string>): StatusChange[] {
    const now = this.#clock.now();
    this.#updatedAt = now;
    const wanted = ids === undefined ? undefined : new Set(ids);
    const changes: StatusChange[] = [];
    for (const system of this.#systems) {
      if (wanted !== undefined && this.#own.has(system.id) && !wanted.has(system.id)) continue;
      const derived = deriveSystemStatus(
        system.probes.map((p) => ({
          interval: p.interval,
          timeout: p.timeout,
          agents: p.agents,
          ...(p.retries === undefined ? {} : { retries: p.retries }),
          results: this.#latest.vantagePoints(system.id, p.id),
        })),
        now,
      );
      this.#own.set(system.id, derived.own_status);
    }
    // Perceived status changes only for the re-derived systems and what depends on them.
    const only = wanted === undefined ? undefined : this.#withDependants(wanted);
    const perceived = derivePerceived(this.#own, this.#depends, {
      ...(only === undefined ? {} : { only }),
      known: (id) => this.#state.get(id),
    });
    for (const [id, p] of perceived) {
      const own = this.#own.get(id) ?? 'unknown';
      this.#apply(id, { status: p.status, own_status: own, cause: p.cause }, now, changes);
    }
    return changes;
  }

  /** The systems given and every system that depends on them, directly or through others. */
  #withDependants(ids: ReadonlySet<string>): Set<string> {
    const out = new Set<string>();
    const stack = [...ids];
    for (let id = stack.pop(); id !== undefined; id = stack.pop()) {
      if (out.has(id)) continue;
      out.add(id);
      for (const d of this.#dependants.get(id) ?? []) stack.push(d);
    }
    // Systems seen for the first time are derived in full below.
    for (const s of this.#systems) if (!this.#state.has(s.id)) out.add(s.id);
    return out;
  }

  #apply(id: string, d: Derived, now: number, changes: StatusChange[]): void {
    let cur = this.#state.get(id);
    if (cur === undefined) {
      const r = this.#restored.get(id);
      this.#restored.delete(id);
      const perceived = r?.perceived?.status === d.status && sameCause(r.perceived.cause, d.cause) ? r.perceived : undefined;
      const own = r?.own?.status === d.own_status ? r.own : undefined;
      cur = { ...d, since: perceived?.at ?? now, own_since: own?.at ?? now };
      this.#state.set(id, cur);
      if (perceived === undefined) changes.push({ system: id, view: 'perceived', status: d.status, cause: d.cause, at: now });
      if (own === undefined) changes.push({ system: id, view: 'own', status: d.own_status, cause: [], at: now });
      return;
    }
    if (cur.status !== d.status || !sameCause(cur.cause, d.cause)) {
      if (cur.status !== d.status) cur.since = now;
      cur.status = d.status;
      cur.cause = d.cause;
      changes.push({ system: id, view: 'perceived', status: d.status, cause: d.cause, at: now });
    }
    if (cur.own_status !== d.own_status) {
      cur.own_status = d.own_status;
      cur.own_since = now;
      changes.push({ system: id, view: 'own', status: d.own_status, cause: [], at: now });
    }
  }
}
