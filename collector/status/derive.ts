// The first status rule, as a pure function of the latest results and the time, so the later
// status engine (consensus across agents, dependencies, windows) can replace it in one place.
import type { Status } from './types.js';

/** One probe of a system with the latest result from each agent that ran it. */
export interface ProbeLatest {
  interval: number;
  timeout: number;
  /** Agents the probe is assigned to; results from others are ignored. Undefined: every agent. */
  agents?: readonly string[] | undefined;
  results: Iterable<{ agent: string; ts: number; ok: boolean }>;
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

/**
 * `operational` while the fresh results pass, `major_outage` as soon as one fresh latest result
 * (per probe and agent) fails, `unknown` when nothing is fresh. Perceived = own for now.
 */
export function deriveSystemStatus(probes: readonly ProbeLatest[], now: number): Derived {
  let fresh = 0;
  let failing = 0;
  for (const p of probes) {
    for (const r of p.results) {
      if (p.agents !== undefined && !p.agents.includes(r.agent)) continue;
      if (!isFresh(r.ts, p, now)) continue;
      fresh++;
      if (!r.ok) failing++;
    }
  }
  const own: Status = fresh === 0 ? 'unknown' : failing > 0 ? 'major_outage' : 'operational';
  return { status: own, own_status: own, cause: [] };
}
