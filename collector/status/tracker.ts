// The status engine: keeps each system's status and when it changed, the long-response-time and
// agent alerts, and the incidents, re-deriving them from the latest results, the service windows
// and the injected clock. It returns what changed; the caller stores it and updates the gauges, so
// this stays free of I/O.
import type { Clock } from '../../lib/clock.js';
import type { LatestResults } from '../latest.js';
import type { StatusChange } from '../store/types.js';
import type { Impact } from '../../config/schema.js';
import { AlertBook, alertKey, type Alert, type AlertEvent } from './alerts.js';
import { DEFAULT_QUORUM, freshFor, ownStatus, tallyProbe, type ProbeTally } from './derive.js';
import { IncidentBook, DEFAULT_PRIORITIES, type Incident, type IncidentChange, type PriorityThresholds, type SystemSnapshot } from './incidents.js';
import { derivePerceived } from './perceived.js';
import { percentile, stepSlow, type SlowRule, type SlowState } from './slow.js';
import { SuspectAgents } from './suspects.js';
import type { Status, SystemStatus } from './types.js';

export interface TrackedProbe {
  id: string;
  interval: number;
  timeout: number;
  retries?: number;
  agents?: readonly string[] | undefined;
  /** This probe's own long-response-time alert. */
  response_time?: SlowRule | undefined;
}

export interface TrackedSystem {
  id: string;
  probes: readonly TrackedProbe[];
  /** Dependencies and their impact: the perceived status follows them. */
  depends_on?: Readonly<Record<string, Impact>>;
  /** The system's long-response-time alert, over all its probes' response times. */
  response_time?: SlowRule | undefined;
  /** Fraction of fresh vantage points that must fail for a major outage; default more than half. */
  quorum?: number | undefined;
}

/** Where the engine learns about service windows. */
export interface MaintenanceLookup {
  activeFor(system: string, now: number): { id: string } | undefined;
  /** Starts and ends of the system's windows within [from, to), for replaying history. */
  edges?(system: string, from: number, to: number): number[];
}

/** What one evaluation changed. */
export interface Evaluation {
  changes: StatusChange[];
  alerts: AlertEvent[];
  incidents: IncidentChange[];
}

/** Agents that alone see any probe of a system fail. */
function lonelyOf(tallies: readonly ProbeTally[]): string[] {
  if (tallies.every((t) => t.lonely.length === 0)) return [];
  return [...new Set(tallies.flatMap((t) => t.lonely))];
}

const sameCause = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

export class StatusTracker {
  readonly #clock: Clock;
  readonly #latest: LatestResults;
  readonly #maintenance: MaintenanceLookup | undefined;
  readonly #startedAt: number;
  #systems: readonly TrackedSystem[] = [];
  #depends = new Map<string, Readonly<Record<string, Impact>>>();
  /** System -> the systems that depend on it directly. */
  #dependants = new Map<string, string[]>();
  /** Agent -> how long its results stay fresh at most (its slowest probe's window). */
  #agentWindows = new Map<string, number>();
  #priorities: PriorityThresholds = DEFAULT_PRIORITIES;
  /** External sources and how long one of their reports counts, ms. */
  #external: ReadonlyMap<string, number> = new Map();
  readonly #state = new Map<string, SystemStatus>();
  /** Each system's own status as last derived from its results. */
  readonly #own = new Map<string, Status>();
  readonly #snapshots = new Map<string, SystemSnapshot>();
  /** Stored state from before a restart, used when a system is first evaluated. */
  readonly #restored = new Map<string, { own?: StatusChange; perceived?: StatusChange }>();
  readonly #suspects = new SuspectAgents();
  readonly #slow = new Map<string, SlowState>();
  /** The configured slow rules by key. */
  #slowKeys = new Map<string, { system: string; probe?: string }>();
  /** Per system, the keys of its rule and of each probe's (same order as probes). */
  #slowKeysOf = new Map<string, { system: string; probes: string[] }>();
  readonly alerts = new AlertBook();
  readonly incidents: IncidentBook;
  #updatedAt: number;

  constructor(opts: { clock: Clock; latest: LatestResults; maintenance?: MaintenanceLookup }) {
    this.#clock = opts.clock;
    this.#latest = opts.latest;
    this.#maintenance = opts.maintenance;
    this.#startedAt = opts.clock.now();
    this.#updatedAt = this.#startedAt;
    this.incidents = new IncidentBook();
  }

  /** When statuses were last evaluated, epoch ms. */
  get updatedAt(): number {
    return this.#updatedAt;
  }

