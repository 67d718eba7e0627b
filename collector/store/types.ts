// The storage interface. SQLite implements it today, an in-memory store backs tests, and a
// PostgreSQL store can be added later: every method is async for that reason, and both existing
// stores pass one shared test suite (tests/collector/store-suite.ts), as gatus does.
import type { NotificationConfig } from '../../config/schema.js';
import type { NotifyEvent } from '../notify/types.js';
import type { ResultRecord } from '../../protocol/messages.js';
import type { Alert, AlertEvent } from '../status/alerts.js';
import type { Incident, IncidentChange, IncidentUpdate } from '../status/incidents.js';
import type { Localized, MaintenanceWindow } from '../status/maintenance.js';
import type { Status, View } from '../status/types.js';
import type { LatencySketch } from './sketch.js';

/** A result as stored: the wire record plus the agent that sent it and when it arrived (collector clock). */
export interface StoredResult extends ResultRecord {
  agent: string;
  received_at: number;
}

export interface ResultQuery {
  system?: string;
  probe?: string;
  agent?: string;
  /** Inclusive, epoch ms (of `ts`). */
  from?: number;
  /** Exclusive, epoch ms (of `ts`). */
  to?: number;
  limit: number;
}

/** The successful results of one probe over [from, to), for its response-time chart. */
export interface DurationQuery {
  system: string;
  probe: string;
  /** Inclusive, epoch ms (of `ts`). */
  from: number;
  /** Exclusive, epoch ms (of `ts`). */
  to: number;
  /** Agents whose results are left out: the external sources, whose times are not comparable. */
  exclude?: readonly string[];
  limit: number;
}

/** What a response-time chart needs of a successful result. */
export interface ResultDuration {
  ts: number;
  duration_ms: number;
}

export interface StatusChange {
  system: string;
  view: View;
  status: Status;
  cause: string[];
  /** Epoch ms. */
  at: number;
}

export interface StatusChangeQuery {
  system?: string;
  view?: View;
  from?: number;
  to?: number;
  limit?: number;
}

/** A stretch of one status: the timeline that uptime and history are computed from. */
export interface StatusInterval {
  system: string;
  view: View;
  status: Status;
  cause: string[];
  /** Epoch ms; clipped to the query's `from`. */
  from: number;
  /** Epoch ms; null while it lasts. Clipped to the query's `to`. */
  to: number | null;
}

export interface IntervalQuery {
  system: string;
  view: View;
  from: number;
  /** Default: open-ended. */
  to?: number;
}

export interface IncidentQuery {
  id?: number;
  state?: 'open' | 'resolved';
  system?: string;
  /** Incidents that were open at some time in [from, to). */
  from?: number;
  to?: number;
  limit: number;
}

/** An alert as stored: when it ended, if it has. */
export interface StoredAlert extends Alert {
  resolved_at: number | null;
}

export interface AlertQuery {
  /** Only active (true) or only resolved (false) alerts. */
  active?: boolean;
  system?: string;
  limit: number;
}

/**
 * One hour of one probe from one agent: a pure function of that hour's raw results, kept long
 * after they are pruned. Latency is of the successful results only, as the slow rules see it.
 */
export interface HourAggregate {
  system: string;
  probe: string;
  agent: string;
  /** Start of the hour, epoch ms (a multiple of 3,600,000: UTC hours). */
  hour: number;
  count: number;
  failures: number;
  /** Sum of duration_ms of the successful results; 0 when none succeeded. */
  sum_ms: number;
  /** Null when none succeeded. */
  min_ms: number | null;
  max_ms: number | null;
  /** duration_ms of the successful results; quantiles within 1 %, mergeable across hours and agents. */
  sketch: LatencySketch;
}

export interface AggregateQuery {
  system?: string;
  probe?: string;
  agent?: string;
  /** Inclusive, epoch ms of the hour's start. */
  from: number;
  /** Exclusive, epoch ms of the hour's start. */
  to: number;
}

export type AnnouncementKind = 'release' | 'interface_change' | 'info';

/** What operators announce about systems: a release, a change of an interface, or information. */
export interface Announcement {
  id: string;
  systems: string[];
  kind: AnnouncementKind;
  title: Localized;
  body: Localized;
  /** When it happens or happened, epoch ms; may be in the future (a planned release). */
  at: number;
  link?: string;
  /** When it was posted, epoch ms. */
  created_at: number;
}

export interface AnnouncementQuery {
  id?: string;
  /** Announcements naming this system. */
  system?: string;
  /** Inclusive, epoch ms of `at`. */
  from?: number;
  /** Exclusive, epoch ms of `at`. */
  to?: number;
  limit: number;
}

/** What pruneStatusHistory removed. */
export interface HistoryPruned {
  status_changes: number;
  incidents: number;
  alerts: number;
}

export type SubscriptionState = 'pending' | 'confirmed';

