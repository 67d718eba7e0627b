// Incidents, opened and closed by the status engine: one per root system (MitID's outage is one
// incident that affects borger.dk, not five incidents), prioritised as the Danish operations model
// does, by the share of users who cannot use the system; vantage points stand in for users.
import type { Status } from './types.js';

/** 1 critical, 2 high, 3 medium, 4 low. */
export type Priority = 1 | 2 | 3 | 4;

export interface PriorityThresholds {
  /** Fractions (0..1): more than `critical` failing is priority 1, more than `high` priority 2. */
  critical: number;
  high: number;
}

export const DEFAULT_PRIORITIES: PriorityThresholds = { critical: 0.2, high: 0.05 };

/** `operator`: what an operator told users (POST /api/v1/incidents/{id}/updates); the rest are the engine's. */
export type IncidentUpdateKind = 'opened' | 'updated' | 'resolved' | 'operator';

/** Statuspage's words for an incident as operators communicate it; vagt's own state follows the measurements. */
export type OperatorStatus = 'investigating' | 'identified' | 'monitoring' | 'resolved';
export const OPERATOR_STATUSES = ['investigating', 'identified', 'monitoring', 'resolved'] as const satisfies readonly OperatorStatus[];

export interface IncidentUpdate {
  at: number;
  kind: IncidentUpdateKind;
  status: Status;
  priority: Priority;
  /** Systems affected at this point: the root and the systems whose status it explains. */
  affected: string[];
  message: string;
  /**
   * Only on `operator` updates: the operator's state and text (Danish, optionally English). Such an
   * update copies status, priority and affected from the engine's last one, so it changes nothing
   * the engine compares against.
   */
  operator?: { status: OperatorStatus; message: { da: string; en?: string } };
}

export interface Incident {
  id: number;
  /** The root system whose own status opened it. */
  system: string;
  /** Its own status now (while open) or at the last update. */
  status: Status;
  priority: Priority;
  /** The highest priority (lowest number) it reached. */
  peak_priority: Priority;
  /** Every system it affected while open. */
  affected: string[];
  started_at: number;
  resolved_at: number | null;
  updates: IncidentUpdate[];
}

/** One system's state after an evaluation. */
export interface SystemSnapshot {
  id: string;
  own: Status;
  perceived: Status;
  /** Root systems that explain `perceived` (empty: the system's own health). */
  cause: readonly string[];
  /** Worst share of failing vantage points over its probes, 0..1. */
  share: number;
  /** Failing and fresh vantage points of that probe, for the message. */
  failing?: number;
  fresh?: number;
}

export interface IncidentChange {
  incident: Incident;
  /** The updates added by this change, to store. */
  added: IncidentUpdate[];
}

const BAD: ReadonlySet<Status> = new Set(['degraded_performance', 'partial_outage', 'major_outage']);

