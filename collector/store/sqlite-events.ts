// What the status engine records besides results, in SQLite: incidents with their updates,
// alerts, and the status timeline read back as intervals. Kept apart from sqlite.ts, whose hot
// path is ingest.
import type Database from 'better-sqlite3';
import type { Alert, AlertEvent, AlertKind } from '../status/alerts.js';
import type { Localized, MaintenanceWindow } from '../status/maintenance.js';
import type { Incident, IncidentChange, IncidentUpdate, IncidentUpdateKind, OperatorStatus, Priority } from '../status/incidents.js';
import type { Status, View } from '../status/types.js';
import { saveOperatorPart } from './sqlite-announcements.js';
import {
  toIntervals,
  type AlertQuery,
  type HistoryPruned,
  type IncidentQuery,
  type IntervalQuery,
  type StatusChange,
  type StatusInterval,
  type StoredAlert,
} from './types.js';

/** Migration: incidents, their updates, alerts. */
export const EVENTS_MIGRATION = `
  CREATE TABLE incidents (
    id INTEGER PRIMARY KEY,
    system TEXT NOT NULL,
    status TEXT NOT NULL,
    priority INTEGER NOT NULL,
    peak_priority INTEGER NOT NULL,
    affected TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    resolved_at INTEGER
  );
  CREATE INDEX incidents_started_at ON incidents (started_at);
  CREATE INDEX incidents_open ON incidents (resolved_at) WHERE resolved_at IS NULL;
  CREATE TABLE incident_updates (
    id INTEGER PRIMARY KEY,
    incident INTEGER NOT NULL REFERENCES incidents (id),
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    priority INTEGER NOT NULL,
    affected TEXT NOT NULL,
    message TEXT NOT NULL
  );
  CREATE INDEX incident_updates_incident ON incident_updates (incident, id);
  CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    system TEXT,
    probe TEXT,
    agent TEXT,
    started_at INTEGER NOT NULL,
    resolved_at INTEGER,
    detail TEXT NOT NULL
  );
  CREATE INDEX alerts_key_open ON alerts (key) WHERE resolved_at IS NULL;
  CREATE INDEX alerts_started_at ON alerts (started_at);
`;

/** Migration: service windows announced over the API (the configuration's live in the file). */
export const MAINTENANCE_MIGRATION = `
  CREATE TABLE maintenance (
    id TEXT PRIMARY KEY,
    systems TEXT NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
`;

/**
 * Migration: the status timeline as intervals, for anyone reading the database directly (the
 * collector computes the same in statusIntervals, with clipping to a range).
 */
export const INTERVALS_MIGRATION = `
  CREATE VIEW status_intervals AS
  SELECT system, view, status, cause, at AS "from",
         LEAD(at) OVER (PARTITION BY system, view ORDER BY at, id) AS "to"
  FROM status_changes;
`;

interface MaintenanceRow {
  id: string;
  systems: string;
  start: number;
  end: number;
  title: string;
  description: string | null;
  created_at: number;
}

