import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { LatestResults } from '../../collector/latest.js';
import { deriveSystemStatus, freshFor, isFresh } from '../../collector/status/derive.js';
import { StatusTracker } from '../../collector/status/tracker.js';
import { derivePerceived } from '../../collector/status/perceived.js';
import type { Status } from '../../collector/status/types.js';
import type { Impact } from '../../config/schema.js';
import type { StoredResult } from '../../collector/store/types.js';

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);
const probe = { interval: 30_000, timeout: 10_000 };

function r(over: Partial<StoredResult>): StoredResult {
  return { agent: 'a', seq: 1, system: 'mitid', probe: 'front', ts: T0, ok: true, duration_ms: 10, phases: {}, received_at: T0, ...over };
}

describe('deriveSystemStatus', () => {
  it('counts a result fresh within 3 intervals, and at least interval + timeout', () => {
    expect(freshFor(30_000, 10_000)).toBe(90_000);
    expect(freshFor(1_000, 10_000)).toBe(11_000);
    expect(isFresh(T0, probe, T0 + 90_000)).toBe(true);
    expect(isFresh(T0, probe, T0 + 90_001)).toBe(false);
  });

  it('is unknown without fresh results', () => {
    expect(deriveSystemStatus([], T0).status).toBe('unknown');
    expect(deriveSystemStatus([{ ...probe, results: [] }], T0).status).toBe('unknown');
    expect(deriveSystemStatus([{ ...probe, results: [r({ ts: T0 - 100_000, ok: false })] }], T0).own_status).toBe('unknown');
  });

  it('is operational while fresh results pass', () => {
    const ok = { ...probe, results: [r({ agent: 'a' }), r({ agent: 'b' })] };
    expect(deriveSystemStatus([ok], T0 + 1000)).toEqual({ status: 'operational', own_status: 'operational', cause: [] });
  });

  // The rule table of docs/api.md: failing / fresh vantage points of a probe against the quorum.
  it.each([
    [['ok'], 'operational'],
    [['fail'], 'major_outage'],
    [['ok', 'fail'], 'partial_outage'], // half is not more than half
    [['ok', 'ok', 'fail'], 'partial_outage'],
    [['ok', 'fail', 'fail'], 'major_outage'],
    [['fail', 'fail', 'fail'], 'major_outage'],
    [['ok', 'ok', 'ok', 'ok', 'fail', 'fail'], 'partial_outage'],
  ] as const)('vantage points %j give %s', (points, want) => {
    const results = points.map((p, i) => r({ agent: `a${i}`, ok: p === 'ok' }));
    expect(deriveSystemStatus([{ ...probe, results }], T0 + 1000).own_status).toBe(want);
  });

  it('takes the worst probe, and counts only fresh vantage points in the quorum', () => {
    const ok = { ...probe, results: [r({ agent: 'a' }), r({ agent: 'b' })] };
    const half = { ...probe, results: [r({ agent: 'a' }), r({ agent: 'b', ok: false })] };
    const all = { ...probe, results: [r({ agent: 'a', ok: false })] };
    expect(deriveSystemStatus([ok, half], T0 + 1000).own_status).toBe('partial_outage');
    expect(deriveSystemStatus([half, all, ok], T0 + 1000).own_status).toBe('major_outage');
    // b's stale success does not dilute a's fresh failure.
    const stale = { ...probe, results: [r({ agent: 'a', ok: false }), r({ agent: 'b', ts: T0 - 200_000 })] };
    expect(deriveSystemStatus([stale], T0).own_status).toBe('major_outage');
    expect(deriveSystemStatus([half], T0 + 1000, { quorum: 0.4 }).own_status).toBe('major_outage');
  });

  it('counts a vantage point failing only after `retries` failures in a row, and passing after one success', () => {
    const latest = new LatestResults();
    const vps = () => ({ ...probe, retries: 3, results: latest.vantagePoints('mitid', 'front') });
    latest.update(r({ seq: 1, ts: T0, ok: false }));
    latest.update(r({ seq: 2, ts: T0 + 1, ok: false }));
    expect(deriveSystemStatus([vps()], T0 + 10).own_status).toBe('operational');
    latest.update(r({ seq: 3, ts: T0 + 2, ok: false }));
    expect([...latest.vantagePoints('mitid', 'front')][0]?.failures).toBe(3);
    expect(deriveSystemStatus([vps()], T0 + 10).own_status).toBe('major_outage');
    latest.update(r({ seq: 4, ts: T0 + 3, ok: true }));
    expect(deriveSystemStatus([vps()], T0 + 10).own_status).toBe('operational');
    // A late, older failure does not extend the run.
    latest.update(r({ seq: 5, ts: T0 + 4, ok: false }));
    expect(latest.update(r({ seq: 0, ts: T0 - 5, ok: false }))).toBe(false);
    expect([...latest.vantagePoints('mitid', 'front')][0]?.failures).toBe(1);
    // retries 0 and 1 both mean: the first failure counts.
    expect(deriveSystemStatus([{ ...probe, retries: 0, results: [r({ ok: false })] }], T0).own_status).toBe('major_outage');
  });

  it('ignores stale failures and results from agents the probe is not assigned to', () => {
    const stale = { ...probe, results: [r({ ts: T0 - 200_000, ok: false }), r({ agent: 'b', ts: T0 })] };
    expect(deriveSystemStatus([stale], T0).status).toBe('operational');
    const other = { ...probe, agents: ['b'], results: [r({ agent: 'a', ok: false }), r({ agent: 'b' })] };
    expect(deriveSystemStatus([other], T0).status).toBe('operational');
    const onlyOther = { ...probe, agents: ['b'], results: [r({ agent: 'a' })] };
    expect(deriveSystemStatus([onlyOther], T0).status).toBe('unknown');
  });
});

