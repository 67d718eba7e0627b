// The status engine with an injected clock: slowness and its hysteresis, suspect and offline
// agents, service windows and incidents. No sockets, no sleeping.
import { describe, expect, it } from 'vitest';
import { LatestResults } from '../../collector/latest.js';
import { ownStatus, type ProbeTally } from '../../collector/status/derive.js';
import { priorityOf } from '../../collector/status/incidents.js';
import { percentile, stepSlow, type SlowState } from '../../collector/status/slow.js';
import { StatusTracker, type TrackedSystem } from '../../collector/status/tracker.js';
import type { StoredResult } from '../../collector/store/types.js';
import { ManualClock } from '../../lib/clock.js';

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);
const P = { interval: 1_000, timeout: 500 };

let seq = 0;
function r(over: Partial<StoredResult>): StoredResult {
  seq++;
  return { agent: 'a', seq, system: 'mitid', probe: 'web', ts: T0, ok: true, duration_ms: 100, phases: {}, received_at: T0, ...over };
}

function setup(systems: TrackedSystem[], agents = ['a', 'b', 'c'], windows: { system: string; start: number; end: number }[] = []) {
  const clock = new ManualClock(T0);
  const latest = new LatestResults();
  const maintenance = {
    activeFor: (system: string, now: number) => {
      const w = windows.find((x) => x.system === system && now >= x.start && now < x.end);
      return w === undefined ? undefined : { id: `w-${w.system}` };
    },
  };
  const tracker = new StatusTracker({ clock, latest, maintenance });
  tracker.setSystems(systems, agents);
  /** Every agent reports on every system at the current time; `fail` and `slow` pick who fails or is slow. */
  const report = (over: Record<string, Record<string, Partial<StoredResult>>> = {}): void => {
    for (const s of systems)
      for (const p of s.probes)
        for (const agent of agents) latest.update(r({ agent, system: s.id, probe: p.id, ts: clock.now(), ...over[s.id]?.[agent] }));
  };
  return { clock, latest, tracker, report, windows };
}

const sys = (id: string, over: Partial<TrackedSystem> = {}): TrackedSystem => ({ id, probes: [{ id: 'web', ...P }], ...over });

const tally = (over: Partial<ProbeTally>): ProbeTally => ({ fresh: 3, failing: 0, suspect: 0, durations: [], lonely: [], ...over });

describe('the own-status rule table (docs/api.md#status-rules)', () => {
  const rows: [string, ProbeTally[], Parameters<typeof ownStatus>[1], string][] = [
    ['no fresh result', [tally({ fresh: 0 })], {}, 'unknown'],
    ['all 3 fine', [tally({})], {}, 'operational'],
    ['1 of 3 failing', [tally({ failing: 1 })], {}, 'partial_outage'],
    ['2 of 4 failing: half is not more than half', [tally({ fresh: 4, failing: 2 })], {}, 'partial_outage'],
    ['2 of 3 failing', [tally({ failing: 2 })], {}, 'major_outage'],
    ['1 of 1 failing', [tally({ fresh: 1, failing: 1 })], {}, 'major_outage'],
    ['2 of 3 failing with quorum 0.7', [tally({ failing: 2 })], { quorum: 0.7 }, 'partial_outage'],
    ['worst probe wins', [tally({ failing: 1 }), tally({ failing: 3 })], {}, 'major_outage'],
    ['a stale probe says nothing', [tally({ fresh: 0 }), tally({})], {}, 'operational'],
    ['slow and fine', [tally({})], { slow: true }, 'degraded_performance'],
    ['slow and partly failing', [tally({ failing: 1 })], { slow: true }, 'partial_outage'],
    ['slow with no fresh data', [tally({ fresh: 0 })], { slow: true }, 'unknown'],
    ['in a service window, failing', [tally({ failing: 3 })], { maintenance: true }, 'under_maintenance'],
    ['in a service window, no data', [tally({ fresh: 0 })], { maintenance: true }, 'under_maintenance'],
  ];
  it.each(rows)('%s', (_name, tallies, opts, want) => {
    expect(ownStatus(tallies, opts)).toBe(want);
  });
});

