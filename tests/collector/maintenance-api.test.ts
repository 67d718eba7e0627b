// Service windows over HTTP: announce, list, cancel, with the admin token; a window takes a system
// under maintenance at once, opens no incident, and survives a restart and a reload.
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maintenance, type Config } from '../../config/schema.js';
import { ADMIN_TOKEN, adminCall, TestAgent, res, startHarness, testConfig, type Harness } from './helpers.js';

const H = 3_600_000;
const dirs: string[] = [];
let h: Harness;
let base: string;

const withWindows = (dir: string, windows: unknown[] = []): Config => ({ ...testConfig(dir), maintenance: windows.map((w) => maintenance.parse(w)) });

const call = (method: string, path: string, body?: unknown, opts?: { token?: string | null; type?: string }) => adminCall(base, method, path, body, opts);

const iso = (ms: number): string => new Date(ms).toISOString();

/** A body sent chunked, without Content-Length, so the size limit applies while reading. */
function postChunked(path: string, body: string): Promise<{ status: number; error: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' } }, (r) => {
      let text = '';
      r.setEncoding('utf8').on('data', (c: string) => (text += c));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, error: (JSON.parse(text) as { error: unknown }).error }));
    });
    req.on('error', reject);
    for (let i = 0; i < body.length; i += 8_192) req.write(body.slice(i, i + 8_192));
    req.end();
  });
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vagt-maintenance-'));
  dirs.push(dir);
  const past = { id: 'old-window', systems: ['virk'], start: iso(Date.now() - 3 * H), end: iso(Date.now() - 2 * H), title: 'Gammelt vindue' };
  h = await startHarness({ dir, config: (d) => withWindows(d, [past]) });
  base = h.collector.url;
});
afterAll(async () => {
  await h?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('POST /api/v1/maintenance', () => {
  it('refuses without the admin token, with a wrong one, and bad bodies, each with one clear message', async () => {
    const ok = { systems: ['mitid'], start: iso(Date.now() + H), end: iso(Date.now() + 2 * H), title: 'Opdatering' };
    const anonymous = await call('POST', '/api/v1/maintenance', ok, { token: null });
    expect([anonymous.status, anonymous.body.error?.code, anonymous.headers.get('www-authenticate')]).toEqual([401, 'unauthorized', 'Bearer realm="vagt"']);
    const wrong = await call('POST', '/api/v1/maintenance', ok, { token: 'wrong-token-0123456789' });
    expect([wrong.status, wrong.body.error]).toEqual([403, { code: 'forbidden', message: 'the admin token is wrong' }]);
    expect((await call('POST', '/api/v1/maintenance', '{"systems":', {})).body).toEqual({ error: { code: 'invalid_json', message: 'the body is not valid JSON' } });
    expect((await call('POST', '/api/v1/maintenance', ok, { type: 'text/plain' })).status).toBe(415);
    const bad = await call('POST', '/api/v1/maintenance', { systems: [], start: 'tomorrow', title: '', colour: 'red' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_body' });
    expect((bad.body.error as unknown as { problems: { path: string; message: string }[] }).problems).toEqual([
      { path: 'systems', message: expect.any(String) },
      { path: 'start', message: 'expected a time like 2026-12-06T00:00:00+01:00' },
      { path: 'end', message: 'missing required key' },
      { path: 'title', message: expect.any(String) },
      { path: 'colour', message: 'unknown key' },
    ]);
    expect((await call('POST', '/api/v1/maintenance', { ...ok, systems: ['mitid', 'atlantis'] })).body.error).toEqual({
      code: 'unknown_system',
      message: 'no system with id "atlantis"',
    });
    expect((await call('POST', '/api/v1/maintenance', { ...ok, end: ok.start })).body.error?.message).toBe('end must be after start');
    const ended = { ...ok, start: iso(Date.now() - 2 * H), end: iso(Date.now() - H) };
    expect((await call('POST', '/api/v1/maintenance', ended)).body.error?.message).toBe('the window has already ended');
    const big = await call('POST', '/api/v1/maintenance', { ...ok, description: 'x'.repeat(70_000) });
    expect([big.status, big.body.error?.code]).toEqual([413, 'too_large']);
    expect(await postChunked('/api/v1/maintenance', JSON.stringify({ ...ok, description: 'x'.repeat(70_000) }))).toEqual({
      status: 413,
      error: { code: 'too_large', message: 'the body is larger than 65536 bytes' },
    });
    const taken = await call('POST', '/api/v1/maintenance', { ...ok, id: 'old-window' });
    expect([taken.status, taken.body.error]).toEqual([409, { code: 'conflict', message: 'a window with id "old-window" exists' }]);
    expect((await call('GET', '/api/v1/maintenance')).body.maintenance).toHaveLength(1);
  });

  it('announces a window that puts the system under maintenance at once, with no incident', async () => {
    const agent = await TestAgent.ready(h.wsUrl, 'kbh-1');
    const w = { id: 'mitid-upgrade', systems: ['mitid'], start: iso(Date.now() - 1_000), end: iso(Date.now() + H), title: { da: 'Opgradering', en: 'Upgrade' } };
    const r = await call('POST', '/api/v1/maintenance', w);
    expect(r.status).toBe(201);
    expect(r.headers.get('location')).toBe('/api/v1/maintenance/mitid-upgrade');
    expect(r.body).toMatchObject({ id: 'mitid-upgrade', systems: ['mitid'], source: 'api', state: 'in_progress', title: { da: 'Opgradering', en: 'Upgrade' }, description: null });
    expect((await call('POST', '/api/v1/maintenance', w)).status).toBe(409);

    // MitID fails inside its window: under maintenance, and Virk (critical dependant) with it.
    await agent.batch(1, [res({ seq: 1, ok: false, status_code: 503 }), res({ seq: 2, system: 'virk' })]);
    const status = (await call('GET', '/api/v1/status')).body.systems as { id: string; status: string; cause: string[] }[];
    expect(status.find((s) => s.id === 'mitid')).toMatchObject({ status: 'under_maintenance' });
    expect(status.find((s) => s.id === 'virk')).toMatchObject({ status: 'under_maintenance', cause: ['mitid'] });
    expect((await call('GET', '/api/v1/incidents')).body.incidents).toEqual([]);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('vagt_system_status{system="mitid",view="own",status="under_maintenance"} 1');
    await agent.close();
  });

  it('lists windows in progress first, then coming, then past, and filters them', async () => {
    const soon = { systems: ['virk'], start: iso(Date.now() + H), end: iso(Date.now() + 2 * H), title: 'Senere' };
    const created = await call('POST', '/api/v1/maintenance', soon);
    expect(created.body.id).toMatch(/^mw-[0-9a-f]{10}$/);
    const all = (await call('GET', '/api/v1/maintenance', undefined, { token: null })).body.maintenance as { id: string; state: string; source: string }[];
    expect(all.map((w) => `${w.id}:${w.state}:${w.source}`)).toEqual(['mitid-upgrade:in_progress:api', `${String(created.body.id)}:scheduled:api`, 'old-window:completed:config']);
    expect(((await call('GET', '/api/v1/maintenance?state=scheduled')).body.maintenance as unknown[]).length).toBe(1);
    expect(((await call('GET', '/api/v1/maintenance?system=mitid')).body.maintenance as unknown[]).length).toBe(1);
    const soonState = await call('GET', '/api/v1/maintenance?state=soon');
    expect([soonState.status, soonState.body.error?.code, soonState.body.error?.message]).toEqual([
      400,
      'bad_parameter',
      'state: expected "scheduled", "in_progress" or "completed"',
    ]);
    const typo = await call('GET', '/api/v1/maintenance?sytem=mitid');
    expect([typo.status, typo.body.error?.message]).toEqual([400, 'sytem: unknown parameter; expected "state", "system"']);
    expect((await call('GET', '/api/v1/maintenance/old-window')).body).toMatchObject({ id: 'old-window', source: 'config', state: 'completed' });
    expect((await call('GET', '/api/v1/maintenance/none')).status).toBe(404);
  });

  it('cancels an announced window, not a configured one', async () => {
    expect((await call('DELETE', '/api/v1/maintenance/old-window')).body.error).toEqual({
      code: 'defined_in_config',
      message: 'the window "old-window" is defined in the configuration; remove it there',
    });
    expect((await call('DELETE', '/api/v1/maintenance/none')).status).toBe(404);
    expect((await call('DELETE', '/api/v1/maintenance/mitid-upgrade', undefined, { token: null })).status).toBe(401);
    expect((await call('DELETE', '/api/v1/maintenance/mitid-upgrade', undefined, { token: 'wrong-token-0123456789' })).status).toBe(403);
    expect((await call('GET', '/api/v1/maintenance/mitid-upgrade')).status).toBe(200);
    const soon = { id: 'to-cancel', systems: ['virk'], start: iso(Date.now() + H), end: iso(Date.now() + 2 * H), title: 'Aflyses' };
    expect((await call('POST', '/api/v1/maintenance', soon)).status).toBe(201);
    const del = await call('DELETE', '/api/v1/maintenance/to-cancel');
    expect(del.status).toBe(204);
    expect((await call('GET', '/api/v1/maintenance/to-cancel')).status).toBe(404);
  });
});

describe('without an admin token', () => {
  it('lists windows, but answers 404 admin_disabled to POST and DELETE', async () => {
    const h0 = await startHarness({ config: (d) => ({ ...withWindows(d), collector: { ...testConfig(d).collector, admin_token: undefined } }) });
    base = h0.collector.url;
    const ok = { systems: ['mitid'], start: iso(Date.now() + H), end: iso(Date.now() + 2 * H), title: 'Opdatering' };
    for (const r of [await call('POST', '/api/v1/maintenance', ok), await call('DELETE', '/api/v1/maintenance/any')])
      expect([r.status, r.body.error?.code]).toEqual([404, 'admin_disabled']);
    expect((await call('GET', '/api/v1/maintenance')).body).toEqual({ maintenance: [] });
    await h0.close();
  });
});

describe('service windows across restart and reload', () => {
  it('keeps announced windows across a restart and a reload, and takes configured ones from the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vagt-maintenance-'));
    dirs.push(dir);
    const h1 = await startHarness({ dir, config: (d) => withWindows(d) });
    base = h1.collector.url;
    const w = { id: 'kept', systems: ['virk'], start: iso(Date.now() + H), end: iso(Date.now() + 2 * H), title: 'Bevares' };
    expect((await call('POST', '/api/v1/maintenance', w)).status).toBe(201);
    await h1.close();

    const h2 = await startHarness({ dir, config: (d) => withWindows(d) });
    base = h2.collector.url;
    expect(((await call('GET', '/api/v1/maintenance')).body.maintenance as { id: string }[]).map((x) => x.id)).toEqual(['kept']);
    const configured = { id: 'from-file', systems: ['mitid'], start: iso(Date.now() + 3 * H), end: iso(Date.now() + 4 * H), title: 'Fra filen' };
    expect((await h2.collector.reload(withWindows(dir, [configured]))).ok).toBe(true);
    expect(((await call('GET', '/api/v1/maintenance')).body.maintenance as { id: string }[]).map((x) => x.id)).toEqual(['kept', 'from-file']);
    expect((await h2.collector.reload(withWindows(dir))).ok).toBe(true);
    expect(((await call('GET', '/api/v1/maintenance')).body.maintenance as { id: string }[]).map((x) => x.id)).toEqual(['kept']);
    await h2.close();
  });
});