describe('StatusTracker', () => {
  function setup() {
    const clock = new ManualClock(T0);
    const latest = new LatestResults();
    const tracker = new StatusTracker({ clock, latest });
    tracker.setSystems([
      { id: 'mitid', probes: [{ id: 'front', ...probe }] },
      { id: 'virk', probes: [{ id: 'front', ...probe }] },
    ]);
    return { clock, latest, tracker };
  }

  it('starts unknown, records the first status of both views, and tracks since', () => {
    const { clock, latest, tracker } = setup();
    const first = tracker.evaluate().changes;
    expect(first).toHaveLength(4);
    expect(first.every((c) => c.status === 'unknown' && c.at === T0)).toBe(true);
    expect(tracker.get('mitid')).toMatchObject({ status: 'unknown', since: T0 });

    clock.advance(5_000);
    latest.update(r({ ts: clock.now() }));
    const changes = tracker.evaluate(['mitid']).changes;
    expect(changes).toEqual([
      { system: 'mitid', view: 'perceived', status: 'operational', cause: [], at: T0 + 5_000 },
      { system: 'mitid', view: 'own', status: 'operational', cause: [], at: T0 + 5_000 },
    ]);
    expect(tracker.get('mitid')).toMatchObject({ status: 'operational', own_status: 'operational', since: T0 + 5_000 });
    expect(tracker.get('virk')?.status).toBe('unknown');

    // Still operational: no change, since stays.
    clock.advance(30_000);
    latest.update(r({ seq: 2, ts: clock.now() }));
    expect(tracker.evaluate().changes).toEqual([]);
    expect(tracker.get('mitid')?.since).toBe(T0 + 5_000);
    expect(tracker.updatedAt).toBe(T0 + 35_000);
  });

  it('turns major_outage on a failing result and back', () => {
    const { clock, latest, tracker } = setup();
    latest.update(r({ ts: T0 }));
    tracker.evaluate();
    clock.advance(1_000);
    latest.update(r({ seq: 2, ts: clock.now(), ok: false }));
    expect(tracker.evaluate(['mitid']).changes.map((c) => c.status)).toEqual(['major_outage', 'major_outage']);
    expect(tracker.get('mitid')).toMatchObject({ status: 'major_outage', since: T0 + 1_000 });
    clock.advance(1_000);
    latest.update(r({ seq: 3, ts: clock.now() }));
    tracker.evaluate(['mitid']);
    expect(tracker.get('mitid')).toMatchObject({ status: 'operational', since: T0 + 2_000 });
  });

  it('turns unknown when results go stale', () => {
    const { clock, latest, tracker } = setup();
    latest.update(r({ ts: T0 }));
    tracker.evaluate();
    expect(tracker.get('mitid')?.status).toBe('operational');
    clock.advance(90_000);
    tracker.evaluate();
    expect(tracker.get('mitid')?.status).toBe('operational');
    clock.advance(1);
    const changes = tracker.evaluate().changes;
    expect(changes.map((c) => [c.system, c.status])).toEqual([
      ['mitid', 'unknown'],
      ['mitid', 'unknown'],
    ]);
    expect(tracker.get('mitid')?.since).toBe(T0 + 90_001);
  });

  it('keeps since across a restart when the restored status still holds', () => {
    const { latest, tracker } = setup();
    latest.update(r({ ts: T0 }));
    tracker.restore([
      { system: 'mitid', view: 'perceived', status: 'operational', cause: [], at: T0 - 3_600_000 },
      { system: 'mitid', view: 'own', status: 'operational', cause: [], at: T0 - 3_600_000 },
      { system: 'virk', view: 'perceived', status: 'operational', cause: [], at: T0 - 3_600_000 },
    ]);
    const changes = tracker.evaluate().changes;
    // mitid still operational: no change; virk has no fresh results: unknown from now.
    expect(changes.map((c) => `${c.system}/${c.view}/${c.status}`)).toEqual(['virk/perceived/unknown', 'virk/own/unknown']);
    expect(tracker.get('mitid')?.since).toBe(T0 - 3_600_000);
    expect(tracker.get('virk')?.since).toBe(T0);
  });

  it('drops systems that are no longer tracked', () => {
    const { tracker } = setup();
    tracker.evaluate();
    tracker.setSystems([{ id: 'virk', probes: [] }]);
    expect(tracker.get('mitid')).toBeUndefined();
    expect(tracker.get('virk')).toBeDefined();
  });
});