describe('the dependency examples table (docs/api.md#status-rules)', () => {
  // borger.dk -> NemLog-in -> MitID, all critical; three agents a, b, c.
  type Row = [string, Record<string, Record<string, Partial<StoredResult>>>, { window?: boolean }, string, string[]];
  const down = { a: { ok: false }, b: { ok: false }, c: { ok: false } };
  const rows: Row[] = [
    ['MitID 1 of 3 failing', { mitid: { a: { ok: false } } }, {}, 'partial_outage', ['mitid']],
    ['MitID, NemLog-in and borger.dk 3 of 3 failing', { mitid: down, 'nemlog-in': down, 'borger-dk': down }, {}, 'major_outage', ['mitid']],
    ['borger.dk 2 of 3 failing on its own', { 'borger-dk': { a: { ok: false }, b: { ok: false } } }, {}, 'major_outage', []],
    ['MitID in a service window', {}, { window: true }, 'under_maintenance', ['mitid']],
    ['MitID slow, borger.dk 1 of 3 failing', { mitid: { a: { duration_ms: 5_000 }, b: { duration_ms: 5_000 }, c: { duration_ms: 5_000 } }, 'borger-dk': { a: { ok: false } } }, {}, 'partial_outage', []],
  ];
  it.each(rows)('%s', (_name, over, opts, status, cause) => {
    const windows = opts.window === true ? [{ system: 'mitid', start: T0 - 1, end: T0 + 60_000 }] : [];
    const { tracker, report } = setup(
      [
        sys('mitid', { response_time: { slow: 1_000, for: 0, percentile: 95 } }),
        sys('nemlog-in', { depends_on: { mitid: 'critical' } }),
        sys('borger-dk', { depends_on: { 'nemlog-in': 'critical' } }),
      ],
      ['a', 'b', 'c'],
      windows,
    );
    report(over);
    tracker.evaluate();
    expect(tracker.get('borger-dk')).toMatchObject({ status, cause });
  });
});

