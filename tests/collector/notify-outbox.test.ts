// The notification outbox with an injected clock and the memory store: queued before sent, sent
// once, retried with backoff in order, dropped after the limit, flap damping per channel, and
// picked up again by a new outbox on the same store (a restart).
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Outbox, PermanentError, backoff, wants, type ChannelDirectory, type OutboxMetrics } from '../../collector/notify/outbox.js';
import type { Channel, NotifyEvent, NotifyEventKind } from '../../collector/notify/types.js';
import type { Status } from '../../collector/status/types.js';
import { MemoryStore } from '../../collector/store/memory.js';
import type { ChannelBacklog, Store } from '../../collector/store/types.js';
import { ManualClock } from '../../lib/clock.js';

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);
const log = pino({ level: 'silent' });

function event(kind: NotifyEventKind, at: number, systems: string[] = ['mitid']): NotifyEvent {
  const status: Status = kind === 'recovery' ? 'operational' : kind === 'degraded' ? 'degraded_performance' : 'major_outage';
  return {
    id: `${kind}:${systems[0] ?? ''}:${at}`,
    kind,
    at,
    systems: systems.map((id) => ({ id, name: id, status, own_status: status, cause: [], since: at, url: `/systems/${id}` })),
    cause: [],
    links: { status_page: '/' },
  };
}

interface FakeChannel extends Channel {
  got: NotifyEvent[];
  attempts: number;
  /** Decides each attempt: undefined succeeds. */
  fail: (e: NotifyEvent, attempt: number) => Error | undefined;
}

function fake(id: string, over: Partial<Pick<Channel, 'systems' | 'events' | 'holdMs'>> & { fail?: FakeChannel['fail']; send?: Channel['send'] } = {}): FakeChannel {
  const c: FakeChannel = {
    id,
    type: 'webhook',
    systems: over.systems,
    events: over.events,
    holdMs: over.holdMs ?? 0,
    lang: 'da',
    got: [],
    attempts: 0,
    fail: over.fail ?? (() => undefined),
    send: (e) => {
      c.attempts++;
      if (over.send !== undefined) return over.send(e);
      const err = c.fail(e, c.attempts);
      if (err !== undefined) return Promise.reject(err);
      c.got.push(e);
      return Promise.resolve();
    },
  };
  return c;
}

function recorder(): OutboxMetrics & { counts: Record<string, number>; backlog: readonly ChannelBacklog[] } {
  const counts: Record<string, number> = {};
  const bump = (k: string, n = 1): void => {
    counts[k] = (counts[k] ?? 0) + n;
  };
  const m = {
    counts,
    backlog: [] as readonly ChannelBacklog[],
    sent: (c: string) => bump(`sent ${c}`),
    failed: (c: string) => bump(`failed ${c}`),
    retried: (c: string) => bump(`retried ${c}`),
    dropped: (c: string, n: number) => bump(`dropped ${c}`, n),
    pending: (b: readonly ChannelBacklog[]) => {
      m.backlog = b;
    },
  };
  return m;
}

function setup(channels: Channel[], opts: { store?: Store; gone?: (id: string) => boolean; tuning?: ConstructorParameters<typeof Outbox>[0]['tuning'] } = {}) {
  const clock = new ManualClock(T0);
  const store = opts.store ?? new MemoryStore();
  const metrics = recorder();
  const dir: { channels: Channel[] } = { channels };
  const directory = (): ChannelDirectory => ({ channels: dir.channels, gone: opts.gone ?? (() => true) });
  const outbox = new Outbox({ store, clock, log, channels: directory, metrics, random: () => 0.5, ...(opts.tuning === undefined ? {} : { tuning: opts.tuning }) });
  /** One dispatch round at the clock's time, and its sends settled. */
  const round = async (): Promise<void> => {
    await outbox.round();
    await outbox.idle();
  };
  return { clock, store, metrics, dir, outbox, round };
}

