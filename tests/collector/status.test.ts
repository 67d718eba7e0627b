import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { LatestResults } from '../../collector/latest.js';
import { deriveSystemStatus, freshFor, isFresh } from '../../collector/status/derive.js';
import { StatusTracker } from '../../collector/status/tracker.js';
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

  it('is operational while fresh results pass and major_outage when one fails', () => {
    const ok = { ...probe, results: [r({ agent: 'a' }), r({ agent: 'b' })] };
    expect(deriveSystemStatus([ok], T0 + 1000)).toEqual({ status: 'operational', own_status: 'operational', cause: [] });
    const oneFails = { ...probe, results: [r({ agent: 'a' }), r({ agent: 'b', ok: false })] };
    expect(deriveSystemStatus([ok, oneFails], T0 + 1000)).toEqual({ status: 'major_outage', own_status: 'major_outage', cause: [] });
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
    const first = tracker.evaluate();
    expect(first).toHaveLength(4);
    expect(first.every((c) => c.status === 'unknown' && c.at === T0)).toBe(true);
    expect(tracker.get('mitid')).toMatchObject({ status: 'unknown', since: T0 });

    clock.advance(5_000);
    latest.update(r({ ts: clock.now() }));
    const changes = tracker.evaluate(['mitid']);
    expect(changes).toEqual([
      { system: 'mitid', view: 'perceived', status: 'operational', cause: [], at: T0 + 5_000 },
      { system: 'mitid', view: 'own', status: 'operational', cause: [], at: T0 + 5_000 },
    ]);
    expect(tracker.get('mitid')).toMatchObject({ status: 'operational', own_status: 'operational', since: T0 + 5_000 });
    expect(tracker.get('virk')?.status).toBe('unknown');

    // Still operational: no change, since stays.
    clock.advance(30_000);
    latest.update(r({ seq: 2, ts: clock.now() }));
    expect(tracker.evaluate()).toEqual([]);
    expect(tracker.get('mitid')?.since).toBe(T0 + 5_000);
    expect(tracker.updatedAt).toBe(T0 + 35_000);
  });

  it('turns major_outage on a failing result and back', () => {
    const { clock, latest, tracker } = setup();
    latest.update(r({ ts: T0 }));
    tracker.evaluate();
    clock.advance(1_000);
    latest.update(r({ seq: 2, ts: clock.now(), ok: false }));
    expect(tracker.evaluate(['mitid']).map((c) => c.status)).toEqual(['major_outage', 'major_outage']);
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
    const changes = tracker.evaluate();
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
    const changes = tracker.evaluate();
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