/** Someone who subscribed by e-mail (POST /api/v1/subscriptions), confirmed by a link. */
export interface Subscription {
  id: string;
  /** Lower case: one subscription per address. */
  email: string;
  /** null: every system, also those configured later. */
  systems: string[] | null;
  /** null: every event. */
  events: NonNullable<NotificationConfig['events']> | null;
  lang: 'da' | 'en';
  /** SHA-256 (hex) of the token in the confirmation link; the token itself is never stored. */
  token_sha256: string;
  state: SubscriptionState;
  created_at: number;
  confirmed_at: number | null;
}

export interface SubscriptionQuery {
  id?: string;
  email?: string;
  token_sha256?: string;
  state?: SubscriptionState;
}

/**
 * One notification to one channel (collector/notify/outbox.ts): queued before the first attempt,
 * kept after it finished so that the same event never goes to that channel twice.
 */
export type DeliveryState = 'pending' | 'sent' | 'dropped' | 'cancelled';

export interface Delivery {
  event_id: string;
  channel: string;
  event: NotifyEvent;
  state: DeliveryState;
  /** Attempts made so far. */
  attempts: number;
  /** Pending: when it is due, epoch ms. Finished (sent, dropped, cancelled): when it finished. */
  next_at: number;
  created_at: number;
  sent_at: number | null;
  last_error: string | null;
}

export interface NewDelivery {
  channel: string;
  event: NotifyEvent;
  next_at: number;
  created_at: number;
}

export interface DeliveryQuery {
  state?: DeliveryState;
  channel?: string;
  event_id?: string;
  /** Only those with next_at <= due. */
  due?: number;
  limit: number;
}

export interface DeliveryUpdate {
  state?: DeliveryState;
  attempts?: number;
  next_at?: number;
  sent_at?: number;
  last_error?: string | null;
  /** A held delivery loses the systems that flapped back (damping). */
  event?: NotifyEvent;
}

/** A channel's pending deliveries. */
export interface ChannelBacklog {
  channel: string;
  pending: number;
  /** The earliest next_at among them. */
  next_at: number;
}

export interface AgentSeen {
  id: string;
  /** Epoch ms. */
  last_seen: number;
  version: string | null;
  remote_address: string | null;
}

