// Hourly aggregates from raw results, shared by every store so that they all compute the same
// thing, and the helpers to read them: merging hours or agents, and percentiles.
import { LatencySketch } from './sketch.js';
import type { HourAggregate } from './types.js';

export const HOUR_MS = 3_600_000;

/** The start of the UTC hour of `ts` (epoch ms). */
export const hourOf = (ts: number): number => ts - (ts % HOUR_MS);

/** Accumulates raw results, in any order, into one aggregate per (system, probe, agent, hour). */
export class HourAccumulator {
  readonly #series = new Map<string, HourAggregate>();

  /** How many results went in. */
  rows = 0;

  add(system: string, probe: string, agent: string, ts: number, ok: boolean, durationMs: number): void {
    const hour = hourOf(ts);
    const k = `${hour}\u0000${system}\u0000${probe}\u0000${agent}`;
    let a = this.#series.get(k);
    if (a === undefined) {
      a = { system, probe, agent, hour, count: 0, failures: 0, sum_ms: 0, min_ms: null, max_ms: null, sketch: new LatencySketch() };
      this.#series.set(k, a);
    }
    this.rows++;
    a.count++;
    if (!ok) {
      a.failures++;
      return;
    }
    a.sum_ms += durationMs;
    if (a.min_ms === null || durationMs < a.min_ms) a.min_ms = durationMs;
    if (a.max_ms === null || durationMs > a.max_ms) a.max_ms = durationMs;
    a.sketch.add(durationMs);
  }

  /** Hands out the aggregates of `hour` and forgets them. */
  take(hour: number): HourAggregate[] {
    const out: HourAggregate[] = [];
    for (const [k, a] of this.#series)
      if (a.hour === hour) {
        out.push(a);
        this.#series.delete(k);
      }
    return out;
  }
}

/** Orders aggregates as the stores return them: by system, probe, agent, then hour. */
export function compareAggregates(a: HourAggregate, b: HourAggregate): number {
  for (const k of ['system', 'probe', 'agent'] as const) if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
  return a.hour - b.hour;
}

/** Several hours, agents or probes as one: the sums, the extremes and the merged sketch. */
export function mergeAggregates(list: readonly HourAggregate[]): Omit<HourAggregate, 'system' | 'probe' | 'agent' | 'hour'> {
  const out = { count: 0, failures: 0, sum_ms: 0, min_ms: null as number | null, max_ms: null as number | null, sketch: new LatencySketch() };
  for (const a of list) {
    out.count += a.count;
    out.failures += a.failures;
    out.sum_ms += a.sum_ms;
    if (a.min_ms !== null && (out.min_ms === null || a.min_ms < out.min_ms)) out.min_ms = a.min_ms;
    if (a.max_ms !== null && (out.max_ms === null || a.max_ms > out.max_ms)) out.max_ms = a.max_ms;
    out.sketch.merge(a.sketch);
  }
  return out;
}

/**
 * The nearest-rank latency percentile (p in [0, 100]) of the successful results, within 1 %;
 * clamped to the exact min and max, which only brings it closer. Undefined when none succeeded.
 */
export function latencyPercentile(a: Pick<HourAggregate, 'sketch' | 'min_ms' | 'max_ms'>, p: number): number | undefined {
  const v = a.sketch.quantile(p / 100);
  if (v === undefined || a.min_ms === null || a.max_ms === null) return v;
  return Math.min(a.max_ms, Math.max(a.min_ms, v));
}
