// The HTTP API, health, metrics and the status page over a real socket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, TestAgent, getJson, res, startHarness, type Harness } from './helpers.js';

let h: Harness;
let base: string;
const T = Date.UTC(2026, 0, 5, 8, 0, 0);

beforeAll(async () => {
  h = await startHarness();
  base = h.collector.url;
  const a = await TestAgent.ready(h.wsUrl, 'kbh-1');
  const now = Date.now();
  await a.batch(1, [
    res({ seq: 1, ts: now - 2000 }),
    res({ seq: 2, ts: now - 1000, ok: false, status_code: 503, error: { code: 'http_status', message: 'status 503' } }),
    res({ seq: 3, system: 'virk', ts: now - 500, detail: { redirects: 1 } }),
    res({ seq: 4, system: 'virk', ts: T }),
  ]);
  await a.close();
});
afterAll(async () => {
  await h?.close();
});

describe('GET /api/v1/status', () => {
  it('lists every system with status, own_status, cause and since, as JSON that is not cached', async () => {
    const r = await getJson(`${base}/api/v1/status`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(Date.parse(r.body.updated_at)).toBeGreaterThan(0);
    expect(r.body.systems).toEqual([
      { id: 'mitid', name: 'MitID', status: 'major_outage', own_status: 'major_outage', cause: [], since: expect.any(String) },
      // Virk works on its own, but depends critically on MitID: its users see MitID's outage.
      { id: 'virk', name: 'Virk', status: 'major_outage', own_status: 'operational', cause: ['mitid'], since: expect.any(String) },
    ]);
    expect(r.body.systems[0]!.since).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });
});

describe('GET /api/v1/systems/{id}', () => {
  it('gives the system with its probes and the latest result per agent', async () => {
    const r = await getJson(`${base}/api/v1/systems/virk`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      id: 'virk',
      name: 'Virk',
      description: null,
      status: 'major_outage',
      own_status: 'operational',
      cause: ['mitid'],
      depends_on: { mitid: 'critical' },
    });
    const front = r.body.probes.find((p) => p.id === 'front')!;
    expect(front).toMatchObject({ type: 'http', target: 'https://virk.dk/', interval_ms: 30_000, timeout_ms: 5_000 });
    expect(front.latest).toHaveLength(1);
    expect(front.latest[0]).toMatchObject({ agent: 'kbh-1', seq: 3, ok: true, detail: { redirects: 1 }, status_code: 200 });
    expect(front.latest[0]!.ts).toMatch(/Z$/);
    const port = r.body.probes.find((p) => p.id === 'port');
    expect(port).toMatchObject({ type: 'tcp', target: '127.0.0.1:443', agents: ['aar-1'], latest: [] });
    // Request headers may hold credentials: never published.
    expect(JSON.stringify(r.body)).not.toContain('do-not-leak');
  });

  it('has the failing result with its error', async () => {
    const r = await getJson(`${base}/api/v1/systems/mitid`);
    expect(r.body.probes[0]!.latest[0]).toMatchObject({ ok: false, status_code: 503, error: { code: 'http_status' } });
  });

  it('answers 404 JSON for an unknown system', async () => {
    const r = await getJson(`${base}/api/v1/systems/atlantis`);
    expect(r.status).toBe(404);
    expect(r.body.error).toEqual({ code: 'not_found', message: 'no system with id "atlantis"' });
  });
});

describe('GET /api/v1/results', () => {
  it('filters by system, probe, agent and time, oldest first', async () => {
    const all = await getJson(`${base}/api/v1/results?system=mitid&probe=front&agent=kbh-1`);
    expect(all.status).toBe(200);
    expect(all.body.results.map((x) => x.seq)).toEqual([1, 2]);
    expect(all.body.limit).toBe(1000);
    const virk = await getJson(`${base}/api/v1/results?system=virk`);
    expect(virk.body.results.map((x) => x.seq)).toEqual([4, 3]);
    const iso = await getJson(`${base}/api/v1/results?system=virk&from=2026-01-05T08:00:00Z&to=2026-01-05T09:00:01%2B01:00`);
    expect(iso.body.results.map((x) => x.seq)).toEqual([4]);
    const ms = await getJson(`${base}/api/v1/results?system=virk&from=${T + 1}`);
    expect(ms.body.results.map((x) => x.seq)).toEqual([3]);
    const limited = await getJson(`${base}/api/v1/results?limit=1`);
    expect(limited.body.results).toHaveLength(1);
    expect(limited.body.truncated).toBe(true);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=10001', 'limit'],
    ['limit=ten', 'limit'],
    ['from=yesterday', 'from'],
    ['to=2026-01-05T08:00:00', 'to'],
    ['from=2026-01-06&to=2026-01-05', 'from'],
    ['system=Not%20An%20Id', 'system'],
    ['sytem=mitid', 'sytem'],
    ['agent=a&agent=b', 'agent'],
  ])('answers 400 naming the parameter for %s', async (query, name) => {
    const r = await getJson(`${base}/api/v1/results?${query}`);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('bad_parameter');
    expect(r.body.error.parameter).toBe(name);
    expect(r.body.error.message).toMatch(new RegExp(`^${name}: `));
  });
});

