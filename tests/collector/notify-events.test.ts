// Notification events from the status engine's changes, service windows, operators' updates and
// announcements, with an injected clock: bursts per root cause, what is and is not news, restarts.
import { describe, expect, it } from 'vitest';
import { LatestResults } from '../../collector/latest.js';
import { EventBuilder, type EventContext } from '../../collector/notify/events.js';
import { slackPayload, teamsPayload, webhookPayload } from '../../collector/notify/webhook.js';
import type { Incident, IncidentUpdate } from '../../collector/status/incidents.js';
import type { MaintenanceWindow } from '../../collector/status/maintenance.js';
import { StatusTracker, type TrackedSystem } from '../../collector/status/tracker.js';
import type { Status } from '../../collector/status/types.js';
import type { StatusChange, StoredResult } from '../../collector/store/types.js';
import { ManualClock } from '../../lib/clock.js';

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);
const NAMES: Record<string, string> = { mitid: 'MitID', 'nemlog-in': 'NemLog-in', virk: 'Virk' };

const ctx: EventContext = {
  name: (id) => NAMES[id] ?? id,
  systemUrl: (id) => `https://status.example.dk/systems/${id}`,
  statusPage: () => 'https://status.example.dk/',
  order: (id) => Number(/\d+$/.exec(id)?.[0] ?? -1),
  current: (id) => ({ status: id === 'mitid' ? 'major_outage' : 'operational', own_status: 'operational', cause: [], since: T0 - 1000, own_since: T0 - 1000 }),
};

const change = (system: string, status: Status, at: number, cause: string[] = [], view: 'perceived' | 'own' = 'perceived'): StatusChange => ({
  system,
  view,
  status,
  cause,
  at,
});

/** The perceived and own change of a system failing (or recovering) on its own. */
const both = (system: string, status: Status, at: number): StatusChange[] => [change(system, status, at), change(system, status, at, [], 'own')];