describe('derivePerceived', () => {
  const graph = new Map<string, Record<string, Impact>>([
    ['nemlog-in', { mitid: 'critical' }],
    ['borger-dk', { 'nemlog-in': 'critical', 'digital-post': 'low' }],
    ['sundhed-dk', { 'nemlog-in': 'high' }],
    ['eindkomst', { virk: 'high' }],
    ['virk', { 'nemlog-in': 'critical' }],
  ]);
  const perceive = (own: Record<string, Status>) => Object.fromEntries(derivePerceived(new Map(Object.entries(own)), graph));
  const allOk: Record<string, Status> = {
    mitid: 'operational',
    'nemlog-in': 'operational',
    'borger-dk': 'operational',
    'digital-post': 'operational',
    'sundhed-dk': 'operational',
    virk: 'operational',
    eindkomst: 'operational',
  };

  it('follows a chain to its root: MitID down makes NemLog-in and borger.dk down because of MitID', () => {
    const p = perceive({ ...allOk, mitid: 'major_outage' });
    expect(p.mitid).toEqual({ status: 'major_outage', cause: [] });
    expect(p['nemlog-in']).toEqual({ status: 'major_outage', cause: ['mitid'] });
    expect(p['borger-dk']).toEqual({ status: 'major_outage', cause: ['mitid'] });
    expect(p.virk).toEqual({ status: 'major_outage', cause: ['mitid'] });
    // high: a major outage there is a partial one here, through two levels.
    expect(p['sundhed-dk']).toEqual({ status: 'partial_outage', cause: ['mitid'] });
    expect(p.eindkomst).toEqual({ status: 'partial_outage', cause: ['mitid'] });
  });

  it('passes the same outage through critical, softens it through high, and ignores low', () => {
    expect(perceive({ ...allOk, 'nemlog-in': 'partial_outage' })['borger-dk']).toEqual({ status: 'partial_outage', cause: ['nemlog-in'] });
    expect(perceive({ ...allOk, 'nemlog-in': 'degraded_performance' })['borger-dk']).toEqual({ status: 'degraded_performance', cause: ['nemlog-in'] });
    expect(perceive({ ...allOk, 'nemlog-in': 'partial_outage' })['sundhed-dk']).toEqual({ status: 'degraded_performance', cause: ['nemlog-in'] });
    expect(perceive({ ...allOk, 'digital-post': 'major_outage' })['borger-dk']).toEqual({ status: 'operational', cause: [] });
  });

  it('blames nobody when a system is worse on its own, and names the root when it is as bad', () => {
    const p = perceive({ ...allOk, mitid: 'partial_outage', 'borger-dk': 'major_outage' });
    expect(p['borger-dk']).toEqual({ status: 'major_outage', cause: [] });
    // borger.dk's login fails too, but because MitID is down: MitID is named.
    const same = perceive({ ...allOk, mitid: 'major_outage', 'nemlog-in': 'major_outage', 'borger-dk': 'major_outage' });
    expect(same['nemlog-in']).toEqual({ status: 'major_outage', cause: ['mitid'] });
    expect(same['borger-dk']).toEqual({ status: 'major_outage', cause: ['mitid'] });
    // NemLog-in is down on its own and MitID only partly: NemLog-in is the root for borger.dk.
    const q = perceive({ ...allOk, mitid: 'partial_outage', 'nemlog-in': 'major_outage' });
    expect(q['nemlog-in']).toEqual({ status: 'major_outage', cause: [] });
    expect(q['borger-dk']).toEqual({ status: 'major_outage', cause: ['nemlog-in'] });
  });

  it('names every root that explains the status, and lets an outage show over unknown', () => {
    const both = new Map<string, Record<string, Impact>>([['portal', { a: 'critical', b: 'critical' }]]);
    const p = derivePerceived(new Map<string, Status>([['portal', 'unknown'], ['a', 'major_outage'], ['b', 'major_outage']]), both);
    expect(p.get('portal')).toEqual({ status: 'major_outage', cause: ['a', 'b'] });
    // Unknown says nothing about an outage: it does not spread.
    const q = derivePerceived(new Map<string, Status>([['portal', 'operational'], ['a', 'unknown'], ['b', 'operational']]), both);
    expect(q.get('portal')).toEqual({ status: 'operational', cause: [] });
  });

  it('passes a critical dependency\'s service window on, with the window as cause, but not through high or low', () => {
    const deps = new Map<string, Record<string, Impact>>([
      ['portal', { a: 'critical' }],
      ['shop', { a: 'high' }],
      ['blog', { a: 'low' }],
      ['app', { portal: 'critical' }],
    ]);
    const own = (o: Record<string, Status>): Map<string, Status> =>
      new Map<string, Status>(Object.entries({ a: 'under_maintenance', portal: 'operational', shop: 'operational', blog: 'operational', app: 'operational', ...o }));
    const p = derivePerceived(own({}), deps);
    expect(p.get('portal')).toEqual({ status: 'under_maintenance', cause: ['a'] });
    expect(p.get('app')).toEqual({ status: 'under_maintenance', cause: ['a'] });
    expect(p.get('shop')).toEqual({ status: 'operational', cause: [] });
    expect(p.get('blog')).toEqual({ status: 'operational', cause: [] });
    // The window explains the dependant's own failure too: no outage of its own is blamed.
    expect(derivePerceived(own({ portal: 'major_outage' }), deps).get('portal')).toEqual({ status: 'under_maintenance', cause: ['a'] });
    // An outage elsewhere is worse news than a window, and a system in its own window stays in it.
    const both = new Map<string, Record<string, Impact>>([['portal', { a: 'critical', b: 'critical' }]]);
    const q = derivePerceived(new Map<string, Status>([['portal', 'operational'], ['a', 'under_maintenance'], ['b', 'major_outage']]), both);
    expect(q.get('portal')).toEqual({ status: 'major_outage', cause: ['b'] });
    const r = derivePerceived(new Map<string, Status>([['portal', 'under_maintenance'], ['a', 'major_outage'], ['b', 'operational']]), both);
    expect(r.get('portal')).toEqual({ status: 'under_maintenance', cause: [] });
  });

  it('cuts a cycle instead of looping (config load refuses them)', () => {
    const cyclic = new Map<string, Record<string, Impact>>([['a', { b: 'critical' }], ['b', { a: 'critical' }]]);
    const p = derivePerceived(new Map<string, Status>([['a', 'major_outage'], ['b', 'operational']]), cyclic);
    expect(p.get('b')).toEqual({ status: 'major_outage', cause: ['a'] });
  });
});

