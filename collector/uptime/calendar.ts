// Service windows of a service declaration ("mon-fri 08:30-16:30") as stretches of real time.
// Declarations speak in local wall-clock time, so every window is laid out day by day in the
// collector's timezone: a window on the night of a daylight-saving change is an hour shorter or
// longer, as the clock on the wall says. Public holidays are taken out of the named windows and
// fall into `secondary`, which is everything no named window covers.
import { DateTime } from 'luxon';
import { holidaysOf } from './holidays.js';
import { complement, intersect, subtract, union, type Span } from './spans.js';

/** Answers kept per calendar: a report asks a few windows of one span, the gauges two spans. */
const MEMO_SIZE = 32;
const DAY_NAMES = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/** A parsed window spec: ISO weekdays (1 = Monday) and minutes after local midnight. */
export interface WindowRule {
  days: ReadonlySet<number>;
  start: number;
  /** Minutes, up to 1440; at or before `start`, the window runs past midnight into the next day. */
  end: number;
}

/** Parses a spec that config/schema.ts has already checked ("mon-fri 08:30-16:30", "daily 22:00-06:00"). */
export function parseWindow(spec: string): WindowRule {
  const [dayPart = '', timePart = ''] = spec.trim().split(/\s+/);
  const days = new Set<number>();
  if (dayPart === 'daily') for (let d = 1; d <= 7; d++) days.add(d);
  else
    for (const range of dayPart.split(',')) {
      const [a, b = a] = range.split('-');
      const from = DAY_NAMES.indexOf(a as (typeof DAY_NAMES)[number]) + 1;
      const to = DAY_NAMES.indexOf(b as (typeof DAY_NAMES)[number]) + 1;
      if (from === 0 || to === 0) throw new Error(`not a window spec: "${spec}"`);
      // "fri-mon" wraps over the weekend.
      for (let d = from; ; d = (d % 7) + 1) {
        days.add(d);
        if (d === to) break;
      }
    }
  const m = /^(\d\d):(\d\d)-(\d\d):(\d\d)$/.exec(timePart);
  if (m === null) throw new Error(`not a window spec: "${spec}"`);
  const start = Number(m[1]) * 60 + Number(m[2]);
  const end = Number(m[3]) * 60 + Number(m[4]);
  return { days, start, end };
}

export interface CalendarOptions {
  /** Window name -> spec, as in `sla.windows`. */
  windows: Readonly<Record<string, string>>;
  /** IANA zone the specs are read in. */
  timezone: string;
  /** Take public holidays out of the named windows (they count as secondary time). */
  holidays: boolean;
}

/** The windows of one declaration; `all` is every moment, `secondary` what no named window covers. */
export class SlaCalendar {
  /** In report order: `all`, the named windows as configured, then `secondary`. */
  readonly names: readonly string[];
  readonly #rules: ReadonlyMap<string, WindowRule>;
  readonly #zone: string;
  readonly #holidays: boolean;
  readonly #memo = new Map<string, readonly Span[]>();

  constructor(opts: CalendarOptions) {
    this.#zone = opts.timezone;
    this.#holidays = opts.holidays;
    const rules = new Map<string, WindowRule>();
    for (const [name, spec] of Object.entries(opts.windows)) rules.set(name, parseWindow(spec));
    this.#rules = rules;
    // `all` and `secondary` are reserved names (config/semantics.ts).
    const named = [...rules.keys()];
    this.names = named.length > 0 ? ['all', ...named, 'secondary'] : ['all'];
  }

  /**
   * The stretches of window `name` within [from, to), sorted and disjoint. Laying out days in a
   * timezone is the costly part of an uptime report, and every system of a report asks the same,
   * so recent answers are kept (callers must not modify them).
   */
  spans(name: string, from: number, to: number): readonly Span[] {
    const key = `${name} ${from} ${to}`;
    let spans = this.#memo.get(key);
    if (spans === undefined) {
      spans = this.#compute(name, from, to);
      if (this.#memo.size >= MEMO_SIZE) this.#memo.delete(this.#memo.keys().next().value ?? '');
      this.#memo.set(key, spans);
    }
    return spans;
  }

  #compute(name: string, from: number, to: number): Span[] {
    if (to <= from) return [];
    if (name === 'all') return [{ from, to }];
    const rule = this.#rules.get(name);
    if (rule !== undefined) return this.#named(rule, from, to);
    if (name === 'secondary' && this.#rules.size > 0) {
      const covered = union([...this.#rules.values()].flatMap((r) => this.#named(r, from, to)));
      return complement(covered, from, to);
    }
    return [];
  }

  #named(rule: WindowRule, from: number, to: number): Span[] {
    const out: Span[] = [];
    // From the local day before `from`: a window that started yesterday may reach into the span.
    let day = DateTime.fromMillis(from, { zone: this.#zone }).startOf('day').minus({ days: 1 });
    while (day.toMillis() < to) {
      if (rule.days.has(day.weekday)) {
        const start = at(day, rule.start);
        const end = at(rule.end <= rule.start ? day.plus({ days: 1 }) : day, rule.end);
        if (end > start) out.push({ from: start, to: end });
      }
      day = day.plus({ days: 1 });
    }
    const clipped = intersect(out, [{ from, to }]);
    return this.#holidays ? subtract(clipped, this.#holidaySpans(from, to)) : clipped;
  }

  /** Whole local days of public holidays touching [from, to). */
  #holidaySpans(from: number, to: number): Span[] {
    const spans: Span[] = [];
    const first = DateTime.fromMillis(from, { zone: this.#zone }).year;
    const last = DateTime.fromMillis(to, { zone: this.#zone }).year;
    for (let year = first; year <= last; year++)
      for (const date of holidaysOf(year)) {
        const day = DateTime.fromISO(date, { zone: this.#zone });
        spans.push({ from: day.toMillis(), to: day.plus({ days: 1 }).toMillis() });
      }
    return spans;
  }
}

/** The instant of `minutes` after local midnight of `day`; 24:00 is the next midnight. */
function at(day: DateTime, minutes: number): number {
  if (minutes >= 1440) return day.plus({ days: 1 }).toMillis();
  // A time skipped by the spring-forward change moves forward to the first one that exists.
  return day.set({ hour: Math.floor(minutes / 60), minute: minutes % 60 }).toMillis();
}
