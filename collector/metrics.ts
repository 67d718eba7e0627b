// Prometheus metrics (CONTRACT §5) on the collector's own Registry, never the global one, so two
// collectors in one process (tests, the demo) do not share series.
//
// Ingest is the hot path: the "last result" gauges are filled from the latest results when
// Prometheus scrapes, not on every result, and the duration histogram is a cheap series-cached
// one (histogram.ts). Measured with bench/ingest.ts; see docs/PERFORMANCE.md.
//
// A scrape is the other cost: at fleet size the per-(system, probe, agent) families are nearly all
// of the series, so they write their text directly from label text escaped once per series
// (histogram.ts), and exposition() yields to the event loop between chunks, so ingest goes on
// while a scrape of 100,000+ series is built. Measured with bench/metrics-scrape.ts.
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { PHASES, type Phase } from '../protocol/messages.js';
import { ExtraLabel, RowsGauge, SeriesHistogram, SeriesLabels, isDirectMetric, type HistogramSeries } from './histogram.js';
import { STATUSES, VIEWS, type Status, type View } from './status/types.js';
import type { StoredResult } from './store/types.js';

export type RejectReason =
  | 'unauthorized'
  | 'invalid_frame'
  | 'invalid_message'
  | 'invalid_result'
  | 'too_big'
  | 'unsupported_version'
  | 'unknown_probe'
  | 'duplicate'
  | 'rate_limited'
  | 'too_many_connections'
  | 'not_reading';

export const REJECT_REASONS: readonly RejectReason[] = [
  'unauthorized',
  'invalid_frame',
  'invalid_message',
  'invalid_result',
  'too_big',
  'unsupported_version',
  'unknown_probe',
  'duplicate',
  'rate_limited',
  'too_many_connections',
  'not_reading',
];

/** From 5 ms (a loopback TCP connect) to 30 s (a slow login flow at its timeout). */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30];

/** promtool rejects nodejs_active_*_total (gauges named like counters); the family is dropped. */
const DROPPED_DEFAULT_METRICS = [
  'nodejs_active_handles',
  'nodejs_active_handles_total',
  'nodejs_active_requests',
  'nodejs_active_requests_total',
  'nodejs_active_resources',
  'nodejs_active_resources_total',
];

/** One series of vagt_alert_active. */
export interface AlertSeries {
  kind: string;
  system?: string;
  probe?: string;
  agent?: string;
  active: boolean;
}

/** One series of vagt_system_uptime_ratio. */
export interface UptimeSeries {
  system: string;
  window: string;
  period: string;
  /** 0..1. */
  ratio: number;
}

/** One series of vagt_system_uptime_target_ratio: a window's declared target. */
export interface UptimeTarget {
  system: string;
  window: string;
  /** 0..1. */
  ratio: number;
}

const seriesKey = (system: string, probe: string, agent: string): string => `${system}\u0000${probe}\u0000${agent}`;

const PHASE_LABELS = Object.fromEntries(PHASES.map((p) => [p, new ExtraLabel('phase', p)])) as Record<Phase, ExtraLabel>;

/** The exposition yields to the event loop after this long building it. */
const SLICE_MS = 8;
/** registry.metrics() joins the families with a blank line and ends the text with a newline. */
const FAMILY_SEPARATOR = Buffer.from('\n\n');
const FINAL_NEWLINE = Buffer.from('\n');

interface TlsExpiry {
  labels: SeriesLabels;
  value: number;
}

export class CollectorMetrics {
  readonly registry = new Registry();
  readonly #duration: SeriesHistogram;
  readonly #systemStatus: Gauge;
  readonly #agentConnected: Gauge;
  readonly #accepted: Counter;
  readonly #rejectedChildren = new Map<RejectReason, { inc(n: number): void }>();
  /** Histogram series by (system, probe, agent), so observe() does no label hashing. */
  readonly #durationSeries = new Map<string, HistogramSeries>();
  /** The last certificate expiry seen per (system, probe, agent): a failed handshake has none. */
  readonly #tlsExpiry = new Map<string, TlsExpiry>();
  /** The label text of every (system, probe, agent), escaped once, for the per-probe families. */
  readonly #probeLabels = new Map<string, SeriesLabels>();
  // Label values in use, so that retain() can remove what a reload made obsolete.
  readonly #statusSystems = new Set<string>();
  readonly #agents = new Set<string>();
  readonly #notifySent: Counter;
  readonly #notifyFailed: Counter;
  readonly #notifyRetried: Counter;
  readonly #notifyDropped: Counter;
  readonly #notifyPending: Gauge;

