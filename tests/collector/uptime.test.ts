// Uptime per service window against hand-computed cases, in Europe/Copenhagen (CET = UTC+1,
// CEST = UTC+2; in 2026 summer time starts on 29 March and ends on 25 October). Timelines go
// through a real store (the memory one) as the status engine records them.
import { describe, expect, it } from 'vitest';
import type { SystemConfig } from '../../config/schema.js';
import type { Status, View } from '../../collector/status/types.js';
import { MemoryStore } from '../../collector/store/memory.js';
import { SlaCalendar, parseWindow } from '../../collector/uptime/calendar.js';
import { holidaysOf } from '../../collector/uptime/holidays.js';
import { systemUptime } from '../../collector/uptime/system-uptime.js';
import { targetFor } from '../../collector/uptime/uptime.js';

const TZ = 'Europe/Copenhagen';
const H = 3_600_000;
const t = (iso: string): number => Date.parse(iso);

function system(sla: Partial<NonNullable<SystemConfig['sla']>> | 'none' = {}): SystemConfig {
  return {
    id: 'borger-dk',
    name: 'borger.dk',
    depends_on: {},
    probes: [],
    ...(sla === 'none' ? {} : { sla: { uptime: 99.7, windows: { primary: 'mon-fri 08:30-16:30' }, holidays: true, ...sla } }),
  };
}

/** A timeline: [status, from] pairs in order, for one view. */
async function timeline(steps: [Status, string][], view: View = 'perceived', store = new MemoryStore()): Promise<MemoryStore> {
  await store.recordStatusChanges(steps.map(([status, at]) => ({ system: 'borger-dk', view, status, cause: [], at: t(at) })));
  return store;
}

async function uptime(store: MemoryStore, sys: SystemConfig, from: string, to: string, view: View = 'perceived', now = t(to)) {
  return systemUptime(store, sys, { from: t(from), to: t(to), view, now, timezone: TZ });
}

describe('window specs', () => {
  it('parses days, ranges, lists, wrap-around and midnight', () => {
    expect(parseWindow('mon-fri 08:30-16:30')).toEqual({ days: new Set([1, 2, 3, 4, 5]), start: 510, end: 990 });
    expect(parseWindow('sat,sun 00:00-24:00')).toEqual({ days: new Set([6, 7]), start: 0, end: 1440 });
    expect(parseWindow('fri-mon 22:00-06:00')).toEqual({ days: new Set([5, 6, 7, 1]), start: 1320, end: 360 });
    expect(parseWindow('daily 07:00-07:00').days.size).toBe(7);
    expect(parseWindow('mon,wed-thu 01:00-02:00').days).toEqual(new Set([1, 3, 4]));
  });

  it('lays a window out in local time, across midnight, and names the rest secondary', () => {
    const cal = new SlaCalendar({ windows: { primary: 'mon-fri 08:30-16:30', night: 'daily 22:00-06:00' }, timezone: TZ, holidays: false });
    expect(cal.names).toEqual(['all', 'primary', 'night', 'secondary']);
    // Monday 30 November 2026, CET.
    const from = t('2026-11-29T23:00:00Z');
    const to = t('2026-11-30T23:00:00Z');
    expect(cal.spans('primary', from, to)).toEqual([{ from: t('2026-11-30T07:30:00Z'), to: t('2026-11-30T15:30:00Z') }]);
    expect(cal.spans('night', from, to)).toEqual([
      { from, to: t('2026-11-30T05:00:00Z') },
      { from: t('2026-11-30T21:00:00Z'), to },
    ]);
    expect(cal.spans('secondary', from, to)).toEqual([
      { from: t('2026-11-30T05:00:00Z'), to: t('2026-11-30T07:30:00Z') },
      { from: t('2026-11-30T15:30:00Z'), to: t('2026-11-30T21:00:00Z') },
    ]);
    expect(cal.spans('nonesuch', from, to)).toEqual([]);
    // No named window: only `all`.
    expect(new SlaCalendar({ windows: {}, timezone: TZ, holidays: true }).names).toEqual(['all']);
  });

  it('knows the Danish public holidays, Store Bededag included only until 2023', () => {
    expect(holidaysOf(2026)).toEqual([
      '2026-01-01',
      '2026-04-02',
      '2026-04-03',
      '2026-04-05',
      '2026-04-06',
      '2026-05-14',
      '2026-05-24',
      '2026-05-25',
      '2026-12-25',
      '2026-12-26',
    ]);
    expect(holidaysOf(2023)).toContain('2023-05-05');
    expect(holidaysOf(2024)).not.toContain('2024-04-26');
  });

  it('takes a window target per window, or the one number for all', () => {
    expect(targetFor(99.7, 'secondary')).toBe(99.7);
    expect(targetFor({ primary: 99.9, all: 99.5 }, 'primary')).toBe(99.9);
    expect(targetFor({ primary: 99.9, all: 99.5 }, 'secondary')).toBe(99.5);
    expect(targetFor({ primary: 99.9 }, 'secondary')).toBeNull();
    expect(targetFor(undefined, 'all')).toBeNull();
  });
});

