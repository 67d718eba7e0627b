// One system's uptime per service window over a span, read from the store's status timeline.
import type { SystemConfig } from '../../config/schema.js';
import type { View } from '../status/types.js';
import type { Store } from '../store/types.js';
import { SlaCalendar } from './calendar.js';
import { uptimeByWindow, type WindowUptime } from './uptime.js';

const calendars = new Map<string, SlaCalendar>();

/** The calendar of a system's declaration; systems with the same windows share one. */
export function calendarOf(system: Pick<SystemConfig, 'sla'>, timezone: string): SlaCalendar {
  const windows = system.sla?.windows ?? {};
  const holidays = system.sla?.holidays ?? true;
  const key = JSON.stringify([timezone, holidays, windows]);
  let c = calendars.get(key);
  if (c === undefined) {
    c = new SlaCalendar({ windows, timezone, holidays });
    calendars.set(key, c);
  }
  return c;
}

export interface UptimeQuery {
  from: number;
  to: number;
  view: View;
  now: number;
  timezone: string;
}

export async function systemUptime(store: Store, system: SystemConfig, q: UptimeQuery): Promise<Record<string, WindowUptime>> {
  const end = Math.min(q.to, q.now);
  const intervals = end > q.from ? await store.statusIntervals({ system: system.id, view: q.view, from: q.from, to: end }) : [];
  return uptimeByWindow(intervals, calendarOf(system, q.timezone), { from: q.from, to: q.to, now: q.now, target: system.sla?.uptime });
}