/** False when the id is taken. */
export function insertMaintenance(db: Database.Database, w: MaintenanceWindow): boolean {
  const r = db
    .prepare('INSERT OR IGNORE INTO maintenance (id, systems, start, end, title, description, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
    .run(w.id, JSON.stringify(w.systems), w.start, w.end, JSON.stringify(w.title), w.description === undefined ? null : JSON.stringify(w.description), w.created_at);
  return r.changes === 1;
}

export function deleteMaintenance(db: Database.Database, id: string): boolean {
  return db.prepare('DELETE FROM maintenance WHERE id = ?').run(id).changes === 1;
}

export function maintenanceWindows(db: Database.Database): MaintenanceWindow[] {
  return (db.prepare('SELECT * FROM maintenance ORDER BY start, id').all() as MaintenanceRow[]).map((r) => {
    const w: MaintenanceWindow = {
      id: r.id,
      systems: JSON.parse(r.systems) as string[],
      start: r.start,
      end: r.end,
      title: JSON.parse(r.title) as Localized,
      source: 'api',
      created_at: r.created_at,
    };
    if (r.description !== null) w.description = JSON.parse(r.description) as Localized;
    return w;
  });
}

interface IncidentRow {
  id: number;
  system: string;
  status: string;
  priority: number;
  peak_priority: number;
  affected: string;
  started_at: number;
  resolved_at: number | null;
}

interface UpdateRow {
  incident: number;
  at: number;
  kind: string;
  status: string;
  priority: number;
  affected: string;
  message: string;
  operator_status: string | null;
  operator_message: string | null;
}

interface AlertRow {
  key: string;
  kind: string;
  system: string | null;
  probe: string | null;
  agent: string | null;
  started_at: number;
  resolved_at: number | null;
  detail: string;
}

export function saveIncidents(db: Database.Database, changes: readonly IncidentChange[]): void {
  const upsert = db.prepare(
    `INSERT INTO incidents (id, system, status, priority, peak_priority, affected, started_at, resolved_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET status = excluded.status, priority = excluded.priority,
       peak_priority = excluded.peak_priority, affected = excluded.affected, resolved_at = excluded.resolved_at`,
  );
  const add = db.prepare('INSERT INTO incident_updates (incident, at, kind, status, priority, affected, message) VALUES (?, ?, ?, ?, ?, ?, ?)');
  db.transaction(() => {
    for (const { incident: i, added } of changes) {
      upsert.run(i.id, i.system, i.status, i.priority, i.peak_priority, JSON.stringify(i.affected), i.started_at, i.resolved_at);
      for (const u of added) saveOperatorPart(db, add.run(i.id, u.at, u.kind, u.status, u.priority, JSON.stringify(u.affected), u.message).lastInsertRowid, u);
    }
  })();
}

export function queryIncidents(db: Database.Database, q: IncidentQuery): Incident[] {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (q.id !== undefined) {
    where.push('id = ?');
    params.push(q.id);
  }
  if (q.state === 'open') where.push('resolved_at IS NULL');
  if (q.state === 'resolved') where.push('resolved_at IS NOT NULL');
  if (q.system !== undefined) {
    where.push('(system = ? OR EXISTS (SELECT 1 FROM json_each(affected) WHERE value = ?))');
    params.push(q.system, q.system);
  }
  if (q.from !== undefined) {
    where.push('(resolved_at IS NULL OR resolved_at > ?)');
    params.push(q.from);
  }
  if (q.to !== undefined) {
    where.push('started_at < ?');
    params.push(q.to);
  }
  params.push(q.limit);
  const rows = db
    .prepare(`SELECT * FROM incidents ${where.length > 0 ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY started_at DESC, id DESC LIMIT ?`)
    .all(...params) as IncidentRow[];
  if (rows.length === 0) return [];
  const updates = new Map<number, IncidentUpdate[]>();
  const ids = rows.map((r) => r.id);
  const urows = db
    .prepare(
      `SELECT u.incident, u.at, u.kind, u.status, u.priority, u.affected, u.message, o.status AS operator_status, o.message AS operator_message
       FROM incident_updates u LEFT JOIN incident_update_operator o ON o.update_id = u.id
       WHERE u.incident IN (${ids.map(() => '?').join(',')}) ORDER BY u.id`,
    )
    .all(...ids) as UpdateRow[];
  for (const u of urows) {
    const list = updates.get(u.incident) ?? [];
    const update: IncidentUpdate = {
      at: u.at,
      kind: u.kind as IncidentUpdateKind,
      status: u.status as Status,
      priority: u.priority as Priority,
      affected: JSON.parse(u.affected) as string[],
      message: u.message,
    };
    if (u.operator_status !== null && u.operator_message !== null)
      update.operator = { status: u.operator_status as OperatorStatus, message: JSON.parse(u.operator_message) as Localized };
    list.push(update);
    updates.set(u.incident, list);
  }
  return rows.map((r) => ({
    id: r.id,
    system: r.system,
    status: r.status as Status,
    priority: r.priority as Priority,
    peak_priority: r.peak_priority as Priority,
    affected: JSON.parse(r.affected) as string[],
    started_at: r.started_at,
    resolved_at: r.resolved_at,
    updates: updates.get(r.id) ?? [],
  }));
}

export function maxIncidentId(db: Database.Database): number {
  return (db.prepare('SELECT MAX(id) AS id FROM incidents').get() as { id: number | null }).id ?? 0;
}

/** The figures of an alert that have no column of their own. */
function detailOf(a: Alert): string {
  const { key: _k, kind: _t, system: _s, probe: _p, agent: _a, since: _since, ...rest } = a;
  return JSON.stringify(rest);
}

export function recordAlertEvents(db: Database.Database, events: readonly AlertEvent[]): void {
  const open = db.prepare('INSERT INTO alerts (key, kind, system, probe, agent, started_at, resolved_at, detail) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)');
  const close = db.prepare('UPDATE alerts SET resolved_at = ?, detail = ? WHERE key = ? AND resolved_at IS NULL');
  db.transaction(() => {
    for (const e of events) {
      const a = e.alert;
      if (e.type === 'raised') open.run(a.key, a.kind, a.system ?? null, a.probe ?? null, a.agent ?? null, a.since, detailOf(a));
      else close.run(e.at, detailOf(a), a.key);
    }
  })();
}

export function queryAlerts(db: Database.Database, q: AlertQuery): StoredAlert[] {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (q.active === true) where.push('resolved_at IS NULL');
  if (q.active === false) where.push('resolved_at IS NOT NULL');
  if (q.system !== undefined) {
    where.push('system = ?');
    params.push(q.system);
  }
  params.push(q.limit);
  const rows = db
    .prepare(`SELECT key, kind, system, probe, agent, started_at, resolved_at, detail FROM alerts ${where.length > 0 ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY started_at DESC, id DESC LIMIT ?`)
    .all(...params) as AlertRow[];
  return rows.map((r) => {
    const a: StoredAlert = { ...(JSON.parse(r.detail) as Partial<Alert>), key: r.key, kind: r.kind as AlertKind, since: r.started_at, resolved_at: r.resolved_at };
    if (r.system !== null) a.system = r.system;
    if (r.probe !== null) a.probe = r.probe;
    if (r.agent !== null) a.agent = r.agent;
    return a;
  });
}

interface ChangeRow {
  system: string;
  view: string;
  status: string;
  cause: string;
  at: number;
}

export function statusIntervals(db: Database.Database, q: IntervalQuery): StatusInterval[] {
  const cols = 'system, view, status, cause, at';
  // The stretch in force at `from` started with the last change at or before it.
  const before = db
    .prepare(`SELECT ${cols} FROM status_changes WHERE system = ? AND view = ? AND at <= ? ORDER BY at DESC, id DESC LIMIT 1`)
    .all(q.system, q.view, q.from) as ChangeRow[];
  const after = db
    .prepare(`SELECT ${cols} FROM status_changes WHERE system = ? AND view = ? AND at > ? AND at < ? ORDER BY at, id`)
    .all(q.system, q.view, q.from, q.to ?? Number.MAX_SAFE_INTEGER) as ChangeRow[];
  const changes: StatusChange[] = [...before, ...after].map((r) => ({
    system: r.system,
    view: r.view as View,
    status: r.status as Status,
    cause: JSON.parse(r.cause) as string[],
    at: r.at,
  }));
  return toIntervals(changes, q.from, q.to);
}

/** Deletes history from before `before`; see Store.pruneStatusHistory. One transaction. */
export function pruneStatusHistory(db: Database.Database, before: number): HistoryPruned {
  // Per (system, view), the last change at or before the cutoff stays: the timeline from the
  // cutoff on still starts with the status then in force.
  const changes = db.prepare(
    `DELETE FROM status_changes WHERE id IN (
       SELECT id FROM (
         SELECT id, at, ROW_NUMBER() OVER (PARTITION BY system, view ORDER BY at DESC, id DESC) AS newest
         FROM status_changes WHERE at <= ?)
       WHERE newest > 1 AND at < ?)`,
  );
  // The incident with the highest id stays, resolved or not: maxIncidentId must not go down.
  const old = 'SELECT id FROM incidents WHERE resolved_at < ? AND id < (SELECT MAX(id) FROM incidents)';
  const operator = db.prepare(`DELETE FROM incident_update_operator WHERE update_id IN (SELECT id FROM incident_updates WHERE incident IN (${old}))`);
  const updates = db.prepare(`DELETE FROM incident_updates WHERE incident IN (${old})`);
  const incidents = db.prepare(`DELETE FROM incidents WHERE id IN (${old})`);
  const alerts = db.prepare('DELETE FROM alerts WHERE resolved_at < ?');
  return db.transaction(() => {
    const status_changes = changes.run(before, before).changes;
    operator.run(before);
    updates.run(before);
    return { status_changes, incidents: incidents.run(before).changes, alerts: alerts.run(before).changes };
  })();
}
