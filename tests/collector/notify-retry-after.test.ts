// Retry-After: a real local HTTP receiver answers 429 or 503 with Retry-After (seconds or an
// HTTP-date), and the outbox (SQLite in a temp dir, injected clock) tries again at that time,
// bounded: no sooner than the first backoff, at most an hour ahead, never past the give-up deadline.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Model } from '../../collector/model.js';
import { DEFAULT_OUTBOX, Outbox, RetryLaterError, nextAttempt, type OutboxTuning } from '../../collector/notify/outbox.js';
import type { NotifyEvent } from '../../collector/notify/types.js';
import { httpChannel, retryAfterAt } from '../../collector/notify/webhook.js';
import { SqliteStore } from '../../collector/store/sqlite.js';
import { configSchema } from '../../config/schema.js';
import { ManualClock } from '../../lib/clock.js';
import { silent, testConfig } from './helpers.js';

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);
const MIN = 60_000;

const event: NotifyEvent = {
  id: `outage:mitid:${T0}`,
  kind: 'outage',
  at: T0,
  systems: [{ id: 'mitid', name: 'MitID', status: 'major_outage', own_status: 'major_outage', cause: [], since: T0, url: 'https://status.example.dk/systems/mitid' }],
  cause: [],
  links: { status_page: 'https://status.example.dk/' },
};

/** Answers each request with the next of `answers` (then 200), and counts them. */
class Receiver {
  answers: { status: number; retryAfter?: string }[] = [];
  requests = 0;
  #server: Server | undefined;
  url = '';

  async up(): Promise<void> {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        this.requests++;
        const a = this.answers.shift() ?? { status: 200 };
        res.writeHead(a.status, a.retryAfter === undefined ? {} : { 'retry-after': a.retryAfter }).end(a.status === 200 ? 'ok' : 'slow down');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    this.#server = server;
  }