describe('long response time', () => {
  const rule = { slow: 1_000, for: 5_000, percentile: 95 };

  it('takes the nearest-rank percentile', () => {
    expect(percentile([], 95)).toBeUndefined();
    expect(percentile([300, 100, 200], 95)).toBe(300);
    expect(percentile([300, 100, 200], 50)).toBe(200);
    expect(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 95)).toBe(95);
  });

  it('fires only after staying over slow for `for`; a dip resets the wait', () => {
    let s: SlowState = { firing: false };
    s = stepSlow(s, 1_500, T0, rule);
    expect(s).toMatchObject({ firing: false, crossedAt: T0 });
    s = stepSlow(s, 1_500, T0 + 4_999, rule);
    expect(s.firing).toBe(false);
    s = stepSlow(s, 900, T0 + 5_000, rule);
    expect(s).toEqual({ firing: false, value: 900 });
    s = stepSlow(s, 1_200, T0 + 6_000, rule);
    s = stepSlow(s, 1_200, T0 + 11_000, rule);
    expect(s).toMatchObject({ firing: true, since: T0 + 11_000, value: 1_200 });
    // No data is no news.
    expect(stepSlow(s, undefined, T0 + 50_000, rule)).toBe(s);
  });

  it('resolves only below 90 % of slow for `for`: values between do not flap', () => {
    let s: SlowState = { firing: true, since: T0 };
    for (let t = 1; t <= 20; t++) {
      s = stepSlow(s, t % 2 === 0 ? 950 : 1_050, T0 + t * 1_000, rule);
      expect(s.firing).toBe(true);
    }
    s = stepSlow(s, 800, T0 + 30_000, rule);
    expect(s).toMatchObject({ firing: true, crossedAt: T0 + 30_000 });
    s = stepSlow(s, 950, T0 + 31_000, rule);
    expect(s.crossedAt).toBeUndefined();
    s = stepSlow(s, 800, T0 + 32_000, rule);
    s = stepSlow(s, 800, T0 + 37_000, rule);
    expect(s).toEqual({ firing: false, value: 800 });
  });

  it('makes a system degraded_performance with an alert after `for`, and clears both', () => {
    const { clock, tracker, report } = setup([sys('nemlog-in', { response_time: { slow: 1_000, for: 2_000, percentile: 95 } })]);
    report();
    expect(tracker.evaluate().alerts).toEqual([]);
    const slow = { 'nemlog-in': { a: { duration_ms: 2_500 }, b: { duration_ms: 300 }, c: { duration_ms: 300 } } };
    clock.advance(1_000);
    report(slow);
    expect(tracker.evaluate().alerts).toEqual([]);
    expect(tracker.slowState('nemlog-in')).toMatchObject({ firing: false, value: 2_500 });
    clock.advance(2_000);
    report(slow);
    const ev = tracker.evaluate();
    expect(ev.alerts).toEqual([
      {
        type: 'raised',
        at: T0 + 3_000,
        alert: {
          key: 'long_response_time:nemlog-in',
          kind: 'long_response_time',
          system: 'nemlog-in',
          since: T0 + 3_000,
          percentile: 95,
          threshold_ms: 1_000,
          value_ms: 2_500,
        },
      },
    ]);
    expect(tracker.get('nemlog-in')).toMatchObject({ status: 'degraded_performance', own_status: 'degraded_performance' });
    expect([...tracker.alertSeries()].find((a) => a.kind === 'long_response_time')).toEqual({
      kind: 'long_response_time',
      system: 'nemlog-in',
      active: true,
    });
    // Fast again: resolved after `for` under 90 % of slow.
    clock.advance(1_000);
    report();
    expect(tracker.evaluate().alerts).toEqual([]);
    clock.advance(2_000);
    report();
    const back = tracker.evaluate();
    expect(back.alerts.map((e) => `${e.type} ${e.alert.key} ${e.at - T0}`)).toEqual(['resolved long_response_time:nemlog-in 6000']);
    expect(tracker.get('nemlog-in')?.own_status).toBe('operational');
  });

  it('fires a probe\'s own rule on that probe\'s times only', () => {
    const s = sys('borger-dk', {
      probes: [
        { id: 'web', ...P },
        { id: 'login', ...P, response_time: { slow: 500, for: 0, percentile: 50 } },
      ],
    });
    const { tracker, report } = setup([s]);
    report({ 'borger-dk': { a: { duration_ms: 900 }, b: { duration_ms: 900 }, c: { duration_ms: 900 } } });
    const ev = tracker.evaluate();
    expect(ev.alerts.map((e) => e.alert.key)).toEqual(['long_response_time:borger-dk:login']);
    expect(ev.alerts[0]?.alert.probe).toBe('login');
    expect(tracker.get('borger-dk')?.own_status).toBe('degraded_performance');
  });
});

describe('flapping', () => {
  it('does not flap with retries: alternating failures never count, two in a row do', () => {
    const { clock, latest, tracker } = setup([sys('mitid', { probes: [{ id: 'web', ...P, retries: 2 }] })], ['a']);
    const statuses: string[] = [];
    for (let i = 0; i < 10; i++) {
      clock.advance(1_000);
      latest.update(r({ agent: 'a', ts: clock.now(), ok: i % 2 === 0 }));
      tracker.evaluate(['mitid']);
      statuses.push(tracker.get('mitid')?.status ?? '');
    }
    expect(new Set(statuses)).toEqual(new Set(['operational']));
    clock.advance(1_000);
    latest.update(r({ agent: 'a', ts: clock.now(), ok: false }));
    const changes = tracker.evaluate(['mitid']).changes;
    expect(changes.map((c) => `${c.view}:${c.status}`)).toEqual(['perceived:major_outage', 'own:major_outage']);
    expect(tracker.incidents.open().map((i) => i.system)).toEqual(['mitid']);
  });

  it('keeps one incident through ups and downs of its severity', () => {
    const { clock, tracker, report } = setup([sys('mitid')]);
    for (let i = 0; i < 6; i++) {
      report({ mitid: i % 2 === 0 ? { a: { ok: false } } : { a: { ok: false }, b: { ok: false } } });
      tracker.evaluate();
      clock.advance(1_000);
    }
    const [open] = tracker.incidents.open();
    expect(tracker.incidents.open()).toHaveLength(1);
    expect(open?.updates.map((u) => u.status)).toEqual(['partial_outage', 'major_outage', 'partial_outage', 'major_outage', 'partial_outage', 'major_outage']);
  });
});

