// A Prometheus histogram whose observe() is a few array operations. prom-client's Histogram
// hashes the label set on every observation (also through a bound child), which at tens of
// thousands of results per second was a measurable share of the collector's CPU. This one hands
// out series objects the caller caches, and registers with a prom-client Registry like any metric.
import type { Registry } from 'prom-client';

export class HistogramSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly #bounds: readonly number[];
  /** Non-cumulative counts per bucket; cumulated on export. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(labels: Record<string, string>, bounds: readonly number[]) {
    this.labels = labels;
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    const b = this.#bounds;
    for (let i = 0; i < b.length; i++) {
      if (value <= b[i]!) {
        this.counts[i]!++;
        break;
      }
    }
    this.sum += value;
    this.count++;
  }
}

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName: string;
}

export class SeriesHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, HistogramSeries>();

  constructor(opts: { name: string; help: string; buckets: readonly number[]; registers: Registry[] }) {
    this.name = opts.name;
    this.help = opts.help;
    this.#bounds = [...opts.buckets].sort((a, b) => a - b);
    // The Registry only needs name, help, type and get(); see prom-client's registerMetric.
    for (const r of opts.registers) r.registerMetric(this as never);
  }

  /** The series for a label set, created on first use; `key` identifies the label set. */
  series(key: string, labels: Record<string, string>): HistogramSeries {
    let s = this.#series.get(key);
    if (s === undefined) {
      s = new HistogramSeries({ ...labels }, this.#bounds);
      this.#series.set(key, s);
    }
    return s;
  }

  remove(key: string): void {
    this.#series.delete(key);
  }

  reset(): void {
    this.#series.clear();
  }

  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: MetricValue[] }> {
    const values: MetricValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.#series.values()) {
      let acc = 0;
      for (let i = 0; i < this.#bounds.length; i++) {
        acc += s.counts[i]!;
        values.push({ value: acc, labels: { ...s.labels, le: this.#bounds[i]! }, metricName: bucket });
      }
      values.push({ value: s.count, labels: { ...s.labels, le: '+Inf' }, metricName: bucket });
      values.push({ value: s.sum, labels: s.labels, metricName: `${this.name}_sum` });
      values.push({ value: s.count, labels: s.labels, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }
}