describe('StatusTracker with dependencies', () => {
  it('shows a dependant the outage of its critical dependency with the cause, keeping its own status', () => {
    const clock = new ManualClock(T0);
    const latest = new LatestResults();
    const tracker = new StatusTracker({ clock, latest });
    tracker.setSystems([
      { id: 'mitid', probes: [{ id: 'front', ...probe }] },
      { id: 'nemlog-in', depends_on: { mitid: 'critical' }, probes: [{ id: 'front', ...probe }] },
    ]);
    latest.update(r({ system: 'mitid', ts: T0 }));
    latest.update(r({ system: 'nemlog-in', ts: T0 }));
    tracker.evaluate();
    clock.advance(1_000);
    latest.update(r({ system: 'mitid', seq: 2, ts: clock.now(), ok: false }));
    // Only MitID's results changed, yet NemLog-in's perceived status follows.
    expect(tracker.evaluate(['mitid']).changes).toEqual([
      { system: 'mitid', view: 'perceived', status: 'major_outage', cause: [], at: T0 + 1_000 },
      { system: 'mitid', view: 'own', status: 'major_outage', cause: [], at: T0 + 1_000 },
      { system: 'nemlog-in', view: 'perceived', status: 'major_outage', cause: ['mitid'], at: T0 + 1_000 },
    ]);
    expect(tracker.get('nemlog-in')).toMatchObject({ status: 'major_outage', own_status: 'operational', cause: ['mitid'] });
  });
});

