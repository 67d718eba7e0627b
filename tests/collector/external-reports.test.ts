// Other monitoring systems as vantage points: the report endpoint and Alertmanager's webhook, on a
// real collector with a real SQLite file, next to real WebSocket agents.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { agent as agentSchema, type Config } from '../../config/schema.js';
import { DEFAULT_RATE, ExternalReports } from '../../collector/external-reports.js';
import { ManualClock } from '../../lib/clock.js';
import {
  ADMIN_TOKEN,
  TOKENS,
  TestAgent,
  adminCall,
  eventually,
  getJson,
  metricsText,
  res,
  sample,
  startHarness,
  testConfig,
  type Harness,
} from './helpers.js';

const ZABBIX = 'zabbix-token-0123456789abcdef';
const NAGIOS = 'nagios-token-0123456789abcdef';
const T0 = Date.parse('2026-12-02T08:00:00Z');

function withSources(dir: string): Config {
  const cfg = testConfig(dir);
  cfg.agents.push(
    agentSchema.parse({ id: 'zabbix', name: 'KL Zabbix', token: ZABBIX, external: {} }),
    agentSchema.parse({ id: 'nagios', token: NAGIOS, external: { systems: ['virk'], stale_after: '2m' } }),
  );
  return cfg;
}

let h: Harness | undefined;
let agents: TestAgent[] = [];
afterEach(async () => {
  for (const a of agents) await a.close();
  agents = [];
  await h?.close();
  h = undefined;
});

async function start(clock: ManualClock, dir?: string): Promise<Harness> {
  h = await startHarness({ clock, config: withSources, ...(dir === undefined ? {} : { dir }) });
  return h;
}

const report = (h: Harness, system: string, body: unknown, token: string | null = ZABBIX) =>
  adminCall(h.collector.url, 'POST', `/api/v1/systems/${system}/reports`, body, { token });

async function statusOf(h: Harness, id: string): Promise<{ status: string; own_status: string }> {
  const { body } = await getJson(`${h.collector.url}/api/v1/status`);
  const s = body.systems.find((x) => x.id === id);
  if (s === undefined) throw new Error(`no system ${id}`);
  return s;
}

const becomes = (h: Harness, id: string, own: string) => eventually(async () => (await statusOf(h, id)).own_status === own && own, 3_000);

