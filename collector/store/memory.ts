// An in-memory Store: the reference behaviour for the shared suite and a fast store for tests.
// It behaves as SQLite does, down to a closed store rejecting rather than throwing.
import { VagtError } from '../../lib/errors.js';
import type { AlertEvent } from '../status/alerts.js';
import type { View } from '../status/types.js';
import type { Incident, IncidentChange, IncidentUpdate } from '../status/incidents.js';
import type { MaintenanceWindow } from '../status/maintenance.js';
import { HourAccumulator, compareAggregates, hourOf } from './aggregates.js';
import { LatencySketch } from './sketch.js';
import {
  isNewer,
  toIntervals,
  type AggregateQuery,
  type Announcement,
  type AnnouncementQuery,
  type AgentSeen,
  type ChannelBacklog,
  type Delivery,
  type DeliveryQuery,
  type DeliveryUpdate,
  type HistoryPruned,
  type HourAggregate,
  type AlertQuery,
  type IncidentQuery,
  type IntervalQuery,
  type NewDelivery,
  type StatusInterval,
  type StoredAlert,
  type DurationQuery,
  type ResultDuration,
  type ResultQuery,
  type StatusChange,
  type StatusChangeQuery,
  type Store,
  type StoredResult,
  type Subscription,
  type SubscriptionQuery,
} from './types.js';

const key = (...parts: (string | number)[]): string => parts.join('\u0000');
const copyChange = (c: StatusChange): StatusChange => ({ ...c, cause: [...c.cause] });

export class MemoryStore implements Store {
  readonly kind = 'memory';
  #open = true;
  #results: StoredResult[] = [];
  #seen = new Set<string>();
  #latest = new Map<string, StoredResult>();
  #changes: StatusChange[] = [];
  #agents = new Map<string, AgentSeen>();
  #incidents = new Map<number, Incident>();
  #alerts: StoredAlert[] = [];
  #maintenance = new Map<string, MaintenanceWindow>();
  #announcements = new Map<string, Announcement>();
  #subscriptions = new Map<string, Subscription>();
  /** Notification deliveries by (event id, channel). */
  #deliveries = new Map<string, Delivery>();
  /** Hours that received results since the last roll-up. */
  #dirty = new Set<number>();
  #prunedBefore = -Infinity;
  /** Aggregates with their sketch encoded, as SQLite keeps them, so readers get fresh copies. */
  #hourly = new Map<string, { a: HourAggregate; sketch: Buffer }>();

  get open(): boolean {
    return this.#open;
  }

  #run<T>(fn: () => T): Promise<T> {
    if (!this.#open) return Promise.reject(new VagtError('VAGT_ERR_STORE', 'the store is closed'));
    return Promise.resolve(fn());
  }

  insertResults(rows: readonly StoredResult[]): Promise<boolean[]> {
    return this.#run(() =>
      rows.map((r) => {
        const k = key(r.agent, r.seq);
        if (this.#seen.has(k)) return false;
        this.#seen.add(k);
        const copy = structuredClone(r);
        this.#results.push(copy);
        this.#dirty.add(hourOf(r.ts));
        const lk = key(r.system, r.probe, r.agent);
        const prev = this.#latest.get(lk);
        if (prev === undefined || isNewer(copy, prev)) this.#latest.set(lk, copy);
        return true;
      }),
    );
  }