describe('notification outbox', () => {
  it('writes a delivery before the attempt, sends it, and never sends it again', async () => {
    const seen: string[] = [];
    const store = new MemoryStore();
    const hook = fake('hook', {
      send: async (e) => {
        const [row] = await store.deliveries({ event_id: e.id, limit: 1 });
        seen.push(`${row?.state ?? 'none'} ${row?.attempts ?? -1}`);
      },
    });
    const s = setup([hook], { store });
    const e = event('outage', T0);
    expect(await s.outbox.enqueue(e)).toBe(1);
    await s.round();
    expect(seen).toEqual(['pending 0']);
    expect((await store.deliveries({ limit: 10 }))[0]).toMatchObject({ state: 'sent', attempts: 1, sent_at: T0, last_error: null });
    expect(s.metrics.counts).toEqual({ 'sent hook': 1 });
    // The same event again (a restart making it once more): already delivered.
    expect(await s.outbox.enqueue(e)).toBe(0);
    await s.round();
    expect(hook.attempts).toBe(1);
    expect(s.metrics.backlog).toEqual([]);
  });

  it('queues only for channels whose systems and events filters want the event', async () => {
    const virk = fake('virk-only', { systems: ['virk'] });
    const recoveries = fake('recoveries', { events: ['recovery'] });
    const all = fake('all');
    const { outbox, round } = setup([virk, recoveries, all]);
    await outbox.enqueue(event('outage', T0, ['mitid']));
    await outbox.enqueue(event('outage', T0 + 1, ['mitid', 'virk']));
    await outbox.enqueue(event('recovery', T0 + 2, ['mitid']));
    await round();
    expect(virk.got.map((e) => e.id)).toEqual([`outage:mitid:${T0 + 1}`]);
    expect(recoveries.got.map((e) => e.id)).toEqual([`recovery:mitid:${T0 + 2}`]);
    expect(all.got).toHaveLength(3);
    expect(wants({ systems: undefined, events: undefined }, event('incident', T0))).toBe(true);
    expect(wants({ systems: [], events: undefined }, event('incident', T0))).toBe(false);
  });

  it('retries with exponential backoff, keeps a channel in order, and sends each once after it succeeds', async () => {
    const hook = fake('hook', { fail: (_e, n) => (n <= 3 ? new Error('status 503') : undefined) });
    const other = fake('other');
    const { clock, outbox, round, store, metrics } = setup([hook, other]);
    const first = event('outage', T0);
    const second = event('recovery', T0 + 10);
    await outbox.enqueue(first);
    clock.advance(10);
    await outbox.enqueue(second);
    await round();
    // The other channel is not held up by this one.
    expect(other.got).toHaveLength(2);
    expect(hook.got).toEqual([]);
    const rows = async () => (await store.deliveries({ channel: 'hook', limit: 10 })).map((d) => [d.event_id, d.state, d.attempts, d.next_at - T0]);
    expect(await rows()).toEqual([
      [first.id, 'pending', 1, 1010],
      [second.id, 'pending', 0, 1010],
    ]);
    // The gauge is taken at the next round (in the collector, the one a finished worker asks for).
    await round();
    expect(metrics.backlog).toEqual([{ channel: 'hook', pending: 2, next_at: T0 + 1010 }]);
    clock.set(T0 + 1009);
    await round();
    expect(hook.attempts).toBe(1);
    clock.set(T0 + 1010);
    await round();
    expect((await rows())[0]).toEqual([first.id, 'pending', 2, 1010 + 2000]);
    clock.set(T0 + 3010);
    await round();
    expect((await rows())[0]).toEqual([first.id, 'pending', 3, 3010 + 4000]);
    clock.set(T0 + 7010);
    await round();
    expect(hook.got.map((e) => e.id)).toEqual([first.id, second.id]);
    expect(await rows()).toEqual([
      [first.id, 'sent', 4, 7010],
      [second.id, 'sent', 1, 7010],
    ]);
    expect(metrics.counts).toMatchObject({ 'sent hook': 2, 'failed hook': 3, 'retried hook': 3, 'sent other': 2 });
    clock.advance(3_600_000);
    await round();
    expect(hook.attempts).toBe(5);
  });

  it('backs off 1 s, 2 s, 4 s … up to 10 minutes, with ±20 % jitter', () => {
    const p = { baseMs: 1000, maxMs: 600_000 };
    expect([1, 2, 3, 4, 10, 11, 50].map((n) => backoff(n, p, () => 0.5))).toEqual([1000, 2000, 4000, 8000, 512_000, 600_000, 600_000]);
    expect(backoff(1, p, () => 0)).toBe(800);
    expect(backoff(1, p, () => 0.999999)).toBe(1200);
    expect(backoff(20, p, () => 0.999999)).toBe(600_000);
  });

  it('drops a delivery after the retry limit, counted once, and goes on with the next', async () => {
    let down = true;
    const hook = fake('hook', { fail: () => (down ? new Error('ECONNREFUSED') : undefined) });
    const { clock, outbox, round, store, metrics } = setup([hook], { tuning: { giveUpMs: 10_000 } });
    await outbox.enqueue(event('outage', T0));
    for (let i = 0; i < 20 && (await store.deliveries({ state: 'pending', limit: 1 })).length > 0; i++) {
      clock.set(Math.max(clock.now(), ...(await store.deliveries({ state: 'pending', limit: 1 })).map((d) => d.next_at)));
      await round();
    }
    const [row] = await store.deliveries({ limit: 1 });
    expect(row).toMatchObject({ state: 'dropped', last_error: 'ECONNREFUSED' });
    expect(row!.attempts).toBe(5); // at 0, 1, 3, 7 and 15 s: the last one past 10 s
    expect(metrics.counts['dropped hook']).toBe(1);
    down = false;
    await outbox.enqueue(event('recovery', clock.now()));
    await round();
    expect(hook.got.map((e) => e.kind)).toEqual(['recovery']);
    expect(metrics.counts['dropped hook']).toBe(1);
  });

  it('drops at once what the receiver refuses for good, and after maxAttempts', async () => {
    const slack = fake('slack', { fail: (e) => (e.kind === 'outage' ? new PermanentError('status 404: no_service') : undefined) });
    const { outbox, round, store, metrics } = setup([slack]);
    await outbox.enqueue(event('outage', T0));
    await outbox.enqueue(event('recovery', T0));
    await round();
    expect(slack.got.map((e) => e.kind)).toEqual(['recovery']);
    expect((await store.deliveries({ state: 'dropped', limit: 5 })).map((d) => [d.event_id, d.attempts, d.last_error])).toEqual([
      [`outage:mitid:${T0}`, 1, 'status 404: no_service'],
    ]);
    expect(metrics.counts).toMatchObject({ 'dropped slack': 1, 'failed slack': 1, 'sent slack': 1 });

    const flaky = fake('flaky', { fail: () => new Error('status 500') });
    const s = setup([flaky], { tuning: { maxAttempts: 2 } });
    await s.outbox.enqueue(event('outage', T0));
    await s.round();
    s.clock.advance(1000);
    await s.round();
    expect((await s.store.deliveries({ limit: 1 }))[0]).toMatchObject({ state: 'dropped', attempts: 2 });
  });

  it('drops the pending deliveries of a removed channel, but keeps those of a channel that may come back', async () => {
    const hook = fake('hook');
    let gone = false;
    const { outbox, round, store, metrics, dir } = setup([hook], { gone: () => gone });
    await outbox.enqueue(event('outage', T0));
    dir.channels = [];
    await round();
    expect((await store.deliveries({ limit: 1 }))[0]?.state).toBe('pending');
    gone = true;
    await round();
    expect((await store.deliveries({ limit: 1 }))[0]).toMatchObject({ state: 'dropped', last_error: 'channel removed' });
    expect(metrics.counts['dropped hook']).toBe(1);
    dir.channels = [hook];
    await round();
    expect(hook.got).toEqual([]);
  });

  it('takes channel by channel: a long backlog of one does not keep another waiting', async () => {
    const slow = fake('slow', { send: () => new Promise<void>((r) => setTimeout(r, 5)) });
    const quick = fake('quick', { systems: ['virk'] });
    const { clock, outbox, round, store } = setup([slow, quick], { tuning: { batch: 2 } });
    for (let i = 0; i < 6; i++) await outbox.enqueue(event('outage', T0 + i));
    clock.advance(10);
    await outbox.enqueue(event('outage', clock.now(), ['virk']));
    await round();
    expect(quick.attempts).toBe(1);
    expect(slow.attempts).toBe(2);
    await round();
    await round();
    await round();
    expect(slow.attempts).toBe(7);
    expect(await store.deliveryBacklog()).toEqual([]);
  });

  it('sends channels in parallel: one that hangs holds up only itself, and times out', async () => {
    const hang = fake('hang', { send: () => new Promise<void>(() => {}) });
    const fast = fake('fast');
    const { outbox, round, store } = setup([hang, fast], { tuning: { sendTimeoutMs: 50 } });
    await outbox.enqueue(event('outage', T0));
    await outbox.round();
    await new Promise((r) => setTimeout(r, 10));
    expect(fast.got).toHaveLength(1);
    await outbox.idle();
    expect((await store.deliveries({ channel: 'hang', limit: 1 }))[0]).toMatchObject({ state: 'pending', attempts: 1, last_error: 'no answer within 50 ms' });
    await round();
  });
});

