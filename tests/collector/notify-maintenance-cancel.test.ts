// Cancelling a service window notifies: a real collector (SQLite in a temp dir, injected clock), a
// real local HTTP receiver as the webhook and the project's SMTP test server for a configured
// e-mail entry and a subscriber. A window called off before its start is `cancelled`, one called
// off while in progress `ended` early; one that is over says nothing more.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, type Config } from '../../config/schema.js';
import { ManualClock } from '../../lib/clock.js';
import { adminCall, eventually, startHarness, testConfig, type Harness } from './helpers.js';
import { TestSmtpServer, type ReceivedMail } from './smtp-server.js';

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);
const H = 3_600_000;
const FROM = 'Driftsstatus <drift@status.example.dk>';
const iso = (ms: number): string => new Date(ms).toISOString();

interface Hook {
  path: string;
  headers: IncomingHttpHeaders;
  body: { event: string; id: string; at: string; systems: { id: string }[]; maintenance: Record<string, unknown> | null };
}

const got: Hook[] = [];
let server: Server;
let hookUrl = '';
let smtp: TestSmtpServer;
let h: Harness;
const clock = new ManualClock(T0);

function config(dir: string): Config {
  const c = testConfig(dir, { collector: { smtp: { url: smtp.url, from: FROM }, public_url: 'https://status.example.dk' } });
  c.notifications = configSchema.parse({
    collector: {},
    notifications: [
      { id: 'hook', type: 'webhook', url: `${hookUrl}/hook`, events: ['maintenance'], systems: ['virk'] },
      { id: 'mitid-only', type: 'webhook', url: `${hookUrl}/mitid`, systems: ['mitid'] },
      { id: 'drift', type: 'email', to: ['drift@example.dk'], events: ['maintenance'] },
    ],
  }).notifications;
  return c;
}