describe('status events', () => {
  it('tells an outage and the recovery, but not the first status after start', () => {
    const clock = new ManualClock(T0);
    const b = new EventBuilder(ctx);
    b.statusChanges(both('virk', 'operational', clock.now()));
    clock.advance(5000);
    expect(b.due(clock.now())).toEqual([]);
    b.statusChanges(both('virk', 'major_outage', clock.now()));
    const at = clock.now();
    expect(b.nextDueAt()).toBe(at + 500);
    clock.advance(499);
    expect(b.due(clock.now())).toEqual([]);
    clock.advance(1);
    expect(b.due(clock.now())).toEqual([
      {
        id: `outage:virk:${at}`,
        kind: 'outage',
        at,
        systems: [
          { id: 'virk', name: 'Virk', status: 'major_outage', own_status: 'major_outage', cause: [], since: at, url: 'https://status.example.dk/systems/virk' },
        ],
        cause: [],
        links: { status_page: 'https://status.example.dk/' },
      },
    ]);
    clock.advance(60_000);
    b.statusChanges(both('virk', 'operational', clock.now()));
    const [rec] = b.due(clock.now() + 500);
    expect(rec).toMatchObject({ id: `recovery:virk:${clock.now()}`, kind: 'recovery', cause: [], systems: [{ id: 'virk', status: 'operational' }] });
  });

  it('tells degraded performance, then an outage, then the recovery; unknown in between is no news', () => {
    const b = new EventBuilder(ctx, { burst: { quietMs: 0 } });
    b.statusChanges(both('virk', 'operational', T0));
    b.statusChanges(both('virk', 'degraded_performance', T0 + 1000));
    b.statusChanges(both('virk', 'partial_outage', T0 + 2000));
    // partial -> major is the same outage
    b.statusChanges(both('virk', 'major_outage', T0 + 2500));
    b.statusChanges(both('virk', 'unknown', T0 + 3000));
    b.statusChanges(both('virk', 'operational', T0 + 4000));
    const kinds = b.due(T0 + 10_000).map((e) => [e.kind, e.at]);
    expect(kinds).toEqual([
      ['degraded', T0 + 1000],
      ['outage', T0 + 2000],
      ['recovery', T0 + 4000],
    ]);
  });

  it('is silent about a service window as such, and about operational after it', () => {
    const b = new EventBuilder(ctx, { burst: { quietMs: 0 } });
    b.statusChanges(both('virk', 'operational', T0));
    b.statusChanges(both('virk', 'under_maintenance', T0 + 1000));
    b.statusChanges(both('virk', 'operational', T0 + 2000));
    expect(b.due(T0 + 10_000)).toEqual([]);
  });

  it('makes one event of a root cause taking down ten dependants, root first, and one of their recovery', () => {
    const clock = new ManualClock(T0);
    const latest = new LatestResults();
    const tracker = new StatusTracker({ clock, latest });
    const probe = { id: 'web', interval: 60_000, timeout: 5000 };
    const dependants = Array.from({ length: 10 }, (_, i) => `dep-${i}`);
    const systems: TrackedSystem[] = [{ id: 'mitid', probes: [probe] }, ...dependants.map((id) => ({ id, probes: [probe], depends_on: { mitid: 'critical' as const } }))];
    tracker.setSystems(systems, ['a']);
    let seq = 0;
    const report = (failing: ReadonlySet<string>): void => {
      for (const s of systems) {
        const r: StoredResult = { agent: 'a', seq: ++seq, system: s.id, probe: 'web', ts: clock.now(), ok: !failing.has(s.id), duration_ms: 50, phases: {}, received_at: clock.now() };
        latest.update(r);
      }
    };
    const b = new EventBuilder(ctx);
    report(new Set());
    b.statusChanges(tracker.evaluate().changes);
    clock.advance(10_000);
    expect(b.due(clock.now())).toEqual([]);

    report(new Set(['mitid']));
    const downAt = clock.now();
    b.statusChanges(tracker.evaluate(['mitid']).changes);
    clock.advance(2000);
    const [down, ...more] = b.due(clock.now());
    expect(more).toEqual([]);
    expect(down?.id).toBe(`outage:mitid:${downAt}`);
    expect(down?.cause).toEqual(['mitid']);
    expect(down?.systems.map((s) => s.id)).toEqual(['mitid', ...dependants]);
    expect(down?.systems[0]).toMatchObject({ status: 'major_outage', own_status: 'major_outage', cause: [] });
    expect(down?.systems[1]).toMatchObject({ status: 'major_outage', own_status: 'operational', cause: ['mitid'] });

    clock.advance(60_000);
    report(new Set());
    b.statusChanges(tracker.evaluate(['mitid']).changes);
    clock.advance(2000);
    const ups = b.due(clock.now());
    expect(ups).toHaveLength(1);
    expect(ups[0]?.kind).toBe('recovery');
    expect(ups[0]?.cause).toEqual(['mitid']);
    expect(ups[0]?.systems.map((s) => [s.id, s.status])).toEqual([['mitid', 'operational'], ...dependants.map((d) => [d, 'operational'])]);
  });

  it('moves a dependant that failed on its own into the burst of the root that explains it', () => {
    const b = new EventBuilder(ctx);
    b.statusChanges([...both('mitid', 'operational', T0), ...both('nemlog-in', 'operational', T0)]);
    // NemLog-in's own login flow fails first; MitID's results come 300 ms later and explain it.
    b.statusChanges(both('nemlog-in', 'major_outage', T0 + 10_000));
    b.statusChanges([...both('mitid', 'major_outage', T0 + 10_300), change('nemlog-in', 'major_outage', T0 + 10_300, ['mitid'])]);
    const events = b.due(T0 + 20_000);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ id: `outage:mitid:${T0 + 10_000}`, cause: ['mitid'] });
    expect(events[0]?.systems.map((s) => [s.id, s.cause])).toEqual([
      ['mitid', []],
      ['nemlog-in', ['mitid']],
    ]);
  });

  it('closes a burst after its window even while changes keep joining, and starts a new one after', () => {
    const b = new EventBuilder(ctx, { burst: { quietMs: 500, windowMs: 2000 } });
    const out: ReturnType<typeof b.due> = [];
    b.statusChanges(both('mitid', 'major_outage', T0));
    // A dependant joins every 400 ms: never quiet for 500 ms, so the 2 s window closes the burst.
    for (let i = 0; i < 6; i++) {
      const t = T0 + 400 * (i + 1);
      out.push(...b.due(t));
      b.statusChanges([change(`dep-${i}`, 'major_outage', t, ['mitid'])]);
    }
    out.push(...b.due(T0 + 3000));
    expect(out.map((e) => [e.id, e.systems.map((s) => s.id)])).toEqual([
      [`outage:mitid:${T0}`, ['mitid', 'dep-0', 'dep-1', 'dep-2', 'dep-3']],
      [`outage:mitid:${T0 + 2000}`, ['dep-4', 'dep-5']],
    ]);
    expect(out[1]?.cause).toEqual(['mitid']);
  });

  it('after a restart: a restored status is no news, a recovery from a restored outage is', () => {
    const b = new EventBuilder(ctx, { burst: { quietMs: 0 } });
    b.restore([change('mitid', 'major_outage', T0 - 60_000), change('mitid', 'major_outage', T0 - 60_000, [], 'own'), change('virk', 'operational', T0 - 60_000)]);
    // The tracker reports a restored status again when its cause differs: same level, no news.
    b.statusChanges([change('mitid', 'major_outage', T0, [])]);
    b.statusChanges(both('virk', 'operational', T0));
    expect(b.due(T0 + 1000)).toEqual([]);
    b.statusChanges(both('mitid', 'operational', T0 + 5000));
    expect(b.due(T0 + 6000).map((e) => e.id)).toEqual([`recovery:mitid:${T0 + 5000}`]);
    // A system whose last stored status was unknown: the caller looks further back.
    expect(b.unknownAfterRestore([change('virk', 'operational', T0), change('x', 'unknown', T0)])).toEqual(['x']);
  });
});