describe('superseded events (a cancelled service window)', () => {
  const win = (phase: string): NotifyEvent => ({ ...event('maintenance', T0, ['virk']), id: `maintenance:mw-1:${phase}` });

  it('withdraws what still waits; a channel never told of the window hears nothing, the others the cancel', async () => {
    const told = fake('told');
    const down = fake('down', { fail: () => new Error('status 503') });
    const { dir, outbox, round, store } = setup([told, down]);
    await outbox.enqueue(win('announced'));
    await round();
    // A channel that came later has no rows of the window: it gets the cancel.
    const later = fake('later');
    dir.channels = [told, down, later];
    expect(await outbox.enqueue(win('cancelled'), { supersedes: ['maintenance:mw-1:announced', 'maintenance:mw-1:started'] })).toBe(2);
    await round();
    expect(told.got.map((e) => e.id)).toEqual(['maintenance:mw-1:announced', 'maintenance:mw-1:cancelled']);
    expect(later.got.map((e) => e.id)).toEqual(['maintenance:mw-1:cancelled']);
    expect((await store.deliveries({ channel: 'down', limit: 5 })).map((d) => [d.event_id, d.state, d.last_error])).toEqual([
      ['maintenance:mw-1:announced', 'cancelled', 'superseded by maintenance:mw-1:cancelled'],
    ]);
  });

  it('a worker holding the withdrawn row skips it; the channel may have been told, so it gets the cancel', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const sent: string[] = [];
    const slow = fake('slow', {
      send: async (e) => {
        if (e.kind === 'outage') await gate;
        sent.push(e.id);
      },
    });
    const { clock, outbox, store } = setup([slow]);
    await outbox.enqueue(event('outage', T0));
    clock.advance(1);
    await outbox.enqueue(win('announced'));
    await outbox.round();
    // The worker is sending the outage, with the announcement next in its batch.
    await outbox.enqueue(win('cancelled'), { supersedes: ['maintenance:mw-1:announced'] });
    release();
    await outbox.idle();
    await outbox.round();
    await outbox.idle();
    expect(sent).toEqual([`outage:mitid:${T0}`, 'maintenance:mw-1:cancelled']);
    expect((await store.deliveries({ event_id: 'maintenance:mw-1:announced', limit: 1 }))[0]?.state).toBe('cancelled');
  });
});

