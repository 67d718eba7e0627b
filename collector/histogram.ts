// Metrics whose /metrics text is written directly, for the per-(system, probe, agent) families that
// are nearly all of a large deployment's series (docs/metrics.md: 23 of them per vantage point).
//
// prom-client's Histogram hashes the label set on every observation (also through a bound
// child), which at tens of thousands of results per second was a measurable share of the
// collector's CPU; SeriesHistogram hands out series objects the caller caches, so observe() is a
// few array operations. And prom-client formats a scrape through a value object per sample and a
// label object per bucket (~16 objects per histogram series), escaping every label value on every
// scrape: at 116,000 series that was 0.5-1 s of CPU and garbage collection in one block of the
// event loop. These metrics keep each series' label text, escaped once when the series is made,
// and write their samples as text in chunks (textChunks()) that the exposition yields between.
//
// They still register with a prom-client Registry like any metric and answer get(), so
// registry.metrics() gives the same text the slow way (tests/collector/metrics-exposition.test.ts
// compares the two byte for byte).
import type { Registry } from 'prom-client';

/** Series written per chunk of textChunks(); a chunk of histogram series is ~0.4 MB of text. */
const SERIES_PER_CHUNK = 256;

/** A label value escaped as prom-client escapes it: `\` → `\\`, newline → `\n`, `"` → `\"`. */
export function escapeLabelValue(value: string): string {
  if (!/[\\\n"]/.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** A HELP text escaped as prom-client escapes it: `\` and newline. */
export function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value as prom-client writes it (util.js getValueAsString): `1`, `0.25`, `+Inf`, `-Inf`, `Nan`. */
export function formatValue(v: number): string {
  if (Number.isFinite(v)) return `${v}`;
  if (Number.isNaN(v)) return 'Nan';
  return v < 0 ? '-Inf' : '+Inf';
}

/** A series' label set and its exposition text (`system="a",probe="b",agent="c"`), escaped once. */
export class SeriesLabels {
  readonly labels: Readonly<Record<string, string>>;
  readonly text: string;
  constructor(labels: Record<string, string>) {
    this.labels = { ...labels };
    this.text = Object.entries(this.labels)
      .map(([name, value]) => `${name}="${escapeLabelValue(value)}"`)
      .join(',');
  }
}

/** `{text}`, or nothing for an empty label set. */
const braces = (text: string): string => (text === '' ? '' : `{${text}}`);

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

interface MetricJson {
  name: string;
  help: string;
  type: string;
  aggregator: string;
  values: MetricValue[];
}

/** A metric whose exposition is written by textChunks(): the family's text, in pieces to join. */
export interface DirectMetric {
  readonly name: string;
  /** `# HELP …\n# TYPE …`, then the samples, each line starting with `\n`; no trailing newline. */
  textChunks(): Generator<string, void, undefined>;
}

export function isDirectMetric(m: unknown): m is DirectMetric {
  return typeof (m as Partial<DirectMetric>).textChunks === 'function';
}

export class HistogramSeries {
  readonly labels: Readonly<Record<string, string>>;
  /** The labels' exposition text, escaped once. */
  readonly labelText: string;
  readonly #bounds: readonly number[];
  /** Non-cumulative counts per bucket; cumulated on export. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(labels: SeriesLabels, bounds: readonly number[]) {
    this.labels = labels.labels;
    this.labelText = labels.text;
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

export class SeriesHistogram implements DirectMetric {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds: readonly number[];
  /** `0.005"} ` per bound: the rest of a bucket line after `le="`, before the count. */
  readonly #le: readonly string[];
  readonly #header: string;
  readonly #series = new Map<string, HistogramSeries>();

  constructor(opts: { name: string; help: string; buckets: readonly number[]; registers: Registry[] }) {
    this.name = opts.name;
    this.help = opts.help;
    this.#bounds = [...opts.buckets].sort((a, b) => a - b);
    this.#le = this.#bounds.map((b) => `${b}"} `);
    this.#header = `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}`;
    // The Registry only needs name, help, type and get(); see prom-client's registerMetric.
    for (const r of opts.registers) r.registerMetric(this as never);
  }

  /** The series for a label set, created on first use; `key` identifies the label set. */
  series(key: string, labels: SeriesLabels | Record<string, string>): HistogramSeries {
    let s = this.#series.get(key);
    if (s === undefined) {
      s = new HistogramSeries(labels instanceof SeriesLabels ? labels : new SeriesLabels(labels), this.#bounds);
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

  *textChunks(): Generator<string, void, undefined> {
    yield this.#header;
    // A snapshot: series made or removed while the exposition yields are in the next scrape.
    const all = [...this.#series.values()];
    const le = this.#le;
    const n = le.length;
    const bucketName = `\n${this.name}_bucket{`;
    const sumName = `\n${this.name}_sum`;
    const countName = `\n${this.name}_count`;
    for (let from = 0; from < all.length; from += SERIES_PER_CHUNK) {
      const to = Math.min(all.length, from + SERIES_PER_CHUNK);
      let out = '';
      for (let i = from; i < to; i++) {
        const s = all[i]!;
        const text = s.labelText;
        const bucket = text === '' ? `${bucketName}le="` : `${bucketName}${text},le="`;
        const counts = s.counts;
        let acc = 0;
        for (let j = 0; j < n; j++) {
          acc += counts[j]!;
          out += bucket + le[j]! + formatValue(acc);
        }
        const count = formatValue(s.count);
        const labels = braces(text);
        out += `${bucket}+Inf"} ${count}${sumName}${labels} ${formatValue(s.sum)}${countName}${labels} ${count}`;
      }
      yield out;
    }
  }

  get(): Promise<MetricJson> {
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

/** One more label after a series' labels, e.g. `phase="dns"`, escaped once. */
export class ExtraLabel {
  readonly name: string;
  readonly value: string;
  readonly text: string;
  constructor(name: string, value: string) {
    this.name = name;
    this.value = value;
    this.text = `${name}="${escapeLabelValue(value)}"`;
  }
}

/** Gives a sample of the gauge: the series' labels, maybe one more label, and the value. */
export type EmitSample = (labels: SeriesLabels, value: number, extra?: ExtraLabel) => void;

/**
 * A gauge whose samples are read at scrape time from `rows` (e.g. the latest results): `samples`
 * emits each row's samples. Like a prom-client Gauge with a collect() that resets and sets every
 * series, without the label hashing and per-sample objects.
 */
export class RowsGauge<T> implements DirectMetric {
  readonly name: string;
  readonly help: string;
  readonly type = 'gauge';
  readonly aggregator = 'sum';
  readonly #rows: () => Iterable<T>;
  readonly #samples: (row: T, emit: EmitSample) => void;
  readonly #header: string;

  constructor(opts: { name: string; help: string; registers: Registry[]; rows: () => Iterable<T>; samples: (row: T, emit: EmitSample) => void }) {
    this.name = opts.name;
    this.help = opts.help;
    this.#rows = opts.rows;
    this.#samples = opts.samples;
    this.#header = `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}`;
    for (const r of opts.registers) r.registerMetric(this as never);
  }

  *textChunks(): Generator<string, void, undefined> {
    yield this.#header;
    const rows = [...this.#rows()];
    const open = `\n${this.name}{`;
    const bare = `\n${this.name} `;
    let out = '';
    const emit: EmitSample = (labels, value, extra) => {
      const text = extra === undefined ? labels.text : labels.text === '' ? extra.text : `${labels.text},${extra.text}`;
      out += text === '' ? bare + formatValue(value) : `${open}${text}} ${formatValue(value)}`;
    };
    for (let from = 0; from < rows.length; from += SERIES_PER_CHUNK) {
      const to = Math.min(rows.length, from + SERIES_PER_CHUNK);
      out = '';
      for (let i = from; i < to; i++) this.#samples(rows[i]!, emit);
      yield out;
    }
  }

  get(): Promise<MetricJson> {
    const values: MetricValue[] = [];
    const emit: EmitSample = (labels, value, extra) => {
      values.push({ value, labels: extra === undefined ? { ...labels.labels } : { ...labels.labels, [extra.name]: extra.value } });
    };
    for (const row of this.#rows()) this.#samples(row, emit);
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  /** For the Registry's resetMetrics(): the samples follow the rows, there is nothing to reset. */
  reset(): void {}
}
