// What operators tell users, in SQLite: their updates to incidents (a row of incident_updates, and
// the operator's state and texts in incident_update_operator) and announcements of releases and
// interface changes.
import type Database from 'better-sqlite3';
import { where } from './sqlite-where.js';
import type { IncidentUpdate } from '../status/incidents.js';
import type { Localized } from '../status/maintenance.js';
import type { Announcement, AnnouncementKind, AnnouncementQuery } from './types.js';

/**
 * Migration: operators' incident updates (their state and texts, beside the update's row in
 * incident_updates) and announcements. IF NOT EXISTS: a step may run again over tables that
 * exist (a database put back to an earlier version by hand).
 */
export const OPERATOR_MIGRATION = `
  CREATE TABLE IF NOT EXISTS incident_update_operator (
    update_id INTEGER PRIMARY KEY,
    status TEXT NOT NULL,
    message TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS announcements (
    id TEXT PRIMARY KEY,
    systems TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    at INTEGER NOT NULL,
    link TEXT,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS announcements_at ON announcements (at);
`;

/** Stores the operator's part of an update whose row in incident_updates has id `updateId`. */
export function saveOperatorPart(db: Database.Database, updateId: number | bigint, u: IncidentUpdate): void {
  if (u.operator === undefined) return;
  db.prepare('INSERT OR REPLACE INTO incident_update_operator (update_id, status, message) VALUES (?, ?, ?)').run(
    updateId,
    u.operator.status,
    JSON.stringify(u.operator.message),
  );
}

/** False when there is no such incident. */
export function addIncidentUpdate(db: Database.Database, incident: number, u: IncidentUpdate): boolean {
  return db.transaction(() => {
    if (db.prepare('SELECT 1 FROM incidents WHERE id = ?').get(incident) === undefined) return false;
    const r = db
      .prepare('INSERT INTO incident_updates (incident, at, kind, status, priority, affected, message) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(incident, u.at, u.kind, u.status, u.priority, JSON.stringify(u.affected), u.message);
    saveOperatorPart(db, r.lastInsertRowid, u);
    return true;
  })();
}

interface AnnouncementRow {
  id: string;
  systems: string;
  kind: string;
  title: string;
  body: string;
  at: number;
  link: string | null;
  created_at: number;
}

/** False when the id is taken. */
export function insertAnnouncement(db: Database.Database, a: Announcement): boolean {
  const r = db
    .prepare('INSERT OR IGNORE INTO announcements (id, systems, kind, title, body, at, link, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
    .run(a.id, JSON.stringify(a.systems), a.kind, JSON.stringify(a.title), JSON.stringify(a.body), a.at, a.link ?? null, a.created_at);
  return r.changes === 1;
}

export function deleteAnnouncement(db: Database.Database, id: string): boolean {
  return db.prepare('DELETE FROM announcements WHERE id = ?').run(id).changes === 1;
}

export function queryAnnouncements(db: Database.Database, q: AnnouncementQuery): Announcement[] {
  const w = where([
    ['id = ?', q.id],
    ['EXISTS (SELECT 1 FROM json_each(systems) WHERE value = ?)', q.system],
    ['at >= ?', q.from],
    ['at < ?', q.to],
  ]);
  const rows = db
    .prepare(`SELECT * FROM announcements ${w.sql} ORDER BY at DESC, created_at DESC, id LIMIT ?`)
    .all(...w.params, q.limit) as AnnouncementRow[];
  return rows.map((r) => {
    const a: Announcement = {
      id: r.id,
      systems: JSON.parse(r.systems) as string[],
      kind: r.kind as AnnouncementKind,
      title: JSON.parse(r.title) as Localized,
      body: JSON.parse(r.body) as Localized,
      at: r.at,
      created_at: r.created_at,
    };
    if (r.link !== null) a.link = r.link;
    return a;
  });
}
