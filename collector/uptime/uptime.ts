// Uptime as time, not sample counts: from the status timeline, per service window.
//   uptime = time operational or degraded / (window time - maintenance time - unknown time)
// Downtime is partial and major outage. Time the timeline does not cover (before the system's
// first status) is unknown, and so is the future: a span reaching past `now` ends at `now`.
import type { Status } from '../status/types.js';
import type { StatusInterval } from '../store/types.js';
import type { SlaCalendar } from './calendar.js';
import { intersect, total, type Span } from './spans.js';

export interface WindowUptime {
  /** Percent, or null when no time of the window could be judged. */
  uptime: number | null;
  /** Percent, from `sla.uptime`; null without one. */
  target: number | null;
  /** uptime >= target; null when either is unknown. */
  met: boolean | null;
  /** Length of the window within the span, seconds. */
  window_s: number;
  /** Operational or degraded. */
  up_s: number;
  /** Of up_s, degraded (long response times). */
  degraded_s: number;
  /** Partial or major outage. */
  downtime_s: number;
  /** Of downtime_s, partial outage. */
  partial_outage_s: number;
  maintenance_s: number;
  unknown_s: number;
}

type Bucket = 'up' | 'degraded' | 'down' | 'partial' | 'maintenance' | 'unknown';

const BUCKET: Record<Status, Bucket> = {
  operational: 'up',
  degraded_performance: 'degraded',
  partial_outage: 'partial',
  major_outage: 'down',
  under_maintenance: 'maintenance',
  unknown: 'unknown',
};

/** The timeline as spans per bucket, gaps filled with unknown; `to` null runs to `end`. */
function byBucket(intervals: readonly StatusInterval[], from: number, end: number): Map<Bucket, Span[]> {
  const out = new Map<Bucket, Span[]>();
  const put = (b: Bucket, s: Span): void => {
    if (s.to <= s.from) return;
    const list = out.get(b);
    if (list === undefined) out.set(b, [s]);
    else list.push(s);
  };
  let cursor = from;
  for (const i of intervals) {
    const a = Math.max(i.from, cursor);
    const b = Math.min(i.to ?? end, end);
    if (a > cursor) put('unknown', { from: cursor, to: Math.min(a, end) });
    if (b > a) put(BUCKET[i.status], { from: a, to: b });
    cursor = Math.max(cursor, b);
    if (cursor >= end) break;
  }
  if (cursor < end) put('unknown', { from: cursor, to: end });
  return out;
}

const seconds = (spans: readonly Span[]): number => total(spans) / 1000;

/** A window's target: its own, else the declaration's one number (or its `all`). */
export function targetFor(uptime: number | Readonly<Record<string, number>> | undefined, window: string): number | null {
  if (uptime === undefined) return null;
  if (typeof uptime === 'number') return uptime;
  return uptime[window] ?? uptime.all ?? null;
}

/** What the timeline's buckets hold within `window`, against `target`. */
function tally(buckets: Map<Bucket, Span[]>, window: readonly Span[], target: number | null): WindowUptime {
  const s = (b: Bucket): number => seconds(intersect(buckets.get(b) ?? [], window));
  const up = s('up');
  const degraded = s('degraded');
  const major = s('down');
  const partial = s('partial');
  const judged = up + degraded + major + partial;
  const uptime = judged > 0 ? ((up + degraded) / judged) * 100 : null;
  return {
    uptime,
    target,
    met: uptime === null || target === null ? null : uptime >= target,
    window_s: seconds(window),
    up_s: up + degraded,
    degraded_s: degraded,
    downtime_s: major + partial,
    partial_outage_s: partial,
    maintenance_s: s('maintenance'),
    unknown_s: s('unknown'),
  };
}

/**
 * Uptime of one system's timeline over [from, to) for each window of `calendar`. `intervals` is the
 * store's timeline for that span (sorted; as `statusIntervals` returns it).
 */
export function uptimeByWindow(
  intervals: readonly StatusInterval[],
  calendar: SlaCalendar,
  opts: { from: number; to: number; now: number; target?: number | Readonly<Record<string, number>> | undefined },
): Record<string, WindowUptime> {
  const end = Math.max(opts.from, Math.min(opts.to, opts.now));
  const buckets = byBucket(intervals, opts.from, end);
  const result: Record<string, WindowUptime> = {};
  for (const name of calendar.names) result[name] = tally(buckets, calendar.spans(name, opts.from, end), targetFor(opts.target, name));
  return result;
}

/** Seconds of downtime within [from, to) inside `window`: what an incident cost. */
export function downtimeWithin(intervals: readonly StatusInterval[], window: readonly Span[], from: number, to: number): number {
  const buckets = byBucket(intervals, from, to);
  const span = intersect(window, [{ from, to }]);
  return seconds(intersect(buckets.get('down') ?? [], span)) + seconds(intersect(buckets.get('partial') ?? [], span));
}

/** Uptime of each of `spans` (sorted and disjoint: local days, say), in one pass over the timeline. */
export function uptimeBySpan(intervals: readonly StatusInterval[], spans: readonly Span[], now: number): (WindowUptime & Span)[] {
  const first = spans[0];
  const last = spans[spans.length - 1];
  if (first === undefined || last === undefined) return [];
  const end = Math.max(first.from, Math.min(last.to, now));
  const buckets = byBucket(intervals, first.from, end);
  return spans.map((span) => ({
    from: span.from,
    to: span.to,
    ...tally(buckets, span.from >= end ? [] : [{ from: span.from, to: Math.min(span.to, end) }], null),
  }));
}
