// One behavioural suite for every Store, as gatus does: the memory and SQLite stores run it today,
// a PostgreSQL store will run it tomorrow.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NotifyEvent } from '../../collector/notify/types.js';
import type { Alert } from '../../collector/status/alerts.js';
import type { Incident, IncidentUpdate } from '../../collector/status/incidents.js';
import type { MaintenanceWindow } from '../../collector/status/maintenance.js';
import type { Status } from '../../collector/status/types.js';
import { latencyPercentile, mergeAggregates } from '../../collector/store/aggregates.js';
import type { Announcement, HourAggregate, Store, StoredResult, Subscription } from '../../collector/store/types.js';
import { seededRandom } from '../../lib/random.js';

export interface StoreHarness {
  open(): Store;
  /** Closes and opens the same store again; present only for persistent stores. */
  reopen?: (s: Store) => Promise<Store>;
  cleanup(): void;
}

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);

export function result(over: Partial<StoredResult> = {}): StoredResult {
  return {
    agent: 'kbh-1',
    seq: 1,
    system: 'mitid',
    probe: 'front',
    ts: T0,
    ok: true,
    duration_ms: 42.5,
    phases: { dns: 1.5, connect: 2, tls: 10.25, ttfb: 20, transfer: 3 },
    status_code: 200,
    received_at: T0 + 50,
    ...over,
  };
}

const HOUR = 3_600_000;

/** Seeded pseudo-random numbers in [0, 1): the same results every run. */
export const seeded = seededRandom;

/** Two hours of results from two agents for two probes, one a minute each, with failures. */
function twoHours(): StoredResult[] {
  const rnd = seeded(42);
  const rows: StoredResult[] = [];
  let seq = 0;
  for (const agent of ['kbh-1', 'aar-1'])
    for (const probe of ['front', 'login'])
      for (let m = 0; m < 120; m++) {
        const ok = rnd() > 0.1;
        rows.push(
          result({
            agent,
            probe,
            seq: ++seq,
            ts: T0 + m * 60_000 + Math.floor(rnd() * 1000),
            ok,
            duration_ms: (probe === 'front' ? 40 : 300) * Math.exp(rnd() - 0.5),
            ...(ok ? {} : { status_code: 503, error: { code: 'http_status', message: 'status 503' } }),
          }),
        );
      }
  return rows;
}

/** The exact nearest-rank percentile, as collector/status/slow.ts computes it. */
function exactPercentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length - 1e-7))) - 1]!;
}

/** What an aggregate must be, from the raw results it covers. */
function expectMatches(a: HourAggregate, raw: readonly StoredResult[]): void {
  const mine = raw.filter((r) => r.system === a.system && r.probe === a.probe && r.agent === a.agent && r.ts >= a.hour && r.ts < a.hour + HOUR);
  const ok = mine.filter((r) => r.ok).map((r) => r.duration_ms);
  expect(a.count).toBe(mine.length);
  expect(a.failures).toBe(mine.length - ok.length);
  expect(a.sketch.count).toBe(ok.length);
  expect(a.sum_ms).toBeCloseTo(ok.reduce((x, y) => x + y, 0), 6);
  expect(a.min_ms).toBe(Math.min(...ok));
  expect(a.max_ms).toBe(Math.max(...ok));
  for (const p of [50, 95, 99]) {
    const exact = exactPercentile(ok, p);
    expect(Math.abs(latencyPercentile(a, p)! - exact) / exact).toBeLessThanOrEqual(0.01 + 1e-9);
  }
}