describe('flap damping (hold)', () => {
  it('sends a status only after it held; a flip back within the hold sends neither', async () => {
    const held = fake('held', { holdMs: 60_000 });
    const now = fake('now');
    const { clock, outbox, round, store } = setup([held, now]);
    await outbox.enqueue(event('outage', T0));
    await round();
    expect(now.got.map((e) => e.kind)).toEqual(['outage']);
    expect(held.got).toEqual([]);
    expect((await store.deliveries({ channel: 'held', limit: 1 }))[0]).toMatchObject({ state: 'pending', next_at: T0 + 60_000 });
    clock.set(T0 + 30_000);
    await outbox.enqueue(event('recovery', clock.now()));
    clock.set(T0 + 120_000);
    await round();
    expect(now.got.map((e) => e.kind)).toEqual(['outage', 'recovery']);
    expect(held.got).toEqual([]);
    expect((await store.deliveries({ channel: 'held', limit: 5 })).map((d) => [d.event.kind, d.state])).toEqual([['outage', 'cancelled']]);

    // An outage that holds is sent when its hold is over; a recovery that flips back is not, nor the outage after it.
    const down = T0 + 200_000;
    clock.set(down);
    await outbox.enqueue(event('outage', down));
    clock.set(down + 59_999);
    await round();
    expect(held.got).toEqual([]);
    clock.set(down + 60_000);
    await round();
    expect(held.got.map((e) => e.id)).toEqual([`outage:mitid:${down}`]);
    clock.set(down + 100_000);
    await outbox.enqueue(event('recovery', clock.now()));
    clock.set(down + 130_000);
    await outbox.enqueue(event('outage', clock.now()));
    clock.set(down + 300_000);
    await round();
    expect(held.got.map((e) => e.id)).toEqual([`outage:mitid:${down}`]);
    // ...and the recovery that holds is sent.
    await outbox.enqueue(event('recovery', clock.now()));
    clock.advance(60_000);
    await round();
    expect(held.got.map((e) => e.kind)).toEqual(['outage', 'recovery']);
  });

  it('cancels a held outage by a recovery the channel does not want', async () => {
    const outages = fake('outages', { holdMs: 60_000, events: ['outage'] });
    const { clock, outbox, round, store } = setup([outages]);
    await outbox.enqueue(event('outage', T0));
    clock.set(T0 + 10_000);
    await outbox.enqueue(event('recovery', clock.now()));
    clock.set(T0 + 120_000);
    await round();
    expect(outages.got).toEqual([]);
    expect((await store.deliveries({ limit: 5 })).map((d) => [d.event.kind, d.state])).toEqual([['outage', 'cancelled']]);
    // Up for longer than the hold, then down again: that outage is news.
    await outbox.enqueue(event('outage', clock.now()));
    clock.advance(60_000);
    await round();
    expect(outages.got.map((e) => e.kind)).toEqual(['outage']);
  });

  it('takes out of a held burst only the systems that flapped back', async () => {
    const held = fake('held', { holdMs: 10_000 });
    const { clock, outbox, round, store } = setup([held]);
    await outbox.enqueue(event('outage', T0, ['mitid', 'virk']));
    clock.set(T0 + 5000);
    await outbox.enqueue(event('recovery', clock.now(), ['virk']));
    expect((await store.deliveries({ channel: 'held', limit: 5 })).map((d) => [d.event.kind, d.event.systems.map((s) => s.id), d.state])).toEqual([
      ['outage', ['mitid'], 'pending'],
    ]);
    clock.set(T0 + 10_000);
    await round();
    expect(held.got.map((e) => e.systems.map((s) => s.id))).toEqual([['mitid']]);
  });

  it('holds only status events; and a held event survives a restart and can still be cancelled', async () => {
    const store = new MemoryStore();
    const a = setup([fake('held', { holdMs: 60_000 })], { store });
    await a.outbox.enqueue(event('maintenance', T0));
    await a.outbox.enqueue(event('outage', T0));
    expect((await store.deliveries({ limit: 5 })).map((d) => [d.event.kind, d.next_at])).toEqual([
      ['maintenance', T0],
      ['outage', T0 + 60_000],
    ]);
    await a.outbox.close();
    // A new outbox on the same store: a collector restart.
    const held = fake('held', { holdMs: 60_000 });
    const b = setup([held], { store });
    b.clock.set(T0 + 1000);
    await b.outbox.start();
    await b.outbox.idle();
    expect(held.got.map((e) => e.kind)).toEqual(['maintenance']);
    b.clock.set(T0 + 20_000);
    await b.outbox.enqueue(event('recovery', b.clock.now()));
    b.clock.set(T0 + 90_000);
    await b.round();
    expect(held.got.map((e) => e.kind)).toEqual(['maintenance']);
    await b.outbox.close();
  });
});

describe('restart', () => {
  it('a new outbox on the same store sends what was pending, once', async () => {
    const store = new MemoryStore();
    const down = fake('hook', { fail: () => new Error('ECONNREFUSED') });
    const a = setup([down], { store });
    await a.outbox.enqueue(event('outage', T0));
    await a.outbox.enqueue(event('recovery', T0 + 1));
    await a.round();
    await a.outbox.close();
    expect(down.got).toEqual([]);

    const up = fake('hook');
    const b = setup([up], { store });
    b.clock.set(T0 + 5000);
    await b.outbox.start();
    await b.outbox.idle();
    expect(up.got.map((e) => e.kind)).toEqual(['outage', 'recovery']);
    await b.round();
    expect(up.attempts).toBe(2);
    await b.outbox.close();
  });
});