  async down(): Promise<void> {
    const s = this.#server;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}

const receiver = new Receiver();
const dirs: string[] = [];
const stores: SqliteStore[] = [];

beforeAll(() => receiver.up());
afterAll(() => receiver.down());
afterEach(async () => {
  receiver.answers = [];
  receiver.requests = 0;
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(type: 'webhook' | 'slack', tuning: Partial<OutboxTuning> = {}) {
  const clock = new ManualClock(T0);
  const dir = mkdtempSync(join(tmpdir(), 'vagt-retry-after-'));
  dirs.push(dir);
  const store = SqliteStore.open(join(dir, 'vagt.db'));
  stores.push(store);
  const model = new Model(testConfig(dir), { localAgent: false });
  const n = configSchema.parse({ collector: {}, notifications: [{ id: 'hook', type, url: receiver.url }] }).notifications[0]!;
  const channel = httpChannel(n, { model: () => model, store, log: silent, clock, baseUrl: () => 'https://status.example.dk' })!;
  const outbox = new Outbox({ store, clock, log: silent, channels: () => ({ channels: [channel], gone: () => false }), random: () => 0.5, tuning });
  const round = async (): Promise<void> => {
    await outbox.round();
    await outbox.idle();
  };
  const row = async () => (await store.deliveries({ limit: 1 }))[0]!;
  return { clock, outbox, round, row };
}

describe('Retry-After from a webhook receiver', () => {
  it('429 with Retry-After: 7 — no attempt before 7 s, the next one after', async () => {
    receiver.answers = [{ status: 429, retryAfter: '7' }];
    const { clock, outbox, round, row } = setup('webhook');
    await outbox.enqueue(event);
    await round();
    expect(receiver.requests).toBe(1);
    expect(await row()).toMatchObject({ state: 'pending', attempts: 1, next_at: T0 + 7000, last_error: 'status 429: slow down' });
    // The plain backoff would have tried after 1 s.
    clock.set(T0 + 1000);
    await round();
    clock.set(T0 + 6999);
    await round();
    expect(receiver.requests).toBe(1);
    clock.set(T0 + 7000);
    await round();
    expect(receiver.requests).toBe(2);
    expect(await row()).toMatchObject({ state: 'sent', attempts: 2, sent_at: T0 + 7000 });
  });

  it('takes an HTTP-date, by the injected clock; also from a 503 to a Slack hook', async () => {
    receiver.answers = [{ status: 503, retryAfter: new Date(T0 + 90_000).toUTCString() }];
    const { clock, outbox, round, row } = setup('slack');
    await outbox.enqueue(event);
    await round();
    expect((await row()).next_at).toBe(T0 + 90_000);
    clock.set(T0 + 89_999);
    await round();
    expect(receiver.requests).toBe(1);
    clock.set(T0 + 90_000);
    await round();
    expect(await row()).toMatchObject({ state: 'sent', attempts: 2 });
  });

  it('caps an absurd value at an hour, and at the give-up deadline; a past or zero one at the first backoff', async () => {
    receiver.answers = [{ status: 429, retryAfter: '99999999' }];
    const a = setup('webhook');
    await a.outbox.enqueue(event);
    await a.round();
    expect((await a.row()).next_at).toBe(T0 + 60 * MIN);

    receiver.answers = [{ status: 429, retryAfter: '3600' }, { status: 429, retryAfter: '3600' }];
    const b = setup('webhook', { giveUpMs: 10 * MIN });
    await b.outbox.enqueue(event);
    await b.round();
    // The last attempt comes at the deadline, not after it; failing there, the message is dropped.
    expect((await b.row()).next_at).toBe(T0 + 10 * MIN);
    b.clock.set(T0 + 10 * MIN);
    await b.round();
    expect(await b.row()).toMatchObject({ state: 'dropped', attempts: 2 });

    receiver.answers = [{ status: 429, retryAfter: '0' }, { status: 503, retryAfter: new Date(T0 - 60_000).toUTCString() }];
    const c = setup('webhook');
    await c.outbox.enqueue(event);
    await c.round();
    expect((await c.row()).next_at).toBe(T0 + DEFAULT_OUTBOX.baseMs);
    c.clock.set(T0 + 1000);
    await c.round();
    expect((await c.row()).next_at).toBe(T0 + 2000);
  });

  it('ignores Retry-After on other statuses and an unreadable one: the plain backoff', async () => {
    receiver.answers = [{ status: 500, retryAfter: '30' }, { status: 429, retryAfter: 'soon' }];
    const { clock, outbox, round, row } = setup('webhook');
    await outbox.enqueue(event);
    await round();
    expect((await row()).next_at).toBe(T0 + 1000);
    clock.set(T0 + 1000);
    await round();
    expect((await row()).next_at).toBe(T0 + 1000 + 2000);
  });
});

describe('reading Retry-After and bounding it', () => {
  it('parses seconds and HTTP-dates, nothing else', () => {
    expect(retryAfterAt('7', T0)).toBe(T0 + 7000);
    expect(retryAfterAt(' 120 ', T0)).toBe(T0 + 120_000);
    expect(retryAfterAt('Mon, 05 Jan 2026 08:01:00 GMT', T0)).toBe(T0 + 60_000);
    for (const bad of [undefined, '', '-5', '1.5', 'soon', '2026-01-05', 'Mon, 99 Foo 2026']) expect(retryAfterAt(bad, T0)).toBeUndefined();
  });

  it('bounds a hint between the first backoff, an hour and the deadline; no hint is the backoff', () => {
    const p = { ...DEFAULT_OUTBOX, giveUpMs: 12 * 60 * MIN };
    const at = (hint: number | undefined, now = T0, created = T0): number =>
      nextAttempt(hint === undefined ? new Error('x') : new RetryLaterError('x', hint), 3, now, created, p, () => 0.5);
    expect(at(T0 + 7000)).toBe(T0 + 7000);
    expect(at(T0 + 10)).toBe(T0 + 1000);
    expect(at(T0 + 5 * 60 * MIN)).toBe(T0 + 60 * MIN);
    expect(at(T0 + 12.5 * 60 * MIN, T0 + 11.5 * 60 * MIN)).toBe(T0 + 12 * 60 * MIN);
    expect(at(undefined)).toBe(T0 + 4000);
  });
});
