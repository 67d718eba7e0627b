// Announcements over HTTP: posted and deleted with the admin token, listed publicly newest first
// and by system, refused with the field named, and kept across a restart and a reload.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recentAnnouncements } from '../../collector/api/announcements.js';
import { MemoryStore } from '../../collector/store/memory.js';
import { ManualClock } from '../../lib/clock.js';
import { adminCall, startHarness, testConfig, type Harness } from './helpers.js';

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);
const H = 3_600_000;
const iso = (ms: number): string => new Date(ms).toISOString();

const dirs: string[] = [];
const clock = new ManualClock(T0);
let dir: string;
let h: Harness;
let base: string;

const call = (method: string, path: string, body?: unknown, opts?: { token?: string | null; type?: string }) => adminCall(base, method, path, body, opts);
const ids = async (query = ''): Promise<string[]> => ((await call('GET', `/api/v1/announcements${query}`, undefined, { token: null })).body.announcements as { id: string }[]).map((a) => a.id);

const release = {
  id: 'mitid-2-4',
  systems: ['mitid', 'virk'],
  kind: 'release',
  title: { da: 'MitID 2.4', en: 'MitID 2.4' },
  body: { da: 'Ny version med hurtigere login.', en: 'A new version with faster login.' },
  at: '2026-01-06T07:00:00+01:00',
  link: 'https://www.mitid.dk/release-2-4',
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vagt-announcements-'));
  dirs.push(dir);
  h = await startHarness({ dir, clock });
  base = h.collector.url;
});
afterAll(async () => {
  await h?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('POST /api/v1/announcements', () => {
  it('refuses without the admin token, with a wrong one, and bad bodies, naming the fields', async () => {
    const anonymous = await call('POST', '/api/v1/announcements', release, { token: null });
    expect([anonymous.status, anonymous.body.error?.code, anonymous.headers.get('www-authenticate')]).toEqual([401, 'unauthorized', 'Bearer realm="vagt"']);
    expect((await call('POST', '/api/v1/announcements', release, { token: 'wrong-token-0123456789' })).status).toBe(403);
    const bad = await call('POST', '/api/v1/announcements', { systems: [], kind: 'launch', title: { en: 'x' }, body: 'x'.repeat(5001), at: 'tomorrow', link: 'ftp://x', colour: 'red' });
    expect([bad.status, bad.body.error?.code]).toEqual([400, 'invalid_body']);
    expect(bad.body.error?.problems).toEqual([
      { path: 'systems', message: 'expected at least one item' },
      { path: 'kind', message: 'expected release, interface_change or info' },
      { path: 'title.da', message: 'missing required key' },
      { path: 'body.da', message: 'expected at most 5000 characters' },
      { path: 'at', message: 'expected a time like 2026-12-06T00:00:00+01:00' },
      { path: 'link', message: 'expected an http:// or https:// URL' },
      { path: 'colour', message: 'unknown key' },
    ]);
    expect(bad.body.error?.message).toMatch(/^the announcement has 7 problem\(s\): systems: expected at least one item; kind: /);
    const noKind = await call('POST', '/api/v1/announcements', { systems: ['mitid'], title: 'Info', body: 'Tekst' });
    expect(noKind.body.error?.problems).toEqual([{ path: 'kind', message: 'expected release, interface_change or info' }]);
    const unknown = await call('POST', '/api/v1/announcements', { ...release, systems: ['mitid', 'atlantis'] });
    expect([unknown.status, unknown.body.error]).toEqual([
      422,
      { code: 'unknown_system', message: 'no system with id "atlantis"', problems: [{ path: 'systems[1]', message: 'no system with id "atlantis"' }] },
    ]);
    expect((await call('POST', '/api/v1/announcements', '{"systems":')).body.error?.code).toBe('invalid_json');
    expect((await call('POST', '/api/v1/announcements', release, { type: 'text/plain' })).status).toBe(415);
    expect(await ids()).toEqual([]);
  });

  it('stores an announcement and answers 201 with it; `at` defaults to now and may be in the future', async () => {
    const r = await call('POST', '/api/v1/announcements', release);
    expect(r.status).toBe(201);
    expect(r.headers.get('location')).toBe('/api/v1/announcements/mitid-2-4');
    expect(r.body).toEqual({
      id: 'mitid-2-4',
      systems: ['mitid', 'virk'],
      kind: 'release',
      title: { da: 'MitID 2.4', en: 'MitID 2.4' },
      body: { da: 'Ny version med hurtigere login.', en: 'A new version with faster login.' },
      at: '2026-01-06T06:00:00.000Z',
      upcoming: true,
      link: 'https://www.mitid.dk/release-2-4',
      created_at: iso(T0),
    });
    expect((await call('POST', '/api/v1/announcements', release)).body.error).toEqual({ code: 'conflict', message: 'an announcement with id "mitid-2-4" exists' });

    clock.set(T0 + H);
    const info = await call('POST', '/api/v1/announcements', { systems: ['virk', 'virk'], kind: 'info', title: 'Ny supportside', body: 'Se virk.dk/support.' });
    expect(info.body).toMatchObject({
      id: expect.stringMatching(/^an-[0-9a-f]{10}$/),
      systems: ['virk'],
      kind: 'info',
      title: { da: 'Ny supportside' },
      body: { da: 'Se virk.dk/support.' },
      at: iso(T0 + H),
      upcoming: false,
      link: null,
      created_at: iso(T0 + H),
    });
    const change = await call('POST', '/api/v1/announcements', { id: 'mitid-api', systems: ['mitid'], kind: 'interface_change', title: 'Nyt API', body: 'Version 1 lukker.', at: iso(T0 - H) });
    expect(change.status).toBe(201);
  });
});

describe('GET /api/v1/announcements', () => {
  it('lists them newest first, by system and time, with a limit, without a token', async () => {
    const all = await ids();
    expect(all).toHaveLength(3);
    expect([all[0], all[2]]).toEqual(['mitid-2-4', 'mitid-api']);
    expect(await ids('?system=mitid')).toEqual(['mitid-2-4', 'mitid-api']);
    expect(await ids(`?system=virk&to=${iso(T0 + 2 * H)}`)).toEqual([all[1]]);
    expect(await ids(`?from=${T0}`)).toEqual(all.slice(0, 2));
    const one = await call('GET', '/api/v1/announcements?limit=1');
    expect(one.body).toMatchObject({ limit: 1, truncated: true });
    expect(await ids('?system=nobody')).toEqual([]);
    expect((await call('GET', '/api/v1/announcements/mitid-api')).body).toMatchObject({ id: 'mitid-api', kind: 'interface_change', upcoming: false });
    expect((await call('GET', '/api/v1/announcements/none')).body.error).toEqual({ code: 'not_found', message: 'no announcement with id "none"' });
  });

  it('refuses bad parameters, naming them', async () => {
    for (const [query, parameter] of [
      ['?limit=0', 'limit'],
      ['?system=Not%20an%20id', 'system'],
      ['?from=yesterday', 'from'],
      ['?sytem=mitid', 'sytem'],
      [`?from=${iso(T0)}&to=${iso(T0 - 1)}`, 'from'],
    ] as const) {
      const r = await call('GET', `/api/v1/announcements${query}`);
      expect([r.status, r.body.error?.code, r.body.error?.parameter]).toEqual([400, 'bad_parameter', parameter]);
    }
  });
});

describe('DELETE /api/v1/announcements/{id}', () => {
  it('needs the admin token, answers 404 for an unknown id and 204 when deleted', async () => {
    expect((await call('DELETE', '/api/v1/announcements/mitid-api', undefined, { token: null })).status).toBe(401);
    expect((await call('DELETE', '/api/v1/announcements/mitid-api', undefined, { token: 'wrong-token-0123456789' })).status).toBe(403);
    expect((await call('DELETE', '/api/v1/announcements/none')).body.error).toEqual({ code: 'not_found', message: 'no announcement with id "none"' });
    const r = await call('DELETE', '/api/v1/announcements/mitid-api');
    expect([r.status, r.body]).toEqual([204, null]);
    expect(await ids('?system=mitid')).toEqual(['mitid-2-4']);
    expect((await call('GET', '/api/v1/announcements/mitid-api')).status).toBe(404);
  });
});

describe('announcements across restart and reload', () => {
  it('keeps them', async () => {
    const before = (await call('GET', '/api/v1/announcements')).body;
    await h.close();
    h = await startHarness({ dir, clock });
    base = h.collector.url;
    expect((await call('GET', '/api/v1/announcements')).body).toEqual(before);
    expect((await h.collector.reload(testConfig(dir))).ok).toBe(true);
    expect((await call('GET', '/api/v1/announcements')).body).toEqual(before);
  });
});

describe('recentAnnouncements', () => {
  it("reads a system's newest announcements from any store, 20 by default", async () => {
    const store = new MemoryStore();
    for (let i = 0; i < 25; i++)
      await store.insertAnnouncement({ id: `a${i}`, systems: [i % 2 === 0 ? 'mitid' : 'virk'], kind: 'info', title: { da: 't' }, body: { da: 'b' }, at: T0 + i, created_at: T0 });
    expect(await recentAnnouncements(store)).toHaveLength(20);
    expect((await recentAnnouncements(store, { system: 'virk', limit: 3 })).map((a) => a.id)).toEqual(['a23', 'a21', 'a19']);
    expect((await recentAnnouncements(store, { system: 'mitid', from: T0 + 20 })).map((a) => a.id)).toEqual(['a24', 'a22', 'a20']);
  });
});
