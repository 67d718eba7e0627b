// A system's service declaration against what vagt measured, for the "Declared | Measured" table
// of the system page: response-time targets against the span's percentile from the hourly
// aggregates, and how incidents were handled per priority (time to the operators' first word, time
// to resolution). Pure: the route reads the store and passes the rows and the time in.
import { latencyPercentile, mergeAggregates } from '../store/aggregates.js';
import type { HourAggregate } from '../store/types.js';
import type { Incident, Priority } from './incidents.js';

export const PRIORITIES: readonly Priority[] = [1, 2, 3, 4];
const DEFAULT_PERCENTILE = 95;

export interface RuleLike {
  /** ms */
  slow: number;
  /** ms */
  for: number;
  percentile: number;
}

export interface ResponseTimeRow {
  /** null: the system's own rule, over all its probes; else the probe with a rule of its own. */
  probe: string | null;
  /** The rule's percentile (95 when the system has no rule). */
  percentile: number;
  /** The rule's `slow`; null when the system declares none. */
  declared_ms: number | null;
  /** The rule's `for`; null without a rule. */
  for_ms: number | null;
  /** That percentile of every successful result's duration over the span; null when none. */
  measured_ms: number | null;
  /** Successful results counted. */
  samples: number;
  /** measured_ms <= declared_ms; null when either is unknown. */
  met: boolean | null;
}

/**
 * The system's row (always: a system without a rule still shows what was measured) and one per probe
 * with its own rule. `aggregates` are the system's hours of the span, from any agent and probe.
 */
export function responseTimeRows(
  system: { response_time?: RuleLike | undefined; probes: readonly { id: string; response_time?: RuleLike | undefined }[] },
  aggregates: readonly HourAggregate[],
): ResponseTimeRow[] {
  const row = (probe: string | null, rule: RuleLike | undefined, hours: readonly HourAggregate[]): ResponseTimeRow => {
    const merged = mergeAggregates(hours);
    const percentile = rule?.percentile ?? DEFAULT_PERCENTILE;
    const measured = latencyPercentile(merged, percentile) ?? null;
    const declared = rule?.slow ?? null;
    return {
      probe,
      percentile,
      declared_ms: declared,
      for_ms: rule?.for ?? null,
      measured_ms: measured,
      samples: merged.sketch.count,
      met: measured === null || declared === null ? null : measured <= declared,
    };
  };
  const rows = [row(null, system.response_time, aggregates)];
  for (const p of system.probes)
    if (p.response_time !== undefined)
      rows.push(
        row(
          p.id,
          p.response_time,
          aggregates.filter((a) => a.probe === p.id),
        ),
      );
  return rows;
}

export interface Durations {
  /** How many incidents the figures cover. */
  count: number;
  /** Seconds; null when count is 0. The mean of the middle two for an even count. */
  median_s: number | null;
  max_s: number | null;
}

export interface PriorityHandling {
  priority: Priority;
  /** Incidents of this (peak) priority that started in the span. */
  count: number;
  /** From started_at to the operators' first update; `missing` had none (yet). */
  first_update: Durations & { missing: number };
  /** From started_at to resolved_at; `open` are not resolved, the longest of them open for `longest_open_s` up to now. */
  resolution: Durations & { open: number; longest_open_s: number | null };
}

function durations(ms: readonly number[]): Durations {
  if (ms.length === 0) return { count: 0, median_s: null, max_s: null };
  const s = [...ms].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
  return { count: s.length, median_s: median / 1000, max_s: (s[s.length - 1] ?? 0) / 1000 };
}

/**
 * Incident handling per priority over the incidents of `system` (as root or affected) that started
 * in [from, to), each counted once under the highest priority it reached (peak_priority). Every
 * priority has a row, with zeros when nothing happened.
 */
export function incidentHandling(incidents: readonly Incident[], q: { system: string; from: number; to: number; now: number }): PriorityHandling[] {
  const mine = incidents.filter(
    (i) => (i.system === q.system || i.affected.includes(q.system)) && i.started_at >= q.from && i.started_at < q.to,
  );
  return PRIORITIES.map((priority) => {
    const these = mine.filter((i) => i.peak_priority === priority);
    const firstUpdate: number[] = [];
    const resolved: number[] = [];
    const open: number[] = [];
    for (const i of these) {
      const first = i.updates.find((u) => u.kind === 'operator');
      if (first !== undefined) firstUpdate.push(Math.max(0, first.at - i.started_at));
      if (i.resolved_at !== null) resolved.push(Math.max(0, i.resolved_at - i.started_at));
      else open.push(Math.max(0, q.now - i.started_at));
    }
    return {
      priority,
      count: these.length,
      first_update: { ...durations(firstUpdate), missing: these.length - firstUpdate.length },
      resolution: { ...durations(resolved), open: open.length, longest_open_s: open.length === 0 ? null : Math.max(...open) / 1000 },
    };
  });
}
