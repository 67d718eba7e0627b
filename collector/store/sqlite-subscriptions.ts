// E-mail subscriptions in SQLite (the table is created by migration 7, sqlite-notify.ts). One row
// per address: the unique index on email makes a second subscription of the same address replace
// the first, as the memory store does.
import type Database from 'better-sqlite3';
import { where } from './sqlite-where.js';
import type { Subscription, SubscriptionQuery, SubscriptionState } from './types.js';

interface SubscriptionRow {
  id: string;
  email: string;
  systems: string;
  events: string | null;
  lang: string;
  token_sha256: string;
  state: string;
  created_at: number;
  confirmed_at: number | null;
}

function fromRow(r: SubscriptionRow): Subscription {
  return {
    id: r.id,
    email: r.email,
    // "null": every system, also those configured later.
    systems: JSON.parse(r.systems) as string[] | null,
    events: r.events === null ? null : (JSON.parse(r.events) as Subscription['events']),
    lang: r.lang === 'en' ? 'en' : 'da',
    token_sha256: r.token_sha256,
    state: r.state as SubscriptionState,
    created_at: r.created_at,
    confirmed_at: r.confirmed_at,
  };
}

/** Stores by id; a row with the same id, e-mail address or token hash is replaced. */
export function saveSubscription(db: Database.Database, s: Subscription): void {
  db.prepare(
    `INSERT OR REPLACE INTO subscriptions (id, email, systems, events, lang, token_sha256, state, created_at, confirmed_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    s.id,
    s.email,
    JSON.stringify(s.systems),
    s.events === null ? null : JSON.stringify(s.events),
    s.lang,
    s.token_sha256,
    s.state,
    s.created_at,
    s.confirmed_at,
  );
}

export function querySubscriptions(db: Database.Database, q: SubscriptionQuery = {}): Subscription[] {
  const w = where([
    ['id = ?', q.id],
    ['email = ?', q.email],
    ['token_sha256 = ?', q.token_sha256],
    ['state = ?', q.state],
  ]);
  const sql = `SELECT * FROM subscriptions ${w.sql} ORDER BY created_at, id`;
  return (db.prepare(sql).all(...w.params) as SubscriptionRow[]).map(fromRow);
}

export function deleteSubscription(db: Database.Database, id: string): boolean {
  return db.prepare('DELETE FROM subscriptions WHERE id = ?').run(id).changes === 1;
}

export function prunePendingSubscriptions(db: Database.Database, before: number): number {
  return db.prepare("DELETE FROM subscriptions WHERE state = 'pending' AND created_at < ?").run(before).changes;
}