export interface Store {
  readonly kind: string;
  /** False once closed; /readyz reports it. */
  readonly open: boolean;
  /**
   * Stores results in one transaction, once per (agent, seq): a resent result is ignored. Returns,
   * per row, true when it was new and false when it was a duplicate. Also keeps the latest result
   * per (system, probe, agent).
   */
  insertResults(rows: readonly StoredResult[]): Promise<boolean[]>;
  /** Results oldest first (by ts, then arrival), at most `limit`. */
  queryResults(q: ResultQuery): Promise<StoredResult[]>;
  /**
   * The ts and duration_ms of the successful (ok) results of one probe in [from, to), oldest first
   * (by ts; results with the same ts in no given order), at most `limit`: what a response-time
   * chart needs, without reading the rest of the rows.
   */
  chartDurations(q: DurationQuery): Promise<ResultDuration[]>;
  /** The latest result (by ts, then seq) per (system, probe, agent), for a warm start. */
  latestResults(): Promise<StoredResult[]>;
  /** Highest seq stored for an agent, to warn when an agent's sequence starts over. */
  maxSeq(agent: string): Promise<number | undefined>;
  recordStatusChanges(changes: readonly StatusChange[]): Promise<void>;
  /** Status changes oldest first. */
  statusChanges(q?: StatusChangeQuery): Promise<StatusChange[]>;
  /** The last change per (system, view) by time, so `since` survives a restart. */
  latestStatuses(): Promise<StatusChange[]>;
  /**
   * Rewrites one system's history: the changes of `view` in [from, to) are replaced by `changes`
   * (each inside that range), in one transaction. For results that arrived late.
   */
  replaceStatusChanges(system: string, view: View, from: number, to: number, changes: readonly StatusChange[]): Promise<void>;
  /** The timeline of one system and view over [from, to): consecutive stretches of one status. */
  statusIntervals(q: IntervalQuery): Promise<StatusInterval[]>;
  /**
   * Stores incidents as they open, change and resolve: their fields, and the updates they gained
   * (`added`) after those already stored.
   */
  saveIncidents(changes: readonly IncidentChange[]): Promise<void>;
  /** Incidents with their updates, newest first. */
  incidents(q: IncidentQuery): Promise<Incident[]>;
  /** The highest incident id used, 0 for none: ids are never reused. */
  maxIncidentId(): Promise<number>;
  /**
   * Appends one update (an operator's) to a stored incident, open or resolved; false when there is
   * no such incident. Updates already stored are never dropped by a later saveIncidents.
   */
  addIncidentUpdate(incident: number, update: IncidentUpdate): Promise<boolean>;
  /** Stores an announcement; false when its id is taken. */
  insertAnnouncement(a: Announcement): Promise<boolean>;
  /** Removes an announcement; false when there was none with that id. */
  deleteAnnouncement(id: string): Promise<boolean>;
  /** Announcements newest first (by `at`, then by when they were posted). */
  announcements(q: AnnouncementQuery): Promise<Announcement[]>;
  recordAlertEvents(events: readonly AlertEvent[]): Promise<void>;
  /** Stores a service window announced over the API; false when its id is taken. */
  insertMaintenance(w: MaintenanceWindow): Promise<boolean>;
  /** Removes an announced window; false when there was none with that id. */
  deleteMaintenance(id: string): Promise<boolean>;
  /** The announced windows, by start. */
  maintenanceWindows(): Promise<MaintenanceWindow[]>;
  /** Alerts newest first. */
  alerts(q: AlertQuery): Promise<StoredAlert[]>;
  recordAgentsSeen(agents: readonly AgentSeen[]): Promise<void>;
  agents(): Promise<AgentSeen[]>;
  /**
   * Deletes results with ts < before, in steps; returns how many. Hours before the latest `before`
   * are never rolled up again (their aggregates stay as they are), so run rollupHours first.
   */
  pruneResults(before: number): Promise<number>;
  /**
   * Recomputes the hourly aggregates of every hour that received results since the last roll-up
   * (late ones too), from the raw results; returns how many hours. Safe to interrupt: unfinished
   * work is redone by the next call. Yields to the event loop between chunks.
   */
  rollupHours(): Promise<number>;
  /** Hourly aggregates with hour in [from, to), by system, probe, agent, then hour. */
  hourlyAggregates(q: AggregateQuery): Promise<HourAggregate[]>;
  /** Deletes the hourly aggregates of hours before `before`; returns how many. */
  pruneAggregates(before: number): Promise<number>;
  /**
   * Deletes status changes with at < before, except per (system, view) the last one at or before
   * it, so that the status at the cutoff is still known; and incidents and alerts resolved before
   * it (but never the incident with the highest id, which keeps ids from being reused).
   */
  pruneStatusHistory(before: number): Promise<HistoryPruned>;
  /** Queues deliveries once per (event id, channel): per row, true when new, false when already queued (or done). */
  enqueueDeliveries(rows: readonly NewDelivery[]): Promise<boolean[]>;
  /** Deliveries by next_at, then created_at, event id and channel. */
  deliveries(q: DeliveryQuery): Promise<Delivery[]>;
  /** Changes a pending delivery; false when it is not (any longer) pending, so a finished one stays finished. */
  updateDelivery(eventId: string, channel: string, u: DeliveryUpdate): Promise<boolean>;
  /**
   * Moves the channel's pending deliveries due before `until` to `until` (behind a retry, so that
   * the channel's messages stay in order); returns how many.
   */
  deferDeliveries(channel: string, until: number): Promise<number>;
  /** Per channel with pending deliveries: how many and the earliest next_at, by channel. */
  deliveryBacklog(): Promise<ChannelBacklog[]>;
  /**
   * Deletes finished deliveries that finished before `before`, except those about a service window
   * that ends after it (its announcement must not be sent again while the window is ahead).
   */
  pruneDeliveries(before: number): Promise<number>;
  /** Stores a subscription by id, replacing one with the same id, e-mail address or token hash. */
  saveSubscription(s: Subscription): Promise<void>;
  /** Subscriptions oldest first (by created_at, then id). */
  subscriptions(q?: SubscriptionQuery): Promise<Subscription[]>;
  /** False when there was none with that id. */
  deleteSubscription(id: string): Promise<boolean>;
  /** Deletes the pending (never confirmed) subscriptions created before `before`; returns how many. */
  prunePendingSubscriptions(before: number): Promise<number>;
  close(): Promise<void>;
}

/** Orders two results of the same (system, probe, agent): later ts wins, then higher seq. */
export function isNewer(a: { ts: number; seq: number }, b: { ts: number; seq: number }): boolean {
  return a.ts > b.ts || (a.ts === b.ts && a.seq > b.seq);
}

/** Turns changes (oldest first, the first one at or before `from`) into intervals clipped to [from, to). */
export function toIntervals(changes: readonly StatusChange[], from: number, to?: number): StatusInterval[] {
  const out: StatusInterval[] = [];
  for (const c of changes) {
    const last = out[out.length - 1];
    // Repeated statuses (a restart records the status again) extend the stretch.
    if (last !== undefined && last.status === c.status && last.cause.join() === c.cause.join()) continue;
    const at = Math.max(c.at, from);
    if (last !== undefined) last.to = at;
    out.push({ system: c.system, view: c.view, status: c.status, cause: [...c.cause], from: at, to: null });
  }
  const tail = out[out.length - 1];
  if (tail !== undefined && to !== undefined && (tail.to === null || tail.to > to)) tail.to = to;
  return out.filter((i) => i.to === null || i.to > i.from);
}