describe('suspect and offline agents', () => {
  it('marks an agent suspect when it alone sees unrelated systems fail, and does not blame them', () => {
    const { tracker, report } = setup([sys('mitid'), sys('skat'), sys('virk')]);
    report({ mitid: { a: { ok: false } }, skat: { a: { ok: false } } });
    const ev = tracker.evaluate();
    expect(tracker.isSuspect('a')).toBe(true);
    expect(ev.alerts.map((e) => `${e.type} ${e.alert.key} ${e.alert.systems?.join(',')}`)).toEqual(['raised agent_suspect:a mitid,skat']);
    for (const id of ['mitid', 'skat', 'virk']) expect(tracker.get(id)?.status).toBe('operational');
    expect([...tracker.alertSeries()].filter((s) => s.active)).toEqual([{ kind: 'agent_suspect', agent: 'a', active: true }]);
  });

  it('shows a failure seen by a minority on one system as partial_outage, never hidden', () => {
    const { tracker, report } = setup([sys('mitid'), sys('skat')]);
    report({ mitid: { a: { ok: false } } });
    tracker.evaluate();
    expect(tracker.isSuspect('a')).toBe(false);
    expect(tracker.get('mitid')?.status).toBe('partial_outage');
  });

  it('does not call related failures suspect: a dependency explains its dependant', () => {
    const { tracker, report } = setup([sys('mitid'), sys('nemlog-in', { depends_on: { mitid: 'critical' } })]);
    report({ mitid: { a: { ok: false } }, 'nemlog-in': { a: { ok: false } } });
    tracker.evaluate();
    expect(tracker.isSuspect('a')).toBe(false);
    expect(tracker.get('mitid')?.status).toBe('partial_outage');
  });

  it('clears the suspicion when the agent recovers, and still counts a real outage it shares', () => {
    const { clock, tracker, report } = setup([sys('mitid'), sys('skat'), sys('virk')]);
    // a's network fails, and virk is down for everybody.
    report({ mitid: { a: { ok: false } }, skat: { a: { ok: false } }, virk: { a: { ok: false }, b: { ok: false }, c: { ok: false } } });
    tracker.evaluate();
    expect(tracker.isSuspect('a')).toBe(true);
    expect(tracker.get('virk')?.status).toBe('major_outage');
    clock.advance(1_000);
    report();
    const ev = tracker.evaluate();
    expect(tracker.isSuspect('a')).toBe(false);
    expect(ev.alerts.map((e) => `${e.type} ${e.alert.key}`)).toEqual(['resolved agent_suspect:a']);
  });

  it('raises agent_offline when an agent sends nothing fresh, without turning systems red', () => {
    const { clock, latest, tracker, report } = setup([sys('mitid')]);
    report();
    tracker.evaluate();
    // b and c go on; a falls silent. Fresh for 3 s (3 intervals).
    for (let t = 1; t <= 4; t++) {
      clock.advance(1_000);
      for (const agent of ['b', 'c']) latest.update(r({ agent, ts: clock.now() }));
      const ev = tracker.evaluate();
      if (t < 4) expect(ev.alerts).toEqual([]);
      else
        expect(ev.alerts).toEqual([
          { type: 'raised', at: T0 + 3_000, alert: { key: 'agent_offline:a', kind: 'agent_offline', agent: 'a', since: T0 + 3_000, last_result: T0 } },
        ]);
    }
    expect(tracker.get('mitid')?.status).toBe('operational');
    latest.update(r({ agent: 'a', ts: clock.now() }));
    expect(tracker.evaluate().alerts.map((e) => `${e.type} ${e.alert.key}`)).toEqual(['resolved agent_offline:a']);
  });

  it('counts an agent that never reported as offline from the collector\'s start', () => {
    const { clock, tracker } = setup([sys('mitid')], ['a']);
    clock.advance(3_000);
    expect(tracker.evaluate().alerts).toEqual([]);
    clock.advance(1);
    expect(tracker.evaluate().alerts[0]?.alert).toMatchObject({ key: 'agent_offline:a', since: T0 + 3_000, last_result: null });
  });
});