describe('POST /api/v1/systems/{id}/reports', () => {
  it('counts a report as one more vantage point beside the agents', async () => {
    const clock = new ManualClock(T0);
    const hh = await start(clock);
    for (const id of ['kbh-1', 'aar-1'] as const) {
      const a = await TestAgent.ready(hh.wsUrl, id);
      agents.push(a);
      await a.batch(1, [res({ seq: 1, ts: T0 - 1000 })]);
    }
    await becomes(hh, 'mitid', 'operational');

    // One source of three failing is shown, not hidden, and not an outage.
    const down = await report(hh, 'mitid', { status: 'major_outage', message: 'web scenario failed: HTTP 503' });
    expect(down.status).toBe(202);
    expect(down.body).toMatchObject({ source: 'zabbix', system: 'mitid', probes: ['front'], ok: false, at: new Date(T0).toISOString() });
    await becomes(hh, 'mitid', 'partial_outage');

    const up = await report(hh, 'mitid', { success: true, duration_ms: 321 });
    expect(up.status).toBe(202);
    await becomes(hh, 'mitid', 'operational');

    const { body } = await getJson(`${hh.collector.url}/api/v1/results?system=mitid&agent=zabbix`);
    expect(body.results.map((r) => [r.ok, r.error?.code ?? null, r.error?.message ?? null])).toEqual([
      [false, 'reported', 'web scenario failed: HTTP 503'],
      [true, null, null],
    ]);
    expect(body.results[0]?.detail).toEqual({ external: { via: 'report', status: 'major_outage' } });
  });

  it('decides alone when no agent sees the system, until its reports go stale', async () => {
    const clock = new ManualClock(T0);
    const hh = await start(clock);
    // virk's port probe lists its agents (aar-1), so the report counts on front only.
    const r = await report(hh, 'virk', { success: false });
    expect(r.body).toMatchObject({ probes: ['front'], ok: false });
    await becomes(hh, 'virk', 'major_outage');
    clock.advance(9 * 60_000);
    await becomes(hh, 'virk', 'major_outage');
    // stale_after defaults to 10 minutes: then nothing fresh is left.
    clock.advance(2 * 60_000);
    await becomes(hh, 'virk', 'unknown');
    // The nagios source counts for 2 minutes only.
    expect((await report(hh, 'virk', { status: 'partial_outage' }, NAGIOS)).status).toBe(202);
    await becomes(hh, 'virk', 'major_outage');
    clock.advance(2 * 60_000 + 1);
    await becomes(hh, 'virk', 'unknown');
  });

  it('refuses strangers, other tokens, and systems or probes the source may not report on', async () => {
    const hh = await start(new ManualClock(T0));
    const none = await report(hh, 'mitid', { success: false }, null);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="vagt"');
    for (const token of [TOKENS['kbh-1'], ADMIN_TOKEN, 'some-other-token-0123456789']) {
      const r = await report(hh, 'mitid', { success: false }, token);
      expect(r.status).toBe(403);
      expect(r.body.error?.code).toBe('forbidden');
    }
    const fenced = await report(hh, 'mitid', { success: false }, NAGIOS);
    expect(fenced.status).toBe(403);
    expect(fenced.body.error?.message).toBe('source "nagios" may not report on system "mitid" (see its external.systems)');
    expect((await report(hh, 'nope', { success: false })).body.error).toEqual({ code: 'not_found', message: 'no system with id "nope"' });
    expect((await report(hh, 'virk', { success: false, probe: 'nope' })).status).toBe(404);
    const listed = await report(hh, 'virk', { success: false, probe: 'port' });
    expect(listed.status).toBe(422);
    expect(listed.body.error?.code).toBe('not_reportable');
    // The agents' WebSocket is not for external sources.
    await expect(TestAgent.connect(hh.wsUrl, ZABBIX)).rejects.toMatchObject({ status: 401 });
    const { body } = await getJson(`${hh.collector.url}/api/v1/results?agent=zabbix`);
    expect(body.results).toEqual([]);
  });

  it('answers a bad report with every problem, and stores nothing', async () => {
    const hh = await start(new ManualClock(T0));
    const both = await report(hh, 'mitid', { success: false, status: 'major_outage', colour: 'red' });
    expect(both.status).toBe(400);
    expect(both.body.error?.code).toBe('invalid_body');
    expect(both.body.error?.problems?.map((p) => p.path).sort()).toEqual(['(root)', 'colour'].sort());
    const neither = await report(hh, 'mitid', { message: 'hm' });
    expect(neither.body.error?.problems).toEqual([{ path: '(root)', message: 'give either "success" or "status"' }]);
    const maintenance = await report(hh, 'mitid', { status: 'under_maintenance' });
    expect(maintenance.body.error?.problems?.[0]?.path).toBe('status');
    const future = await report(hh, 'mitid', { success: true, at: new Date(T0 + 6 * 60_000).toISOString() });
    expect(future.status).toBe(400);
    expect(future.body.error?.message).toMatch(/ahead of the collector's clock/);
    const old = await report(hh, 'mitid', { success: true, at: '2020-01-01T00:00:00Z' });
    expect(old.body.error?.message).toMatch(/older than collector.retention/);
    expect((await report(hh, 'mitid', 'success=false', ZABBIX)).status).toBe(400);
    const text = await adminCall(hh.collector.url, 'POST', '/api/v1/systems/mitid/reports', 'success=false', { token: ZABBIX, type: 'text/plain' });
    expect(text.status).toBe(415);
    const { body } = await getJson(`${hh.collector.url}/api/v1/results?agent=zabbix`);
    expect(body.results).toEqual([]);
  });

  it('exports the source as a vantage point, but not as an agent or in the response-time histogram', async () => {
    const hh = await start(new ManualClock(T0));
    await report(hh, 'mitid', { success: false, duration_ms: 5000 });
    const text = await eventually(async () => {
      const t = await metricsText(hh);
      return sample(t, 'vagt_probe_success', { system: 'mitid', probe: 'front', agent: 'zabbix' }) === 0 && t;
    });
    expect(text).not.toMatch(/vagt_probe_duration_seconds_count\{[^}]*agent="zabbix"/);
    expect(text).not.toMatch(/vagt_agent_connected\{agent="zabbix"\}/);
    expect(text).not.toMatch(/vagt_alert_active\{[^}]*agent="zabbix"/);
    const { body } = await getJson(`${hh.collector.url}/api/v1/agents`);
    expect(body.agents.map((a) => a.id)).toEqual(['kbh-1', 'aar-1']);
    expect(body.external).toEqual([
      { id: 'zabbix', name: 'KL Zabbix', systems: null, stale_after_s: 600, last_report: new Date(T0).toISOString() },
      { id: 'nagios', name: null, systems: ['virk'], stale_after_s: 120, last_report: null },
    ]);
  });

  it('keeps a report across a restart and continues its sequence; a reload that drops the source drops its vote', async () => {
    const clock = new ManualClock(T0);
    const first = await start(clock);
    const dir = first.dir;
    expect((await report(first, 'virk', { success: false })).body.seq).toEqual([1]);
    await becomes(first, 'virk', 'major_outage');
    await first.collector.close();
    h = undefined;

    const again = await start(clock, dir);
    await becomes(again, 'virk', 'major_outage');
    expect((await report(again, 'virk', { success: false })).body.seq).toEqual([2]);
    const cfg = withSources(dir);
    const r = await again.collector.reload({ ...cfg, agents: cfg.agents.filter((a) => a.id !== 'zabbix') });
    expect(r.ok).toBe(true);
    await becomes(again, 'virk', 'unknown');
    expect((await report(again, 'virk', { success: false })).status).toBe(403);
  });
});

describe('POST /api/v1/alertmanager', () => {
  const alert = (status: 'firing' | 'resolved', fingerprint: string, labels: Record<string, string>, summary?: string) => ({
    status,
    labels: { alertname: 'BackendDown', ...labels },
    annotations: summary === undefined ? {} : { summary },
    startsAt: new Date(T0).toISOString(),
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus.example/graph',
    fingerprint,
  });
  const notify = (h: Harness, alerts: unknown[], token: string | null = ZABBIX) =>
    adminCall(h.collector.url, 'POST', '/api/v1/alertmanager', { version: '4', status: 'firing', receiver: 'vagt', groupKey: '{}', alerts }, { token });

  it('fails a system while any of its alerts fires, whatever the grouping', async () => {
    const hh = await start(new ManualClock(T0));
    const r = await notify(hh, [
      alert('firing', 'aaa', { vagt_system: 'mitid' }, 'MitID backend 5xx'),
      alert('firing', 'bbb', { system: 'virk', vagt_probe: 'front' }),
      alert('firing', 'ccc', { job: 'node' }),
      alert('firing', 'ddd', { vagt_system: 'nope' }),
    ]);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      source: 'zabbix',
      accepted: [
        { system: 'mitid', probe: 'front', ok: false, firing: 1 },
        { system: 'virk', probe: 'front', ok: false, firing: 1 },
      ],
      ignored: [
        { fingerprint: 'ccc', reason: 'no vagt_system label' },
        { fingerprint: 'ddd', reason: 'no system with id "nope"' },
      ],
    });
    await becomes(hh, 'mitid', 'major_outage');
    await becomes(hh, 'virk', 'major_outage');
    const { body } = await getJson(`${hh.collector.url}/api/v1/results?system=mitid&agent=zabbix`);
    expect(body.results[0]?.error).toEqual({ code: 'reported', message: 'MitID backend 5xx' });

    // Another group fires for mitid too; the first one's resolution does not clear it.
    await notify(hh, [alert('firing', 'eee', { vagt_system: 'mitid' })]);
    const partly = await notify(hh, [alert('resolved', 'aaa', { vagt_system: 'mitid' })]);
    expect(partly.body.accepted).toEqual([{ system: 'mitid', probe: 'front', ok: false, firing: 1 }]);
    const cleared = await notify(hh, [alert('resolved', 'eee', { vagt_system: 'mitid' }), alert('resolved', 'bbb', { system: 'virk', vagt_probe: 'front' })]);
    expect(cleared.body.accepted).toEqual([
      { system: 'mitid', probe: 'front', ok: true, firing: 0 },
      { system: 'virk', probe: 'front', ok: true, firing: 0 },
    ]);
    await becomes(hh, 'mitid', 'operational');
    await becomes(hh, 'virk', 'operational');
  });

  it('needs a source token and a payload it understands', async () => {
    const hh = await start(new ManualClock(T0));
    expect((await notify(hh, [], null)).status).toBe(401);
    expect((await notify(hh, [], TOKENS['aar-1'])).status).toBe(403);
    const bad = await adminCall(hh.collector.url, 'POST', '/api/v1/alertmanager', { alerts: [{ status: 'burning', labels: {} }] }, { token: ZABBIX });
    expect(bad.status).toBe(400);
    expect(bad.body.error?.message).toBe('not an Alertmanager webhook payload: alerts.0.status: expected "firing" or "resolved"');
    const fenced = await notify(hh, [alert('firing', 'fff', { vagt_system: 'mitid' })], NAGIOS);
    expect(fenced.body).toMatchObject({ accepted: [], ignored: [{ fingerprint: 'fff', reason: 'source "nagios" may not report on system "mitid" (see its external.systems)' }] });
  });
});