  /**
   * The systems to track, in display order, the agents expected to report, and the incident
   * priority thresholds; state of systems no longer listed is dropped.
   */
  setSystems(
    systems: readonly TrackedSystem[],
    agents: readonly string[] = [],
    priorities: PriorityThresholds = DEFAULT_PRIORITIES,
    external: ReadonlyMap<string, number> = new Map(),
  ): void {
    this.#systems = systems;
    this.#priorities = priorities;
    this.#external = external;
    this.#depends = new Map(systems.map((s) => [s.id, s.depends_on ?? {}]));
    this.#dependants = new Map();
    for (const s of systems)
      for (const dep of Object.keys(s.depends_on ?? {})) {
        const list = this.#dependants.get(dep) ?? [];
        list.push(s.id);
        this.#dependants.set(dep, list);
      }
    this.#agentWindows = new Map();
    for (const agent of agents) {
      let window = 0;
      for (const s of systems)
        for (const p of s.probes)
          if (p.agents === undefined || p.agents.includes(agent)) window = Math.max(window, freshFor(p.interval, p.timeout));
      if (window > 0) this.#agentWindows.set(agent, window);
    }
    this.#slowKeys = new Map();
    this.#slowKeysOf = new Map(
      systems.map((s) => [s.id, { system: alertKey('long_response_time', s.id), probes: s.probes.map((p) => alertKey('long_response_time', s.id, p.id)) }]),
    );
    for (const s of systems) {
      if (s.response_time !== undefined) this.#slowKeys.set(alertKey('long_response_time', s.id), { system: s.id });
      for (const p of s.probes)
        if (p.response_time !== undefined) this.#slowKeys.set(alertKey('long_response_time', s.id, p.id), { system: s.id, probe: p.id });
    }
    for (const key of this.#slow.keys()) if (!this.#slowKeys.has(key)) this.#slow.delete(key);
    const ids = new Set(systems.map((s) => s.id));
    for (const m of [this.#state, this.#own, this.#snapshots]) for (const id of m.keys()) if (!ids.has(id)) m.delete(id);
    this.#suspects.configure(this.#depends, new Set(this.#agentWindows.keys()));
  }

  /** The last stored change per (system, view), so `since` survives a restart. */
  restore(changes: readonly StatusChange[]): void {
    for (const c of changes) {
      const r = this.#restored.get(c.system) ?? {};
      r[c.view] = c;
      this.#restored.set(c.system, r);
    }
  }

  /** Alerts and incidents still open before a restart. */
  restoreOpen(alerts: readonly Alert[], incidents: readonly Incident[], maxIncidentId = 0): void {
    this.alerts.restore(alerts);
    for (const a of alerts)
      if (a.kind === 'long_response_time') this.#slow.set(a.key, { firing: true, since: a.since, value: a.value_ms });
    this.incidents.restore(incidents, maxIncidentId);
  }

  get(id: string): SystemStatus | undefined {
    return this.#state.get(id);
  }

  /** Whether the agent is marked suspect: it alone sees unrelated systems fail. */
  isSuspect(agent: string): boolean {
    return this.#suspects.has(agent);
  }

  /** The long-response-time state of a system (or one of its probes), if it has a rule. */
  slowState(system: string, probe?: string): SlowState | undefined {
    return this.#slow.get(probe === undefined ? alertKey('long_response_time', system) : alertKey('long_response_time', system, probe));
  }

  /** Every alert that can fire, active or not: the series of vagt_alert_active. */
  *alertSeries(): Generator<{ kind: Alert['kind']; system?: string; probe?: string; agent?: string; active: boolean }> {
    for (const [key, subject] of this.#slowKeys) yield { kind: 'long_response_time', ...subject, active: this.alerts.get(key) !== undefined };
    for (const agent of this.#agentWindows.keys()) {
      yield { kind: 'agent_offline', agent, active: this.alerts.get(alertKey('agent_offline', agent)) !== undefined };
      yield { kind: 'agent_suspect', agent, active: this.#suspects.has(agent) };
    }
  }

  /**
   * Re-derives the given systems (default: all) and what depends on them, and on a full
   * evaluation also the agents' alerts; returns every change.
   */
  evaluate(ids?: Iterable<string>): Evaluation {
    const now = this.#clock.now();
    this.#updatedAt = now;
    const ev: Evaluation = { changes: [], alerts: [], incidents: [] };
    const wanted = ids === undefined ? undefined : new Set(ids);
    let targets = this.#systems.filter((s) => wanted === undefined || wanted.has(s.id) || !this.#own.has(s.id));
    let tallies = new Map(targets.map((s) => [s.id, this.#tally(s, now)]));
    for (const [id, t] of tallies) this.#suspects.note(id, lonelyOf(t));
    if (this.#suspects.refresh(now, this.alerts, ev.alerts)) {
      // Another agent's failures count, or stop counting, everywhere it probes.
      targets = [...this.#systems];
      tallies = new Map(targets.map((s) => [s.id, this.#tally(s, now)]));
    }
    for (const s of targets) {
      const t = tallies.get(s.id) ?? [];
      const maintenance = this.#maintenance?.activeFor(s.id, now) !== undefined;
      const slow = this.#stepSlow(s, t, now, maintenance, ev.alerts);
      this.#own.set(s.id, ownStatus(t, { quorum: s.quorum ?? DEFAULT_QUORUM, slow, maintenance }));
      const own = this.#own.get(s.id) ?? 'unknown';
      let snap = this.#snapshots.get(s.id);
      if (snap === undefined) this.#snapshots.set(s.id, (snap = { id: s.id, own, perceived: 'unknown', cause: [], share: 0 }));
      snap.own = own;
      this.#shareOf(t, snap);
    }
    // Perceived status changes only for the re-derived systems and what depends on them.
    const only = wanted === undefined || targets.length === this.#systems.length ? undefined : this.#withDependants(new Set(targets.map((s) => s.id)));
    const perceived = derivePerceived(this.#own, this.#depends, {
      ...(only === undefined ? {} : { only }),
      known: (id) => this.#state.get(id),
    });
    const snapshots: SystemSnapshot[] = [];
    for (const [id, p] of perceived) {
      const own = this.#own.get(id) ?? 'unknown';
      this.#apply(id, { status: p.status, own_status: own, cause: p.cause }, now, ev.changes);
      const snap = this.#snapshots.get(id);
      if (snap !== undefined) {
        snap.perceived = p.status;
        snap.cause = p.cause;
        snapshots.push(snap);
      }
    }
    ev.incidents = this.incidents.update(snapshots, this.#snapshots, now, this.#priorities);
    if (wanted === undefined) this.#checkAgents(now, ev.alerts);
    return ev;
  }

  #tally(s: TrackedSystem, now: number): ProbeTally[] {
    return s.probes.map((p) =>
      tallyProbe(
        {
          interval: p.interval,
          timeout: p.timeout,
          agents: p.agents,
          ...(p.retries === undefined ? {} : { retries: p.retries }),
          results: this.#latest.vantagePoints(s.id, p.id),
          external: this.#external,
        },
        now,
        this.#suspects.set,
      ),
    );
  }

  /** Writes the worst probe's share of failing vantage points into `snap`. */
  #shareOf(tallies: readonly ProbeTally[], snap: SystemSnapshot): SystemSnapshot {
    snap.share = 0;
    snap.failing = 0;
    snap.fresh = 0;
    for (const t of tallies) {
      if (t.fresh === 0) continue;
      const share = t.failing / t.fresh;
      if (share > snap.share || snap.fresh === 0) {
        snap.share = share;
        snap.failing = t.failing;
        snap.fresh = t.fresh;
      }
    }
    return snap;
  }

  /** Steps the system's and its probes' slow rules; returns whether any fires. */
  #stepSlow(s: TrackedSystem, tallies: readonly ProbeTally[], now: number, maintenance: boolean, events: AlertEvent[]): boolean {
    let firing = false;
    const step = (key: string, rule: SlowRule, durations: number[], probe?: string): void => {
      let state = this.#slow.get(key) ?? { firing: false };
      // No alert fires inside a service window, and none is pending when it ends.
      state = maintenance ? { firing: false } : stepSlow(state, percentile(durations, rule.percentile), now, rule);
      this.#slow.set(key, state);
      if (!state.firing) {
        this.alerts.clear(key, now, events);
        return;
      }
      firing = true;
      const alert: Alert = { key, kind: 'long_response_time', system: s.id, since: state.since ?? now, percentile: rule.percentile, threshold_ms: rule.slow };
      if (probe !== undefined) alert.probe = probe;
      if (state.value !== undefined) alert.value_ms = state.value;
      this.alerts.raise(alert, events);
    };
    const keys = this.#slowKeysOf.get(s.id);
    if (keys === undefined) return false;
    if (s.response_time !== undefined) {
      const all: number[] = [];
      for (const t of tallies) for (const d of t.durations) all.push(d);
      step(keys.system, s.response_time, all);
    }
    for (let i = 0; i < s.probes.length; i++) {
      const p = s.probes[i];
      if (p?.response_time !== undefined) step(keys.probes[i] ?? '', p.response_time, [...(tallies[i]?.durations ?? [])], p.id);
    }
    return firing;
  }

  /** Agent offline: no fresh result for longer than its slowest probe's freshness window. */
  #checkAgents(now: number, events: AlertEvent[]): void {
    for (const [agent, window] of this.#agentWindows) {
      const key = alertKey('agent_offline', agent);
      const newest = this.#latest.newest(agent);
      const from = newest ?? this.#startedAt;
      if (now - from > window) this.alerts.raise({ key, kind: 'agent_offline', agent, since: from + window, last_result: newest ?? null }, events);
      else this.alerts.clear(key, now, events);
    }
    // Alerts about systems, probes or agents that a reload removed.
    this.alerts.retain((a) => (a.kind === 'long_response_time' ? this.#slowKeys.has(a.key) : this.#agentWindows.has(a.agent ?? '')), now, events);
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

  #apply(id: string, d: { status: Status; own_status: Status; cause: string[] }, now: number, changes: StatusChange[]): void {
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
