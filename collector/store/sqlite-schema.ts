// Schema migrations, tracked in PRAGMA user_version. Append a step for every change; never edit
// a released one.
import type Database from 'better-sqlite3';
import { VagtError } from '../../lib/errors.js';
import { EVENTS_MIGRATION, INTERVALS_MIGRATION, MAINTENANCE_MIGRATION } from './sqlite-events.js';
import { OPERATOR_MIGRATION } from './sqlite-announcements.js';
import { NOTIFY_MIGRATION } from './sqlite-notify.js';
import { ROLLUP_MIGRATION } from './sqlite-rollup.js';

const MIGRATIONS: readonly string[] = [
  // 1: results (phases as columns: cheaper to write than JSON and queryable for percentiles),
  // the latest result per (system, probe, agent) for warm starts, status changes, agents seen.
  `
  CREATE TABLE results (
    id INTEGER PRIMARY KEY,
    agent TEXT NOT NULL,
    seq INTEGER NOT NULL,
    system TEXT NOT NULL,
    probe TEXT NOT NULL,
    ts INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    duration_ms REAL NOT NULL,
    status_code INTEGER,
    error_code TEXT,
    error_message TEXT,
    tls_expiry REAL,
    dns_ms REAL,
    connect_ms REAL,
    tls_ms REAL,
    ttfb_ms REAL,
    transfer_ms REAL,
    detail TEXT,
    received_at INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX results_agent_seq ON results (agent, seq);
  CREATE INDEX results_system_probe_ts ON results (system, probe, ts);
  CREATE INDEX results_ts ON results (ts);
  CREATE TABLE latest (
    system TEXT NOT NULL,
    probe TEXT NOT NULL,
    agent TEXT NOT NULL,
    ts INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (system, probe, agent)
  ) WITHOUT ROWID;
  CREATE TABLE status_changes (
    id INTEGER PRIMARY KEY,
    system TEXT NOT NULL,
    view TEXT NOT NULL,
    status TEXT NOT NULL,
    cause TEXT NOT NULL,
    at INTEGER NOT NULL
  );
  CREATE INDEX status_changes_system_view_at ON status_changes (system, view, at);
  CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    last_seen INTEGER NOT NULL,
    version TEXT,
    remote_address TEXT
  ) WITHOUT ROWID;
  `,
  // 2: incidents with their updates, and alerts (sqlite-events.ts).
  EVENTS_MIGRATION,
  // 3: service windows announced over the API.
  MAINTENANCE_MIGRATION,
  // 4: a view of the status timeline as intervals (from, to, status, cause).
  INTERVALS_MIGRATION,
  // 5: hourly aggregates per (system, probe, agent), kept after the raw results are pruned, and
  // the roll-up's watermark (sqlite-rollup.ts).
  ROLLUP_MIGRATION,
  // 6: operators' updates to incidents (an `operator` column of incident_updates) and
  // announcements of releases and interface changes (sqlite-announcements.ts).
  OPERATOR_MIGRATION,
  // 7: the notifications' delivery outbox and e-mail subscriptions (sqlite-notify.ts).
  NOTIFY_MIGRATION,
  // 8: the (system, probe, ts) index also holds ok, duration_ms and agent, so that a probe's
  // response-time chart (chartDurations) reads the index alone instead of a table page per result:
  // ~20 bytes more per result (35 -> 55 in bench/storage.ts), 4 times faster for a day of one probe
  // (docs/PERFORMANCE.md). Same name and leading columns, so every query that used it still does.
  `
  DROP INDEX results_system_probe_ts;
  CREATE INDEX results_system_probe_ts ON results (system, probe, ts, ok, duration_ms, agent);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION)
    throw new VagtError(
      'VAGT_ERR_STORE',
      `the database has schema version ${current}, newer than this vagt understands (${SCHEMA_VERSION}); upgrade vagt`,
    );
  for (let v = current; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] ?? '');
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