describe('service windows', () => {
  it('puts a system under maintenance inside its window, with no incident and no alert', () => {
    const windows = [{ system: 'nemlog-in', start: T0 + 1_000, end: T0 + 3_000 }];
    const s = sys('nemlog-in', { response_time: { slow: 200, for: 0, percentile: 95 } });
    const { clock, tracker, report } = setup([s, sys('borger-dk', { depends_on: { 'nemlog-in': 'critical' } })], ['a', 'b', 'c'], windows);
    report();
    tracker.evaluate();
    clock.advance(1_000);
    report({ 'nemlog-in': { a: { ok: false }, b: { ok: false }, c: { ok: false } } });
    const inside = tracker.evaluate();
    expect(tracker.get('nemlog-in')).toMatchObject({ status: 'under_maintenance', own_status: 'under_maintenance' });
    expect(tracker.get('borger-dk')).toMatchObject({ status: 'under_maintenance', own_status: 'operational', cause: ['nemlog-in'] });
    expect(inside.incidents).toEqual([]);
    clock.advance(1_000);
    report({ 'nemlog-in': { a: { duration_ms: 900 }, b: { duration_ms: 900 }, c: { duration_ms: 900 } } });
    expect(tracker.evaluate().alerts).toEqual([]);
    // The window ends: the slowness counts from now on.
    clock.advance(1_000);
    report({ 'nemlog-in': { a: { duration_ms: 900 }, b: { duration_ms: 900 }, c: { duration_ms: 900 } } });
    const after = tracker.evaluate();
    expect(after.alerts.map((e) => e.alert.key)).toEqual(['long_response_time:nemlog-in']);
    expect(tracker.get('nemlog-in')?.own_status).toBe('degraded_performance');
  });

  it('resolves an open incident when a window starts', () => {
    const windows = [{ system: 'mitid', start: T0 + 1_000, end: T0 + 60_000 }];
    const { clock, tracker, report } = setup([sys('mitid')], ['a', 'b', 'c'], windows);
    report({ mitid: { a: { ok: false }, b: { ok: false }, c: { ok: false } } });
    expect(tracker.evaluate().incidents.map((c) => c.added[0]?.kind)).toEqual(['opened']);
    clock.advance(1_000);
    const ev = tracker.evaluate();
    expect(ev.incidents.map((c) => `${c.added[0]?.kind}: ${c.added[0]?.message}`)).toEqual(['resolved: A service window started.']);
  });
});

