// Tables of notifications (issue 8): the delivery outbox and e-mail subscriptions. The queries
// live beside them: sqlite-outbox.ts and sqlite-subscriptions.ts.

export const NOTIFY_MIGRATION = `
  -- One row per (event, channel): queued before the first attempt, kept after success so that the
  -- same event is never sent to that channel again.
  CREATE TABLE IF NOT EXISTS notify_deliveries (
    event_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    event TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    sent_at INTEGER,
    last_error TEXT,
    PRIMARY KEY (event_id, channel)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS notify_deliveries_due ON notify_deliveries (state, next_at);
  -- People who subscribed by e-mail; the links carry a token, the table only its SHA-256.
  CREATE TABLE IF NOT EXISTS subscriptions (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    systems TEXT NOT NULL,
    events TEXT,
    lang TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    confirmed_at INTEGER
  ) WITHOUT ROWID;
  CREATE UNIQUE INDEX IF NOT EXISTS subscriptions_email ON subscriptions (email);
`;