export function storeSuite(name: string, makeHarness: () => StoreHarness): void {
  describe(`Store contract: ${name}`, () => {
    let h: StoreHarness;
    let store: Store;

    beforeEach(() => {
      h = makeHarness();
      store = h.open();
    });
    afterEach(async () => {
      if (store.open) await store.close();
      h.cleanup();
    });

    it('is open until closed, then rejects calls', async () => {
      expect(store.open).toBe(true);
      await store.close();
      expect(store.open).toBe(false);
      await expect(store.queryResults({ limit: 1 })).rejects.toMatchObject({ code: 'VAGT_ERR_STORE' });
    });

    it('round-trips every field of a result', async () => {
      const full = result({
        ok: false,
        status_code: 503,
        error: { code: 'http_status', message: 'status 503, expected 200' },
        tls_expiry: 1_800_000_000,
        detail: { redirects: 2, bytes: 1234, nested: { a: [1, 2] } },
      });
      const minimal = result({ seq: 2, ts: T0 + 1, phases: {} });
      delete minimal.status_code;
      expect(await store.insertResults([full, minimal])).toEqual([true, true]);
      const rows = await store.queryResults({ limit: 10 });
      expect(rows).toEqual([full, minimal]);
      expect(rows[1]).not.toHaveProperty('status_code');
      expect(rows[1]).not.toHaveProperty('error');
      expect(rows[1]).not.toHaveProperty('detail');
    });

    it('stores (agent, seq) once: a resent result is a duplicate, also within one batch', async () => {
      expect(await store.insertResults([result({ seq: 1 }), result({ seq: 2 })])).toEqual([true, true]);
      expect(await store.insertResults([result({ seq: 2, ok: false }), result({ seq: 3 }), result({ seq: 3 })])).toEqual([
        false,
        true,
        false,
      ]);
      // The same seq from another agent is a different result.
      expect(await store.insertResults([result({ seq: 1, agent: 'aar-1' })])).toEqual([true]);
      const rows = await store.queryResults({ limit: 100 });
      expect(rows).toHaveLength(4);
      // The first copy wins.
      expect(rows.find((r) => r.agent === 'kbh-1' && r.seq === 2)?.ok).toBe(true);
      expect(await store.insertResults([])).toEqual([]);
    });

    it('queries by system, probe, agent and time range, oldest first, with a limit', async () => {
      const rows: StoredResult[] = [];
      let seq = 0;
      for (const agent of ['kbh-1', 'aar-1'])
        for (const system of ['mitid', 'virk'])
          for (const probe of ['front', 'login'])
            for (let i = 0; i < 5; i++) rows.push(result({ agent, system, probe, seq: seq++, ts: T0 + (4 - i) * 1000 }));
      await store.insertResults(rows);

      const all = await store.queryResults({ limit: 1000 });
      expect(all).toHaveLength(40);
      expect(all.map((r) => r.ts)).toEqual([...all.map((r) => r.ts)].sort((a, b) => a - b));

      const one = await store.queryResults({ system: 'virk', probe: 'login', agent: 'aar-1', limit: 1000 });
      expect(one).toHaveLength(5);
      expect(one.every((r) => r.system === 'virk' && r.probe === 'login' && r.agent === 'aar-1')).toBe(true);
      expect(one.map((r) => r.ts)).toEqual([T0, T0 + 1000, T0 + 2000, T0 + 3000, T0 + 4000]);

      const range = await store.queryResults({ system: 'mitid', from: T0 + 1000, to: T0 + 3000, limit: 1000 });
      expect(range.map((r) => r.ts).every((t) => t >= T0 + 1000 && t < T0 + 3000)).toBe(true);
      expect(range).toHaveLength(2 * 2 * 2);

      const limited = await store.queryResults({ agent: 'kbh-1', limit: 3 });
      expect(limited).toHaveLength(3);
      expect(limited.every((r) => r.ts === T0)).toBe(true);

      expect(await store.queryResults({ system: 'nope', limit: 10 })).toEqual([]);
    });

    it("reads a probe's successful durations for its chart: [from, to), ok only, agents left out, by ts, with a limit", async () => {
      const rows: StoredResult[] = [];
      let seq = 0;
      for (const agent of ['kbh-1', 'aar-1', 'zabbix'])
        for (const system of ['mitid', 'virk'])
          for (const probe of ['front', 'login'])
            // Written newest first: the order read must come from ts, not from arrival.
            for (let i = 9; i >= 0; i--)
              rows.push(
                result({
                  agent,
                  system,
                  probe,
                  seq: ++seq,
                  ts: T0 + i * 1000 + (agent === 'aar-1' ? 500 : 0),
                  ok: i !== 3,
                  duration_ms: 100 * i + (agent === 'aar-1' ? 1 : agent === 'zabbix' ? 2 : 0),
                  ...(i === 3 ? { status_code: 503, error: { code: 'http_status' as const, message: 'status 503' } } : {}),
                }),
              );
      await store.insertResults(rows);

      const q = { system: 'virk', probe: 'login', from: T0 + 2000, to: T0 + 6000, limit: 1000 };
      const some = await store.chartDurations({ ...q, exclude: ['zabbix'] });
      // From inclusive (T0 + 2000), to exclusive (T0 + 6000 is left out), the failure at T0 + 3000 left out.
      expect(some).toEqual([
        { ts: T0 + 2000, duration_ms: 200 },
        { ts: T0 + 2500, duration_ms: 201 },
        { ts: T0 + 4000, duration_ms: 400 },
        { ts: T0 + 4500, duration_ms: 401 },
        { ts: T0 + 5000, duration_ms: 500 },
        { ts: T0 + 5500, duration_ms: 501 },
      ]);
      // Without exclusions every agent counts; results with the same ts come in no given order.
      const all = await store.chartDurations(q);
      expect(all.map((r) => r.ts)).toEqual([T0 + 2000, T0 + 2000, T0 + 2500, T0 + 4000, T0 + 4000, T0 + 4500, T0 + 5000, T0 + 5000, T0 + 5500]);
      expect(all.filter((r) => r.ts === T0 + 2000).map((r) => r.duration_ms).sort()).toEqual([200, 202]);
      expect(await store.chartDurations({ ...q, exclude: ['zabbix', 'aar-1'] })).toEqual([
        { ts: T0 + 2000, duration_ms: 200 },
        { ts: T0 + 4000, duration_ms: 400 },
        { ts: T0 + 5000, duration_ms: 500 },
      ]);
      // Oldest first up to the limit; only that system and probe.
      expect(await store.chartDurations({ ...q, from: T0, to: T0 + 10_000, exclude: ['zabbix'], limit: 3 })).toEqual([
        { ts: T0, duration_ms: 0 },
        { ts: T0 + 500, duration_ms: 1 },
        { ts: T0 + 1000, duration_ms: 100 },
      ]);
      const front = await store.chartDurations({ system: 'mitid', probe: 'front', from: T0, to: T0 + 10_000, exclude: ['zabbix', 'aar-1'], limit: 100 });
      expect(front.map((r) => r.duration_ms)).toEqual([0, 100, 200, 400, 500, 600, 700, 800, 900]);
      expect(await store.chartDurations({ ...q, system: 'nope' })).toEqual([]);
      expect(await store.chartDurations({ ...q, from: T0 + 6000, to: T0 + 6000 })).toEqual([]);
    });

    it('keeps the latest result per (system, probe, agent), by ts then seq, whatever the arrival order', async () => {
      await store.insertResults([
        result({ seq: 5, ts: T0 + 5000 }),
        result({ seq: 3, ts: T0 + 3000 }),
        result({ seq: 1, ts: T0, agent: 'aar-1' }),
        result({ seq: 2, ts: T0, agent: 'aar-1', ok: false }),
        result({ seq: 9, ts: T0, probe: 'login' }),
      ]);
      // An older result arriving late, and a duplicate, do not displace the latest.
      await store.insertResults([result({ seq: 4, ts: T0 + 4000 }), result({ seq: 5, ts: T0 + 5000, ok: false })]);
      const latest = await store.latestResults();
      const byKey = new Map(latest.map((r) => [`${r.system}/${r.probe}/${r.agent}`, r]));
      expect(byKey.size).toBe(3);
      expect(byKey.get('mitid/front/kbh-1')).toMatchObject({ seq: 5, ok: true });
      expect(byKey.get('mitid/front/aar-1')).toMatchObject({ seq: 2, ok: false });
      expect(byKey.get('mitid/login/kbh-1')).toMatchObject({ seq: 9 });
      expect(byKey.get('mitid/front/kbh-1')).toEqual(result({ seq: 5, ts: T0 + 5000 }));
    });

    it('knows the highest seq of an agent', async () => {
      expect(await store.maxSeq('kbh-1')).toBeUndefined();
      await store.insertResults([result({ seq: 7 }), result({ seq: 3 }), result({ seq: 100, agent: 'aar-1' })]);
      expect(await store.maxSeq('kbh-1')).toBe(7);
      expect(await store.maxSeq('aar-1')).toBe(100);
    });

    it('records status changes and reads them back, and the last per (system, view)', async () => {
      await store.recordStatusChanges([
        { system: 'mitid', view: 'own', status: 'unknown', cause: [], at: T0 },
        { system: 'mitid', view: 'perceived', status: 'unknown', cause: [], at: T0 },
        { system: 'mitid', view: 'own', status: 'operational', cause: [], at: T0 + 1000 },
        { system: 'nemlog-in', view: 'perceived', status: 'major_outage', cause: ['mitid'], at: T0 + 2000 },
      ]);
      await store.recordStatusChanges([{ system: 'mitid', view: 'own', status: 'major_outage', cause: [], at: T0 + 3000 }]);

      const own = await store.statusChanges({ system: 'mitid', view: 'own' });
      expect(own.map((c) => c.status)).toEqual(['unknown', 'operational', 'major_outage']);
      expect(await store.statusChanges({ from: T0 + 1000, to: T0 + 3000 })).toHaveLength(2);
      expect(await store.statusChanges({ limit: 1 })).toHaveLength(1);
      expect((await store.statusChanges()).length).toBe(5);

      const last = await store.latestStatuses();
      const byKey = new Map(last.map((c) => [`${c.system}/${c.view}`, c]));
      expect(byKey.size).toBe(3);
      expect(byKey.get('mitid/own')).toEqual({ system: 'mitid', view: 'own', status: 'major_outage', cause: [], at: T0 + 3000 });
      expect(byKey.get('nemlog-in/perceived')?.cause).toEqual(['mitid']);
    });

    it('remembers agents seen, keeping the most recent sighting', async () => {
      await store.recordAgentsSeen([
        { id: 'kbh-1', last_seen: T0, version: '0.1.0', remote_address: '10.0.0.1' },
        { id: 'aar-1', last_seen: T0, version: null, remote_address: null },
      ]);
      await store.recordAgentsSeen([{ id: 'kbh-1', last_seen: T0 + 1000, version: '0.2.0', remote_address: '10.0.0.2' }]);
      await store.recordAgentsSeen([{ id: 'kbh-1', last_seen: T0 + 500, version: 'old', remote_address: 'old' }]);
      expect(await store.agents()).toEqual([
        { id: 'aar-1', last_seen: T0, version: null, remote_address: null },
        { id: 'kbh-1', last_seen: T0 + 1000, version: '0.2.0', remote_address: '10.0.0.2' },
      ]);
    });

    it('prunes results older than a time', async () => {
      await store.insertResults([result({ seq: 1, ts: T0 }), result({ seq: 2, ts: T0 + 1000 }), result({ seq: 3, ts: T0 + 2000 })]);
      expect(await store.pruneResults(T0 + 1000)).toBe(1);
      expect((await store.queryResults({ limit: 10 })).map((r) => r.seq)).toEqual([2, 3]);
      // The latest result survives pruning: a warm start still knows it.
      expect(await store.latestResults()).toHaveLength(1);
    });

    it('rolls results up into hourly aggregates per (system, probe, agent) that match the raw results', async () => {
      const raw = twoHours();
      await store.insertResults(raw);
      expect(await store.hourlyAggregates({ from: T0, to: T0 + 2 * HOUR })).toEqual([]);
      expect(await store.rollupHours()).toBe(2);
      const all = await store.hourlyAggregates({ from: T0, to: T0 + 2 * HOUR });
      expect(all.map((a) => `${a.probe}/${a.agent}/${(a.hour - T0) / HOUR}`)).toEqual([
        'front/aar-1/0',
        'front/aar-1/1',
        'front/kbh-1/0',
        'front/kbh-1/1',
        'login/aar-1/0',
        'login/aar-1/1',
        'login/kbh-1/0',
        'login/kbh-1/1',
      ]);
      for (const a of all) expectMatches(a, raw);
      expect(all.reduce((n, a) => n + a.count, 0)).toBe(raw.length);
      // Nothing new: nothing to do.
      expect(await store.rollupHours()).toBe(0);

      // Filters, and the hour range is of the hour's start.
      const one = await store.hourlyAggregates({ system: 'mitid', probe: 'login', agent: 'kbh-1', from: T0 + 1, to: T0 + 2 * HOUR });
      expect(one.map((a) => a.hour)).toEqual([T0 + HOUR]);
      expect(await store.hourlyAggregates({ system: 'virk', from: T0, to: T0 + 2 * HOUR })).toEqual([]);
      expect(await store.hourlyAggregates({ from: T0 + 2 * HOUR, to: T0 + 3 * HOUR })).toEqual([]);

      // Hours and agents merge into one figure, as exact as each hour.
      const login = await store.hourlyAggregates({ probe: 'login', from: T0, to: T0 + 2 * HOUR });
      const merged = mergeAggregates(login);
      const okLogin = raw.filter((r) => r.probe === 'login' && r.ok).map((r) => r.duration_ms);
      expect(merged.count).toBe(raw.filter((r) => r.probe === 'login').length);
      expect(merged.sketch.count).toBe(okLogin.length);
      expect(merged.min_ms).toBe(Math.min(...okLogin));
      const p95 = exactPercentile(okLogin, 95);
      expect(Math.abs(latencyPercentile(merged, 95)! - p95) / p95).toBeLessThanOrEqual(0.01 + 1e-9);
    });

    it('counts an hour that only failed, with no latency', async () => {
      await store.insertResults([result({ seq: 1, ok: false }), result({ seq: 2, ok: false, ts: T0 + 60_000 })]);
      expect(await store.rollupHours()).toBe(1);
      const [a] = await store.hourlyAggregates({ from: T0, to: T0 + HOUR });
      expect(a).toMatchObject({ count: 2, failures: 2, sum_ms: 0, min_ms: null, max_ms: null });
      expect(a!.sketch.count).toBe(0);
      expect(latencyPercentile(a!, 95)).toBeUndefined();
    });

    it('recomputes an hour after a late result, and never counts a duplicate twice', async () => {
      const raw = twoHours();
      await store.insertResults(raw);
      expect(await store.rollupHours()).toBe(2);
      // A backlog arrives for the first hour, with a resent result among it.
      const late = result({ agent: 'kbh-1', probe: 'front', seq: 10_000, ts: T0 + 30 * 60_000, duration_ms: 5_000 });
      expect(await store.insertResults([late, raw[3]!])).toEqual([true, false]);
      expect(await store.rollupHours()).toBe(1);
      const [a] = await store.hourlyAggregates({ probe: 'front', agent: 'kbh-1', from: T0, to: T0 + HOUR });
      expectMatches(a!, [...raw, late]);
      expect(a!.max_ms).toBe(5_000);
      // Only a duplicate: nothing to redo, nothing counted.
      expect(await store.insertResults([raw[5]!])).toEqual([false]);
      expect(await store.rollupHours()).toBe(0);
      const total = (await store.hourlyAggregates({ from: T0, to: T0 + 2 * HOUR })).reduce((n, x) => n + x.count, 0);
      expect(total).toBe(raw.length + 1);
    });

    it('keeps rolled-up hours when their results are pruned, and leaves pruned hours as they are', async () => {
      const raw = twoHours();
      await store.insertResults(raw);
      expect(await store.rollupHours()).toBe(2);
      const before = await store.hourlyAggregates({ from: T0, to: T0 + 2 * HOUR });
      // Everything of the first hour and a little of the second.
      const cutoff = T0 + HOUR + 60_000;
      expect(await store.pruneResults(cutoff)).toBe(raw.filter((r) => r.ts < cutoff).length);
      expect(await store.hourlyAggregates({ from: T0, to: T0 + 2 * HOUR })).toEqual(before);
      // A late result for a pruned hour cannot be added to its aggregate (the rest of its results
      // are gone); both hours stay as they were. A later hour rolls up as ever.
      await store.insertResults([
        result({ seq: 20_000, ts: T0 + 10 * 60_000 }),
        result({ seq: 20_001, ts: T0 + HOUR + 30 * 60_000 }),
        result({ seq: 20_002, ts: T0 + 2 * HOUR + 5 }),
      ]);
      expect(await store.rollupHours()).toBe(1);
      expect(await store.hourlyAggregates({ from: T0, to: T0 + 2 * HOUR })).toEqual(before);
      const third = await store.hourlyAggregates({ from: T0 + 2 * HOUR, to: T0 + 3 * HOUR });
      expect(third.map((a) => [a.agent, a.count])).toEqual([['kbh-1', 1]]);
    });

    it('prunes hourly aggregates of hours before a time', async () => {
      await store.insertResults([
        ...twoHours(),
        result({ seq: 50_000, system: 'virk', ts: T0 + 5 }),
        result({ seq: 50_001, system: 'virk', ts: T0 + 2 * HOUR }),
      ]);
      expect(await store.rollupHours()).toBe(3);
      expect(await store.pruneAggregates(T0 + HOUR)).toBe(5);
      const left = await store.hourlyAggregates({ from: 0, to: T0 + 3 * HOUR });
      expect(left.map((a) => `${a.system}/${(a.hour - T0) / HOUR}`)).toEqual([...Array<string>(4).fill('mitid/1'), 'virk/2']);
      expect(await store.pruneAggregates(T0 + HOUR)).toBe(0);
    });

    it('prunes the status history, keeping per (system, view) the status in force at the cutoff', async () => {
      const ch = (system: string, view: 'own' | 'perceived', status: Status, at: number) => ({ system, view, status, cause: [], at: T0 + at });
      await store.recordStatusChanges([
        ch('mitid', 'own', 'unknown', 0),
        ch('mitid', 'own', 'operational', 1_000),
        ch('mitid', 'own', 'major_outage', 5_000),
        ch('mitid', 'own', 'major_outage', 6_000), // recorded again after a restart
        ch('mitid', 'own', 'operational', 9_000),
        ch('mitid', 'perceived', 'operational', 0),
        ch('virk', 'own', 'major_outage', 2_000), // goes: the change at the cutoff is the one in force
        ch('virk', 'own', 'operational', 7_000),
      ]);
      const intervals = (system: string, view: 'own' | 'perceived', from: number) =>
        store.statusIntervals({ system, view, from: T0 + from, to: T0 + 20_000 });
      const atCutoff = {
        mitidOwn: await intervals('mitid', 'own', 7_000),
        mitidPerceived: await intervals('mitid', 'perceived', 7_000),
        virkOwn: await intervals('virk', 'own', 7_000),
      };

      const u = (at: number): IncidentUpdate => ({ at: T0 + at, kind: 'opened', status: 'major_outage', priority: 1, affected: ['mitid'], message: 'm' });
      const inc = (id: number, started: number, resolved: number | null): Incident => ({
        id,
        system: 'mitid',
        status: resolved === null ? 'major_outage' : 'operational',
        priority: 1,
        peak_priority: 1,
        affected: ['mitid'],
        started_at: T0 + started,
        resolved_at: resolved === null ? null : T0 + resolved,
        updates: [u(started)],
      });
      // 1 resolved before the cutoff goes; 2 is open; 4 resolved before it stays, as the highest id;
      // 3 was resolved after it.
      for (const i of [inc(1, 0, 3_000), inc(2, 4_000, null), inc(3, 5_000, 8_000), inc(4, 5_500, 6_000)])
        await store.saveIncidents([{ incident: i, added: i.updates }]);
      const offline = (key: string, since: number): Alert => ({ key, kind: 'agent_offline', agent: key, since: T0 + since, last_result: null });
      await store.recordAlertEvents([
        { type: 'raised', alert: offline('a', 0), at: T0 },
        { type: 'raised', alert: offline('b', 0), at: T0 },
        { type: 'raised', alert: offline('c', 0), at: T0 },
        { type: 'resolved', alert: offline('a', 0), at: T0 + 2_000 },
        { type: 'resolved', alert: offline('b', 0), at: T0 + 8_000 },
      ]);

      expect(await store.pruneStatusHistory(T0 + 7_000)).toEqual({ status_changes: 4, incidents: 1, alerts: 1 });
      expect((await store.statusChanges({ system: 'mitid', view: 'own' })).map((c) => c.at - T0)).toEqual([6_000, 9_000]);
      expect((await store.statusChanges({ system: 'virk' })).map((c) => c.at - T0)).toEqual([7_000]);
      expect(await intervals('mitid', 'own', 7_000)).toEqual(atCutoff.mitidOwn);
      expect(await intervals('mitid', 'perceived', 7_000)).toEqual(atCutoff.mitidPerceived);
      expect(await intervals('virk', 'own', 7_000)).toEqual(atCutoff.virkOwn);
      expect(atCutoff.mitidOwn[0]).toMatchObject({ status: 'major_outage', from: T0 + 7_000, to: T0 + 9_000 });
      expect((await store.incidents({ limit: 10 })).map((i) => i.id).sort()).toEqual([2, 3, 4]);
      expect(await store.maxIncidentId()).toBe(4);
      expect((await store.alerts({ limit: 10 })).map((a) => a.key).sort()).toEqual(['b', 'c']);
      expect((await store.latestStatuses()).length).toBe(3);

      // Again at the same cutoff: nothing more goes.
      expect(await store.pruneStatusHistory(T0 + 7_000)).toEqual({ status_changes: 0, incidents: 0, alerts: 0 });
      // A cutoff on a change: that change is the one in force, the one before it goes.
      expect((await store.pruneStatusHistory(T0 + 9_000)).status_changes).toBe(1);
      expect((await store.statusChanges({ system: 'mitid', view: 'own' })).map((c) => c.at - T0)).toEqual([9_000]);
      expect(await intervals('mitid', 'own', 9_000)).toEqual([{ system: 'mitid', view: 'own', status: 'operational', cause: [], from: T0 + 9_000, to: T0 + 20_000 }]);
    });

    it('reads the status timeline back as intervals clipped to the range', async () => {
      const ch = (status: Status, at: number, cause: string[] = []) => ({ system: 'borger-dk', view: 'perceived' as const, status, cause, at });
      await store.recordStatusChanges([
        ch('unknown', T0),
        ch('operational', T0 + 1_000),
        ch('major_outage', T0 + 5_000, ['mitid']),
        ch('major_outage', T0 + 6_000, ['mitid']), // recorded again after a restart: one stretch
        ch('operational', T0 + 9_000),
        { system: 'borger-dk', view: 'own', status: 'operational', cause: [], at: T0 + 1_000 },
        { system: 'virk', view: 'perceived', status: 'major_outage', cause: [], at: T0 + 2_000 },
      ]);
      expect(await store.statusIntervals({ system: 'borger-dk', view: 'perceived', from: T0 + 2_000, to: T0 + 10_000 })).toEqual([
        { system: 'borger-dk', view: 'perceived', status: 'operational', cause: [], from: T0 + 2_000, to: T0 + 5_000 },
        { system: 'borger-dk', view: 'perceived', status: 'major_outage', cause: ['mitid'], from: T0 + 5_000, to: T0 + 9_000 },
        { system: 'borger-dk', view: 'perceived', status: 'operational', cause: [], from: T0 + 9_000, to: T0 + 10_000 },
      ]);
      const open = await store.statusIntervals({ system: 'borger-dk', view: 'perceived', from: T0 + 7_000 });
      expect(open.map((i) => [i.status, i.from - T0, i.to === null ? null : i.to - T0])).toEqual([
        ['major_outage', 7_000, 9_000],
        ['operational', 9_000, null],
      ]);
      expect(await store.statusIntervals({ system: 'borger-dk', view: 'own', from: T0 - 5_000, to: T0 })).toEqual([]);
      expect(await store.statusIntervals({ system: 'nobody', view: 'own', from: T0 })).toEqual([]);
    });

    it('rewrites a stretch of history, and still knows the latest status by time', async () => {
      const ch = (status: Status, at: number) => ({ system: 'mitid', view: 'own' as const, status, cause: [], at });
      await store.recordStatusChanges([ch('operational', T0), ch('unknown', T0 + 10_000), ch('operational', T0 + 20_000)]);
      // A late backlog shows an outage from 12 s to 15 s inside the unknown stretch.
      await store.replaceStatusChanges('mitid', 'own', T0 + 10_000, T0 + 20_000, [ch('operational', T0 + 10_000), ch('major_outage', T0 + 12_000), ch('operational', T0 + 15_000), ch('major_outage', T0 + 25_000)]);
      const intervals = await store.statusIntervals({ system: 'mitid', view: 'own', from: T0 });
      expect(intervals.map((i) => [i.status, i.from - T0, i.to === null ? null : i.to - T0])).toEqual([
        ['operational', 0, 12_000],
        ['major_outage', 12_000, 15_000],
        ['operational', 15_000, null],
      ]);
      // Written last, but earliest: the latest status is still the one at 20 s.
      expect(await store.latestStatuses()).toEqual([ch('operational', T0 + 20_000)]);
    });

    it('stores incidents with their updates, open and resolved, newest first', async () => {
      const opened: IncidentUpdate = { at: T0, kind: 'opened', status: 'partial_outage', priority: 2, affected: ['mitid', 'nemlog-in'], message: 'opened' };
      const inc: Incident = {
        id: 1,
        system: 'mitid',
        status: 'partial_outage',
        priority: 2,
        peak_priority: 2,
        affected: ['mitid', 'nemlog-in'],
        started_at: T0,
        resolved_at: null,
        updates: [opened],
      };
      await store.saveIncidents([{ incident: inc, added: [opened] }]);
      const resolved: IncidentUpdate = { at: T0 + 60_000, kind: 'resolved', status: 'operational', priority: 2, affected: [], message: 'back' };
      const done = { ...inc, resolved_at: T0 + 60_000, updates: [opened, resolved] };
      await store.saveIncidents([{ incident: done, added: [resolved] }]);
      const other: Incident = { ...inc, id: 2, system: 'virk', affected: ['virk'], started_at: T0 + 120_000, updates: [{ ...opened, at: T0 + 120_000, affected: ['virk'] }] };
      await store.saveIncidents([{ incident: other, added: other.updates }]);

      expect(await store.incidents({ limit: 10 })).toEqual([other, done]);
      expect(await store.incidents({ state: 'open', limit: 10 })).toEqual([other]);
      expect(await store.incidents({ state: 'resolved', limit: 10 })).toEqual([done]);
      expect((await store.incidents({ system: 'nemlog-in', limit: 10 })).map((i) => i.id)).toEqual([1]);
      expect((await store.incidents({ from: T0 + 61_000, limit: 10 })).map((i) => i.id)).toEqual([2]);
      expect((await store.incidents({ to: T0 + 1, limit: 10 })).map((i) => i.id)).toEqual([1]);
      expect((await store.incidents({ id: 2, limit: 1 })).map((i) => i.id)).toEqual([2]);
      expect(await store.incidents({ limit: 1 })).toHaveLength(1);
      expect(await store.maxIncidentId()).toBe(2);
    });

    it('stores alerts as they fire and resolve', async () => {
      const slow: Alert = { key: 'long_response_time:nemlog-in', kind: 'long_response_time', system: 'nemlog-in', since: T0, value_ms: 2500, percentile: 95, threshold_ms: 2000 };
      const offline: Alert = { key: 'agent_offline:kbh-1', kind: 'agent_offline', agent: 'kbh-1', since: T0 + 1_000, last_result: T0 - 5_000 };
      await store.recordAlertEvents([
        { type: 'raised', alert: slow, at: T0 },
        { type: 'raised', alert: offline, at: T0 + 1_000 },
      ]);
      await store.recordAlertEvents([{ type: 'resolved', alert: { ...slow, value_ms: 1500 }, at: T0 + 9_000 }]);
      expect(await store.alerts({ active: true, limit: 10 })).toEqual([{ ...offline, resolved_at: null }]);
      expect(await store.alerts({ active: false, limit: 10 })).toEqual([{ ...slow, value_ms: 1500, resolved_at: T0 + 9_000 }]);
      expect((await store.alerts({ limit: 10 })).map((a) => a.key)).toEqual(['agent_offline:kbh-1', 'long_response_time:nemlog-in']);
      expect((await store.alerts({ system: 'nemlog-in', limit: 10 })).map((a) => a.key)).toEqual(['long_response_time:nemlog-in']);
      // The same condition again is a new alert.
      await store.recordAlertEvents([{ type: 'raised', alert: { ...slow, since: T0 + 20_000 }, at: T0 + 20_000 }]);
      expect(await store.alerts({ system: 'nemlog-in', limit: 10 })).toHaveLength(2);
    });

    it('stores announced service windows once per id, by start, and deletes them', async () => {
      const w = (id: string, start: number): MaintenanceWindow => ({
        id,
        systems: ['borger-dk', 'virk'],
        start,
        end: start + 3_600_000,
        title: { da: 'Servicevindue', en: 'Maintenance' },
        source: 'api',
        created_at: T0,
      });
      const later = { ...w('later', T0 + 7_200_000), description: { da: 'Nyt login' } };
      expect(await store.insertMaintenance(later)).toBe(true);
      expect(await store.insertMaintenance(w('first', T0))).toBe(true);
      expect(await store.insertMaintenance(w('first', T0 + 1))).toBe(false);
      expect(await store.maintenanceWindows()).toEqual([w('first', T0), later]);
      expect(await store.deleteMaintenance('first')).toBe(true);
      expect(await store.deleteMaintenance('first')).toBe(false);
      expect((await store.maintenanceWindows()).map((x) => x.id)).toEqual(['later']);
    });

    it('appends an operator update to an incident, and keeps it when the engine saves the incident again', async () => {
      const opened: IncidentUpdate = { at: T0, kind: 'opened', status: 'major_outage', priority: 1, affected: ['mitid', 'virk'], message: 'opened' };
      const inc: Incident = {
        id: 7,
        system: 'mitid',
        status: 'major_outage',
        priority: 1,
        peak_priority: 1,
        affected: ['mitid', 'virk'],
        started_at: T0,
        resolved_at: null,
        updates: [opened],
      };
      await store.saveIncidents([{ incident: inc, added: [opened] }]);
      const note: IncidentUpdate = {
        ...opened,
        at: T0 + 30_000,
        kind: 'operator',
        message: 'Vi undersøger fejlen.',
        operator: { status: 'investigating', message: { da: 'Vi undersøger fejlen.', en: 'We are investigating.' } },
      };
      expect(await store.addIncidentUpdate(7, note)).toBe(true);
      expect(await store.addIncidentUpdate(99, note)).toBe(false);
      // The engine's copy of the incident does not carry the operator's update: it must stay anyway.
      const resolved: IncidentUpdate = { at: T0 + 60_000, kind: 'resolved', status: 'operational', priority: 1, affected: [], message: 'back' };
      await store.saveIncidents([{ incident: { ...inc, status: 'operational', resolved_at: T0 + 60_000, updates: [opened, resolved] }, added: [resolved] }]);
      const postmortem: IncidentUpdate = { ...resolved, at: T0 + 90_000, kind: 'operator', message: 'Årsag: en certifikatfejl.', operator: { status: 'resolved', message: { da: 'Årsag: en certifikatfejl.' } } };
      expect(await store.addIncidentUpdate(7, postmortem)).toBe(true);
      const [got] = await store.incidents({ id: 7, limit: 1 });
      expect(got).toEqual({ ...inc, status: 'operational', resolved_at: T0 + 60_000, updates: [opened, note, resolved, postmortem] });
      expect(got!.updates[0]).not.toHaveProperty('operator');
    });

    it('stores announcements once per id, newest first, by system and time, and deletes them', async () => {
      const a = (id: string, at: number, systems = ['mitid']): Announcement => ({
        id,
        systems,
        kind: 'release',
        title: { da: 'Ny version', en: 'New version' },
        body: { da: 'Login er hurtigere.' },
        at: T0 + at,
        created_at: T0,
      });
      const planned = { ...a('planned', 3_600_000, ['mitid', 'nemlog-in']), kind: 'interface_change' as const, link: 'https://www.mitid.dk/release' };
      expect(await store.insertAnnouncement(a('old', 0))).toBe(true);
      expect(await store.insertAnnouncement(planned)).toBe(true);
      expect(await store.insertAnnouncement(a('virk', 60_000, ['virk']))).toBe(true);
      expect(await store.insertAnnouncement(a('old', 5))).toBe(false);
      expect(await store.announcements({ limit: 10 })).toEqual([planned, a('virk', 60_000, ['virk']), a('old', 0)]);
      expect((await store.announcements({ system: 'mitid', limit: 10 })).map((x) => x.id)).toEqual(['planned', 'old']);
      expect((await store.announcements({ system: 'nemlog-in', limit: 10 })).map((x) => x.id)).toEqual(['planned']);
      expect((await store.announcements({ from: T0 + 1, to: T0 + 3_600_000, limit: 10 })).map((x) => x.id)).toEqual(['virk']);
      expect((await store.announcements({ id: 'planned', limit: 1 })).map((x) => x.id)).toEqual(['planned']);
      expect(await store.announcements({ limit: 1 })).toHaveLength(1);
      expect(await store.deleteAnnouncement('old')).toBe(true);
      expect(await store.deleteAnnouncement('old')).toBe(false);
      expect((await store.announcements({ limit: 10 })).map((x) => x.id)).toEqual(['planned', 'virk']);
    });

    it('stores subscriptions once per id, address and token hash, finds and prunes them, and keeps them across a reopen', async () => {
      const sub = (id: string, email: string, over: Partial<Subscription> = {}): Subscription => ({
        id,
        email,
        systems: ['mitid', 'virk'],
        events: null,
        lang: 'da',
        token_sha256: `hash-${id}`,
        state: 'pending',
        created_at: T0,
        confirmed_at: null,
        ...over,
      });
      const anna = sub('s-1', 'anna@example.dk', { state: 'confirmed', confirmed_at: T0 + 60_000, events: ['outage', 'recovery'] });
      const bo = sub('s-2', 'bo@example.dk', { systems: null, lang: 'en', created_at: T0 + 1 });
      const old = sub('s-3', 'old@example.dk', { created_at: T0 - 8 * 86_400_000 });
      for (const s of [bo, anna, old]) await store.saveSubscription(s);
      expect(await store.subscriptions()).toEqual([old, anna, bo]);
      expect(await store.subscriptions({ state: 'confirmed' })).toEqual([anna]);
      expect(await store.subscriptions({ email: 'bo@example.dk' })).toEqual([bo]);
      expect(await store.subscriptions({ token_sha256: 'hash-s-1' })).toEqual([anna]);
      expect(await store.subscriptions({ id: 's-2', state: 'confirmed' })).toEqual([]);
      // The same address under a new id replaces the old row; so does the same id.
      const bo2 = sub('s-4', 'bo@example.dk', { created_at: T0 + 2 });
      await store.saveSubscription(bo2);
      const anna2 = { ...anna, systems: ['mitid'] };
      await store.saveSubscription(anna2);
      expect(await store.subscriptions()).toEqual([old, anna2, bo2]);
      expect(await store.prunePendingSubscriptions(T0 - 86_400_000)).toBe(1);
      expect(await store.deleteSubscription('s-4')).toBe(true);
      expect(await store.deleteSubscription('s-4')).toBe(false);
      expect(await store.subscriptions()).toEqual([anna2]);
      if (h.reopen !== undefined) {
        store = await h.reopen(store);
        expect(await store.subscriptions()).toEqual([anna2]);
      }
    });

    it('queues notification deliveries once per (event, channel), in due order, and keeps finished ones finished', async () => {
      const ev = (id: string, over: Partial<NotifyEvent> = {}): NotifyEvent => ({
        id,
        kind: 'outage',
        at: T0,
        systems: [{ id: 'mitid', name: 'MitID', status: 'major_outage', own_status: 'major_outage', cause: [], since: T0, url: '/systems/mitid' }],
        cause: [],
        links: { status_page: '/' },
        ...over,
      });
      const a = ev('outage:mitid:1');
      const b = ev('recovery:mitid:2', { kind: 'recovery' });
      expect(
        await store.enqueueDeliveries([
          { channel: 'hook', event: a, next_at: T0, created_at: T0 },
          { channel: 'chat', event: a, next_at: T0 + 5000, created_at: T0 },
          { channel: 'hook', event: b, next_at: T0 + 10, created_at: T0 + 10 },
        ]),
      ).toEqual([true, true, true]);
      // The same (event, channel) again is ignored, however it is queued.
      expect(await store.enqueueDeliveries([{ channel: 'hook', event: a, next_at: T0 + 99, created_at: T0 + 99 }])).toEqual([false]);
      const due = await store.deliveries({ state: 'pending', due: T0 + 10, limit: 10 });
      expect(due.map((d) => [d.event_id, d.channel])).toEqual([
        ['outage:mitid:1', 'hook'],
        ['recovery:mitid:2', 'hook'],
      ]);
      expect(due[0]).toEqual({ event_id: a.id, channel: 'hook', event: a, state: 'pending', attempts: 0, next_at: T0, created_at: T0, sent_at: null, last_error: null });
      expect(await store.deliveryBacklog()).toEqual([
        { channel: 'chat', pending: 1, next_at: T0 + 5000 },
        { channel: 'hook', pending: 2, next_at: T0 },
      ]);
      // A retry pushes the channel's later deliveries behind it, so they stay in order.
      expect(await store.updateDelivery(a.id, 'hook', { attempts: 1, next_at: T0 + 2000, last_error: 'status 503' })).toBe(true);
      expect(await store.deferDeliveries('hook', T0 + 2000)).toBe(1);
      expect((await store.deliveries({ channel: 'hook', limit: 10 })).map((d) => [d.event_id, d.next_at, d.attempts])).toEqual([
        [a.id, T0 + 2000, 1],
        [b.id, T0 + 2000, 0],
      ]);
      expect(await store.updateDelivery(a.id, 'hook', { state: 'sent', sent_at: T0 + 2100, next_at: T0 + 2100, last_error: null })).toBe(true);
      // Sent is final: no update brings it back.
      expect(await store.updateDelivery(a.id, 'hook', { state: 'pending', next_at: T0 })).toBe(false);
      expect((await store.deliveries({ event_id: a.id, channel: 'hook', limit: 1 }))[0]).toMatchObject({ state: 'sent', sent_at: T0 + 2100 });
      const shorter = { ...a, systems: [] };
      expect(await store.updateDelivery(a.id, 'chat', { event: shorter })).toBe(true);
      expect(await store.updateDelivery(a.id, 'chat', { state: 'cancelled', next_at: T0 + 3000 })).toBe(true);
      expect((await store.deliveries({ channel: 'chat', limit: 1 }))[0]).toMatchObject({ state: 'cancelled', event: shorter });
      expect(await store.deliveryBacklog()).toEqual([{ channel: 'hook', pending: 1, next_at: T0 + 2000 }]);
      // A finished announcement of a window still ahead is kept; other finished rows go.
      const w = ev('maintenance:w1:announced', {
        kind: 'maintenance',
        maintenance: { id: 'w1', phase: 'announced', title: { da: 'Vindue' }, start: T0 + 86_400_000, end: T0 + 90_000_000 },
      });
      await store.enqueueDeliveries([{ channel: 'hook', event: w, next_at: T0, created_at: T0 }]);
      await store.updateDelivery(w.id, 'hook', { state: 'sent', sent_at: T0, next_at: T0 });
      expect(await store.pruneDeliveries(T0 + 10_000)).toBe(2);
      expect((await store.deliveries({ limit: 10 })).map((d) => [d.event_id, d.channel])).toEqual([
        [w.id, 'hook'],
        [b.id, 'hook'],
      ]);
      if (h.reopen !== undefined) {
        store = await h.reopen(store);
        expect((await store.deliveries({ state: 'pending', limit: 10 })).map((d) => d.event)).toEqual([b]);
      }
    });

    it('persists everything across close and reopen, and stays idempotent on (agent, seq)', async (ctx) => {
      if (h.reopen === undefined) {
        ctx.skip();
        return;
      }
      await store.insertResults([result({ seq: 1 }), result({ seq: 2, ts: T0 + 1000, ok: false })]);
      await store.recordStatusChanges([{ system: 'mitid', view: 'own', status: 'major_outage', cause: [], at: T0 + 1000 }]);
      await store.recordAgentsSeen([{ id: 'kbh-1', last_seen: T0, version: '0.1.0', remote_address: '127.0.0.1' }]);
      const u: IncidentUpdate = { at: T0, kind: 'opened', status: 'major_outage', priority: 1, affected: ['mitid'], message: 'm' };
      await store.saveIncidents([
        { incident: { id: 4, system: 'mitid', status: 'major_outage', priority: 1, peak_priority: 1, affected: ['mitid'], started_at: T0, resolved_at: null, updates: [u] }, added: [u] },
      ]);
      await store.recordAlertEvents([{ type: 'raised', at: T0, alert: { key: 'agent_offline:x', kind: 'agent_offline', agent: 'x', since: T0, last_result: null } }]);
      const note: IncidentUpdate = { ...u, at: T0 + 5, kind: 'operator', operator: { status: 'identified', message: { da: 'Fundet', en: 'Found' } } };
      await store.addIncidentUpdate(4, note);
      const news: Announcement = { id: 'an-1', systems: ['mitid'], kind: 'info', title: { da: 'Info' }, body: { da: 'Tekst', en: 'Text' }, at: T0, created_at: T0 };
      await store.insertAnnouncement(news);
      store = await h.reopen(store);
      expect((await store.incidents({ id: 4, limit: 1 }))[0]?.updates).toEqual([u, note]);
      expect(await store.announcements({ limit: 10 })).toEqual([news]);
      expect(await store.incidents({ state: 'open', limit: 10 })).toHaveLength(1);
      expect(await store.maxIncidentId()).toBe(4);
      expect(await store.alerts({ active: true, limit: 10 })).toEqual([
        { key: 'agent_offline:x', kind: 'agent_offline', agent: 'x', since: T0, last_result: null, resolved_at: null },
      ]);
      expect(store.open).toBe(true);
      expect(await store.queryResults({ limit: 10 })).toHaveLength(2);
      expect(await store.latestResults()).toEqual([result({ seq: 2, ts: T0 + 1000, ok: false })]);
      expect(await store.latestStatuses()).toHaveLength(1);
      expect(await store.agents()).toHaveLength(1);
      expect(await store.insertResults([result({ seq: 2 }), result({ seq: 3 })])).toEqual([false, true]);
    });
  });
}
