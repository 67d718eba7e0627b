import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../collector/store/sqlite.js';
import { SCHEMA_VERSION } from '../../collector/store/sqlite-schema.js';
import { storeSuite } from './store-suite.js';

storeSuite('sqlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vagt-store-'));
  const path = join(dir, 'sub', 'vagt.db');
  return {
    open: () => SqliteStore.open(path),
    reopen: async (s) => {
      await s.close();
      return SqliteStore.open(path);
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe('SqliteStore specifics', () => {
  it('uses WAL, synchronous=NORMAL and records its schema version', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vagt-store-'));
    try {
      const path = join(dir, 'vagt.db');
      const store = SqliteStore.open(path);
      await store.close();
      const db = new Database(path, { readonly: true });
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('offers the status timeline as intervals in a view, for reading the file directly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vagt-store-'));
    try {
      const path = join(dir, 'vagt.db');
      const store = SqliteStore.open(path);
      await store.recordStatusChanges([
        { system: 'mitid', view: 'own', status: 'operational', cause: [], at: 1_000 },
        { system: 'mitid', view: 'own', status: 'major_outage', cause: [], at: 5_000 },
        { system: 'virk', view: 'perceived', status: 'major_outage', cause: ['mitid'], at: 5_000 },
      ]);
      await store.close();
      const db = new Database(path, { readonly: true });
      expect(db.prepare('SELECT * FROM status_intervals ORDER BY system, "from"').all()).toEqual([
        { system: 'mitid', view: 'own', status: 'operational', cause: '[]', from: 1_000, to: 5_000 },
        { system: 'mitid', view: 'own', status: 'major_outage', cause: '[]', from: 5_000, to: null },
        { system: 'virk', view: 'perceived', status: 'major_outage', cause: '["mitid"]', from: 5_000, to: null },
      ]);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a database from a newer vagt with a clear error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vagt-store-'));
    try {
      const path = join(dir, 'vagt.db');
      const db = new Database(path);
      db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
      db.close();
      expect(() => SqliteStore.open(path)).toThrow(/schema version .* newer than this vagt/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives a clear error when the file cannot be opened', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vagt-store-'));
    try {
      // A directory where the file should be.
      expect(() => SqliteStore.open(dir)).toThrow(/cannot open the database/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