  /** `latest` gives the latest result per (system, probe, agent) when Prometheus scrapes. */
  constructor(opts: {
    latest: () => Iterable<StoredResult>;
    /** Every alert that can fire and whether it is active, read when Prometheus scrapes. */
    alerts?: () => Iterable<AlertSeries>;
    /** Uptime ratios per system, window and period, as last computed (collector/uptime/gauges.ts). */
    uptime?: () => Iterable<UptimeSeries>;
    /** Declared uptime targets per system and window (sla.uptime), 0..1. */
    targets?: () => Iterable<UptimeTarget>;
    defaultMetrics?: boolean;
  }) {
    const registers = [this.registry];
    const latest = opts.latest;
    const tlsExpiry = this.#tlsExpiry;
    const labelsOf = (r: { system: string; probe: string; agent: string }): SeriesLabels => this.#labelsOf(r.system, r.probe, r.agent);
    new RowsGauge<StoredResult>({
      name: 'vagt_probe_success',
      help: 'Whether the latest run of the probe from the agent succeeded (1) or failed (0).',
      registers,
      rows: latest,
      samples: (r, emit) => emit(labelsOf(r), r.ok ? 1 : 0),
    });
    this.#duration = new SeriesHistogram({
      name: 'vagt_probe_duration_seconds',
      help: 'Duration of every probe run in seconds, as measured by the agent (the whole run: all phases, or every step of a flow).',
      buckets: DURATION_BUCKETS,
      registers,
    });
    new RowsGauge<StoredResult>({
      name: 'vagt_probe_phase_duration_seconds',
      help: 'Duration in seconds of each phase (dns, connect, tls, ttfb, transfer) of the latest probe run; only the phases it reached.',
      registers,
      rows: latest,
      samples: (r, emit) => {
        let labels: SeriesLabels | undefined;
        for (const phase of PHASES) {
          const ms = r.phases[phase];
          if (ms !== undefined) emit((labels ??= labelsOf(r)), ms / 1000, PHASE_LABELS[phase]);
        }
      },
    });
    new RowsGauge<TlsExpiry>({
      name: 'vagt_tls_certificate_expiry_timestamp_seconds',
      help: 'Expiry (notAfter) of the leaf TLS certificate the probe saw last, as a Unix timestamp in seconds.',
      registers,
      rows: () => tlsExpiry.values(),
      samples: (t, emit) => emit(t.labels, t.value),
    });
    const alerts = opts.alerts ?? ((): AlertSeries[] => []);
    new Gauge({
      name: 'vagt_alert_active',
      help: 'Whether an alert is active (1) or not (0): long_response_time per system (and probe, when the probe has its own rule), agent_offline and agent_suspect per agent.',
      labelNames: ['system', 'alert', 'probe', 'agent'],
      registers,
      collect() {
        this.reset();
        for (const a of alerts()) {
          const labels: Partial<Record<'system' | 'alert' | 'probe' | 'agent', string>> = { alert: a.kind };
          if (a.system !== undefined) labels.system = a.system;
          if (a.probe !== undefined) labels.probe = a.probe;
          if (a.agent !== undefined) labels.agent = a.agent;
          this.labels(labels).set(a.active ? 1 : 0);
        }
      },
    });
    this.#systemStatus = new Gauge({
      name: 'vagt_system_status',
      help: 'Status of a system as a state set: 1 for its current status, 0 for the five others (operational, degraded_performance, partial_outage, major_outage, under_maintenance, unknown), per view (perceived: as end users see it, dependencies included; own: its own probes only).',
      labelNames: ['system', 'view', 'status'],
      registers,
    });
    const uptime = opts.uptime ?? ((): UptimeSeries[] => []);
    new Gauge({
      name: 'vagt_system_uptime_ratio',
      help: 'Uptime as end users perceive it, as a ratio 0..1, per service window, over the last 24h or 30d: time up / (window time - maintenance - unknown); absent while nothing in the window could be judged.',
      labelNames: ['system', 'window', 'period'],
      registers,
      collect() {
        this.reset();
        for (const u of uptime()) this.labels(u.system, u.window, u.period).set(u.ratio);
      },
    });
    const targets = opts.targets ?? ((): UptimeTarget[] => []);
    new Gauge({
      name: 'vagt_system_uptime_target_ratio',
      help: "The uptime a system's service declaration promises for a service window (sla.uptime), as a ratio 0..1; absent for a system without sla.",
      labelNames: ['system', 'window'],
      registers,
      collect() {
        this.reset();
        for (const t of targets()) this.labels(t.system, t.window).set(t.ratio);
      },
    });
    this.#agentConnected = new Gauge({
      name: 'vagt_agent_connected',
      help: 'Whether the agent is connected to this collector (1) or not (0).',
      labelNames: ['agent'],
      registers,
    });
    this.#accepted = new Counter({
      name: 'vagt_ingest_results_total',
      help: 'Probe results accepted from agents and stored (duplicates not counted).',
      registers,
    });
    const rejected = new Counter({
      name: 'vagt_ingest_rejected_total',
      help: 'Refusals by the ingest, by reason: results for invalid_result, unknown_probe and duplicate; frames for invalid_frame, invalid_message and too_big; connections for the others.',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of REJECT_REASONS) {
      const child = rejected.labels(reason);
      child.inc(0);
      this.#rejectedChildren.set(reason, child);
    }
    // Notifications (collector/notify/), per channel: its notifications[].id, all subscribers together as "subscription".
    this.#notifySent = new Counter({
      name: 'vagt_notifications_sent_total',
      help: 'Notifications delivered, per channel (a notifications[].id, or subscription for all e-mail subscribers).',
      labelNames: ['channel'],
      registers,
    });
    this.#notifyFailed = new Counter({
      name: 'vagt_notifications_failed_total',
      help: 'Attempts to deliver a notification that failed, per channel (a notifications[].id, or subscription).',
      labelNames: ['channel'],
      registers,
    });
    this.#notifyRetried = new Counter({
      name: 'vagt_notifications_retried_total',
      help: 'Failed notifications scheduled to be tried again, per channel (a notifications[].id, or subscription).',
      labelNames: ['channel'],
      registers,
    });
    this.#notifyDropped = new Counter({
      name: 'vagt_notifications_dropped_total',
      help: 'Notifications given up: refused for good, out of retries, or their channel removed; per channel (a notifications[].id, or subscription).',
      labelNames: ['channel'],
      registers,
    });
    this.#notifyPending = new Gauge({
      name: 'vagt_notifications_pending',
      help: 'Notifications queued and not yet delivered (waiting for a retry or a hold included), per channel (a notifications[].id, or subscription).',
      labelNames: ['channel'],
      registers,
    });
    if (opts.defaultMetrics !== false) {
      collectDefaultMetrics({ register: this.registry });
      for (const name of DROPPED_DEFAULT_METRICS) this.registry.removeSingleMetric(name);
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The text exposition, as registry.metrics() gives it: the same families in the same order, the same bytes. */
  async exposition(): Promise<string> {
    return (await this.expositionBuffer()).toString('utf8');
  }

  /**
   * exposition() as UTF-8, for the response: built in slices of ~SLICE_MS with the event loop free
   * in between. Each chunk of text is encoded as it is made (which also flattens the string it
   * was concatenated into, the larger part of the cost), so no step over the whole text blocks the
   * loop; only the final copy into one Buffer does (a few ms for 11 MB).
   */
  async expositionBuffer(): Promise<Buffer> {
    const parts: Buffer[] = [];
    let since = performance.now();
    const metrics = this.registry.getMetricsAsArray();
    for (let i = 0; i < metrics.length; i++) {
      const m = metrics[i]!;
      if (i > 0) parts.push(FAMILY_SEPARATOR);
      if (isDirectMetric(m)) {
        for (const chunk of m.textChunks()) {
          parts.push(Buffer.from(chunk, 'utf8'));
          if (performance.now() - since >= SLICE_MS) {
            await nextTurn();
            since = performance.now();
          }
        }
      } else {
        parts.push(Buffer.from(await this.registry.getSingleMetricAsString(m.name), 'utf8'));
      }
    }
    parts.push(FINAL_NEWLINE);
    return Buffer.concat(parts);
  }

  #labelsOf(system: string, probe: string, agent: string): SeriesLabels {
    const key = seriesKey(system, probe, agent);
    let l = this.#probeLabels.get(key);
    if (l === undefined) {
      l = new SeriesLabels({ system, probe, agent });
      this.#probeLabels.set(key, l);
    }
    return l;
  }

  /** Every stored result goes into the duration histogram. */
  observe(r: StoredResult): void {
    const key = seriesKey(r.system, r.probe, r.agent);
    let s = this.#durationSeries.get(key);
    if (s === undefined) {
      s = this.#duration.series(key, this.#labelsOf(r.system, r.probe, r.agent));
      this.#durationSeries.set(key, s);
    }
    s.observe(r.duration_ms / 1000);
  }

  /** A result became the latest of its (system, probe, agent); the other gauges read it at scrape time. */
  latest(r: StoredResult): void {
    if (r.tls_expiry !== undefined)
      this.#tlsExpiry.set(seriesKey(r.system, r.probe, r.agent), { labels: this.#labelsOf(r.system, r.probe, r.agent), value: r.tls_expiry });
  }

  accepted(n: number): void {
    if (n > 0) this.#accepted.inc(n);
  }

  rejected(reason: RejectReason, n = 1): void {
    if (n > 0) this.#rejectedChildren.get(reason)?.inc(n);
  }

  systemStatus(system: string, view: View, status: Status): void {
    this.#statusSystems.add(system);
    for (const s of STATUSES) this.#systemStatus.labels(system, view, s).set(s === status ? 1 : 0);
  }

  agentConnected(agent: string, connected: boolean): void {
    this.#agents.add(agent);
    this.#agentConnected.labels(agent).set(connected ? 1 : 0);
  }

  notificationSent(channel: string): void {
    this.#notifySent.labels(channel).inc();
  }

  notificationFailed(channel: string): void {
    this.#notifyFailed.labels(channel).inc();
  }

  notificationRetried(channel: string): void {
    this.#notifyRetried.labels(channel).inc();
  }

  notificationDropped(channel: string, n: number): void {
    if (n > 0) this.#notifyDropped.labels(channel).inc(n);
  }

  /** Pending per channel; every configured channel is given (with 0), so its counters start at 0 too. */
  notificationPending(byChannel: ReadonlyMap<string, number>): void {
    this.#notifyPending.reset();
    for (const [channel, n] of byChannel) {
      this.#notifyPending.labels(channel).set(n);
      for (const c of [this.#notifySent, this.#notifyFailed, this.#notifyRetried, this.#notifyDropped]) c.labels(channel).inc(0);
    }
  }

  /**
   * Drops the series of systems, probes and agents that are gone after a reload, so dashboards do
   * not show stale values for things no longer monitored. (The latest-result gauges follow the
   * latest results, which the collector prunes the same way.)
   */
  retain(keep: {
    systems: ReadonlySet<string>;
    agents: ReadonlySet<string>;
    /** Whether the probe is still assigned to the agent. */
    probe: (system: string, probe: string, agent: string) => boolean;
  }): void {
    for (const [key, s] of this.#durationSeries) {
      const { system, probe, agent } = s.labels as { system: string; probe: string; agent: string };
      if (keep.probe(system, probe, agent)) continue;
      this.#duration.remove(key);
      this.#durationSeries.delete(key);
    }
    const kept = (l: SeriesLabels): boolean => keep.probe(l.labels.system!, l.labels.probe!, l.labels.agent!);
    for (const [key, t] of this.#tlsExpiry) if (!kept(t.labels)) this.#tlsExpiry.delete(key);
    // Made again when a latest result still needs them.
    for (const [key, l] of this.#probeLabels) if (!kept(l)) this.#probeLabels.delete(key);
    for (const system of this.#statusSystems) {
      if (keep.systems.has(system)) continue;
      for (const view of VIEWS) for (const status of STATUSES) this.#systemStatus.remove(system, view, status);
      this.#statusSystems.delete(system);
    }
    for (const agent of this.#agents) {
      if (keep.agents.has(agent)) continue;
      this.#agentConnected.remove(agent);
      this.#agents.delete(agent);
    }
  }
}