describe('StatusTracker updates', () => {
  it('re-derives a changed system and its dependants through a chain, leaving others as they are', () => {
    const clock = new ManualClock(T0);
    const latest = new LatestResults();
    const tracker = new StatusTracker({ clock, latest });
    tracker.setSystems([
      { id: 'mitid', probes: [{ id: 'front', ...probe }] },
      { id: 'nemlog-in', depends_on: { mitid: 'critical' }, probes: [{ id: 'front', ...probe }] },
      { id: 'borger-dk', depends_on: { 'nemlog-in': 'critical' }, probes: [{ id: 'front', ...probe }] },
      { id: 'virk', probes: [{ id: 'front', ...probe }] },
    ]);
    for (const system of ['mitid', 'nemlog-in', 'borger-dk', 'virk']) latest.update(r({ system, ts: T0 }));
    tracker.evaluate();
    clock.advance(1_000);
    latest.update(r({ system: 'mitid', seq: 2, ts: clock.now(), ok: false }));
    const changes = tracker.evaluate(['mitid']).changes;
    expect(changes.map((c) => `${c.system}/${c.view}/${c.status}/${c.cause.join(',')}`)).toEqual([
      'mitid/perceived/major_outage/',
      'mitid/own/major_outage/',
      'nemlog-in/perceived/major_outage/mitid',
      'borger-dk/perceived/major_outage/mitid',
    ]);
    expect(tracker.get('virk')).toMatchObject({ status: 'operational', since: T0 });
    // Back: the chain follows again.
    clock.advance(1_000);
    latest.update(r({ system: 'mitid', seq: 3, ts: clock.now() }));
    expect(tracker.evaluate(['mitid']).changes.filter((c) => c.view === 'perceived').map((c) => `${c.system}:${c.status}`)).toEqual([
      'mitid:operational',
      'nemlog-in:operational',
      'borger-dk:operational',
    ]);
  });
});
