// What the storage benches' made-up fleets share: a series per (system, probe, agent) with its
// scheduler offset and median response time, and response times jittered around that median.

export interface Series {
  system: string;
  probe: string;
  agent: string;
  /** The scheduler's stable offset inside the interval. */
  offset: number;
  median: number;
}

/** Log-normal jitter around the series' median, now and then a slow one (4 times). */
export function jitteredDuration(median: number, rnd: () => number): number {
  const z = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  return median * Math.exp(0.15 * z) * (rnd() < 0.01 ? 4 : 1);
}
