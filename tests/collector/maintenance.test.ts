// The service-window calendar, with explicit times.
import { describe, expect, it } from 'vitest';
import { MaintenanceCalendar, configWindows, stateAt, type MaintenanceWindow } from '../../collector/status/maintenance.js';
import { configSchema } from '../../config/schema.js';

const T0 = Date.UTC(2026, 11, 5, 23, 0, 0);
const H = 3_600_000;

const win = (id: string, systems: string[], start: number, end: number): MaintenanceWindow => ({
  id,
  systems,
  start,
  end,
  title: { da: 'Servicevindue' },
  source: 'api',
  created_at: T0 - H,
});

describe('MaintenanceCalendar', () => {
  it('covers a system from start (inclusive) to end (exclusive)', () => {
    const c = new MaintenanceCalendar();
    c.add(win('w1', ['borger-dk', 'virk'], T0, T0 + 4 * H));
    expect(c.activeFor('borger-dk', T0 - 1)).toBeUndefined();
    expect(c.activeFor('borger-dk', T0)?.id).toBe('w1');
    expect(c.activeFor('virk', T0 + 4 * H - 1)?.id).toBe('w1');
    expect(c.activeFor('virk', T0 + 4 * H)).toBeUndefined();
    expect(c.activeFor('mitid', T0 + H)).toBeUndefined();
  });

  it('finds the covering one among overlapping and back-to-back windows', () => {
    const c = new MaintenanceCalendar();
    c.add(win('a', ['mitid'], T0, T0 + H));
    c.add(win('b', ['mitid'], T0 + H, T0 + 2 * H));
    c.add(win('c', ['mitid'], T0 + 30 * 60_000, T0 + 3 * H));
    expect(c.activeFor('mitid', T0 + 10)?.id).toBe('a');
    expect(['b', 'c']).toContain(c.activeFor('mitid', T0 + H)?.id);
    expect(c.activeFor('mitid', T0 + 2.5 * H)?.id).toBe('c');
    expect(c.remove('c')).toBe(true);
    expect(c.remove('c')).toBe(false);
    expect(c.activeFor('mitid', T0 + 2.5 * H)).toBeUndefined();
  });

  it('lists windows with their state, and keeps announced ones when the configuration changes', () => {
    const c = new MaintenanceCalendar();
    c.add(win('api-1', ['virk'], T0 + H, T0 + 2 * H));
    c.setConfigWindows([{ ...win('cfg', ['mitid'], T0 - 2 * H, T0 - H), source: 'config' }]);
    expect(c.list(T0).map((w) => `${w.id}:${w.state}`)).toEqual(['cfg:completed', 'api-1:scheduled']);
    expect(c.list(T0 + H).map((w) => w.state)).toEqual(['completed', 'in_progress']);
    c.setConfigWindows([]);
    expect(c.list(T0).map((w) => w.id)).toEqual(['api-1']);
    expect(c.get('api-1')?.source).toBe('api');
    expect(c.activeFor('mitid', T0 - 1.5 * H)).toBeUndefined();
  });

  it('keeps when a configuration window was first loaded across reloads', () => {
    const c = new MaintenanceCalendar();
    const cfg = (id: string, loadedAt: number): MaintenanceWindow => ({ ...win(id, ['mitid'], T0, T0 + H), source: 'config', created_at: loadedAt });
    c.setConfigWindows([cfg('kept', T0 - 5 * H)]);
    c.setConfigWindows([cfg('kept', T0), cfg('new', T0)]);
    expect(c.get('kept')?.created_at).toBe(T0 - 5 * H);
    expect(c.get('new')?.created_at).toBe(T0);
  });

  it('says scheduled, in_progress and completed as Statuspage does', () => {
    const w = { start: T0, end: T0 + H };
    expect([stateAt(w, T0 - 1), stateAt(w, T0), stateAt(w, T0 + H - 1), stateAt(w, T0 + H)]).toEqual([
      'scheduled',
      'in_progress',
      'in_progress',
      'completed',
    ]);
  });

  it('gives configuration windows without an id a stable one, and a plain title in Danish', () => {
    const config = configSchema.parse({
      systems: [{ id: 'borger-dk', name: 'borger.dk' }],
      maintenance: [
        { systems: ['borger-dk'], start: '2026-12-06T00:00:00+01:00', end: '2026-12-06T04:00:00+01:00', title: 'Planlagt servicevindue' },
        { id: 'named', systems: ['borger-dk'], start: '2026-12-07T00:00:00+01:00', end: '2026-12-07T04:00:00+01:00', title: { da: 'Opdatering', en: 'Upgrade' }, description: 'Nyt login' },
      ],
    });
    const [a, b] = configWindows(config.maintenance, T0);
    expect(a).toMatchObject({ systems: ['borger-dk'], start: T0, end: T0 + 4 * H, title: { da: 'Planlagt servicevindue' }, source: 'config' });
    expect(a?.id).toMatch(/^cfg-[0-9a-f]{10}$/);
    expect(configWindows(config.maintenance, T0 + 99)[0]?.id).toBe(a?.id);
    expect(b).toMatchObject({ id: 'named', title: { da: 'Opdatering', en: 'Upgrade' }, description: { da: 'Nyt login' } });
  });
});
