// The notification outbox in SQLite: queries on notify_deliveries (the table is in
// sqlite-notify.ts). A row is written before the first attempt and kept after the last, so the
// primary key (event_id, channel) is what makes a delivery happen at most once per channel.
import type Database from 'better-sqlite3';
import { where } from './sqlite-where.js';
import type { NotifyEvent } from '../notify/types.js';
import type { ChannelBacklog, Delivery, DeliveryQuery, DeliveryState, DeliveryUpdate, NewDelivery } from './types.js';

interface DeliveryRow {
  event_id: string;
  channel: string;
  event: string;
  state: string;
  attempts: number;
  next_at: number;
  created_at: number;
  sent_at: number | null;
  last_error: string | null;
}

const fromRow = (r: DeliveryRow): Delivery => ({
  event_id: r.event_id,
  channel: r.channel,
  event: JSON.parse(r.event) as NotifyEvent,
  state: r.state as DeliveryState,
  attempts: r.attempts,
  next_at: r.next_at,
  created_at: r.created_at,
  sent_at: r.sent_at,
  last_error: r.last_error,
});

export function enqueueDeliveries(db: Database.Database, rows: readonly NewDelivery[]): boolean[] {
  const stmt = db.prepare(
    `INSERT OR IGNORE INTO notify_deliveries (event_id, channel, event, state, attempts, next_at, created_at)
     VALUES (?, ?, ?, 'pending', 0, ?, ?)`,
  );
  return db.transaction(() => rows.map((r) => stmt.run(r.event.id, r.channel, JSON.stringify(r.event), r.next_at, r.created_at).changes === 1))();
}

export function queryDeliveries(db: Database.Database, q: DeliveryQuery): Delivery[] {
  const w = where([
    ['state = ?', q.state],
    ['channel = ?', q.channel],
    ['event_id = ?', q.event_id],
    ['next_at <= ?', q.due],
  ]);
  const sql = `SELECT * FROM notify_deliveries ${w.sql}
    ORDER BY next_at, created_at, event_id, channel LIMIT ?`;
  return (db.prepare(sql).all(...w.params, q.limit) as DeliveryRow[]).map(fromRow);
}

export function updateDelivery(db: Database.Database, eventId: string, channel: string, u: DeliveryUpdate): boolean {
  const sets: string[] = [];
  const params: (string | number | null)[] = [];
  const set = (col: string, v: string | number | null): void => {
    sets.push(`${col} = ?`);
    params.push(v);
  };
  if (u.state !== undefined) set('state', u.state);
  if (u.attempts !== undefined) set('attempts', u.attempts);
  if (u.next_at !== undefined) set('next_at', u.next_at);
  if (u.sent_at !== undefined) set('sent_at', u.sent_at);
  if (u.last_error !== undefined) set('last_error', u.last_error);
  if (u.event !== undefined) set('event', JSON.stringify(u.event));
  if (sets.length === 0) return db.prepare("SELECT 1 FROM notify_deliveries WHERE event_id = ? AND channel = ? AND state = 'pending'").get(eventId, channel) !== undefined;
  params.push(eventId, channel);
  return db.prepare(`UPDATE notify_deliveries SET ${sets.join(', ')} WHERE event_id = ? AND channel = ? AND state = 'pending'`).run(...params).changes === 1;
}

export function deferDeliveries(db: Database.Database, channel: string, until: number): number {
  return db.prepare("UPDATE notify_deliveries SET next_at = ? WHERE channel = ? AND state = 'pending' AND next_at < ?").run(until, channel, until).changes;
}

export function deliveryBacklog(db: Database.Database): ChannelBacklog[] {
  return db
    .prepare("SELECT channel, COUNT(*) AS pending, MIN(next_at) AS next_at FROM notify_deliveries WHERE state = 'pending' GROUP BY channel ORDER BY channel")
    .all() as ChannelBacklog[];
}

export function pruneDeliveries(db: Database.Database, before: number): number {
  return db
    .prepare(
      `DELETE FROM notify_deliveries WHERE state != 'pending' AND next_at < ?
         AND COALESCE(json_extract(event, '$.maintenance.end'), 0) < ?`,
    )
    .run(before, before).changes;
}
