import { describe, expect, it } from 'vitest';
import { LatencySketch, RELATIVE_ACCURACY } from '../../collector/store/sketch.js';
import { seededRandom } from '../../lib/random.js';

// Seeded, so a failure can be reproduced.
const random = seededRandom;

/** Log-normal latencies around `median` ms, with a tail. */
function latencies(n: number, median: number, seed: number): number[] {
  const r = random(seed);
  return Array.from({ length: n }, () => {
    const z = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    return median * Math.exp(0.6 * z);
  });
}

const sketchOf = (values: readonly number[]): LatencySketch => {
  const s = new LatencySketch();
  for (const v of values) s.add(v);
  return s;
};

/** The exact nearest-rank quantile, as collector/status/slow.ts's percentile. */
function exactQuantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length - 1e-7))) - 1]!;
}

const QUANTILES = [0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1];

describe('LatencySketch', () => {
  it.each([
    ['a fast probe', 10_000, 3, 1],
    ['a slow page', 10_000, 800, 2],
    ['an hour of one probe', 60, 120, 3],
    ['a spread from µs to minutes', 5_000, 0.05, 4],
  ])('gives every quantile within 1 %% of the exact nearest-rank one: %s', (_name, n, median, seed) => {
    const values = latencies(n, median, seed);
    if (seed === 4) values.push(90_000, 0.02, 1);
    const s = sketchOf(values);
    expect(s.count).toBe(values.length);
    for (const q of QUANTILES) {
      const exact = exactQuantile(values, q);
      const approx = s.quantile(q)!;
      // Under 0.01 ms is the zero bucket: exact to 0.01 ms there.
      if (exact < 0.01) {
        expect(approx).toBe(0);
        continue;
      }
      expect(Math.abs(approx - exact) / exact, `q=${q}: ${approx} vs ${exact}`).toBeLessThanOrEqual(RELATIVE_ACCURACY + 1e-9);
    }
  });

  it('counts values under 0.01 ms, zero and NaN in a zero bucket', () => {
    const s = sketchOf([0, 0.001, Number.NaN, 5]);
    expect(s.count).toBe(4);
    expect(s.quantile(0.75)).toBe(0);
    expect(s.quantile(1)! / 5).toBeCloseTo(1, 1);
  });

  it('merges exactly: the merge of two sketches is the sketch of the union', () => {
    const a = latencies(3_000, 50, 7);
    const b = latencies(2_000, 400, 8);
    const merged = sketchOf(a).merge(sketchOf(b));
    const union = sketchOf([...a, ...b]);
    expect(merged.count).toBe(5_000);
    expect(merged.encode()).toEqual(union.encode());
    for (const q of QUANTILES) expect(merged.quantile(q)).toBe(union.quantile(q));
    // Merging an empty sketch changes nothing; the other sketch is left alone.
    const before = sketchOf(b).encode();
    const other = sketchOf(b);
    sketchOf(a).merge(other);
    expect(other.encode()).toEqual(before);
    expect(union.merge(new LatencySketch()).encode()).toEqual(merged.encode());
  });

  it('round-trips through its encoding, compactly', () => {
    const hour = latencies(60, 120, 9);
    const s = sketchOf([...hour, 0, 0.001]);
    const buf = s.encode();
    const back = LatencySketch.decode(buf);
    expect(back.count).toBe(s.count);
    expect(back.encode()).toEqual(buf);
    for (const q of QUANTILES) expect(back.quantile(q)).toBe(s.quantile(q));
    // An hour of one probe from one agent: tens of bytes, against 480 for the raw doubles.
    expect(buf.length).toBeLessThan(120);
    // Large counts survive (merges of many hours).
    const big = new LatencySketch();
    big.add(100, 2 ** 40);
    big.add(0, 3);
    expect(LatencySketch.decode(big.encode()).count).toBe(2 ** 40 + 3);
  });

  it('is empty until something is added', () => {
    const s = new LatencySketch();
    expect(s.count).toBe(0);
    expect(s.quantile(0.5)).toBeUndefined();
    expect(s.encode()).toEqual(Buffer.from([1, 0]));
    const back = LatencySketch.decode(s.encode());
    expect(back.count).toBe(0);
    expect(back.quantile(0.99)).toBeUndefined();
  });

  it('refuses bytes that are not a sketch', () => {
    expect(() => LatencySketch.decode(Buffer.from([]))).toThrow(/not a latency sketch/);
    expect(() => LatencySketch.decode(Buffer.from([9, 0]))).toThrow(/not a latency sketch/);
    expect(() => LatencySketch.decode(Buffer.from([1, 0, 4]))).toThrow(/truncated/);
    expect(() => LatencySketch.decode(Buffer.from([1, 0, 4, 0]))).toThrow(/empty bucket/);
    expect(() => LatencySketch.decode(Buffer.from([1, 0, 4, 1, 0, 1]))).toThrow(/repeated/);
  });
});