describe('incidents', () => {
  it('prioritises by the share of failing vantage points: >20 % critical, >5 % high', () => {
    expect(priorityOf('major_outage', 1)).toBe(1);
    expect(priorityOf('partial_outage', 0.21)).toBe(1);
    expect(priorityOf('partial_outage', 0.2)).toBe(2);
    expect(priorityOf('partial_outage', 0.06)).toBe(2);
    expect(priorityOf('partial_outage', 0.05)).toBe(3);
    expect(priorityOf('partial_outage', 0.01)).toBe(3);
    expect(priorityOf('degraded_performance', 0)).toBe(4);
    expect(priorityOf('partial_outage', 0.3, { critical: 0.5, high: 0.1 })).toBe(2);
  });

  it('opens one incident for a root cause, lists the dependants it affects, updates and resolves it', () => {
    const agents = Array.from({ length: 20 }, (_, i) => `a${i}`);
    const { clock, tracker, report } = setup(
      [sys('mitid'), sys('nemlog-in', { depends_on: { mitid: 'critical' } }), sys('borger-dk', { depends_on: { 'nemlog-in': 'critical' } }), sys('virk')],
      agents,
    );
    report();
    tracker.evaluate();
    // 2 of 20 (10 %) fail MitID: partial, priority 2.
    clock.advance(1_000);
    report({ mitid: { a0: { ok: false }, a1: { ok: false } } });
    const first = tracker.evaluate(['mitid']);
    expect(first.incidents).toHaveLength(1);
    const inc = first.incidents[0]!.incident;
    expect(inc).toMatchObject({ id: 1, system: 'mitid', status: 'partial_outage', priority: 2, affected: ['borger-dk', 'mitid', 'nemlog-in'] });
    expect(inc.updates[0]?.message).toBe('mitid: partial outage (2 of 20 vantage points failing), priority 2.');
    // Everyone fails: major, priority 1; the dependants are no incidents of their own.
    clock.advance(1_000);
    report({ mitid: Object.fromEntries(agents.map((a) => [a, { ok: false }])), 'nemlog-in': Object.fromEntries(agents.map((a) => [a, { ok: false }])) });
    const worse = tracker.evaluate();
    expect(worse.incidents.map((c) => [c.incident.id, c.added[0]?.kind, c.incident.status, c.incident.priority])).toEqual([[1, 'updated', 'major_outage', 1]]);
    expect(tracker.incidents.open()).toHaveLength(1);
    // Recovery resolves it, with its timeline and peak priority.
    clock.advance(1_000);
    report();
    const back = tracker.evaluate();
    expect(back.incidents[0]?.incident).toMatchObject({ id: 1, resolved_at: T0 + 3_000, peak_priority: 1, priority: 1 });
    expect(back.incidents[0]?.incident.updates.map((u) => u.kind)).toEqual(['opened', 'updated', 'resolved']);
    expect(tracker.incidents.open()).toEqual([]);
    // A new outage is a new incident.
    clock.advance(1_000);
    report({ virk: { a0: { duration_ms: 1, ok: false } } });
    const next = tracker.evaluate();
    expect(next.incidents[0]?.incident).toMatchObject({ id: 2, system: 'virk', priority: 3, affected: ['virk'] });
  });

  it('keeps an incident open while the root turns unknown, and carries ids across a restart', () => {
    const { clock, tracker, report } = setup([sys('mitid')]);
    report({ mitid: { a: { ok: false }, b: { ok: false }, c: { ok: false } } });
    const opened = tracker.evaluate().incidents[0]!.incident;
    clock.advance(10_000);
    expect(tracker.evaluate().incidents).toEqual([]);
    expect(tracker.get('mitid')?.own_status).toBe('unknown');
    expect(tracker.incidents.open()).toHaveLength(1);

    const again = setup([sys('mitid')]);
    again.tracker.restoreOpen([], [structuredClone(opened)], 7);
    again.clock.set(clock.now());
    again.report();
    const ev = again.tracker.evaluate();
    expect(ev.incidents.map((c) => [c.incident.id, c.added[0]?.kind])).toEqual([[1, 'resolved']]);
    again.report({ mitid: { a: { ok: false }, b: { ok: false }, c: { ok: false } } });
    again.clock.advance(1_000);
    again.report({ mitid: { a: { ok: false }, b: { ok: false }, c: { ok: false } } });
    expect(again.tracker.evaluate().incidents[0]?.incident.id).toBe(8);
  });
});
