// The SQLite store (better-sqlite3): WAL with synchronous=FULL, prepared statements, and one
// transaction per group of ingest batches, which is what makes tens of thousands of results per
// second cheap. FULL, not NORMAL: an ack tells the agent to delete the result, so a commit must
// survive a power loss too, not only a crash of the process; grouping commits keeps the fsyncs few.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { VagtError, errorMessage } from '../../lib/errors.js';
import type { Phase } from '../../protocol/messages.js';
import type { Status, View } from '../status/types.js';
import type { AlertEvent } from '../status/alerts.js';
import type { Incident, IncidentChange, IncidentUpdate } from '../status/incidents.js';
import type { MaintenanceWindow } from '../status/maintenance.js';
import { where } from './sqlite-where.js';
import { migrate } from './sqlite-schema.js';
import * as events from './sqlite-events.js';
import * as announcements from './sqlite-announcements.js';
import * as subscriptions from './sqlite-subscriptions.js';
import * as outbox from './sqlite-outbox.js';
import { SqliteRollup } from './sqlite-rollup.js';
import {
  isNewer,
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
  type DurationQuery,
  type ResultDuration,
  type ResultQuery,
  type StatusInterval,
  type StoredAlert,
  type StatusChange,
  type StatusChangeQuery,
  type Store,
  type StoredResult,
  type Subscription,
  type SubscriptionQuery,
} from './types.js';

interface ResultRow {
  agent: string;
  seq: number;
  system: string;
  probe: string;
  ts: number;
  ok: number;
  duration_ms: number;
  status_code: number | null;
  error_code: string | null;
  error_message: string | null;
  tls_expiry: number | null;
  dns_ms: number | null;
  connect_ms: number | null;
  tls_ms: number | null;
  ttfb_ms: number | null;
  transfer_ms: number | null;
  detail: string | null;
  received_at: number;
}

interface ChangeRow {
  system: string;
  view: string;
  status: string;
  cause: string;
  at: number;
}

const RESULT_COLUMNS =
  'agent, seq, system, probe, ts, ok, duration_ms, status_code, error_code, error_message, tls_expiry, dns_ms, connect_ms, tls_ms, ttfb_ms, transfer_ms, detail, received_at';

function fromRow(row: ResultRow): StoredResult {
  const phases: Partial<Record<Phase, number>> = {};
  if (row.dns_ms !== null) phases.dns = row.dns_ms;
  if (row.connect_ms !== null) phases.connect = row.connect_ms;
  if (row.tls_ms !== null) phases.tls = row.tls_ms;
  if (row.ttfb_ms !== null) phases.ttfb = row.ttfb_ms;
  if (row.transfer_ms !== null) phases.transfer = row.transfer_ms;
  const r: StoredResult = {
    agent: row.agent,
    seq: row.seq,
    system: row.system,
    probe: row.probe,
    ts: row.ts,
    ok: row.ok === 1,
    duration_ms: row.duration_ms,
    phases,
    received_at: row.received_at,
  };
  if (row.status_code !== null) r.status_code = row.status_code;
  if (row.error_code !== null) r.error = { code: row.error_code as never, message: row.error_message ?? '' };
  if (row.tls_expiry !== null) r.tls_expiry = row.tls_expiry;
  if (row.detail !== null) r.detail = JSON.parse(row.detail) as Record<string, unknown>;
  return r;
}

const fromChangeRow = (row: ChangeRow): StatusChange => ({
  system: row.system,
  view: row.view as View,
  status: row.status as Status,
  cause: JSON.parse(row.cause) as string[],
  at: row.at,
});

