// A system's own status as a pure function of the latest results and the time: consensus across
// vantage points (agents), so that one agent's bad network does not turn a system red. Perceived
// status through dependencies is perceived.ts; slowness is slow.ts.
import type { Status } from './types.js';

/** One vantage point: an agent's latest result for a probe. */
export interface VantageInput {
  agent: string;
  ts: number;
  ok: boolean;
  /** The run of consecutive failures up to this result; default 1 for a failure. */
  failures?: number;
  duration_ms?: number;
}

/** One probe of a system with the latest result from each agent that ran it. */
export interface ProbeLatest {
  interval: number;
  timeout: number;
  /** Consecutive failures before a vantage point counts as failing (at least 1). */
  retries?: number;
  /** Agents the probe is assigned to; results from others are ignored. Undefined: every agent. */
  agents?: readonly string[] | undefined;
  results: Iterable<VantageInput>;
  /**
   * External sources by id, with how long one of their reports counts (ms). Their reports count
   * at once (the reporter did its own retrying) and carry no response time for the slow rules.
   */
  external?: ReadonlyMap<string, number> | undefined;
}

export interface Derived {
  status: Status;
  own_status: Status;
  cause: string[];
}

/** What one probe's fresh vantage points say. */
export interface ProbeTally {
  /** Fresh vantage points that count (a suspect agent's failure does not). */
  fresh: number;
  failing: number;
  /** Failures of suspect agents: shown as such, not blamed on the system. */
  suspect: number;
  /** Response times of the fresh successful vantage points, ms. */
  durations: number[];
  /** Agents failing here while most of the other fresh vantage points succeed. */
  lonely: string[];
}

/** How old a result may be and still count: 3 intervals, and at least one interval plus the timeout. */
export function freshFor(interval: number, timeout: number): number {
  return Math.max(3 * interval, interval + timeout);
}

export function isFresh(ts: number, probe: { interval: number; timeout: number }, now: number): boolean {
  return now - ts <= freshFor(probe.interval, probe.timeout);
}

/** Share of a probe's fresh vantage points that must fail for a major outage: more than half. */
export const DEFAULT_QUORUM = 0.5;

const NO_SUSPECTS: ReadonlySet<string> = new Set();

export function tallyProbe(p: ProbeLatest, now: number, suspects: ReadonlySet<string> = NO_SUSPECTS): ProbeTally {
  const t: ProbeTally = { fresh: 0, failing: 0, suspect: 0, durations: [], lonely: [] };
  const retries = Math.max(1, p.retries ?? 1);
  let rawFresh = 0;
  let failed: string[] | undefined;
  for (const r of p.results) {
    if (p.agents !== undefined && !p.agents.includes(r.agent)) continue;
    const hold = p.external?.get(r.agent);
    if (hold === undefined ? !isFresh(r.ts, p, now) : now - r.ts > hold) continue;
    rawFresh++;
    // A vantage point fails after `retries` failures in a row and recovers after one success.
    const failing = !r.ok && (hold !== undefined || (r.failures ?? 1) >= retries);
    if (failing) (failed ??= []).push(r.agent);
    if (failing && suspects.has(r.agent)) {
      t.suspect++;
      continue;
    }
    t.fresh++;
    if (failing) t.failing++;
    else if (r.ok && r.duration_ms !== undefined && hold === undefined) t.durations.push(r.duration_ms);
  }
  if (failed !== undefined) {
    // Lonely: the others (at least one) mostly see the probe succeed.
    const others = rawFresh - 1;
    const othersFailing = failed.length - 1;
    if (others > 0 && (others - othersFailing) * 2 > others) t.lonely = failed;
  }
  return t;
}

/** The worst share of failing vantage points over the probes (0..1); 0 without fresh data. */
export function failingShare(tallies: readonly ProbeTally[]): number {
  let share = 0;
  for (const t of tallies) if (t.fresh > 0) share = Math.max(share, t.failing / t.fresh);
  return share;
}

export interface OwnOptions {
  /** Fraction of fresh vantage points that must fail for a major outage ("more than"). */
  quorum?: number;
  /** A long-response-time alert is firing: degraded_performance unless worse. */
  slow?: boolean;
  /** Inside an announced service window. */
  maintenance?: boolean;
}

/**
 * `under_maintenance` inside a window; else per probe, `major_outage` when more than `quorum` of
 * its fresh vantage points fail, `partial_outage` when some but not that many fail; the system
 * takes its worst probe; `degraded_performance` when slow and nothing fails; `unknown` when no
 * result is fresh at all.
 */
export function ownStatus(tallies: readonly ProbeTally[], opts: OwnOptions = {}): Status {
  if (opts.maintenance === true) return 'under_maintenance';
  const quorum = opts.quorum ?? DEFAULT_QUORUM;
  let anyFresh = false;
  let own: Status = 'operational';
  for (const t of tallies) {
    if (t.fresh === 0) continue;
    anyFresh = true;
    if (t.failing / t.fresh > quorum) own = 'major_outage';
    else if (t.failing > 0 && own !== 'major_outage') own = 'partial_outage';
  }
  if (!anyFresh) return 'unknown';
  return own === 'operational' && opts.slow === true ? 'degraded_performance' : own;
}

/** Own status straight from results; perceived = own here (perceived.ts applies dependencies). */
export function deriveSystemStatus(
  probes: readonly ProbeLatest[],
  now: number,
  opts: OwnOptions & { suspects?: ReadonlySet<string> } = {},
): Derived {
  const own = ownStatus(
    probes.map((p) => tallyProbe(p, now, opts.suspects)),
    opts,
  );
  return { status: own, own_status: own, cause: [] };
}
