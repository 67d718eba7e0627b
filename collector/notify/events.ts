// From what the collector saw to NotifyEvents: status changes (perceived view) into outage,
// degraded and recovery events, gathered into bursts per root cause; service windows announced,
// started, ended and cancelled; operators' incident updates; announcements. Pure: time comes from the changes
// themselves and from the `now` the caller passes; nothing here does I/O.
import type { Announcement, StatusChange } from '../store/types.js';
import type { Incident, IncidentUpdate } from '../status/incidents.js';
import type { MaintenanceWindow } from '../status/maintenance.js';
import type { Status, SystemStatus } from '../status/types.js';
import type { MaintenancePhase, NotifyEvent, NotifyMaintenance, NotifySystem } from './types.js';

export type StatusEventKind = 'outage' | 'degraded' | 'recovery';
export const STATUS_EVENT_KINDS: ReadonlySet<string> = new Set<StatusEventKind>(['outage', 'degraded', 'recovery']);

export interface BurstTuning {
  /** A burst is over when no change joined it for this long. */
  quietMs: number;
  /** ... or at the latest this long after it began. */
  windowMs: number;
}

/**
 * One root cause takes its dependants down in the same evaluation, or within a few batches of
 * results: half a second of quiet closes a burst, two seconds at most, so a message still leaves
 * within a second or two of the change.
 */
export const DEFAULT_BURST: BurstTuning = { quietMs: 500, windowMs: 2000 };
/** Starts and ends of service windows are told this late at most (after a restart). */
export const MAINTENANCE_CATCH_UP_MS = 3_600_000;

/** A window's phase as messages word it: an early end has words of its own. */
export const maintenancePhase = (m: NotifyMaintenance): MaintenancePhase | 'endedEarly' =>
  m.phase === 'ended' && m.ended_early === true ? 'endedEarly' : m.phase;

/** What the events need to know about the systems now. */
export interface EventContext {
  /** The configured name; the id when there is none. */
  name(id: string): string;
  /** The system's page on the status portal, absolute. */
  systemUrl(id: string): string;
  statusPage(): string;
  /** The engine's current status, for events that are not status changes. */
  current(id: string): SystemStatus | undefined;
  /** Where a system comes in the configuration: a burst lists dependants in this order. */
  order?(id: string): number;
}

/** How a status counts for messages; unknown says nothing and is skipped. */
type Level = 'ok' | 'degraded' | 'outage' | 'maintenance';

function levelOf(s: Status): Level | undefined {
  switch (s) {
    case 'operational':
      return 'ok';
    case 'degraded_performance':
      return 'degraded';
    case 'partial_outage':
    case 'major_outage':
      return 'outage';
    case 'under_maintenance':
      return 'maintenance';
    case 'unknown':
      return undefined;
  }
}

const kindOfLevel = (l: Level): StatusEventKind | undefined => (l === 'outage' ? 'outage' : l === 'degraded' ? 'degraded' : undefined);

/** The root of a change: the systems that explain it, else the system itself. */
const rootOf = (cause: readonly string[], system: string): string => (cause.length > 0 ? [...cause].sort().join('+') : system);

interface Member {
  id: string;
  status: Status;
  cause: string[];
  /** The roots this member's part in the burst is explained by (for a recovery: what it was down because of). */
  explains: string[];
  since: number;
}

interface Burst {
  kind: StatusEventKind;
  root: string;
  begin: number;
  last: number;
  members: Map<string, Member>;
}

export class EventBuilder {
  readonly #ctx: EventContext;
  readonly #burst: BurstTuning;
  readonly #catchUpMs: number;
  /** Per system, the last status that was not unknown, and its cause. */
  readonly #last = new Map<string, { level: Level; cause: string[] }>();
  readonly #own = new Map<string, Status>();
  /** Open bursts by `${kind}|${root}`. */
  readonly #bursts = new Map<string, Burst>();
  /** System -> the open burst it is in (the latest). */
  readonly #memberOf = new Map<string, string>();
  /** Service-window events already made, so that every evaluation does not make them again. */
  #windowEvents = new Set<string>();

  constructor(ctx: EventContext, opts: { burst?: Partial<BurstTuning>; maintenanceCatchUpMs?: number } = {}) {
    this.#ctx = ctx;
    this.#burst = { ...DEFAULT_BURST, ...opts.burst };
    this.#catchUpMs = opts.maintenanceCatchUpMs ?? MAINTENANCE_CATCH_UP_MS;
  }

  /**
   * The statuses from before a restart (the last one per system and view, and for a system whose
   * last one was unknown, the last known before it): a restored status is no news, and a system
   * that was down before the restart and is up after it has recovered.
   */
  restore(changes: readonly StatusChange[]): void {
    for (const c of [...changes].sort((a, b) => a.at - b.at)) {
      if (c.view === 'own') {
        this.#own.set(c.system, c.status);
        continue;
      }
      const level = levelOf(c.status);
      if (level !== undefined) this.#last.set(c.system, { level, cause: [...c.cause] });
    }
  }

