// Status history from stored results, for results that arrive late (an agent's backlog after the
// collector or the network was away): the same rules as the live engine, replayed in time order
// over a past stretch. Pure: results, rules and windows in, change points out. Suspect agents are
// not replayed (they need every system at once); everything else is.
import type { Impact } from '../../config/schema.js';
import type { StoredResult } from '../store/types.js';
import { DEFAULT_QUORUM, freshFor, ownStatus, tallyProbe, type VantageInput } from './derive.js';
import { derivePerceived } from './perceived.js';
import { percentile, stepSlow, type SlowState } from './slow.js';
import type { MaintenanceLookup, TrackedSystem } from './tracker.js';
import type { Status } from './types.js';

export interface Point {
  at: number;
  status: Status;
  cause: string[];
}

/**
 * The system's own status over [from, to]: its status at `from`, then every change up to `to`.
 * `results` are the system's stored results from before `from` (to know each vantage point's state
 * there) to `to`, in any order.
 */
export function replayOwn(
  system: TrackedSystem,
  results: readonly StoredResult[],
  from: number,
  to: number,
  maintenance?: MaintenanceLookup,
): Point[] {
  const probes = new Map(system.probes.map((p) => [p.id, p]));
  const sorted = results.filter((r) => r.system === system.id && probes.has(r.probe)).sort((a, b) => a.ts - b.ts || a.seq - b.seq);
  // When something can change: a result, a result going stale, a window starting or ending.
  const times = new Set<number>([from]);
  for (const r of sorted) {
    const p = probes.get(r.probe);
    if (p === undefined) continue;
    times.add(r.ts);
    times.add(r.ts + freshFor(p.interval, p.timeout) + 1);
  }
  times.add(to);
  const moments = [...times].filter((t) => t >= from && t <= to).sort((a, b) => a - b);
  if (maintenance !== undefined) addWindowEdges(moments, system.id, from, to, maintenance);

  const vps = new Map<string, Map<string, VantageInput & { failures: number }>>();
  for (const p of system.probes) vps.set(p.id, new Map());
  const slow = new Map<string, SlowState>();
  const out: Point[] = [];
  let next = 0;
  for (const t of moments) {
    for (; next < sorted.length && sorted[next]!.ts <= t; next++) {
      const r = sorted[next]!;
      const agents = vps.get(r.probe);
      const prev = agents?.get(r.agent);
      agents?.set(r.agent, { agent: r.agent, ts: r.ts, ok: r.ok, failures: r.ok ? 0 : (prev?.failures ?? 0) + 1, duration_ms: r.duration_ms });
    }
    const tallies = system.probes.map((p) =>
      tallyProbe({ interval: p.interval, timeout: p.timeout, agents: p.agents, ...(p.retries === undefined ? {} : { retries: p.retries }), results: vps.get(p.id)?.values() ?? [] }, t),
    );
    const inWindow = maintenance?.activeFor(system.id, t) !== undefined;
    let firing = false;
    const step = (key: string, rule: NonNullable<TrackedSystem['response_time']>, durations: number[]): void => {
      const state = inWindow ? { firing: false } : stepSlow(slow.get(key) ?? { firing: false }, percentile(durations, rule.percentile), t, rule);
      slow.set(key, state);
      if (state.firing) firing = true;
    };
    if (system.response_time !== undefined) step('', system.response_time, tallies.flatMap((x) => x.durations));
    system.probes.forEach((p, i) => {
      if (p.response_time !== undefined) step(p.id, p.response_time, [...(tallies[i]?.durations ?? [])]);
    });
    const status = ownStatus(tallies, { quorum: system.quorum ?? DEFAULT_QUORUM, slow: firing, maintenance: inWindow });
    if (out.length === 0 || out[out.length - 1]!.status !== status) out.push({ at: t, status, cause: [] });
  }
  return out;
}

/** Adds the start and end of every window of `system` inside [from, to), keeping `moments` sorted. */
function addWindowEdges(moments: number[], system: string, from: number, to: number, maintenance: MaintenanceLookup): void {
  const edges = maintenance.edges?.(system, from, to) ?? [];
  if (edges.length === 0) return;
  const all = new Set([...moments, ...edges.filter((t) => t >= from && t <= to)]);
  moments.splice(0, moments.length, ...[...all].sort((a, b) => a - b));
}

/**
 * The perceived status over [from, to) of `systems`, from every system's own timeline (own
 * statuses at `from` first, then changes), through the dependencies as the live engine does.
 */
export function replayPerceived(
  systems: ReadonlySet<string>,
  own: ReadonlyMap<string, readonly Point[]>,
  depends: ReadonlyMap<string, Readonly<Record<string, Impact>>>,
  from: number,
): Map<string, Point[]> {
  const times = new Set<number>([from]);
  for (const points of own.values()) for (const p of points) if (p.at >= from) times.add(p.at);
  const at = (points: readonly Point[], t: number): Status => {
    let s: Status = 'unknown';
    for (const p of points) {
      if (p.at > t) break;
      s = p.status;
    }
    return s;
  };
  const out = new Map<string, Point[]>([...systems].map((id) => [id, []]));
  for (const t of [...times].sort((a, b) => a - b)) {
    const ownAt = new Map<string, Status>();
    for (const [id, points] of own) ownAt.set(id, at(points, t));
    const perceived = derivePerceived(ownAt, depends, { only: new Set(systems) });
    for (const [id, p] of perceived) {
      const list = out.get(id);
      if (list === undefined) continue;
      const last = list[list.length - 1];
      if (last === undefined || last.status !== p.status || last.cause.join() !== p.cause.join()) list.push({ at: t, status: p.status, cause: p.cause });
    }
  }
  return out;
}
