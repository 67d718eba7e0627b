// A mergeable latency sketch in the manner of DDSketch: log-spaced buckets, so any quantile is
// within 1 % of the true value whatever the distribution, and two sketches merge exactly by adding
// their counts (an hour of every agent, or a month of hours, is the sum of its parts). Encoded as
// varints of sparse (index delta, count) pairs, an hour of one probe from one agent takes tens of
// bytes, which is what lets the hourly aggregates be kept for a year.
import { VagtError } from '../../lib/errors.js';

/** Relative accuracy of every quantile. */
export const RELATIVE_ACCURACY = 0.01;
const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
const LOG_GAMMA = Math.log(GAMMA);
/** Values below this (ms) count in the zero bucket. */
const MIN_MS = 0.01;
/** Larger values are counted as this: a day, well past any probe's timeout. */
const MAX_MS = 86_400_000;
/** The first byte of an encoding: names GAMMA and MIN_MS, so a change of either is a new format. */
const FORMAT = 1;

const bucketOf = (ms: number): number => Math.ceil(Math.log(Math.min(ms, MAX_MS)) / LOG_GAMMA);
/** The middle of bucket i, (gamma^(i-1), gamma^i], in relative terms: within a of every value in it. */
const valueOf = (i: number): number => (2 * GAMMA ** i) / (GAMMA + 1);

export class LatencySketch {
  #zero = 0;
  #count = 0;
  readonly #buckets = new Map<number, number>();

  get count(): number {
    return this.#count;
  }

  /** Adds a value in ms; NaN and negative values count as zero. */
  add(ms: number, times = 1): void {
    if (ms >= MIN_MS) {
      const i = bucketOf(ms);
      this.#buckets.set(i, (this.#buckets.get(i) ?? 0) + times);
    } else this.#zero += times;
    this.#count += times;
  }

  /** Adds every value of `other` (which is left as it is); returns this. */
  merge(other: LatencySketch): this {
    this.#zero += other.#zero;
    this.#count += other.#count;
    for (const [i, n] of other.#buckets) this.#buckets.set(i, (this.#buckets.get(i) ?? 0) + n);
    return this;
  }

  /**
   * The nearest-rank quantile (q in [0, 1]), as collector/status/slow.ts computes percentiles:
   * within RELATIVE_ACCURACY of the exact one. Undefined when empty.
   */
  quantile(q: number): number | undefined {
    if (this.#count === 0) return undefined;
    // Less a little: 0.95 * 100 is 95.00000000000001 in floating point, and the 95th of 100 is meant.
    const rank = Math.min(this.#count, Math.max(1, Math.ceil(q * this.#count - 1e-7)));
    let seen = this.#zero;
    if (seen >= rank) return 0;
    for (const i of this.#sorted()) {
      seen += this.#buckets.get(i) ?? 0;
      if (seen >= rank) return valueOf(i);
    }
    // Unreachable: the counts add up to #count.
    return undefined;
  }

  #sorted(): number[] {
    return [...this.#buckets.keys()].sort((a, b) => a - b);
  }

  /** FORMAT, the zero count, then per bucket in ascending order the index delta and the count. */
  encode(): Buffer {
    const out: number[] = [FORMAT];
    writeVarint(out, this.#zero);
    let prev = 0;
    let first = true;
    for (const i of this.#sorted()) {
      // The first index may be negative (values under 1 ms); the deltas after it never are.
      writeVarint(out, first ? zigzag(i) : i - prev);
      writeVarint(out, this.#buckets.get(i) ?? 0);
      prev = i;
      first = false;
    }
    return Buffer.from(out);
  }

  /** Reads an encoding back; throws VAGT_ERR_STORE for bytes that are not one. */
  static decode(buf: Uint8Array): LatencySketch {
    const s = new LatencySketch();
    if (buf[0] !== FORMAT) throw new VagtError('VAGT_ERR_STORE', `not a latency sketch (format ${buf[0] ?? 'missing'})`);
    const at = { pos: 1 };
    s.#zero = readVarint(buf, at);
    s.#count = s.#zero;
    let i = 0;
    let first = true;
    while (at.pos < buf.length) {
      const d = readVarint(buf, at);
      i = first ? unzigzag(d) : i + d;
      const n = readVarint(buf, at);
      if ((!first && d === 0) || n === 0) throw new VagtError('VAGT_ERR_STORE', 'a latency sketch with a repeated or empty bucket');
      s.#buckets.set(i, n);
      s.#count += n;
      first = false;
    }
    return s;
  }
}

const zigzag = (n: number): number => (n < 0 ? -2 * n - 1 : 2 * n);
const unzigzag = (n: number): number => (n % 2 === 1 ? -(n + 1) / 2 : n / 2);

// Arithmetic rather than bit operations: counts may pass 2^31 after many merges.
function writeVarint(out: number[], n: number): void {
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

function readVarint(buf: Uint8Array, at: { pos: number }): number {
  let v = 0;
  let scale = 1;
  for (;;) {
    const b = buf[at.pos++];
    if (b === undefined || scale > 2 ** 49) throw new VagtError('VAGT_ERR_STORE', 'a truncated latency sketch');
    v += (b & 0x7f) * scale;
    if (b < 0x80) return v;
    scale *= 0x80;
  }
}