  /** Systems whose restored status says nothing (unknown), so the caller can look further back. */
  unknownAfterRestore(changes: readonly StatusChange[]): string[] {
    return changes.filter((c) => c.view === 'perceived' && c.status === 'unknown' && !this.#last.has(c.system)).map((c) => c.system);
  }

  /** One evaluation's changes. Events come out of due() once their burst is over. */
  statusChanges(changes: readonly StatusChange[]): void {
    for (const c of changes) if (c.view === 'own') this.#own.set(c.system, c.status);
    for (const c of changes) if (c.view === 'perceived') this.#perceived(c);
  }

  #perceived(c: StatusChange): void {
    const level = levelOf(c.status);
    if (level === undefined) return;
    const prev = this.#last.get(c.system);
    this.#last.set(c.system, { level, cause: [...c.cause] });
    let kind: StatusEventKind | undefined;
    if (level === 'outage' && prev?.level !== 'outage') kind = 'outage';
    else if (level === 'degraded' && prev?.level !== 'degraded') kind = 'degraded';
    else if (level === 'ok' && (prev?.level === 'outage' || prev?.level === 'degraded')) kind = 'recovery';
    const member = (explains: readonly string[]): Member => ({ id: c.system, status: c.status, cause: [...c.cause], explains: [...explains], since: c.at });
    if (kind !== undefined) {
      // A recovery belongs with the root it was down because of, so that one message tells that
      // MitID and everything it took down are back.
      const explains = kind === 'recovery' ? (prev?.cause ?? []) : c.cause;
      this.#join(kind, rootOf(explains, c.system), member(explains), c.at);
      return;
    }
    // The same level with another status or cause (a dependant whose own failure turns out to be
    // MitID's): it moves into the burst of its new root while that burst, or its own, is open.
    const same = kindOfLevel(level);
    if (same === undefined) return;
    const key = `${same}|${rootOf(c.cause, c.system)}`;
    const inKey = this.#memberOf.get(c.system);
    const current = inKey === undefined ? undefined : this.#bursts.get(inKey);
    if (current !== undefined && current.kind === same) {
      current.members.delete(c.system);
      this.#memberOf.delete(c.system);
      if (current.members.size === 0) this.#bursts.delete(inKey!);
      this.#join(same, rootOf(c.cause, c.system), member(c.cause), c.at, current.begin);
    } else if (this.#bursts.has(key)) this.#join(same, rootOf(c.cause, c.system), member(c.cause), c.at);
  }

  #join(kind: StatusEventKind, root: string, m: Member, at: number, begin = at): void {
    const key = `${kind}|${root}`;
    let b = this.#bursts.get(key);
    if (b === undefined) this.#bursts.set(key, (b = { kind, root, begin, last: at, members: new Map() }));
    b.begin = Math.min(b.begin, begin);
    b.last = Math.max(b.last, at);
    b.members.delete(m.id);
    b.members.set(m.id, m);
    this.#memberOf.set(m.id, key);
  }

