// Notifications end to end: a real collector on port 0 with SQLite, a test agent sending results
// over the WebSocket, and a real local HTTP receiver (node:http) standing in for the webhook,
// Slack and Teams. Outage and recovery with their content and a valid signature; one message for
// a root cause and its ten dependants; a receiver that is down (refusing, then 503) still gets
// every message once, also across a collector restart; damping; filters; chat payload shapes.
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, type Config } from '../../config/schema.js';
import { ADMIN_TOKEN, TOKENS, TestAgent, eventually, getJson, metricsText, res, sample, startHarness, type Harness } from '../collector/helpers.js';

const SECRET = 'webhook-secret-0123456789';
const DEPENDANTS = Array.from({ length: 10 }, (_, i) => `dep-${i}`);

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  body: Record<string, unknown>;
}

/** A receiver that answers `mode`: 200, 503, or not at all (closed: connections refused). */
class Receiver {
  readonly got: Received[] = [];
  mode: 'ok' | '503' = 'ok';
  port = 0;
  #server: Server | undefined;

  async up(): Promise<void> {
    const server = createServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (raw += c));
      req.on('end', () => {
        if (this.mode === '503') {
          res.writeHead(503).end('busy');
          return;
        }
        this.got.push({ path: req.url ?? '', headers: req.headers, raw, body: JSON.parse(raw) as Record<string, unknown> });
        res.writeHead(req.url === '/teams' ? 202 : 200).end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(this.port, '127.0.0.1', r));
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  async down(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  at(path: string): Received[] {
    return this.got.filter((g) => g.path === path);
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }
}

function config(dir: string, r: Receiver): Config {
  const probe = { id: 'front', type: 'http', url: 'https://example.invalid/' };
  return configSchema.parse({
    collector: { listen: '127.0.0.1:0', data_dir: dir, admin_token: ADMIN_TOKEN, public_url: 'https://status.example.dk' },
    agents: [{ id: 'kbh-1', name: 'København', token: TOKENS['kbh-1'] }],
    defaults: { interval: '30s', timeout: '5s', retries: 1 },
    systems: [
      { id: 'mitid', name: 'MitID', probes: [probe] },
      ...DEPENDANTS.map((id, i) => ({ id, name: `Tjeneste ${i}`, depends_on: { mitid: 'critical' }, probes: [probe] })),
      { id: 'virk', name: 'Virk', probes: [probe] },
    ],
    notifications: [
      { id: 'hook', type: 'webhook', url: r.url('/hook'), secret: SECRET },
      { id: 'virk-only', type: 'webhook', url: r.url('/virk'), systems: ['virk'], events: ['outage'] },
      { id: 'chat', type: 'slack', url: r.url('/slack'), lang: 'en', events: ['outage', 'recovery'] },
      { id: 'teams', type: 'teams', url: r.url('/teams'), events: ['outage', 'recovery'] },
      { id: 'held', type: 'webhook', url: r.url('/held'), hold: '1500ms', systems: ['virk'] },
    ],
  });
}

const NOTIFY = { burst: { quietMs: 100, windowMs: 500 }, outbox: { baseMs: 100, maxMs: 400 } };

let seq = 0;
/** Results for every system: ok unless named in `failing`. */
async function report(agent: TestAgent, failing: readonly string[] = [], only?: readonly string[]): Promise<void> {
  const ids = only ?? ['mitid', ...DEPENDANTS, 'virk'];
  const results = ids.map((system) => {
    const bad = failing.includes(system);
    return res({ seq: ++seq, system, ok: !bad, ...(bad ? { status_code: 503, error: { code: 'http_status', message: 'status 503' } } : {}) });
  });
  await agent.batch(seq, results);
}

const verify = (r: Received): boolean => r.headers['x-vagt-signature'] === `sha256=${createHmac('sha256', SECRET).update(r.raw).digest('hex')}`;

describe('webhook, Slack and Teams notifications', () => {
  const r = new Receiver();
  let h: Harness;
  let agent: TestAgent;

  beforeAll(async () => {
    await r.up();
    h = await startHarness({ config: (dir) => config(dir, r), notify: NOTIFY });
    agent = await TestAgent.ready(h.wsUrl, 'kbh-1');
    await report(agent);
    // The first status after start is no news.
    await new Promise((res) => setTimeout(res, 400));
    expect(r.got).toEqual([]);
  });
  afterAll(async () => {
    await agent?.close();
    await h?.close();
    await r.down();
  });

  it('tells an outage of a root cause and its ten dependants in one signed message, and the recovery', async () => {
    await report(agent, ['mitid']);
    const [down] = await eventually(() => r.at('/hook').length > 0 && r.at('/hook'));
    expect(down!.headers).toMatchObject({
      'content-type': 'application/json',
      'x-vagt-event': 'outage',
      'x-vagt-delivery': down!.body.id,
    });
    expect(down!.headers['user-agent']).toMatch(/^vagt\/\d+\.\d+\.\d+/);
    expect(verify(down!)).toBe(true);
    expect(verify({ ...down!, raw: down!.raw.replace('MitID', 'MitId') })).toBe(false);
    const body = down!.body as { event: string; id: string; at: string; cause: string[]; systems: Record<string, unknown>[]; links: unknown; incident: unknown };
    expect(body.event).toBe('outage');
    expect(body.id).toMatch(/^outage:mitid:\d+$/);
    expect(body.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(body.cause).toEqual(['mitid']);
    expect(body.incident).toBeNull();
    expect(body.links).toEqual({ status_page: 'https://status.example.dk/' });
    expect(body.systems.map((s) => s.id)).toEqual(['mitid', ...DEPENDANTS]);
    expect(body.systems[0]).toEqual({
      id: 'mitid',
      name: 'MitID',
      status: 'major_outage',
      own_status: 'major_outage',
      cause: [],
      since: expect.stringMatching(/Z$/) as unknown,
      url: 'https://status.example.dk/systems/mitid',
    });
    expect(body.systems[1]).toMatchObject({ id: 'dep-0', name: 'Tjeneste 0', status: 'major_outage', own_status: 'operational', cause: ['mitid'] });

    // Slack (English) and Teams (Danish) got the same event in their own shape.
    const [slack] = await eventually(() => r.at('/slack').length > 0 && r.at('/slack'));
    const sb = slack!.body as { text: string; blocks: { type: string; text?: { type: string; text: string }; elements?: { text: string }[] }[] };
    expect(sb.text).toBe('Outage: MitID');
    expect(sb.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Outage: MitID', emoji: true } });
    expect(sb.blocks[1]?.text?.type).toBe('mrkdwn');
    expect(sb.blocks[1]?.text?.text.split('\n')).toHaveLength(11);
    expect(sb.blocks[1]?.text?.text.split('\n')[0]).toBe('✕ Major outage *MitID*');
    expect(sb.blocks[1]?.text?.text.split('\n')[1]).toBe('✕ Major outage *Tjeneste 0* · Affected by MitID');
    expect(sb.blocks.at(-1)?.elements?.[0]?.text).toContain('<https://status.example.dk/?lang=en|System status>');
    expect(slack!.headers['x-vagt-signature']).toBeUndefined();
    const [teams] = await eventually(() => r.at('/teams').length > 0 && r.at('/teams'));
    const tb = teams!.body as { type: string; attachments: { contentType: string; content: Record<string, unknown> }[] };
    expect(tb.type).toBe('message');
    expect(tb.attachments).toHaveLength(1);
    expect(tb.attachments[0]?.contentType).toBe('application/vnd.microsoft.card.adaptive');
    const card = tb.attachments[0]!.content as { type: string; version: string; body: Record<string, unknown>[]; actions: Record<string, unknown>[] };
    expect(card.type).toBe('AdaptiveCard');
    expect(card.version).toBe('1.4');
    expect(card.body[0]).toMatchObject({ type: 'TextBlock', text: 'Nedbrud: MitID', weight: 'Bolder' });
    expect(card.body[1]).toMatchObject({ type: 'FactSet' });
    expect((card.body[1] as { facts: unknown[] }).facts[1]).toEqual({ title: 'Tjeneste 0', value: '✕ Større nedbrud · Påvirket af MitID' });
    expect(card.actions).toEqual([{ type: 'Action.OpenUrl', title: 'Driftsstatus', url: 'https://status.example.dk/' }]);

    await report(agent);
    const [, up] = await eventually(() => r.at('/hook').length > 1 && r.at('/hook'));
    expect(verify(up!)).toBe(true);
    expect(up!.body).toMatchObject({ event: 'recovery', cause: ['mitid'] });
    expect((up!.body.systems as { id: string; status: string }[]).map((s) => [s.id, s.status])).toEqual([
      ['mitid', 'operational'],
      ...DEPENDANTS.map((d) => [d, 'operational']),
    ]);
    await eventually(() => r.at('/slack').length > 1);
    expect((r.at('/slack')[1]!.body as { text: string }).text).toBe('Operational again: MitID');
    // One message each way: not one per dependant. The Virk-only channel wanted none of it.
    await new Promise((res) => setTimeout(res, 300));
    expect(r.at('/hook')).toHaveLength(2);
    expect(r.at('/slack')).toHaveLength(2);
    expect(r.at('/teams')).toHaveLength(2);
    expect(r.at('/virk')).toEqual([]);
  });

  it('filters by system and event, and damps a flap within the hold', async () => {
    r.got.length = 0;
    // Virk fails and is back within 1.5 s: the held channel hears nothing, the others both.
    await report(agent, ['virk'], ['virk']);
    await eventually(() => r.at('/hook').length > 0);
    await report(agent, [], ['virk']);
    await eventually(() => r.at('/hook').length > 1);
    expect(r.at('/virk').map((g) => g.body.event)).toEqual(['outage']);
    await new Promise((res) => setTimeout(res, 2000));
    expect(r.at('/held')).toEqual([]);

    // Down for longer than the hold: the held channel is told, once.
    await report(agent, ['virk'], ['virk']);
    const [held] = await eventually(() => r.at('/held').length > 0 && r.at('/held'), 5000);
    expect(held!.body).toMatchObject({ event: 'outage', systems: [{ id: 'virk', status: 'major_outage' }] });
    expect(held!.headers['x-vagt-signature']).toBeUndefined();
    await report(agent, [], ['virk']);
    await eventually(() => r.at('/held').length > 1, 5000);
    expect(r.at('/held').map((g) => g.body.event)).toEqual(['outage', 'recovery']);
    // Virk-only wants outages only.
    expect(r.at('/virk').map((g) => g.body.event)).toEqual(['outage', 'outage']);
  });

  it('tells service windows, operators updates and announcements', async () => {
    r.got.length = 0;
    const post = (path: string, body: unknown) =>
      getJson(`${h.collector.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const start = new Date(Date.now() + 3_600_000).toISOString();
    const end = new Date(Date.now() + 7_200_000).toISOString();
    expect((await post('/api/v1/maintenance', { id: 'mw-up', systems: ['virk'], start, end, title: { da: 'Opgradering', en: 'Upgrade' } })).status).toBe(201);
    const [w] = await eventually(() => r.at('/hook').length > 0 && r.at('/hook'));
    expect(w!.body).toMatchObject({
      event: 'maintenance',
      systems: [{ id: 'virk', name: 'Virk' }],
      maintenance: { id: 'mw-up', phase: 'announced', title: { da: 'Opgradering', en: 'Upgrade' }, start: new Date(start).toISOString(), end: new Date(end).toISOString() },
    });
    expect(verify(w!)).toBe(true);
    // The held channel covers Virk and holds status events only.
    await eventually(() => r.at('/held').length > 0);

    expect((await post('/api/v1/announcements', { id: 'an-1', systems: ['mitid'], kind: 'release', title: 'Ny version', body: { da: 'Ny app', en: 'New app' } })).status).toBe(201);
    await eventually(() => r.at('/hook').length > 1);
    expect(r.at('/hook')[1]!.body).toMatchObject({ event: 'announcement', id: 'announcement:an-1', announcement: { kind: 'release', title: { da: 'Ny version' }, body: { da: 'Ny app', en: 'New app' }, link: null } });

    await report(agent, ['virk'], ['virk']);
    const open = await eventually(async () => {
      const list = (await getJson(`${h.collector.url}/api/v1/incidents?state=open`)).body.incidents as { id: number; system: string }[];
      return list.find((i) => i.system === 'virk');
    });
    expect((await post(`/api/v1/incidents/${open.id}/updates`, { status: 'identified', message: { da: 'Fejl fundet', en: 'Found it' } })).status).toBe(201);
    const incident = await eventually(() => r.at('/hook').find((g) => g.body.event === 'incident'));
    expect(incident.body).toMatchObject({
      id: expect.stringMatching(new RegExp(`^incident:${open.id}:\\d+$`)) as unknown,
      incident: { id: open.id, operator_status: 'identified', message: { da: 'Fejl fundet', en: 'Found it' }, url: 'https://status.example.dk/systems/virk' },
      systems: [{ id: 'virk' }],
    });
    await report(agent, [], ['virk']);
    await eventually(() => r.at('/hook').some((g) => g.body.event === 'recovery'));
  });

  it('counts per channel in /metrics, which promtool accepts', async () => {
    const text = await metricsText(h);
    expect(sample(text, 'vagt_notifications_sent_total', { channel: 'hook' })).toBeGreaterThanOrEqual(8);
    expect(sample(text, 'vagt_notifications_failed_total', { channel: 'hook' })).toBe(0);
    expect(sample(text, 'vagt_notifications_dropped_total', { channel: 'virk-only' })).toBe(0);
    expect(sample(text, 'vagt_notifications_pending', { channel: 'teams' })).toBe(0);
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    if (promtool.error === undefined) expect(promtool.stdout + promtool.stderr).toBe('');
  });
});

describe('a receiver that is down for a while', () => {
  let dir: string;
  const r = new Receiver();
  let h: Harness | undefined;
  let agent: TestAgent | undefined;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vagt-notify-'));
  });
  afterEach(async () => {
    await agent?.close();
    await h?.close();
    agent = undefined;
    h = undefined;
  });
  afterAll(async () => {
    await r.down();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gets every message once after it comes back, also across a collector restart', async () => {
    // Learn a free port, then refuse connections on it.
    await r.up();
    await r.down();
    const start = async (): Promise<void> => {
      h = await startHarness({ dir, config: (d) => config(d, r), notify: NOTIFY });
      agent = await TestAgent.ready(h.wsUrl, 'kbh-1');
    };
    await start();
    await report(agent!);
    await report(agent!, ['mitid']);
    // Attempts fail (connection refused) and are retried.
    await eventually(async () => (sample(await metricsText(h!), 'vagt_notifications_retried_total', { channel: 'hook' }) ?? 0) >= 2);
    await report(agent!);
    await eventually(async () => sample(await metricsText(h!), 'vagt_notifications_pending', { channel: 'hook' }) === 2);
    await agent!.close();
    await h!.close();
    h = undefined;

    // Restarted on the same data directory; the receiver now answers 503 for a while, then 200.
    r.mode = '503';
    await r.up();
    await start();
    await eventually(async () => (sample(await metricsText(h!), 'vagt_notifications_failed_total', { channel: 'hook' }) ?? 0) >= 2);
    expect(r.got).toEqual([]);
    r.mode = 'ok';
    await eventually(() => r.at('/hook').length >= 2, 5000);
    // The rest of the backoff window, to see that nothing comes twice.
    await new Promise((res) => setTimeout(res, 1000));
    const hook = r.at('/hook').map((g) => g.body.event);
    expect(hook).toEqual(['outage', 'recovery']);
    expect(r.at('/hook').every(verify)).toBe(true);
    expect(r.at('/slack').map((g) => g.body.text)).toEqual(['Outage: MitID', 'Operational again: MitID']);
    expect(r.at('/teams')).toHaveLength(2);
    expect(r.at('/virk')).toEqual([]);
    const text = await metricsText(h!);
    expect(sample(text, 'vagt_notifications_sent_total', { channel: 'hook' })).toBe(2);
    expect(sample(text, 'vagt_notifications_pending', { channel: 'hook' })).toBe(0);
    expect(sample(text, 'vagt_notifications_dropped_total', { channel: 'hook' })).toBe(0);

    // Another restart: nothing is sent again.
    await agent!.close();
    await h!.close();
    h = undefined;
    await start();
    await new Promise((res) => setTimeout(res, 800));
    expect(r.at('/hook')).toHaveLength(2);
  });
});