describe('service windows, incident updates and announcements', () => {
  const HOUR = 3_600_000;
  const w: MaintenanceWindow = {
    id: 'mw-1',
    systems: ['virk', 'mitid'],
    start: T0 + HOUR,
    end: T0 + 2 * HOUR,
    title: { da: 'Opgradering', en: 'Upgrade' },
    source: 'api',
    created_at: T0,
  };

  it('announces a window while it is ahead, tells its start and end once each', () => {
    const b = new EventBuilder(ctx);
    const [announced, ...none] = b.maintenance([w], T0 + 1000);
    expect(none).toEqual([]);
    expect(announced).toEqual({
      id: `maintenance:mw-1:announced:${w.start}-${w.end}`,
      kind: 'maintenance',
      at: T0,
      systems: [
        { id: 'virk', name: 'Virk', status: 'operational', own_status: 'operational', cause: [], since: T0 - 1000, url: 'https://status.example.dk/systems/virk' },
        { id: 'mitid', name: 'MitID', status: 'major_outage', own_status: 'operational', cause: [], since: T0 - 1000, url: 'https://status.example.dk/systems/mitid' },
      ],
      cause: [],
      maintenance: { id: 'mw-1', phase: 'announced', title: { da: 'Opgradering', en: 'Upgrade' }, start: w.start, end: w.end },
      links: { status_page: 'https://status.example.dk/' },
    });
    expect(b.maintenance([w], T0 + 2000)).toEqual([]);
    expect(b.maintenance([w], w.start).map((e) => [e.maintenance?.phase, e.at])).toEqual([['started', w.start]]);
    expect(b.maintenance([w], w.start + 1000)).toEqual([]);
    expect(b.maintenance([w], w.end + 5).map((e) => [e.maintenance?.phase, e.at])).toEqual([['ended', w.end]]);
    expect(b.maintenance([w], w.end + 10)).toEqual([]);
  });

  it('after a restart tells a start or end up to an hour late, not older ones; ids stay the same', () => {
    const first = new EventBuilder(ctx).maintenance([w], w.start + 30 * 60_000);
    expect(first.map((e) => e.id)).toEqual([`maintenance:mw-1:started:${w.start}-${w.end}`]);
    const long = { ...w, end: w.start + 5 * HOUR };
    expect(new EventBuilder(ctx).maintenance([long], w.start + 61 * 60_000)).toEqual([]);
    expect(new EventBuilder(ctx).maintenance([w], w.end + 2 * HOUR)).toEqual([]);
  });

  it('a cancelled window: cancelled while ahead, ended early while in progress, nothing once over', () => {
    const b = new EventBuilder(ctx);
    const ahead = b.maintenanceCancelled(w, T0 + 1000);
    expect(ahead?.supersedes).toEqual([`maintenance:mw-1:announced:${w.start}-${w.end}`, `maintenance:mw-1:started:${w.start}-${w.end}`]);
    expect(ahead?.event).toMatchObject({
      id: `maintenance:mw-1:cancelled:${w.start}-${w.end}`,
      kind: 'maintenance',
      at: T0 + 1000,
      systems: [{ id: 'virk' }, { id: 'mitid' }],
      maintenance: { id: 'mw-1', phase: 'cancelled', title: { da: 'Opgradering', en: 'Upgrade' }, start: w.start, end: w.end },
    });
    expect(ahead?.event.maintenance?.ended_early).toBeUndefined();
    const during = b.maintenanceCancelled(w, w.start + 60_000);
    // The id of its natural end, which now never comes: one "ended" per window, whichever way.
    expect(during?.event).toMatchObject({ id: `maintenance:mw-1:ended:${w.start}-${w.end}`, at: w.start + 60_000, maintenance: { phase: 'ended', ended_early: true, end: w.end } });
    expect(b.maintenanceCancelled(w, w.end)).toBeUndefined();
  });

  it('words a cancelled window for Slack and Teams', () => {
    const b = new EventBuilder(ctx);
    const cancelled = b.maintenanceCancelled(w, T0)!.event;
    const early = b.maintenanceCancelled(w, w.start + 1)!.event;
    expect(slackPayload(cancelled, 'da', 'Europe/Copenhagen').text).toBe('Servicevindue aflyst: Opgradering');
    expect(JSON.stringify(slackPayload(cancelled, 'en', 'Europe/Copenhagen').blocks)).toContain('The planned maintenance will not take place.');
    expect(slackPayload(early, 'en', 'UTC').text).toBe('Maintenance completed early: Upgrade');
    expect(JSON.stringify(teamsPayload(early, 'da', 'UTC'))).toContain('"text":"Servicevindue afsluttet før tid: Opgradering"');
    expect(webhookPayload(cancelled).maintenance).toEqual({
      id: 'mw-1',
      phase: 'cancelled',
      title: { da: 'Opgradering', en: 'Upgrade' },
      start: new Date(w.start).toISOString(),
      end: new Date(w.end).toISOString(),
      ended_early: false,
    });
  });

  it('makes an event of an operator update, not of the engine own updates', () => {
    const engine: IncidentUpdate = { at: T0, kind: 'opened', status: 'major_outage', priority: 1, affected: ['mitid', 'virk'], message: 'opened' };
    const i: Incident = { id: 7, system: 'mitid', status: 'major_outage', priority: 1, peak_priority: 1, affected: ['mitid', 'virk'], started_at: T0, resolved_at: null, updates: [engine] };
    const b = new EventBuilder(ctx);
    expect(b.incidentUpdate(i, engine)).toBeUndefined();
    const u: IncidentUpdate = { ...engine, at: T0 + 60_000, kind: 'operator', message: 'Fejl fundet', operator: { status: 'identified', message: { da: 'Fejl fundet', en: 'Found it' } } };
    expect(b.incidentUpdate(i, u)).toMatchObject({
      id: `incident:7:${T0 + 60_000}`,
      kind: 'incident',
      at: T0 + 60_000,
      cause: ['mitid'],
      systems: [{ id: 'mitid' }, { id: 'virk' }],
      incident: { id: 7, priority: 1, operator_status: 'identified', message: { da: 'Fejl fundet', en: 'Found it' }, url: 'https://status.example.dk/systems/mitid' },
    });
  });

  it('makes an event of an announcement', () => {
    const b = new EventBuilder(ctx);
    const e = b.announcement({ id: 'an-1', systems: ['virk'], kind: 'release', title: { da: 'Ny version' }, body: { da: 'Tekst' }, at: T0 + HOUR, link: 'https://virk.dk/nyt', created_at: T0 });
    expect(e).toMatchObject({
      id: 'announcement:an-1',
      kind: 'announcement',
      at: T0,
      systems: [{ id: 'virk', name: 'Virk' }],
      announcement: { id: 'an-1', kind: 'release', title: { da: 'Ny version' }, body: { da: 'Tekst' }, at: T0 + HOUR, link: 'https://virk.dk/nyt' },
    });
  });
});