  /** When the next open burst is over, epoch ms; undefined when none is open. */
  nextDueAt(): number | undefined {
    let next: number | undefined;
    for (const b of this.#bursts.values()) {
      const due = Math.min(b.last + this.#burst.quietMs, b.begin + this.#burst.windowMs);
      if (next === undefined || due < next) next = due;
    }
    return next;
  }

  /** The bursts that are over at `now`, as events, oldest first; `flush` ends every burst. */
  due(now: number, flush = false): NotifyEvent[] {
    const out: NotifyEvent[] = [];
    for (const [key, b] of this.#bursts) {
      if (!flush && now < b.last + this.#burst.quietMs && now < b.begin + this.#burst.windowMs) continue;
      this.#bursts.delete(key);
      for (const id of b.members.keys()) if (this.#memberOf.get(id) === key) this.#memberOf.delete(id);
      out.push(this.#burstEvent(b));
    }
    return out.sort((a, b) => a.at - b.at);
  }

  #burstEvent(b: Burst): NotifyEvent {
    const roots = b.root.split('+');
    const members = [...b.members.values()];
    // The root first, then its dependants in the configuration's order.
    const order = (id: string): number => this.#ctx.order?.(id) ?? 0;
    members.sort((x, y) => rank(roots, x.id) - rank(roots, y.id) || order(x.id) - order(y.id));
    const cause = [...new Set(members.flatMap((m) => m.explains))].sort();
    return {
      id: `${b.kind}:${b.root}:${b.begin}`,
      kind: b.kind,
      at: b.begin,
      systems: members.map((m) => this.#system(m.id, { status: m.status, own_status: this.#own.get(m.id) ?? m.status, cause: m.cause, since: m.since })),
      cause,
      links: { status_page: this.#ctx.statusPage() },
    };
  }

  #system(id: string, s: { status: Status; own_status: Status; cause: readonly string[]; since: number }): NotifySystem {
    return { id, name: this.#ctx.name(id), status: s.status, own_status: s.own_status, cause: [...s.cause], since: s.since, url: this.#ctx.systemUrl(id) };
  }

  /** A system as it is now, for events that are not status changes. */
  #currentSystem(id: string, now: number): NotifySystem {
    const st = this.#ctx.current(id);
    return this.#system(id, {
      status: st?.status ?? 'unknown',
      own_status: st?.own_status ?? 'unknown',
      cause: st?.cause ?? [],
      since: st?.since ?? now,
    });
  }

  /**
   * Service windows announced (while still ahead), started and ended (told up to an hour late,
   * after a restart). Ids are derived from the window, so the outbox never sends one twice.
   */
  maintenance(windows: readonly MaintenanceWindow[], now: number): NotifyEvent[] {
    const out: NotifyEvent[] = [];
    const seen = new Set<string>();
    for (const w of windows) {
      const id = (phase: string): string => `maintenance:${w.id}:${phase}:${w.start}-${w.end}`;
      for (const phase of ['announced', 'started', 'ended'] as const) seen.add(id(phase));
      let phase: 'announced' | 'started' | 'ended' | undefined;
      let at = now;
      if (now < w.start) [phase, at] = ['announced', Math.min(w.created_at, now)];
      else if (now < w.end) [phase, at] = now - w.start <= this.#catchUpMs ? ['started', w.start] : [undefined, now];
      else if (now - w.end <= this.#catchUpMs) [phase, at] = ['ended', w.end];
      if (phase === undefined || this.#windowEvents.has(id(phase))) continue;
      this.#windowEvents.add(id(phase));
      const maintenance: NotifyMaintenance = { id: w.id, phase, title: { ...w.title }, start: w.start, end: w.end };
      out.push({
        id: id(phase),
        kind: 'maintenance',
        at,
        systems: w.systems.map((s) => this.#currentSystem(s, now)),
        cause: [],
        maintenance,
        links: { status_page: this.#ctx.statusPage() },
      });
    }
    // Forget windows that are gone, so the set does not grow for ever.
    this.#windowEvents = new Set([...this.#windowEvents].filter((id) => seen.has(id)));
    return out;
  }

  /**
   * A window cancelled at `now`: `cancelled` while it is ahead, `ended` early while in progress
   * (the same id as its natural end, which no longer comes), nothing once it is over. `supersedes`:
   * the ids of its earlier events, whose deliveries still waiting are withdrawn.
   */
  maintenanceCancelled(w: MaintenanceWindow, now: number): { event: NotifyEvent; supersedes: string[] } | undefined {
    if (now >= w.end) return undefined;
    const id = (phase: string): string => `maintenance:${w.id}:${phase}:${w.start}-${w.end}`;
    const ahead = now < w.start;
    const maintenance: NotifyMaintenance = { id: w.id, phase: ahead ? 'cancelled' : 'ended', title: { ...w.title }, start: w.start, end: w.end };
    if (!ahead) maintenance.ended_early = true;
    const event: NotifyEvent = {
      id: id(maintenance.phase),
      kind: 'maintenance',
      at: now,
      systems: w.systems.map((s) => this.#currentSystem(s, now)),
      cause: [],
      maintenance,
      links: { status_page: this.#ctx.statusPage() },
    };
    return { event, supersedes: [id('announced'), id('started')] };
  }

  /** An operator's update on an incident; undefined for the engine's own updates. */
  incidentUpdate(i: Incident, u: IncidentUpdate): NotifyEvent | undefined {
    if (u.operator === undefined) return undefined;
    const systems = [...new Set([i.system, ...u.affected])];
    const incident: NonNullable<NotifyEvent['incident']> = {
      id: i.id,
      priority: u.priority,
      operator_status: u.operator.status,
      message: { ...u.operator.message },
      url: this.#ctx.systemUrl(i.system),
    };
    return {
      id: `incident:${i.id}:${u.at}`,
      kind: 'incident',
      at: u.at,
      systems: systems.map((s) => this.#currentSystem(s, u.at)),
      cause: systems.length > 1 ? [i.system] : [],
      incident,
      links: { status_page: this.#ctx.statusPage() },
    };
  }

  announcement(a: Announcement): NotifyEvent {
    const announcement: NonNullable<NotifyEvent['announcement']> = {
      id: a.id,
      kind: a.kind,
      title: { ...a.title },
      body: { ...a.body },
      at: a.at,
    };
    if (a.link !== undefined) announcement.link = a.link;
    return {
      id: `announcement:${a.id}`,
      kind: 'announcement',
      at: a.created_at,
      systems: a.systems.map((s) => this.#currentSystem(s, a.created_at)),
      cause: [],
      announcement,
      links: { status_page: this.#ctx.statusPage() },
    };
  }
}

const rank = (roots: readonly string[], id: string): number => {
  const i = roots.indexOf(id);
  return i < 0 ? roots.length : i;
};
