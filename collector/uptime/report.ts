// The monthly SLA report (`vagt report`): every system's uptime per service window for one
// calendar month in the collector's timezone, against its declared target, with the incidents
// that cost it most downtime.
import { DateTime } from 'luxon';
import type { SystemConfig } from '../../config/schema.js';
import type { View } from '../status/types.js';
import type { Store } from '../store/types.js';
import { calendarOf } from './system-uptime.js';
import { downtimeWithin, uptimeByWindow, type WindowUptime } from './uptime.js';

/** Incidents listed per system at most. */
const TOP_INCIDENTS = 3;

export interface CostlyIncident {
  id: number;
  /** The root system whose outage opened it (may be a dependency). */
  system: string;
  priority: number;
  started_at: number;
  resolved_at: number | null;
  /** Downtime of this system in the month while the incident was open, seconds. */
  downtime_s: number;
}

export interface SystemReport {
  id: string;
  name: string;
  windows: Record<string, WindowUptime>;
  incidents: CostlyIncident[];
}

export interface MonthReport {
  month: string;
  timezone: string;
  view: View;
  /** The month's bounds, epoch ms: local midnight of its first day and of the next month's. */
  from: number;
  to: number;
  /** When it was made; a month still running is reported up to here. */
  generated_at: number;
  systems: SystemReport[];
}

/** The month's bounds in `timezone`, or undefined when `month` is not YYYY-MM. */
export function monthBounds(month: string, timezone: string): { from: number; to: number } | undefined {
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month);
  if (m === null) return undefined;
  const start = DateTime.fromObject({ year: Number(m[1]), month: Number(m[2]), day: 1 }, { zone: timezone });
  if (!start.isValid) return undefined;
  return { from: start.toMillis(), to: start.plus({ months: 1 }).toMillis() };
}

export async function monthReport(
  store: Store,
  systems: readonly SystemConfig[],
  opts: { month: string; timezone: string; view: View; now: number },
): Promise<MonthReport> {
  const bounds = monthBounds(opts.month, opts.timezone);
  if (bounds === undefined) throw new Error(`not a month: "${opts.month}"; expected YYYY-MM`);
  const { from, to } = bounds;
  const end = Math.max(from, Math.min(to, opts.now));
  const out: SystemReport[] = [];
  for (const system of systems) {
    const intervals = end > from ? await store.statusIntervals({ system: system.id, view: opts.view, from, to: end }) : [];
    const calendar = calendarOf(system, opts.timezone);
    const windows = uptimeByWindow(intervals, calendar, { from, to, now: opts.now, target: system.sla?.uptime });
    const all = calendar.spans('all', from, end);
    const incidents = (await store.incidents({ system: system.id, from, to: end, limit: 10_000 }))
      .map((i) => ({
        id: i.id,
        system: i.system,
        priority: i.peak_priority,
        started_at: i.started_at,
        resolved_at: i.resolved_at,
        downtime_s: downtimeWithin(intervals, all, i.started_at, i.resolved_at ?? end),
      }))
      .filter((i) => i.downtime_s > 0)
      .sort((a, b) => b.downtime_s - a.downtime_s || a.id - b.id)
      .slice(0, TOP_INCIDENTS);
    out.push({ id: system.id, name: system.name, windows, incidents });
  }
  return { month: opts.month, timezone: opts.timezone, view: opts.view, from, to, generated_at: opts.now, systems: out };
}