describe('uptime by service window', () => {
  it('splits an outage crossing 08:30 on a Monday between secondary and primary time', async () => {
    // Down 08:00-09:00 local (07:00-08:00Z) on Monday 30 November.
    const store = await timeline([
      ['operational', '2026-11-29T23:00:00Z'],
      ['major_outage', '2026-11-30T07:00:00Z'],
      ['operational', '2026-11-30T08:00:00Z'],
    ]);
    const w = await uptime(store, system(), '2026-11-29T23:00:00Z', '2026-11-30T23:00:00Z');
    expect(Object.keys(w)).toEqual(['all', 'primary', 'secondary']);
    expect(w.primary).toEqual({
      uptime: (7.5 / 8) * 100,
      target: 99.7,
      met: false,
      window_s: 8 * 3600,
      up_s: 7.5 * 3600,
      degraded_s: 0,
      downtime_s: 1800,
      partial_outage_s: 0,
      maintenance_s: 0,
      unknown_s: 0,
    });
    expect(w.secondary?.uptime).toBeCloseTo((15.5 / 16) * 100, 10);
    expect(w.secondary?.downtime_s).toBe(1800);
    expect(w.all?.uptime).toBeCloseTo((23 / 24) * 100, 10);
    expect(w.all?.window_s).toBe(24 * 3600);
  });

  it('puts an outage over a weekend into secondary time only', async () => {
    // Down from Saturday 28 November 10:00 to Monday 30 November 08:00 local: 46 hours.
    const store = await timeline([
      ['operational', '2026-11-27T23:00:00Z'],
      ['major_outage', '2026-11-28T09:00:00Z'],
      ['operational', '2026-11-30T07:00:00Z'],
    ]);
    const w = await uptime(store, system(), '2026-11-27T23:00:00Z', '2026-11-30T23:00:00Z');
    expect(w.primary).toMatchObject({ uptime: 100, met: true, window_s: 8 * 3600, downtime_s: 0 });
    expect(w.secondary).toMatchObject({ window_s: 64 * 3600, downtime_s: 46 * 3600, uptime: (18 / 64) * 100, met: false });
    expect(w.all).toMatchObject({ window_s: 72 * 3600, downtime_s: 46 * 3600 });
  });

  it('leaves a service window out of the reckoning, and counts an outage after it', async () => {
    // Tuesday 1 December: maintenance 09:00-11:00 local, then down 11:00-11:30.
    const store = await timeline([
      ['operational', '2026-11-30T23:00:00Z'],
      ['under_maintenance', '2026-12-01T08:00:00Z'],
      ['major_outage', '2026-12-01T10:00:00Z'],
      ['operational', '2026-12-01T10:30:00Z'],
    ]);
    const w = await uptime(store, system(), '2026-11-30T23:00:00Z', '2026-12-01T23:00:00Z');
    expect(w.primary).toMatchObject({ maintenance_s: 7200, downtime_s: 1800, up_s: 5.5 * 3600, window_s: 8 * 3600 });
    expect(w.primary?.uptime).toBeCloseTo((5.5 / 6) * 100, 10);
    expect(w.secondary).toMatchObject({ uptime: 100, maintenance_s: 0, downtime_s: 0 });
  });

  it('lays windows out by the wall clock on the night summer time starts (23 hours) and ends (25 hours)', async () => {
    const sys = system({ windows: { primary: 'mon-fri 08:30-16:30', night: 'daily 01:00-04:00' } });
    // 29 March 2026: 02:00 CET becomes 03:00 CEST, so 01:00-04:00 lasts two hours; down all night.
    const spring = await timeline([['major_outage', '2026-03-28T23:00:00Z']]);
    const march = await uptime(spring, sys, '2026-03-28T23:00:00Z', '2026-03-29T22:00:00Z');
    expect(march.all?.window_s).toBe(23 * 3600);
    expect(march.night).toMatchObject({ window_s: 2 * 3600, downtime_s: 2 * 3600, uptime: 0 });
    expect(march.primary?.window_s).toBe(0);
    // 25 October 2026: 03:00 CEST becomes 02:00 CET, so 01:00-04:00 lasts four hours.
    const autumn = await timeline([['operational', '2026-10-24T22:00:00Z']]);
    const october = await uptime(autumn, sys, '2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z');
    expect(october.all?.window_s).toBe(25 * 3600);
    expect(october.night).toMatchObject({ window_s: 4 * 3600, up_s: 4 * 3600, uptime: 100 });
    // The Monday after: primary time is 08:30-16:30 CET again (07:30Z), an hour later in UTC than the Friday before.
    const cal = new SlaCalendar({ windows: { primary: 'mon-fri 08:30-16:30' }, timezone: TZ, holidays: true });
    expect(cal.spans('primary', t('2026-10-23T00:00:00Z'), t('2026-10-27T00:00:00Z'))).toEqual([
      { from: t('2026-10-23T06:30:00Z'), to: t('2026-10-23T14:30:00Z') },
      { from: t('2026-10-26T07:30:00Z'), to: t('2026-10-26T15:30:00Z') },
    ]);
  });

  it('counts a public holiday as secondary time, unless holidays are switched off', async () => {
    // Friday 25 December 2026 (Juledag), down 10:00-11:00 local.
    const steps: [Status, string][] = [
      ['operational', '2026-12-24T23:00:00Z'],
      ['major_outage', '2026-12-25T09:00:00Z'],
      ['operational', '2026-12-25T10:00:00Z'],
    ];
    const on = await uptime(await timeline(steps), system(), '2026-12-24T23:00:00Z', '2026-12-25T23:00:00Z');
    expect(on.primary).toMatchObject({ window_s: 0, uptime: null, met: null });
    expect(on.secondary).toMatchObject({ window_s: 24 * 3600, downtime_s: 3600 });
    const off = await uptime(await timeline(steps), system({ holidays: false }), '2026-12-24T23:00:00Z', '2026-12-25T23:00:00Z');
    expect(off.primary).toMatchObject({ window_s: 8 * 3600, downtime_s: 3600, uptime: (7 / 8) * 100 });
    expect(off.secondary).toMatchObject({ window_s: 16 * 3600, downtime_s: 0 });
  });

  it('leaves unknown time out: before the first status, while unknown, and in the future', async () => {
    // Monday 30 November: no status until 10:00 local, unknown 12:00-13:00, down 14:00-15:00;
    // asked at 16:00 local about the whole day.
    const store = await timeline([
      ['operational', '2026-11-30T09:00:00Z'],
      ['unknown', '2026-11-30T11:00:00Z'],
      ['operational', '2026-11-30T12:00:00Z'],
      ['major_outage', '2026-11-30T13:00:00Z'],
      ['operational', '2026-11-30T14:00:00Z'],
    ]);
    const w = await uptime(store, system(), '2026-11-29T23:00:00Z', '2026-11-30T23:00:00Z', 'perceived', t('2026-11-30T15:00:00Z'));
    // Primary so far: 08:30-16:00 = 7.5 h, of it unknown 08:30-10:00 and 12:00-13:00 = 2.5 h, down 1 h.
    expect(w.primary).toMatchObject({ window_s: 7.5 * 3600, unknown_s: 2.5 * 3600, downtime_s: 3600, up_s: 4 * 3600 });
    expect(w.primary?.uptime).toBeCloseTo(80, 10);
    expect(w.all).toMatchObject({ window_s: 16 * 3600, unknown_s: 11 * 3600 });
    // Nothing at all known: no uptime, no verdict.
    const empty = await uptime(new MemoryStore(), system(), '2026-11-29T23:00:00Z', '2026-11-30T23:00:00Z');
    expect(empty.all).toMatchObject({ uptime: null, met: null, unknown_s: 24 * 3600 });
  });

  it('counts a dependency\'s outage against the perceived view but not the system\'s own', async () => {
    // NemLog-in down 09:00-10:00 local on Monday 30 November: borger.dk is perceived down because
    // of it, while its own probes pass.
    const store = new MemoryStore();
    await store.recordStatusChanges([
      { system: 'borger-dk', view: 'own', status: 'operational', cause: [], at: t('2026-11-29T23:00:00Z') },
      { system: 'borger-dk', view: 'perceived', status: 'operational', cause: [], at: t('2026-11-29T23:00:00Z') },
      { system: 'borger-dk', view: 'perceived', status: 'major_outage', cause: ['nemlog-in'], at: t('2026-11-30T08:00:00Z') },
      { system: 'borger-dk', view: 'perceived', status: 'operational', cause: [], at: t('2026-11-30T09:00:00Z') },
    ]);
    const perceived = await uptime(store, system(), '2026-11-29T23:00:00Z', '2026-11-30T23:00:00Z', 'perceived');
    const own = await uptime(store, system(), '2026-11-29T23:00:00Z', '2026-11-30T23:00:00Z', 'own');
    expect(perceived.primary).toMatchObject({ downtime_s: 3600, uptime: 87.5, met: false });
    expect(own.primary).toMatchObject({ downtime_s: 0, uptime: 100, met: true });
  });

  it('counts degraded time as up and partial outage as down, each reported on its own', async () => {
    const store = await timeline([
      ['operational', '2026-11-29T23:00:00Z'],
      ['degraded_performance', '2026-11-30T08:00:00Z'],
      ['partial_outage', '2026-11-30T09:00:00Z'],
      ['operational', '2026-11-30T09:30:00Z'],
    ]);
    const w = await uptime(store, system(), '2026-11-29T23:00:00Z', '2026-11-30T23:00:00Z');
    expect(w.primary).toMatchObject({ up_s: 7.5 * 3600, degraded_s: 3600, downtime_s: 1800, partial_outage_s: 1800, uptime: 93.75 });
  });

  it('gives a system without a declaration only `all`, with no target', async () => {
    const store = await timeline([['operational', '2026-11-29T23:00:00Z']]);
    const w = await uptime(store, system('none'), '2026-11-29T23:00:00Z', '2026-11-30T23:00:00Z');
    expect(Object.keys(w)).toEqual(['all']);
    expect(w.all).toMatchObject({ uptime: 100, target: null, met: null, window_s: (24 * H) / 1000 });
  });
});