describe('routing', () => {
  it('answers 404 JSON for an unknown path and 405 with Allow for a wrong method', async () => {
    const nf = await getJson(`${base}/api/v1/nothing`);
    expect(nf.status).toBe(404);
    expect(nf.body.error.code).toBe('not_found');
    const post = await getJson(`${base}/api/v1/status`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect(post.body.error.code).toBe('method_not_allowed');
    const get = await getJson(`${base}/api/v1/reload`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('explains /agent to a plain GET (426)', async () => {
    const r = await getJson(`${base}/agent`);
    expect(r.status).toBe(426);
    expect(r.headers.get('upgrade')).toBe('websocket');
    expect(r.body.error.code).toBe('upgrade_required');
  });

  it('answers HEAD like GET without a body', async () => {
    const r = await fetch(`${base}/api/v1/status`, { method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('');
  });

  it('serves /healthz and /readyz', async () => {
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('ok\n');
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
  });

  it('serves /metrics in the Prometheus text format', async () => {
    const r = await fetch(`${base}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await r.text();
    expect(text).toContain('# HELP vagt_probe_duration_seconds');
    expect(text).toContain('process_cpu_seconds_total');
    expect(text).not.toContain('nodejs_active_');
  });
});

describe('incidents, alerts, history and dependencies', () => {
  const json = async (path: string): Promise<{ status: number; body: Record<string, unknown> & { error?: { code: string; message: string } } }> => {
    const r = await fetch(`${base}${path}`);
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };

  it('lists the incident MitID opened, with Virk affected, and gives it by id', async () => {
    const r = await json('/api/v1/incidents');
    expect(r.status).toBe(200);
    const incidents = r.body.incidents as Record<string, unknown>[];
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({
      id: 1,
      state: 'open',
      system: 'mitid',
      cause: ['mitid'],
      affected: ['mitid', 'virk'],
      status: 'major_outage',
      priority: 1,
      resolved_at: null,
    });
    expect((incidents[0]!.updates as { kind: string; message: string }[])[0]).toMatchObject({
      kind: 'opened',
      message: 'mitid: major outage (1 of 1 vantage points failing), priority 1.',
    });
    expect((await json('/api/v1/incidents?state=open&system=virk')).body.incidents).toHaveLength(1);
    expect((await json('/api/v1/incidents?state=resolved')).body.incidents).toEqual([]);
    expect((await json('/api/v1/incidents/1')).body).toMatchObject({ id: 1, system: 'mitid' });
    expect(await json('/api/v1/incidents/99')).toEqual({ status: 404, body: { error: { code: 'not_found', message: 'no incident with id 99' } } });
    expect((await json('/api/v1/incidents/first')).status).toBe(404);
    expect((await json('/api/v1/incidents?state=closed')).body.error).toEqual({
      code: 'bad_parameter',
      message: 'state: expected "open" or "resolved"',
      parameter: 'state',
    });
  });

  it('lists active alerts (none yet) and refuses a bad state', async () => {
    expect((await json('/api/v1/alerts')).body).toEqual({ alerts: [] });
    expect((await json('/api/v1/alerts?state=all')).body).toMatchObject({ alerts: [], truncated: false });
    expect((await json('/api/v1/alerts?state=firing')).status).toBe(400);
  });

  it('gives the status timeline as intervals', async () => {
    const r = await json('/api/v1/systems/virk/history');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ system: 'virk', view: 'perceived' });
    const intervals = r.body.intervals as { status: string; cause: string[]; to: string | null }[];
    expect(intervals.at(-1)).toMatchObject({ status: 'major_outage', cause: ['mitid'], to: null });
    const own = await json('/api/v1/systems/virk/history?view=own');
    expect((own.body.intervals as { status: string }[]).at(-1)?.status).toBe('operational');
    expect((await json('/api/v1/systems/atlantis/history')).status).toBe(404);
    expect((await json('/api/v1/systems/virk/history?view=mine')).body.error?.message).toBe('view: expected "perceived" or "own"');
    expect((await json('/api/v1/systems/virk/history?from=2026-01-06T00:00:00Z&to=2026-01-05T00:00:00Z')).body.error?.message).toBe(
      'from: is not before "to"',
    );
    expect((await json('/api/v1/systems/virk/history?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z')).body.intervals).toEqual([]);
  });

  it('gives uptime per window, and refuses what it cannot answer', async () => {
    // The test config declares no service windows: `all` only, no target.
    const r = await json('/api/v1/systems/virk/uptime');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ system: 'virk', view: 'perceived', timezone: 'Europe/Copenhagen' });
    expect(Date.parse(r.body.to as string) - Date.parse(r.body.from as string)).toBe(30 * 86_400_000);
    const all = (r.body.windows as Record<string, Record<string, unknown>>).all!;
    expect(Object.keys(r.body.windows as object)).toEqual(['all']);
    expect(all).toMatchObject({ target: null, met: null, uptime: 0, up_s: 0, maintenance_s: 0 });
    expect(all.downtime_s).toBeGreaterThan(0);
    expect((all.downtime_s as number) + (all.unknown_s as number)).toBeCloseTo(all.window_s as number, 3);
    const own = await json('/api/v1/systems/virk/uptime?view=own');
    expect((own.body.windows as Record<string, { uptime: number }>).all?.uptime).toBe(100);
    const past = await json('/api/v1/systems/virk/uptime?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z');
    expect((past.body.windows as Record<string, unknown>).all).toMatchObject({ uptime: null, window_s: 86_400, unknown_s: 86_400 });
    expect(await json('/api/v1/systems/atlantis/uptime')).toEqual({ status: 404, body: { error: { code: 'not_found', message: 'no system with id "atlantis"' } } });
    expect((await json('/api/v1/systems/virk/uptime?view=mine')).body.error?.message).toBe('view: expected "perceived" or "own"');
    expect((await json('/api/v1/systems/virk/uptime?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z')).body.error?.message).toBe(
      'from: the span is longer than three years',
    );
    expect((await json('/api/v1/systems/virk/uptime?from=yesterday')).status).toBe(400);
    expect((await json('/api/v1/systems/virk/uptime?window=primary')).body.error?.code).toBe('bad_parameter');
  });

  it('gives the dependency graph with statuses', async () => {
    const r = await json('/api/v1/dependencies');
    expect(r.body.systems).toEqual([
      expect.objectContaining({ id: 'mitid', status: 'major_outage', depends_on: [], dependants: [{ id: 'virk', impact: 'critical' }] }),
      expect.objectContaining({ id: 'virk', status: 'major_outage', cause: ['mitid'], depends_on: [{ id: 'mitid', impact: 'critical' }], dependants: [] }),
    ]);
  });
});

describe('GET /api/v1/agents', () => {
  it('lists configured agents with their assignments', async () => {
    const r = await getJson(`${base}/api/v1/agents`);
    expect(r.status).toBe(200);
    expect(r.body.agents.map((a: { id: string }) => a.id)).toEqual(['kbh-1', 'aar-1']);
    const kbh = r.body.agents[0]!;
    expect(kbh).toMatchObject({ name: 'København', connected: false, version: 'test', remote_address: '127.0.0.1' });
    expect(kbh.last_seen).toMatch(/Z$/);
    expect(kbh.probes).toEqual(['mitid/front', 'virk/front']);
    expect(r.body.agents[1]).toMatchObject({ id: 'aar-1', connected: false, last_seen: null, version: null });
  });
});

describe('POST /api/v1/reload', () => {
  it('wants the admin token', async () => {
    const none = await getJson(`${base}/api/v1/reload`, { method: 'POST' });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const wrong = await getJson(`${base}/api/v1/reload`, { method: 'POST', headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(403);
    expect(wrong.body.error.code).toBe('forbidden');
    // Right token, but this collector has no file to reload from.
    const right = await getJson(`${base}/api/v1/reload`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(right.status).toBe(409);
    expect(right.body.error.code).toBe('no_config_file');
  });
});

// The status page itself: tests/collector/portal.test.ts.