export function priorityOf(status: Status, share: number, t: PriorityThresholds = DEFAULT_PRIORITIES): Priority {
  if (share > t.critical) return 1;
  if (share > t.high) return 2;
  if (share > 0 || status === 'partial_outage' || status === 'major_outage') return 3;
  return 4;
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

function describe(s: SystemSnapshot, kind: IncidentUpdateKind, priority: Priority): string {
  if (kind === 'resolved') return s.own === 'under_maintenance' ? 'A service window started.' : `${s.id} is ${s.own.replace('_', ' ')} again.`;
  const seen = s.fresh !== undefined && s.failing !== undefined && s.failing > 0 ? ` (${s.failing} of ${s.fresh} vantage points failing)` : '';
  return `${s.id}: ${s.own.replace('_', ' ')}${seen}, priority ${priority}.`;
}

export class IncidentBook {
  readonly #open = new Map<string, Incident>();
  #nextId: number;
  readonly #thresholds: PriorityThresholds;

  constructor(opts: { nextId?: number; thresholds?: PriorityThresholds } = {}) {
    this.#nextId = opts.nextId ?? 1;
    this.#thresholds = opts.thresholds ?? DEFAULT_PRIORITIES;
  }

  /** Incidents still open before a restart, and the highest id used (ids are never reused). */
  restore(open: Iterable<Incident>, maxId = 0): void {
    this.#nextId = Math.max(this.#nextId, maxId + 1);
    for (const i of open) {
      this.#open.set(i.system, i);
      this.#nextId = Math.max(this.#nextId, i.id + 1);
    }
  }

  open(): Incident[] {
    return [...this.#open.values()];
  }

  /**
   * Applies one evaluation. `snapshots` holds every system evaluated (the others keep their
   * incidents as they are); `all` holds every system, to compute who is affected. A system opens an
   * incident when its own status turns bad and nothing it depends on explains it; it keeps it while
   * its own status stays bad (or unknown: no news is no recovery) and resolves it on recovery, in a
   * service window, or when it is no longer configured.
   */
  update(snapshots: Iterable<SystemSnapshot>, all: ReadonlyMap<string, SystemSnapshot>, now: number, thresholds = this.#thresholds): IncidentChange[] {
    const out: IncidentChange[] = [];
    // Root -> the systems whose status it explains, built once per update.
    let byRoot: Map<string, string[]> | undefined;
    const affectedBy = (root: string): string[] => {
      if (byRoot === undefined) {
        byRoot = new Map();
        for (const s of all.values())
          for (const c of s.cause) {
            if (c === s.id) continue;
            const list = byRoot.get(c);
            if (list === undefined) byRoot.set(c, [s.id]);
            else list.push(s.id);
          }
      }
      return [root, ...(byRoot.get(root) ?? [])].sort();
    };
    const touched = new Set<string>();
    for (const s of snapshots) {
      touched.add(s.id);
      const cur = this.#open.get(s.id);
      const priority = priorityOf(s.own, s.share, thresholds);
      if (cur === undefined) {
        if (!BAD.has(s.own) || s.cause.length > 0) continue;
        const affected = affectedBy(s.id);
        const u: IncidentUpdate = { at: now, kind: 'opened', status: s.own, priority, affected, message: describe(s, 'opened', priority) };
        const incident: Incident = {
          id: this.#nextId++,
          system: s.id,
          status: s.own,
          priority,
          peak_priority: priority,
          affected: [...affected],
          started_at: now,
          resolved_at: null,
          updates: [u],
        };
        this.#open.set(s.id, incident);
        out.push({ incident, added: [u] });
        continue;
      }
      if (s.own === 'operational' || s.own === 'under_maintenance') {
        out.push(this.#resolve(cur, s, now));
        continue;
      }
      if (!BAD.has(s.own)) continue; // unknown: keep it as it is
      const change = this.#refresh(cur, s, priority, affectedBy(s.id), now);
      if (change !== undefined) out.push(change);
    }
    // Dependants' statuses change who is affected, though the root itself was not re-evaluated.
    for (const cur of this.#open.values()) {
      if (touched.has(cur.system)) continue;
      const s = all.get(cur.system);
      if (s === undefined) {
        out.push(this.#resolve(cur, { id: cur.system, own: 'operational', perceived: 'operational', cause: [], share: 0 }, now, 'The system is no longer monitored.'));
        continue;
      }
      const change = this.#refresh(cur, s, cur.priority, affectedBy(cur.system), now, true);
      if (change !== undefined) out.push(change);
    }
    return out;
  }

  #refresh(cur: Incident, s: SystemSnapshot, priority: Priority, affected: string[], now: number, keepStatus = false): IncidentChange | undefined {
    const last = cur.updates[cur.updates.length - 1];
    const status = keepStatus ? cur.status : s.own;
    if (status === cur.status && priority === cur.priority && last !== undefined && sameSet(last.affected, affected)) return undefined;
    cur.status = status;
    cur.priority = priority;
    cur.peak_priority = Math.min(cur.peak_priority, priority) as Priority;
    cur.affected = [...new Set([...cur.affected, ...affected])].sort();
    const u: IncidentUpdate = {
      at: now,
      kind: 'updated',
      status,
      priority,
      affected,
      message: keepStatus ? `Affected systems: ${affected.join(', ')}.` : describe(s, 'updated', priority),
    };
    cur.updates.push(u);
    return { incident: cur, added: [u] };
  }

  #resolve(cur: Incident, s: SystemSnapshot, now: number, message?: string): IncidentChange {
    this.#open.delete(cur.system);
    cur.resolved_at = now;
    const u: IncidentUpdate = {
      at: now,
      kind: 'resolved',
      status: s.own,
      priority: cur.priority,
      affected: [],
      message: message ?? describe(s, 'resolved', cur.priority),
    };
    cur.updates.push(u);
    return { incident: cur, added: [u] };
  }
}