const call = (method: string, path: string, body?: unknown) => adminCall(h.collector.url, method, path, body);
const window = (id: string, start: number, end: number) => ({ id, systems: ['virk'], start: iso(start), end: iso(end), title: { da: 'Opgradering af Virk', en: 'Virk upgrade' } });
const phases = (id: string): string[] => got.filter((g) => g.body.maintenance?.id === id).map((g) => `${g.path} ${String(g.body.maintenance?.phase)}${g.body.maintenance?.ended_early === true ? ' early' : ''}`);
const mails = (to: string): ReceivedMail[] => smtp.messages.filter((m) => m.rcptTo.some((r) => r.toLowerCase() === to));

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      got.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(raw) as Hook['body'] });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  smtp = await TestSmtpServer.start();
  h = await startHarness({ config, clock });
  // A subscriber to Virk's service windows, in English, confirmed by the link in its mail.
  const sub = await fetch(`${h.collector.url}/api/v1/subscriptions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'anna@example.dk', systems: ['virk'], events: ['maintenance'], lang: 'en' }),
  });
  expect(sub.status).toBe(202);
  const confirmation = await smtp.waitFor((m) => m.rcptTo.includes('anna@example.dk'));
  const link = /https?:\/\/\S+\/subscriptions\/confirm\?token=\S+/.exec(confirmation.text)?.[0];
  expect((await fetch(link!.replace('https://status.example.dk', h.collector.url))).status).toBe(200);
});

afterAll(async () => {
  await h?.close();
  await smtp?.close();
  server?.closeAllConnections();
  await new Promise<void>((r) => (server === undefined ? r() : server.close(() => r())));
});

describe('cancelling a service window', () => {
  it('tells the webhook, the e-mail entry and the subscriber that an upcoming window is cancelled', async () => {
    const start = clock.now() + 24 * H;
    expect((await call('POST', '/api/v1/maintenance', window('sat', start, start + 4 * H))).status).toBe(201);
    await eventually(() => phases('sat').length === 1 && mails('anna@example.dk').length === 2 && mails('drift@example.dk').length === 1);
    clock.advance(60_000);
    const cancelledAt = clock.now();
    expect((await call('DELETE', '/api/v1/maintenance/sat')).status).toBe(204);
    await eventually(() => phases('sat').length === 2 && mails('anna@example.dk').length === 3 && mails('drift@example.dk').length === 2);

    expect(phases('sat')).toEqual(['/hook announced', '/hook cancelled']);
    const hook = got.find((g) => g.body.maintenance?.phase === 'cancelled')!;
    expect(hook.headers['x-vagt-event']).toBe('maintenance');
    expect(hook.headers['x-vagt-delivery']).toBe(`maintenance:sat:cancelled:${start}-${start + 4 * H}`);
    expect(hook.body).toMatchObject({
      event: 'maintenance',
      id: `maintenance:sat:cancelled:${start}-${start + 4 * H}`,
      at: iso(cancelledAt),
      systems: [{ id: 'virk' }],
      maintenance: { id: 'sat', phase: 'cancelled', title: { da: 'Opgradering af Virk', en: 'Virk upgrade' }, start: iso(start), end: iso(start + 4 * H), ended_early: false },
    });
    const da = mails('drift@example.dk')[1]!;
    expect(da.subject).toBe('Servicevindue aflyst: Opgradering af Virk');
    expect(da.text).toContain('Det planlagte servicevindue er aflyst og bliver ikke gennemført.');
    expect(da.text).toContain('Planlagt periode: 6. januar 2026 kl. 09.00 CET – 6. januar 2026 kl. 13.00 CET');
    const en = mails('anna@example.dk')[2]!;
    expect(en.subject).toBe('Service window cancelled: Virk upgrade');
    expect(en.headers.has('list-unsubscribe')).toBe(true);
  });

  it('tells one cancelled while in progress as ended early', async () => {
    const start = clock.now() + H;
    expect((await call('POST', '/api/v1/maintenance', window('now', start, start + 4 * H))).status).toBe(201);
    await eventually(() => phases('now').length === 1);
    clock.set(start + 30 * 60_000);
    await eventually(() => phases('now').length === 2);
    expect((await call('DELETE', '/api/v1/maintenance/now')).status).toBe(204);
    await eventually(() => phases('now').length === 3 && mails('drift@example.dk').some((m) => m.subject.startsWith('Servicevindue afsluttet før tid')));
    expect(phases('now')).toEqual(['/hook announced', '/hook started', '/hook ended early']);
    expect(got.at(-1)?.body).toMatchObject({ at: iso(start + 30 * 60_000), maintenance: { phase: 'ended', ended_early: true, end: iso(start + 4 * H) } });
    await eventually(() => mails('anna@example.dk').some((m) => m.subject === 'Service window ended early: Virk upgrade'));
  });

  it('says nothing more of a window that is over', async () => {
    const start = clock.now() + H;
    expect((await call('POST', '/api/v1/maintenance', window('past', start, start + H))).status).toBe(201);
    clock.set(start + 2 * H);
    // Its natural end is told (within a second); then cancelling it adds nothing.
    await eventually(
      () =>
        phases('past').includes('/hook ended') &&
        mails('drift@example.dk').some((m) => m.subject === 'Servicevindue afsluttet: Opgradering af Virk') &&
        mails('anna@example.dk').some((m) => m.subject === 'Service window ended: Virk upgrade'),
    );
    const before = { hooks: got.length, mails: smtp.messages.length };
    expect((await call('DELETE', '/api/v1/maintenance/past')).status).toBe(204);
    // A window cancelled after it is queued behind anything the cancel of "past" could have made.
    const next = clock.now() + H;
    expect((await call('POST', '/api/v1/maintenance', window('marker', next, next + H))).status).toBe(201);
    await eventually(() => phases('marker').length === 1 && smtp.messages.length === before.mails + 2);
    expect(phases('past')).toEqual(['/hook announced', '/hook ended']);
    expect(got.slice(before.hooks).map((g) => g.body.maintenance?.id)).toEqual(['marker']);
    expect(smtp.messages.slice(before.mails).map((m) => m.subject).sort()).toEqual(['Planlagt servicevindue: Opgradering af Virk', 'Service window scheduled: Virk upgrade']);
    // The MitID-only webhook never heard of Virk's windows.
    expect(got.filter((g) => g.path === '/mitid')).toEqual([]);
  });
});