  queryResults(q: ResultQuery): Promise<StoredResult[]> {
    return this.#run(() =>
      this.#results
        .map((r, i) => ({ r, i }))
        .filter(
          ({ r }) =>
            (q.system === undefined || r.system === q.system) &&
            (q.probe === undefined || r.probe === q.probe) &&
            (q.agent === undefined || r.agent === q.agent) &&
            (q.from === undefined || r.ts >= q.from) &&
            (q.to === undefined || r.ts < q.to),
        )
        .sort((a, b) => a.r.ts - b.r.ts || a.i - b.i)
        .slice(0, q.limit)
        .map(({ r }) => structuredClone(r)),
    );
  }

  chartDurations(q: DurationQuery): Promise<ResultDuration[]> {
    return this.#run(() => {
      const exclude = new Set(q.exclude ?? []);
      return this.#results
        .map((r, i) => ({ r, i }))
        .filter(({ r }) => r.ok && r.system === q.system && r.probe === q.probe && r.ts >= q.from && r.ts < q.to && !exclude.has(r.agent))
        .sort((a, b) => a.r.ts - b.r.ts || a.i - b.i)
        .slice(0, q.limit)
        .map(({ r }) => ({ ts: r.ts, duration_ms: r.duration_ms }));
    });
  }

  latestResults(): Promise<StoredResult[]> {
    return this.#run(() => [...this.#latest.values()].map((r) => structuredClone(r)));
  }

  maxSeq(agent: string): Promise<number | undefined> {
    return this.#run(() => {
      let max: number | undefined;
      for (const r of this.#results) if (r.agent === agent && (max === undefined || r.seq > max)) max = r.seq;
      return max;
    });
  }

  recordStatusChanges(changes: readonly StatusChange[]): Promise<void> {
    return this.#run(() => {
      for (const c of changes) this.#changes.push(copyChange(c));
    });
  }

  statusChanges(q: StatusChangeQuery = {}): Promise<StatusChange[]> {
    return this.#run(() =>
      this.#changes
        .map((c, i) => ({ c, i }))
        .filter(
          ({ c }) =>
            (q.system === undefined || c.system === q.system) &&
            (q.view === undefined || c.view === q.view) &&
            (q.from === undefined || c.at >= q.from) &&
            (q.to === undefined || c.at < q.to),
        )
        .sort((a, b) => a.c.at - b.c.at || a.i - b.i)
        .slice(0, q.limit ?? Infinity)
        .map(({ c }) => copyChange(c)),
    );
  }

  latestStatuses(): Promise<StatusChange[]> {
    return this.#run(() => {
      // The latest by time, then by order of record, as SQLite's query does.
      const last = new Map<string, StatusChange>();
      for (const c of this.#changes) {
        const k = key(c.system, c.view);
        const cur = last.get(k);
        if (cur === undefined || c.at >= cur.at) last.set(k, c);
      }
      return [...last.values()].map(copyChange);
    });
  }

  replaceStatusChanges(system: string, view: View, from: number, to: number, changes: readonly StatusChange[]): Promise<void> {
    return this.#run(() => {
      this.#changes = this.#changes.filter((c) => !(c.system === system && c.view === view && c.at >= from && c.at < to));
      for (const c of changes) if (c.at >= from && c.at < to) this.#changes.push({ ...copyChange(c), system, view });
    });
  }

  statusIntervals(q: IntervalQuery): Promise<StatusInterval[]> {
    return this.#run(() => {
      const mine = this.#changes.filter((c) => c.system === q.system && c.view === q.view).sort((a, b) => a.at - b.at);
      // Stable sort keeps the order of record among equal times, as SQLite's id does.
      let start = 0;
      for (let i = 0; i < mine.length; i++) if ((mine[i]?.at ?? Infinity) <= q.from) start = i;
      const inRange = mine.slice(start).filter((c, i) => (i === 0 && c.at <= q.from) || (c.at > q.from && (q.to === undefined || c.at < q.to)));
      return toIntervals(inRange, q.from, q.to);
    });
  }

  saveIncidents(changes: readonly IncidentChange[]): Promise<void> {
    return this.#run(() => {
      // As SQLite does: the fields are replaced, the updates appended, so that one added by
      // addIncidentUpdate survives an incident object that does not carry it.
      for (const { incident: i, added } of changes) {
        const prev = this.#incidents.get(i.id);
        const copy: Incident = { ...structuredClone({ ...i, updates: [] }), updates: [...(prev?.updates ?? []), ...structuredClone(added)] };
        if (prev !== undefined) Object.assign(copy, { system: prev.system, started_at: prev.started_at });
        this.#incidents.set(i.id, copy);
      }
    });
  }

  addIncidentUpdate(incident: number, update: IncidentUpdate): Promise<boolean> {
    return this.#run(() => {
      const i = this.#incidents.get(incident);
      if (i === undefined) return false;
      i.updates.push(structuredClone(update));
      return true;
    });
  }

  insertAnnouncement(a: Announcement): Promise<boolean> {
    return this.#run(() => {
      if (this.#announcements.has(a.id)) return false;
      this.#announcements.set(a.id, structuredClone(a));
      return true;
    });
  }

  deleteAnnouncement(id: string): Promise<boolean> {
    return this.#run(() => this.#announcements.delete(id));
  }

  announcements(q: AnnouncementQuery): Promise<Announcement[]> {
    return this.#run(() =>
      [...this.#announcements.values()]
        .filter(
          (a) =>
            (q.id === undefined || a.id === q.id) &&
            (q.system === undefined || a.systems.includes(q.system)) &&
            (q.from === undefined || a.at >= q.from) &&
            (q.to === undefined || a.at < q.to),
        )
        .sort((a, b) => b.at - a.at || b.created_at - a.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        .slice(0, q.limit)
        .map((a) => structuredClone(a)),
    );
  }

  incidents(q: IncidentQuery): Promise<Incident[]> {
    return this.#run(() =>
      [...this.#incidents.values()]
        .filter(
          (i) =>
            (q.id === undefined || i.id === q.id) &&
            (q.state === undefined || (q.state === 'open') === (i.resolved_at === null)) &&
            (q.system === undefined || i.system === q.system || i.affected.includes(q.system)) &&
            (q.from === undefined || i.resolved_at === null || i.resolved_at > q.from) &&
            (q.to === undefined || i.started_at < q.to),
        )
        .sort((a, b) => b.started_at - a.started_at || b.id - a.id)
        .slice(0, q.limit)
        .map((i) => structuredClone(i)),
    );
  }

  maxIncidentId(): Promise<number> {
    return this.#run(() => Math.max(0, ...this.#incidents.keys()));
  }

  recordAlertEvents(events: readonly AlertEvent[]): Promise<void> {
    return this.#run(() => {
      for (const e of events) {
        if (e.type === 'raised') this.#alerts.push({ ...structuredClone(e.alert), resolved_at: null });
        else {
          const open = this.#alerts.find((a) => a.key === e.alert.key && a.resolved_at === null);
          if (open !== undefined) Object.assign(open, structuredClone(e.alert), { since: open.since, resolved_at: e.at });
        }
      }
    });
  }

  insertMaintenance(w: MaintenanceWindow): Promise<boolean> {
    return this.#run(() => {
      if (this.#maintenance.has(w.id)) return false;
      this.#maintenance.set(w.id, structuredClone(w));
      return true;
    });
  }

  deleteMaintenance(id: string): Promise<boolean> {
    return this.#run(() => this.#maintenance.delete(id));
  }

  maintenanceWindows(): Promise<MaintenanceWindow[]> {
    return this.#run(() =>
      [...this.#maintenance.values()].sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : 1)).map((w) => structuredClone(w)),
    );
  }

  alerts(q: AlertQuery): Promise<StoredAlert[]> {
    return this.#run(() =>
      this.#alerts
        .map((a, i) => ({ a, i }))
        .filter(({ a }) => (q.active === undefined || q.active === (a.resolved_at === null)) && (q.system === undefined || a.system === q.system))
        .sort((x, y) => y.a.since - x.a.since || y.i - x.i)
        .slice(0, q.limit)
        .map(({ a }) => structuredClone(a)),
    );
  }

  recordAgentsSeen(agents: readonly AgentSeen[]): Promise<void> {
    return this.#run(() => {
      for (const a of agents) {
        const prev = this.#agents.get(a.id);
        if (prev === undefined || a.last_seen >= prev.last_seen) this.#agents.set(a.id, { ...a });
      }
    });
  }

  agents(): Promise<AgentSeen[]> {
    return this.#run(() =>
      [...this.#agents.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((a) => ({ ...a })),
    );
  }

  pruneResults(before: number): Promise<number> {
    return this.#run(() => {
      const keep: StoredResult[] = [];
      for (const r of this.#results) {
        if (r.ts >= before) keep.push(r);
        else this.#seen.delete(key(r.agent, r.seq));
      }
      const removed = this.#results.length - keep.length;
      this.#results = keep;
      this.#prunedBefore = Math.max(this.#prunedBefore, before);
      return removed;
    });
  }

  rollupHours(): Promise<number> {
    return this.#run(() => {
      // Hours that lost results to pruning stay as they were, as in SQLite.
      const hours = [...this.#dirty].filter((h) => h >= this.#prunedBefore);
      this.#dirty.clear();
      const wanted = new Set(hours);
      const acc = new HourAccumulator();
      for (const r of this.#results) if (wanted.has(hourOf(r.ts))) acc.add(r.system, r.probe, r.agent, r.ts, r.ok, r.duration_ms);
      for (const h of hours)
        for (const a of acc.take(h)) this.#hourly.set(key(a.system, a.probe, a.agent, a.hour), { a, sketch: a.sketch.encode() });
      return hours.length;
    });
  }

  hourlyAggregates(q: AggregateQuery): Promise<HourAggregate[]> {
    return this.#run(() =>
      [...this.#hourly.values()]
        .filter(
          ({ a }) =>
            a.hour >= q.from &&
            a.hour < q.to &&
            (q.system === undefined || a.system === q.system) &&
            (q.probe === undefined || a.probe === q.probe) &&
            (q.agent === undefined || a.agent === q.agent),
        )
        .map(({ a, sketch }) => ({ ...a, sketch: LatencySketch.decode(sketch) }))
        .sort(compareAggregates),
    );
  }

  pruneAggregates(before: number): Promise<number> {
    return this.#run(() => {
      let removed = 0;
      for (const [k, { a }] of this.#hourly)
        if (a.hour < before) {
          this.#hourly.delete(k);
          removed++;
        }
      return removed;
    });
  }

  pruneStatusHistory(before: number): Promise<HistoryPruned> {
    return this.#run(() => {
      // The last change at or before the cutoff per (system, view), by time then order of record.
      const keep = new Map<string, StatusChange>();
      for (const c of this.#changes) {
        if (c.at > before) continue;
        const k = key(c.system, c.view);
        const cur = keep.get(k);
        if (cur === undefined || c.at >= cur.at) keep.set(k, c);
      }
      const kept = new Set(keep.values());
      const changes = this.#changes.filter((c) => c.at >= before || kept.has(c));
      const status_changes = this.#changes.length - changes.length;
      this.#changes = changes;
      const maxId = Math.max(0, ...this.#incidents.keys());
      let incidents = 0;
      for (const [id, i] of this.#incidents)
        if (i.resolved_at !== null && i.resolved_at < before && id < maxId) {
          this.#incidents.delete(id);
          incidents++;
        }
      const alerts = this.#alerts.filter((a) => !(a.resolved_at !== null && a.resolved_at < before));
      const removed = { status_changes, incidents, alerts: this.#alerts.length - alerts.length };
      this.#alerts = alerts;
      return removed;
    });
  }

  saveSubscription(s: Subscription): Promise<void> {
    return this.#run(() => {
      // As SQLite's unique columns do: one row per id, address and token hash.
      for (const [id, o] of this.#subscriptions)
        if (id === s.id || o.email === s.email || o.token_sha256 === s.token_sha256) this.#subscriptions.delete(id);
      this.#subscriptions.set(s.id, structuredClone(s));
    });
  }

  subscriptions(q: SubscriptionQuery = {}): Promise<Subscription[]> {
    return this.#run(() =>
      [...this.#subscriptions.values()]
        .filter(
          (s) =>
            (q.id === undefined || s.id === q.id) &&
            (q.email === undefined || s.email === q.email) &&
            (q.token_sha256 === undefined || s.token_sha256 === q.token_sha256) &&
            (q.state === undefined || s.state === q.state),
        )
        .sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        .map((s) => structuredClone(s)),
    );
  }

  deleteSubscription(id: string): Promise<boolean> {
    return this.#run(() => this.#subscriptions.delete(id));
  }

  prunePendingSubscriptions(before: number): Promise<number> {
    return this.#run(() => {
      let n = 0;
      for (const [id, s] of this.#subscriptions)
        if (s.state === 'pending' && s.created_at < before) {
          this.#subscriptions.delete(id);
          n++;
        }
      return n;
    });
  }

  enqueueDeliveries(rows: readonly NewDelivery[]): Promise<boolean[]> {
    return this.#run(() =>
      rows.map((r) => {
        const k = key(r.event.id, r.channel);
        if (this.#deliveries.has(k)) return false;
        this.#deliveries.set(k, {
          event_id: r.event.id,
          channel: r.channel,
          event: structuredClone(r.event),
          state: 'pending',
          attempts: 0,
          next_at: r.next_at,
          created_at: r.created_at,
          sent_at: null,
          last_error: null,
        });
        return true;
      }),
    );
  }

  deliveries(q: DeliveryQuery): Promise<Delivery[]> {
    const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
    return this.#run(() =>
      [...this.#deliveries.values()]
        .filter(
          (d) =>
            (q.state === undefined || d.state === q.state) &&
            (q.channel === undefined || d.channel === q.channel) &&
            (q.event_id === undefined || d.event_id === q.event_id) &&
            (q.due === undefined || d.next_at <= q.due),
        )
        .sort((a, b) => a.next_at - b.next_at || a.created_at - b.created_at || cmp(a.event_id, b.event_id) || cmp(a.channel, b.channel))
        .slice(0, q.limit)
        .map((d) => structuredClone(d)),
    );
  }

  updateDelivery(eventId: string, channel: string, u: DeliveryUpdate): Promise<boolean> {
    return this.#run(() => {
      const d = this.#deliveries.get(key(eventId, channel));
      if (d?.state !== 'pending') return false;
      if (u.state !== undefined) d.state = u.state;
      if (u.attempts !== undefined) d.attempts = u.attempts;
      if (u.next_at !== undefined) d.next_at = u.next_at;
      if (u.sent_at !== undefined) d.sent_at = u.sent_at;
      if (u.last_error !== undefined) d.last_error = u.last_error;
      if (u.event !== undefined) d.event = structuredClone(u.event);
      return true;
    });
  }

  deferDeliveries(channel: string, until: number): Promise<number> {
    return this.#run(() => {
      let n = 0;
      for (const d of this.#deliveries.values())
        if (d.channel === channel && d.state === 'pending' && d.next_at < until) {
          d.next_at = until;
          n++;
        }
      return n;
    });
  }

  deliveryBacklog(): Promise<ChannelBacklog[]> {
    return this.#run(() => {
      const by = new Map<string, ChannelBacklog>();
      for (const d of this.#deliveries.values()) {
        if (d.state !== 'pending') continue;
        const b = by.get(d.channel);
        if (b === undefined) by.set(d.channel, { channel: d.channel, pending: 1, next_at: d.next_at });
        else {
          b.pending++;
          b.next_at = Math.min(b.next_at, d.next_at);
        }
      }
      return [...by.values()].sort((a, b) => (a.channel < b.channel ? -1 : a.channel > b.channel ? 1 : 0));
    });
  }

  pruneDeliveries(before: number): Promise<number> {
    return this.#run(() => {
      let n = 0;
      for (const [k, d] of this.#deliveries)
        if (d.state !== 'pending' && d.next_at < before && (d.event.maintenance?.end ?? 0) < before) {
          this.#deliveries.delete(k);
          n++;
        }
      return n;
    });
  }

  close(): Promise<void> {
    this.#open = false;
    return Promise.resolve();
  }
}