describe('docs/external.md', () => {
  const doc = readFileSync(join(import.meta.dirname, '../../docs/external.md'), 'utf8');
  const example = (name: string): unknown => {
    const m = new RegExp(`<!-- example: ${name} -->\\n\`\`\`json\\n([\\s\\S]*?)\\n\`\`\``).exec(doc);
    if (m?.[1] === undefined) throw new Error(`docs/external.md has no "${name}" example`);
    return JSON.parse(m[1]);
  };
  const nemlogin = (dir: string): Config => {
    const cfg = testConfig(dir, {
      systems: [{ id: 'nemlog-in', name: 'NemLog-in', probes: [{ id: 'login', type: 'http', url: 'https://nemlog-in.example/' }] }],
    });
    cfg.agents.push(agentSchema.parse({ id: 'kl-zabbix', token: ZABBIX, external: { stale_after: '15m' } }));
    return cfg;
  };

  it('has examples the collector takes as they are', async () => {
    h = await startHarness({ clock: new ManualClock(T0), config: nemlogin });
    const r = await report(h, 'nemlog-in', example('report'));
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ source: 'kl-zabbix', probes: ['login'], ok: false, at: '2026-12-02T07:15:00.000Z' });
    const am = await adminCall(h.collector.url, 'POST', '/api/v1/alertmanager', example('alertmanager'), { token: ZABBIX });
    expect(am.body).toEqual({ source: 'kl-zabbix', accepted: [{ system: 'nemlog-in', probe: 'login', ok: false, firing: 1 }], ignored: [] });
    await becomes(h, 'nemlog-in', 'major_outage');
  });
});

