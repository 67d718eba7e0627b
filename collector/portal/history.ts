// What the status page shows of the past: each system's uptime per local day for 90 days, its
// uptime against its target over 30 days, and the incidents resolved lately. Reading it means a
// timeline query per system, so it is kept and refreshed in the background at most once a
// minute; a page render reads memory only.
import { DateTime } from 'luxon';
import type { SystemConfig } from '../../config/schema.js';
import type { Incident } from '../status/incidents.js';
import type { Store } from '../store/types.js';
import { calendarOf } from '../uptime/system-uptime.js';
import type { Span } from '../uptime/spans.js';
import { uptimeBySpan, uptimeByWindow, type WindowUptime } from '../uptime/uptime.js';

export const HISTORY_DAYS = 90;
const REFRESH_MS = 60_000;
const TARGET_SPAN_MS = 30 * 86_400_000;
const RECENT_INCIDENTS_MS = 30 * 86_400_000;

export interface DayUptime extends WindowUptime {
  /** Local midnight, epoch ms. */
  from: number;
  to: number;
  /** YYYY-MM-DD in the collector's timezone. */
  date: string;
}

export interface SystemHistory {
  /** Oldest first; today last. */
  days: DayUptime[];
  /** Over the last 30 days: the window the declaration leads with (`primary`, else `all`). */
  window: string;
  uptime: WindowUptime | undefined;
}

export interface HistorySnapshot {
  at: number;
  systems: ReadonlyMap<string, SystemHistory>;
  /** Resolved within 30 days, newest first. */
  resolved: readonly Incident[];
}

/** The last HISTORY_DAYS local days, today included. */
export function localDays(now: number, timezone: string): (Span & { date: string })[] {
  const today = DateTime.fromMillis(now, { zone: timezone }).startOf('day');
  const out: (Span & { date: string })[] = [];
  for (let i = HISTORY_DAYS - 1; i >= 0; i--) {
    const day = today.minus({ days: i });
    out.push({ from: day.toMillis(), to: day.plus({ days: 1 }).toMillis(), date: day.toISODate() ?? '' });
  }
  return out;
}

export async function readHistory(store: Store, systems: readonly SystemConfig[], timezone: string, now: number): Promise<HistorySnapshot> {
  const days = localDays(now, timezone);
  const from = Math.min(days[0]?.from ?? now, now - TARGET_SPAN_MS);
  const out = new Map<string, SystemHistory>();
  for (const system of systems) {
    const intervals = await store.statusIntervals({ system: system.id, view: 'perceived', from, to: now });
    const daily = uptimeBySpan(intervals, days, now).map((d, i) => ({ ...d, date: days[i]?.date ?? '' }));
    const calendar = calendarOf(system, timezone);
    const windows = uptimeByWindow(intervals, calendar, { from: now - TARGET_SPAN_MS, to: now, now, target: system.sla?.uptime });
    // Primary time is what declarations lead with; until it has been measured, the whole day.
    const window = windows.primary?.uptime !== null && windows.primary !== undefined ? 'primary' : 'all';
    out.set(system.id, { days: daily, window, uptime: windows[window] });
    // The store answers synchronously: let ingest in between systems.
    await new Promise((resolve) => setImmediate(resolve));
  }
  const resolved = await store.incidents({ state: 'resolved', from: now - RECENT_INCIDENTS_MS, limit: 20 });
  return { at: now, systems: out, resolved };
}

/** The snapshot, refreshed in the background when older than a minute; the first read waits. */
export class PortalHistory {
  #snapshot: HistorySnapshot | undefined;
  #revision = '';
  #running: Promise<HistorySnapshot> | undefined;

  async get(load: () => Promise<HistorySnapshot>, now: number, revision: string): Promise<HistorySnapshot> {
    const fresh = this.#snapshot !== undefined && now - this.#snapshot.at < REFRESH_MS && this.#revision === revision;
    if (fresh) return this.#snapshot!;
    this.#running ??= load()
      .then((s) => {
        this.#snapshot = s;
        this.#revision = revision;
        return s;
      })
      .finally(() => {
        this.#running = undefined;
      });
    // A stale snapshot of the same configuration is served while the new one is read.
    if (this.#snapshot !== undefined && this.#revision === revision) {
      this.#running.catch(() => undefined);
      return this.#snapshot;
    }
    return this.#running;
  }
}
