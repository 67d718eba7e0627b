// Operators' updates to incidents over HTTP: the admin token, bodies refused with the field named,
// updates shown beside vagt's own measured state, kept when the engine later resolves the incident
// by itself, allowed on a resolved incident (a postmortem), and all of it across a restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { adminCall, TestAgent, res, startHarness, testConfig, type Harness } from './helpers.js';

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);
const MIN = 60_000;
const iso = (ms: number): string => new Date(ms).toISOString();

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'vagt-operator-'));
  dirs.push(d);
  return d;
};

interface Update {
  at: string;
  kind: string;
  status: string;
  priority: number;
  affected: string[];
  message: string;
  text?: { da: string; en?: string };
}
interface Incident {
  id: number;
  state: string;
  status: string;
  operator_status: string | null;
  updates: Update[];
  [key: string]: unknown;
}


const clock = new ManualClock(T0);
let dir: string;
let h: Harness;
let base: string;
let agent: TestAgent;
const post = (path: string, body?: unknown, opts?: { token?: string | null; type?: string }) => adminCall(base, 'POST', path, body, opts);
const incident = async (id: number): Promise<Incident> => (await adminCall(base, 'GET', `/api/v1/incidents/${id}`)).body as unknown as Incident;

beforeAll(async () => {
  dir = tempDir();
  h = await startHarness({ dir, clock });
  base = h.collector.url;
  agent = await TestAgent.ready(h.wsUrl, 'kbh-1');
  // MitID fails from the only agent: incident 1, priority 1, affecting Virk.
  await agent.batch(1, [res({ seq: 1, ts: T0 - 1_000, ok: false, status_code: 503, error: { code: 'http_status', message: 'status 503' } })]);
  expect((await incident(1)).state).toBe('open');
});
afterAll(async () => {
  await agent?.close();
  await h?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('POST /api/v1/incidents/{id}/updates', () => {
  const ok = { status: 'investigating', message: 'Vi undersøger fejlen.' };

  it('refuses without the admin token or with a wrong one, as the maintenance route does', async () => {
    const anonymous = await post('/api/v1/incidents/1/updates', ok, { token: null });
    expect([anonymous.status, anonymous.body.error?.code, anonymous.headers.get('www-authenticate')]).toEqual([401, 'unauthorized', 'Bearer realm="vagt"']);
    const wrong = await post('/api/v1/incidents/1/updates', ok, { token: 'wrong-token-0123456789' });
    expect([wrong.status, wrong.body.error]).toEqual([403, { code: 'forbidden', message: 'the admin token is wrong' }]);
    expect((await incident(1)).updates.map((u) => u.kind)).toEqual(['opened']);
  });

  it('refuses bad bodies with 400, naming every field at fault', async () => {
    const bad = async (body: unknown) => {
      const r = await post('/api/v1/incidents/1/updates', body);
      expect([r.status, r.body.error?.code]).toEqual([400, 'invalid_body']);
      return { message: r.body.error?.message, problems: r.body.error?.problems };
    };
    expect(await bad({ status: 'fixed', message: '' })).toEqual({
      message: 'the update has 2 problem(s): status: expected investigating, identified, monitoring or resolved; message.da: must not be empty',
      problems: [
        { path: 'status', message: 'expected investigating, identified, monitoring or resolved' },
        { path: 'message.da', message: 'must not be empty' },
      ],
    });
    expect((await bad({ status: 'identified' })).problems).toEqual([{ path: 'message', message: 'missing required key' }]);
    expect((await bad({ status: 'identified', message: { en: 'Found it' } })).problems).toEqual([{ path: 'message.da', message: 'missing required key' }]);
    expect((await bad({ status: 'identified', message: 42 })).problems).toEqual([{ path: 'message', message: 'expected a text or { da, en }' }]);
    expect((await bad({ ...ok, message: 'x'.repeat(5001) })).problems).toEqual([{ path: 'message.da', message: 'expected at most 5000 characters' }]);
    expect((await bad({ ...ok, message: { da: 'Fejl', en: '   ' } })).problems).toEqual([{ path: 'message.en', message: 'must not be empty' }]);
    expect((await bad({ ...ok, colour: 'red' })).problems).toEqual([{ path: 'colour', message: 'unknown key' }]);
    expect((await bad([ok])).problems).toEqual([{ path: '(root)', message: 'expected a mapping, got a list' }]);
    expect((await post('/api/v1/incidents/1/updates', '{"status":')).body.error).toEqual({ code: 'invalid_json', message: 'the body is not valid JSON' });
    expect((await post('/api/v1/incidents/1/updates', ok, { type: 'text/plain' })).status).toBe(415);
    expect((await incident(1)).updates.map((u) => u.kind)).toEqual(['opened']);
  });

  it('answers 404 for an incident that does not exist', async () => {
    expect(await post('/api/v1/incidents/99/updates', ok)).toMatchObject({ status: 404, body: { error: { code: 'not_found', message: 'no incident with id 99' } } });
    expect((await post('/api/v1/incidents/first/updates', ok)).body.error).toEqual({ code: 'not_found', message: 'no incident with id "first"' });
  });

  it("adds the operator's update, shown beside vagt's own state; an operator's resolved does not resolve it", async () => {
    clock.set(T0 + 10 * MIN);
    const r = await post('/api/v1/incidents/1/updates', ok);
    expect(r.status).toBe(201);
    expect(r.headers.get('location')).toBe('/api/v1/incidents/1');
    const investigating: Update = {
      at: iso(T0 + 10 * MIN),
      kind: 'operator',
      status: 'investigating',
      priority: 1,
      affected: ['mitid', 'virk'],
      message: 'Vi undersøger fejlen.',
      text: { da: 'Vi undersøger fejlen.' },
    };
    expect(r.body).toMatchObject({ id: 1, state: 'open', status: 'major_outage', operator_status: 'investigating' });
    expect((r.body as unknown as Incident).updates.at(-1)).toEqual(investigating);

    clock.set(T0 + 20 * MIN);
    const fixed = await post('/api/v1/incidents/1/updates', { status: 'resolved', message: { da: 'Fejlen er rettet.', en: 'The fault is fixed.' } });
    expect(fixed.status).toBe(201);
    // Still failing as measured: both show.
    const one = await incident(1);
    expect(one).toMatchObject({ state: 'open', status: 'major_outage', operator_status: 'resolved', resolved_at: null });
    expect(one.updates.at(-1)).toEqual({
      ...investigating,
      at: iso(T0 + 20 * MIN),
      status: 'resolved',
      message: 'Fejlen er rettet.',
      text: { da: 'Fejlen er rettet.', en: 'The fault is fixed.' },
    });
    const list = (await adminCall(base, 'GET', '/api/v1/incidents?state=open', undefined, { token: null })).body.incidents as Incident[];
    expect(list.map((i) => [i.id, i.operator_status, i.updates.length])).toEqual([[1, 'resolved', 3]]);
  });

  it('keeps the updates when the incident resolves by itself, takes a postmortem on a resolved incident, and has both after a restart', async () => {
    // A result that does not change the status must not make the engine add an update of its own.
    clock.set(T0 + 25 * MIN);
    await agent.batch(2, [res({ seq: 2, ts: T0 + 25 * MIN - 1_000, ok: false, status_code: 503 })]);
    expect((await incident(1)).updates.map((u) => u.kind)).toEqual(['opened', 'operator', 'operator']);

    clock.set(T0 + 30 * MIN);
    await agent.batch(3, [res({ seq: 3, ts: T0 + 30 * MIN - 1_000 })]);
    const resolved = await incident(1);
    expect(resolved).toMatchObject({ state: 'resolved', status: 'major_outage', resolved_at: iso(T0 + 30 * MIN), operator_status: 'resolved' });
    expect(resolved.updates.map((u) => `${u.kind}:${u.status}`)).toEqual(['opened:major_outage', 'operator:investigating', 'operator:resolved', 'resolved:operational']);

    clock.set(T0 + 2 * 60 * MIN);
    const note = await post('/api/v1/incidents/1/updates', { status: 'resolved', message: { da: 'Årsag: et udløbet certifikat.', en: 'Cause: an expired certificate.' } });
    expect(note.status).toBe(201);
    const postmortem = (note.body as unknown as Incident).updates.at(-1);
    // Copied from the engine's last update: the resolved one.
    expect(postmortem).toEqual({
      at: iso(T0 + 2 * 60 * MIN),
      kind: 'operator',
      status: 'resolved',
      priority: 1,
      affected: [],
      message: 'Årsag: et udløbet certifikat.',
      text: { da: 'Årsag: et udløbet certifikat.', en: 'Cause: an expired certificate.' },
    });
    const before = await incident(1);
    expect(before.updates).toHaveLength(5);

    await agent.close();
    await h.close();
    h = await startHarness({ dir, clock });
    base = h.collector.url;
    const after = await incident(1);
    expect(after).toEqual({ ...before, duration_s: expect.any(Number) });
    expect(after.updates.map((u) => `${u.kind}:${u.status}`)).toEqual([
      'opened:major_outage',
      'operator:investigating',
      'operator:resolved',
      'resolved:operational',
      'operator:resolved',
    ]);
    agent = await TestAgent.ready(h.wsUrl, 'kbh-1');
  });

  it('keeps an update to an open incident across a restart, and the engine appends after it', async () => {
    clock.set(T0 + 3 * 60 * MIN);
    await agent.batch(4, [res({ seq: 4, ts: T0 + 3 * 60 * MIN - 1_000, ok: false, status_code: 503 })]);
    const open = ((await adminCall(base, 'GET', '/api/v1/incidents?state=open')).body.incidents as Incident[])[0]!;
    expect(open).toMatchObject({ id: 2, operator_status: null });
    expect((await post(`/api/v1/incidents/2/updates`, { status: 'identified', message: 'Fejlen er fundet.' })).status).toBe(201);
    await agent.close();
    await h.close();

    h = await startHarness({ dir, clock });
    base = h.collector.url;
    agent = await TestAgent.ready(h.wsUrl, 'kbh-1');
    expect((await incident(2)).operator_status).toBe('identified');
    clock.set(T0 + 3 * 60 * MIN + 5 * MIN);
    await agent.batch(5, [res({ seq: 5, ts: T0 + 3 * 60 * MIN + 5 * MIN - 1_000 })]);
    const done = await incident(2);
    expect(done.updates.map((u) => `${u.kind}:${u.status}`)).toEqual(['opened:major_outage', 'operator:identified', 'resolved:operational']);
    expect(done).toMatchObject({ state: 'resolved', operator_status: 'identified' });
  });
});

describe('without an admin token configured', () => {
  it('answers 404 admin_disabled, as the maintenance route does', async () => {
    const off = await startHarness({ config: (d) => testConfig(d, { collector: { admin_token: undefined } }) });
    try {
      const r = await adminCall(off.collector.url, 'POST', '/api/v1/incidents/1/updates', { status: 'investigating', message: 'x' });
      expect([r.status, r.body.error?.code]).toEqual([404, 'admin_disabled']);
    } finally {
      await off.close();
    }
  });
});
