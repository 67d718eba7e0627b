// A system's own status as a pure function of the latest results and the time: consensus across
// vantage points (agents), so that one agent's bad network does not turn a system red. Perceived
// status through dependencies is perceived.ts.
import type { Status } from './types.js';

/** One probe of a system with the latest result from each agent that ran it. */
export interface ProbeLatest {
  interval: number;
  timeout: number;
  /** Consecutive failures before a vantage point counts as failing (at least 1). */
  retries?: number;
  /** Agents the probe is assigned to; results from others are ignored. Undefined: every agent. */
  agents?: readonly string[] | undefined;
  /** `failures`: the run of consecutive failures up to this result; default 1 for a failure. */
  results: Iterable<{ agent: string; ts: number; ok: boolean; failures?: number }>;
}

export interface Derived {
  status: Status;
  own_status: Status;
  cause: string[];
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

/**
 * Per probe, the fresh latest results of its agents (the vantage points), each failing only after
 * `retries` consecutive failures: `major_outage` when more
 * than `quorum` of them fail, `partial_outage` when some but not that many fail, `operational`
 * when none fails. The system takes its worst probe; `unknown` when no result is fresh at all.
 * Perceived = own here; perceived.ts applies the dependencies.
 */
export function deriveSystemStatus(probes: readonly ProbeLatest[], now: number, quorum = DEFAULT_QUORUM): Derived {
  let anyFresh = false;
  let own: Status = 'operational';
  for (const p of probes) {
    let fresh = 0;
    let failing = 0;
    for (const r of p.results) {
      if (p.agents !== undefined && !p.agents.includes(r.agent)) continue;
      if (!isFresh(r.ts, p, now)) continue;
      fresh++;
      // A vantage point fails after `retries` failures in a row and recovers after one success.
      if (!r.ok && (r.failures ?? 1) >= Math.max(1, p.retries ?? 1)) failing++;
    }
    if (fresh === 0) continue;
    anyFresh = true;
    if (failing / fresh > quorum) own = 'major_outage';
    else if (failing > 0 && own !== 'major_outage') own = 'partial_outage';
  }
  if (!anyFresh) own = 'unknown';
  return { status: own, own_status: own, cause: [] };
}