export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly path: string;
  readonly #db: Database.Database;
  readonly #insert: Database.Statement;
  readonly #upsertLatest: Database.Statement;
  readonly #insertBatch: (rows: readonly StoredResult[]) => boolean[];
  readonly #rollup: SqliteRollup;
  /** Roll-ups and prunes, one at a time: a prune must not land between a roll-up's steps. */
  #serial: Promise<unknown> = Promise.resolve();
  #closing = false;

  private constructor(path: string, db: Database.Database) {
    this.path = path;
    this.#db = db;
    this.#rollup = new SqliteRollup(db);
    this.#insert = db.prepare(
      `INSERT OR IGNORE INTO results (${RESULT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#upsertLatest = db.prepare(
      `INSERT INTO latest (system, probe, agent, ts, seq, record) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (system, probe, agent) DO UPDATE SET ts = excluded.ts, seq = excluded.seq, record = excluded.record
       WHERE excluded.ts > latest.ts OR (excluded.ts = latest.ts AND excluded.seq > latest.seq)`,
    );
    this.#insertBatch = db.transaction((rows: readonly StoredResult[]) => {
      const inserted = new Array<boolean>(rows.length);
      // The newest new row per (system, probe, agent): one upsert per key, not per row.
      const newest = new Map<string, StoredResult>();
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!;
        const p = r.phases;
        const changes = this.#insert.run(
          r.agent,
          r.seq,
          r.system,
          r.probe,
          r.ts,
          r.ok ? 1 : 0,
          r.duration_ms,
          r.status_code ?? null,
          r.error?.code ?? null,
          r.error?.message ?? null,
          r.tls_expiry ?? null,
          p.dns ?? null,
          p.connect ?? null,
          p.tls ?? null,
          p.ttfb ?? null,
          p.transfer ?? null,
          r.detail === undefined ? null : JSON.stringify(r.detail),
          r.received_at,
        ).changes;
        inserted[i] = changes > 0;
        if (changes > 0) {
          const k = `${r.system}\u0000${r.probe}\u0000${r.agent}`;
          const prev = newest.get(k);
          if (prev === undefined || isNewer(r, prev)) newest.set(k, r);
        }
      }
      for (const r of newest.values())
        this.#upsertLatest.run(r.system, r.probe, r.agent, r.ts, r.seq, JSON.stringify(r));
      return inserted;
    });
  }

  /** Opens (creating if missing) the database file and brings its schema up to date. */
  static open(path: string): SqliteStore {
    let db: Database.Database | undefined;
    try {
      mkdirSync(dirname(path), { recursive: true });
      db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('busy_timeout = 5000');
      db.pragma('temp_store = MEMORY');
      // Checkpoint every ~40 MB of WAL instead of 4 MB: hot index pages are then written back once
      // instead of many times, which measurably cuts the cost per stored result.
      db.pragma('wal_autocheckpoint = 10000');
      db.pragma('journal_size_limit = 67108864');
      migrate(db);
      return new SqliteStore(path, db);
    } catch (err) {
      db?.close();
      if (err instanceof VagtError) throw err;
      throw new VagtError('VAGT_ERR_STORE', `cannot open the database ${path}: ${errorMessage(err)}`, { cause: err });
    }
  }

  get open(): boolean {
    return this.#db.open;
  }

  // better-sqlite3 is synchronous; the Promise-returning wrapper keeps the interface ready for an
  // asynchronous store, and turns a throw into a rejection.
  #run<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(
        err instanceof VagtError ? err : new VagtError('VAGT_ERR_STORE', `database error: ${errorMessage(err)}`, { cause: err }),
      );
    }
  }

  insertResults(rows: readonly StoredResult[]): Promise<boolean[]> {
    if (rows.length === 0) return Promise.resolve([]);
    return this.#run(() => this.#insertBatch(rows));
  }

  queryResults(q: ResultQuery): Promise<StoredResult[]> {
    return this.#run(() => {
      const w = where([
        ['system = ?', q.system],
        ['probe = ?', q.probe],
        ['agent = ?', q.agent],
        ['ts >= ?', q.from],
        ['ts < ?', q.to],
      ]);
      const sql = `SELECT ${RESULT_COLUMNS} FROM results ${w.sql} ORDER BY ts, id LIMIT ?`;
      return (this.#db.prepare(sql).all(...w.params, q.limit) as ResultRow[]).map(fromRow);
    });
  }

  chartDurations(q: DurationQuery): Promise<ResultDuration[]> {
    return this.#run(() => {
      // From the index results_system_probe_ts alone (it holds every column named here). By ts only:
      // `, id` would sort each run of equal ts, which the index holds by ok, duration and agent.
      const exclude = q.exclude ?? [];
      const not = exclude.length === 0 ? '' : ` AND agent NOT IN (${exclude.map(() => '?').join(', ')})`;
      const sql = `SELECT ts, duration_ms FROM results WHERE system = ? AND probe = ? AND ts >= ? AND ts < ? AND ok = 1${not} ORDER BY ts LIMIT ?`;
      return this.#db.prepare(sql).all(q.system, q.probe, q.from, q.to, ...exclude, q.limit) as ResultDuration[];
    });
  }

  latestResults(): Promise<StoredResult[]> {
    return this.#run(() =>
      (this.#db.prepare('SELECT record FROM latest').all() as { record: string }[]).map(
        (row) => JSON.parse(row.record) as StoredResult,
      ),
    );
  }

  maxSeq(agent: string): Promise<number | undefined> {
    return this.#run(() => {
      const row = this.#db.prepare('SELECT MAX(seq) AS seq FROM results WHERE agent = ?').get(agent) as { seq: number | null };
      return row.seq ?? undefined;
    });
  }

  recordStatusChanges(changes: readonly StatusChange[]): Promise<void> {
    if (changes.length === 0) return Promise.resolve();
    return this.#run(() => {
      const stmt = this.#db.prepare('INSERT INTO status_changes (system, view, status, cause, at) VALUES (?, ?, ?, ?, ?)');
      this.#db.transaction(() => {
        for (const c of changes) stmt.run(c.system, c.view, c.status, JSON.stringify(c.cause), c.at);
      })();
    });
  }

  statusChanges(q: StatusChangeQuery = {}): Promise<StatusChange[]> {
    return this.#run(() => {
      const w = where([
        ['system = ?', q.system],
        ['view = ?', q.view],
        ['at >= ?', q.from],
        ['at < ?', q.to],
      ]);
      const sql = `SELECT system, view, status, cause, at FROM status_changes ${w.sql} ORDER BY at, id LIMIT ?`;
      return (this.#db.prepare(sql).all(...w.params, q.limit ?? -1) as ChangeRow[]).map(fromChangeRow);
    });
  }

  latestStatuses(): Promise<StatusChange[]> {
    return this.#run(() =>
      (
        this.#db
          .prepare(
            // The latest by time, not by insertion: a late result's history is written after.
            `SELECT system, view, status, cause, at FROM status_changes c
             WHERE id = (SELECT id FROM status_changes d WHERE d.system = c.system AND d.view = c.view ORDER BY at DESC, id DESC LIMIT 1)`,
          )
          .all() as ChangeRow[]
      ).map(fromChangeRow),
    );
  }

  replaceStatusChanges(system: string, view: View, from: number, to: number, changes: readonly StatusChange[]): Promise<void> {
    return this.#run(() => {
      const del = this.#db.prepare('DELETE FROM status_changes WHERE system = ? AND view = ? AND at >= ? AND at < ?');
      const ins = this.#db.prepare('INSERT INTO status_changes (system, view, status, cause, at) VALUES (?, ?, ?, ?, ?)');
      this.#db.transaction(() => {
        del.run(system, view, from, to);
        for (const c of changes) if (c.at >= from && c.at < to) ins.run(system, view, c.status, JSON.stringify(c.cause), c.at);
      })();
    });
  }

  statusIntervals(q: IntervalQuery): Promise<StatusInterval[]> {
    return this.#run(() => events.statusIntervals(this.#db, q));
  }

  saveIncidents(changes: readonly IncidentChange[]): Promise<void> {
    if (changes.length === 0) return Promise.resolve();
    return this.#run(() => events.saveIncidents(this.#db, changes));
  }

  incidents(q: IncidentQuery): Promise<Incident[]> {
    return this.#run(() => events.queryIncidents(this.#db, q));
  }

  maxIncidentId(): Promise<number> {
    return this.#run(() => events.maxIncidentId(this.#db));
  }

  addIncidentUpdate(incident: number, update: IncidentUpdate): Promise<boolean> {
    return this.#run(() => announcements.addIncidentUpdate(this.#db, incident, update));
  }

  insertAnnouncement(a: Announcement): Promise<boolean> {
    return this.#run(() => announcements.insertAnnouncement(this.#db, a));
  }

  deleteAnnouncement(id: string): Promise<boolean> {
    return this.#run(() => announcements.deleteAnnouncement(this.#db, id));
  }

  announcements(q: AnnouncementQuery): Promise<Announcement[]> {
    return this.#run(() => announcements.queryAnnouncements(this.#db, q));
  }

  recordAlertEvents(alertEvents: readonly AlertEvent[]): Promise<void> {
    if (alertEvents.length === 0) return Promise.resolve();
    return this.#run(() => events.recordAlertEvents(this.#db, alertEvents));
  }

  insertMaintenance(w: MaintenanceWindow): Promise<boolean> {
    return this.#run(() => events.insertMaintenance(this.#db, w));
  }

  deleteMaintenance(id: string): Promise<boolean> {
    return this.#run(() => events.deleteMaintenance(this.#db, id));
  }

  maintenanceWindows(): Promise<MaintenanceWindow[]> {
    return this.#run(() => events.maintenanceWindows(this.#db));
  }

  alerts(q: AlertQuery): Promise<StoredAlert[]> {
    return this.#run(() => events.queryAlerts(this.#db, q));
  }

  recordAgentsSeen(agents: readonly AgentSeen[]): Promise<void> {
    if (agents.length === 0) return Promise.resolve();
    return this.#run(() => {
      const stmt = this.#db.prepare(
        `INSERT INTO agents (id, last_seen, version, remote_address) VALUES (?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen, version = excluded.version,
           remote_address = excluded.remote_address
         WHERE excluded.last_seen >= agents.last_seen`,
      );
      this.#db.transaction(() => {
        for (const a of agents) stmt.run(a.id, a.last_seen, a.version, a.remote_address);
      })();
    });
  }

  agents(): Promise<AgentSeen[]> {
    return this.#run(
      () => this.#db.prepare('SELECT id, last_seen, version, remote_address FROM agents ORDER BY id').all() as AgentSeen[],
    );
  }

  #serially<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#serial.then(fn, fn);
    this.#serial = next.catch(() => undefined);
    return next;
  }

  pruneResults(before: number): Promise<number> {
    // In steps: a close stops it between them, and the next prune deletes the rest.
    return this.#serially(() => this.#storeErrors(() => this.#rollup.pruneResults(before, () => this.#closing || !this.#db.open)));
  }

  rollupHours(): Promise<number> {
    // A close stops it between steps; the next open redoes what was left.
    return this.#serially(() => this.#storeErrors(() => this.#rollup.run(() => this.#closing || !this.#db.open)));
  }

  /** #run for work done in steps. */
  async #storeErrors<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw err instanceof VagtError ? err : new VagtError('VAGT_ERR_STORE', `database error: ${errorMessage(err)}`, { cause: err });
    }
  }

  hourlyAggregates(q: AggregateQuery): Promise<HourAggregate[]> {
    return this.#run(() => this.#rollup.query(q));
  }

  pruneAggregates(before: number): Promise<number> {
    return this.#serially(() => this.#storeErrors(() => this.#rollup.prune(before, () => this.#closing || !this.#db.open)));
  }

  pruneStatusHistory(before: number): Promise<HistoryPruned> {
    return this.#run(() => events.pruneStatusHistory(this.#db, before));
  }

  saveSubscription(s: Subscription): Promise<void> {
    return this.#run(() => subscriptions.saveSubscription(this.#db, s));
  }

  subscriptions(q: SubscriptionQuery = {}): Promise<Subscription[]> {
    return this.#run(() => subscriptions.querySubscriptions(this.#db, q));
  }

  deleteSubscription(id: string): Promise<boolean> {
    return this.#run(() => subscriptions.deleteSubscription(this.#db, id));
  }

  prunePendingSubscriptions(before: number): Promise<number> {
    return this.#run(() => subscriptions.prunePendingSubscriptions(this.#db, before));
  }

  enqueueDeliveries(rows: readonly NewDelivery[]): Promise<boolean[]> {
    if (rows.length === 0) return Promise.resolve([]);
    return this.#run(() => outbox.enqueueDeliveries(this.#db, rows));
  }

  deliveries(q: DeliveryQuery): Promise<Delivery[]> {
    return this.#run(() => outbox.queryDeliveries(this.#db, q));
  }

  updateDelivery(eventId: string, channel: string, u: DeliveryUpdate): Promise<boolean> {
    return this.#run(() => outbox.updateDelivery(this.#db, eventId, channel, u));
  }

  deferDeliveries(channel: string, until: number): Promise<number> {
    return this.#run(() => outbox.deferDeliveries(this.#db, channel, until));
  }

  deliveryBacklog(): Promise<ChannelBacklog[]> {
    return this.#run(() => outbox.deliveryBacklog(this.#db));
  }

  pruneDeliveries(before: number): Promise<number> {
    return this.#run(() => outbox.pruneDeliveries(this.#db, before));
  }

  async close(): Promise<void> {
    this.#closing = true;
    await this.#serial;
    if (!this.#db.open) return;
    return this.#run(() => {
      try {
        this.#db.pragma('optimize');
      } finally {
        this.#db.close();
      }
    });
  }
}