describe('rate limit per source', () => {
  it('admits a burst, then a steady rate, and tells how long to wait', () => {
    const clock = new ManualClock(T0);
    const reports = new ExternalReports({ clock, queue: undefined as never, maxSeq: () => Promise.resolve(undefined), rate: { perSecond: 2, burst: 3 } });
    expect([reports.admit('z'), reports.admit('z'), reports.admit('z')]).toEqual([undefined, undefined, undefined]);
    expect(reports.admit('z')).toBe(500);
    // Another source has its own budget.
    expect(reports.admit('other')).toBeUndefined();
    clock.advance(500);
    expect(reports.admit('z')).toBeUndefined();
    expect(reports.admit('z')).toBe(500);
    clock.advance(10_000);
    expect([reports.admit('z'), reports.admit('z'), reports.admit('z'), reports.admit('z')]).toEqual([undefined, undefined, undefined, 500]);
  });

  it('answers 429 with Retry-After once a source has spent its burst', async () => {
    const hh = await start(new ManualClock(T0));
    const statuses: number[] = [];
    // Bad bodies cost a request too, and store nothing.
    for (let i = 0; i < DEFAULT_RATE.burst; i += 50)
      statuses.push(...(await Promise.all(Array.from({ length: 50 }, async () => (await report(hh, 'mitid', {})).status))));
    expect(new Set(statuses)).toEqual(new Set([400]));
    const limited = await report(hh, 'mitid', { success: true });
    expect(limited.status).toBe(429);
    expect(limited.body.error?.code).toBe('rate_limited');
    expect(limited.headers.get('retry-after')).toBe('1');
    // The other source is not affected.
    expect((await report(hh, 'virk', { success: true }, NAGIOS)).status).toBe(202);
  });
});

describe('response times stay our agents\' own', () => {
  it('leaves a source\'s duration out of the system page\'s chart', async () => {
    const clock = new ManualClock(Date.now());
    const hh = await start(clock);
    const a = await TestAgent.ready(hh.wsUrl, 'kbh-1');
    agents.push(a);
    await a.batch(1, [res({ seq: 1, ts: clock.now() - 60_000, duration_ms: 42 })]);
    expect((await report(hh, 'mitid', { success: true, duration_ms: 5000, at: new Date(clock.now() - 30_000).toISOString() })).status).toBe(202);
    const html = await (await fetch(`${hh.collector.url}/systems/mitid`)).text();
    const label = /<svg class="chart"[^>]*aria-label="([^"]+)"/.exec(html)?.[1];
    expect(label).toBe('Svartider for front de seneste 24 timer. Median 42 ms, 95-percentil 42 ms');
  });
});
