// E-mail: the texts of every kind of message in Danish and English (plain and HTML), and the
// channel sending them through a real local SMTP server: one message per address, a refused
// address failing alone, a Message-ID that is the same on a retry, a relay that is down.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema, type NotificationConfig } from '../../config/schema.js';
import { Model } from '../../collector/model.js';
import { confirmationMail, eventMail, mailTime } from '../../collector/notify/email-templates.js';
import { emailChannel, emailChannels, messageId, type EmailDeps } from '../../collector/notify/email.js';
import type { NotifyEvent, NotifySystem } from '../../collector/notify/types.js';
import type { Status } from '../../collector/status/types.js';
import { silent, testConfig } from './helpers.js';
import { TestSmtpServer, decodeWords, simpleParse } from './smtp-server.js';

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0); // 09.00 in Copenhagen (CET)
const BASE = 'https://status.example.dk';
const tz = 'Europe/Copenhagen';

function sys(id: string, name: string, status: Status, cause: string[] = []): NotifySystem {
  return { id, name, status, own_status: cause.length > 0 ? 'operational' : status, cause, since: T0, url: `${BASE}/systems/${id}` };
}

/** NemLog-in down, taking borger.dk and Digital Post with it: one event naming the cause. */
function outage(over: { [K in keyof NotifyEvent]?: NotifyEvent[K] | undefined } = {}): NotifyEvent {
  const e = {
    id: 'ev-outage-1',
    kind: 'outage',
    at: T0,
    systems: [
      sys('nemlog-in', 'NemLog-in', 'major_outage'),
      sys('borger-dk', 'borger.dk', 'major_outage', ['nemlog-in']),
      sys('digital-post', 'Digital Post', 'partial_outage', ['nemlog-in']),
    ],
    cause: ['nemlog-in'],
    incident: { id: 7, priority: 1, operator_status: null, url: `${BASE}/systems/nemlog-in` },
    links: { status_page: `${BASE}/` },
    ...over,
  };
  // `incident: undefined` leaves the incident out.
  for (const k of Object.keys(e) as (keyof typeof e)[]) if (e[k] === undefined) delete e[k];
  return e as NotifyEvent;
}

const UNSUB = `${BASE}/subscriptions/unsubscribe?token=sub-1.abc`;

describe('e-mail texts', () => {
  it('an outage in Danish: the cause first in the subject, every status in words, times in the collector zone, links', () => {
    const m = eventMail(outage(), { lang: 'da', timeZone: tz, unsubscribeUrl: UNSUB });
    expect(m.subject).toBe('Nedbrud: NemLog-in – påvirker borger.dk, Digital Post');
    expect(m.text).toContain('- NemLog-in: ✕ Større nedbrud\n');
    expect(m.text).toContain('- borger.dk: ✕ Større nedbrud (Påvirket af NemLog-in)\n');
    expect(m.text).toContain('- Digital Post: ◑ Delvist nedbrud (Påvirket af NemLog-in)\n');
    expect(m.text).toContain('Tidspunkt: 5. januar 2026 kl. 09.00 CET');
    expect(m.text).toContain(`Se status for NemLog-in: ${BASE}/systems/nemlog-in`);
    expect(m.text).toContain(`Driftsstatus for alle systemer: ${BASE}/`);
    expect(m.text).toContain(`Afmeld: ${UNSUB}`);
    expect(m.html).toMatch(/^<!doctype html>\n<html lang="da">/);
    expect(m.html).toContain('<title>Nedbrud: NemLog-in – påvirker borger.dk, Digital Post</title>');
    // Status in words and a symbol (hidden from screen readers), the colour only besides.
    expect(m.html).toContain('<span style="color:#c21f2c;font-weight:bold"><span aria-hidden="true">✕</span> Større nedbrud</span>');
    expect(m.html).toContain(`<a href="${BASE}/systems/nemlog-in" style="color:#0550ae">Se status for NemLog-in</a>`);
    expect(m.html).toContain(`<a href="${UNSUB}" style="color:#0550ae">Afmeld</a>`);
    expect(m.html).not.toContain('<style');
  });

  it('the same outage in English, and without an unsubscribe link for a configured channel', () => {
    const m = eventMail(outage(), { lang: 'en', timeZone: tz });
    expect(m.subject).toBe('Outage: NemLog-in – affects borger.dk, Digital Post');
    expect(m.text).toContain('- borger.dk: ✕ Major outage (Affected by NemLog-in)');
    expect(m.text).toContain('Time: 5 January 2026 at 09:00 CET');
    expect(m.text).toContain('This message was sent automatically by the status page.');
    expect(m.text).not.toMatch(/unsubscribe/i);
    expect(m.html).toContain('<html lang="en">');
    expect(m.html).not.toMatch(/unsubscribe/i);
  });

  it('names a root cause outside the message ("Påvirket af MitID"), a partial outage, summer time', () => {
    const e = outage({
      at: Date.UTC(2026, 6, 1, 10, 30),
      systems: [sys('nemlog-in', 'NemLog-in', 'partial_outage', ['mitid'])],
      cause: ['mitid'],
    });
    const m = eventMail(e, { lang: 'da', timeZone: tz, names: (id) => (id === 'mitid' ? 'MitID' : undefined) });
    expect(m.subject).toBe('Delvist nedbrud: NemLog-in');
    expect(m.text).toContain('Påvirket af MitID.');
    expect(m.text).toContain('- NemLog-in: ◑ Delvist nedbrud (Påvirket af MitID)');
    expect(m.text).toContain('Tidspunkt: 1. juli 2026 kl. 12.30 CEST');
  });

  it('degraded performance and recovery', () => {
    const slow = eventMail(outage({ kind: 'degraded', systems: [sys('mitid', 'MitID', 'degraded_performance')], cause: [] }), { lang: 'da', timeZone: tz });
    expect(slow.subject).toBe('Nedsat ydeevne: MitID');
    expect(slow.text).toContain('- MitID: ◔ Nedsat ydeevne');
    const back = outage({ kind: 'recovery', systems: outage().systems.map((s) => ({ ...s, status: 'operational' as const, own_status: 'operational' as const })) });
    const da = eventMail(back, { lang: 'da', timeZone: tz });
    expect(da.subject).toBe('Igen i drift: NemLog-in, borger.dk og Digital Post');
    expect(da.text).toContain('- borger.dk: ✓ Kører\n');
    expect(da.text).not.toContain('Påvirket af');
    expect(eventMail(back, { lang: 'en', timeZone: tz }).subject).toBe('Back in operation: NemLog-in, borger.dk and Digital Post');
  });

  it('service windows announced, started and ended, with their period', () => {
    const start = Date.UTC(2026, 11, 5, 23, 0);
    const end = Date.UTC(2026, 11, 6, 5, 0);
    const win = (phase: 'announced' | 'started' | 'ended'): NotifyEvent =>
      outage({
        id: `mw-1:${phase}`,
        kind: 'maintenance',
        systems: [sys('mitid', 'MitID', phase === 'started' ? 'under_maintenance' : 'operational')],
        cause: [],
        incident: undefined,
        maintenance: { id: 'mw-1', phase, title: { da: 'Opdatering af MitID', en: 'MitID upgrade' }, start, end },
      });
    expect(eventMail(win('announced'), { lang: 'da', timeZone: tz }).subject).toBe('Planlagt servicevindue: Opdatering af MitID');
    expect(eventMail(win('started'), { lang: 'da', timeZone: tz }).subject).toBe('Servicevindue i gang: Opdatering af MitID');
    const ended = eventMail(win('ended'), { lang: 'en', timeZone: tz });
    expect(ended.subject).toBe('Service window ended: MitID upgrade');
    const m = eventMail(win('announced'), { lang: 'da', timeZone: tz });
    expect(m.text).toContain('Periode: 6. december 2026 kl. 00.00 CET – 6. december 2026 kl. 06.00 CET');
    expect(eventMail(win('started'), { lang: 'da', timeZone: tz }).text).toContain('- MitID: ⚙ Planlagt vedligeholdelse');
  });

  it('service windows cancelled, and ended early by a cancel', () => {
    const start = Date.UTC(2026, 11, 5, 23, 0);
    const end = Date.UTC(2026, 11, 6, 5, 0);
    const win = (phase: 'cancelled' | 'ended', at: number): NotifyEvent =>
      outage({
        id: `mw-1:${phase}`,
        kind: 'maintenance',
        at,
        systems: [sys('mitid', 'MitID', 'operational')],
        cause: [],
        incident: undefined,
        maintenance: { id: 'mw-1', phase, title: { da: 'Opdatering af MitID', en: 'MitID upgrade' }, start, end, ...(phase === 'ended' ? { ended_early: true as const } : {}) },
      });
    const da = eventMail(win('cancelled', T0), { lang: 'da', timeZone: tz });
    expect(da.subject).toBe('Servicevindue aflyst: Opdatering af MitID');
    expect(da.text).toContain('Det planlagte servicevindue er aflyst og bliver ikke gennemført.');
    expect(da.text).toContain('Planlagt periode: 6. december 2026 kl. 00.00 CET – 6. december 2026 kl. 06.00 CET');
    expect(da.text).toContain('Tidspunkt: 5. januar 2026 kl. 09.00 CET');
    expect(da.html).toContain('<title>Servicevindue aflyst: Opdatering af MitID</title>');
    const en = eventMail(win('cancelled', T0), { lang: 'en', timeZone: tz });
    expect(en.subject).toBe('Service window cancelled: MitID upgrade');
    expect(en.text).toContain('Planned period: 6 December 2026 at 00:00 CET');
    const early = win('ended', Date.UTC(2026, 11, 6, 1, 30));
    expect(eventMail(early, { lang: 'da', timeZone: tz }).subject).toBe('Servicevindue afsluttet før tid: Opdatering af MitID');
    const earlyEn = eventMail(early, { lang: 'en', timeZone: tz });
    expect(earlyEn.subject).toBe('Service window ended early: MitID upgrade');
    expect(earlyEn.text).toContain('The service window ended earlier than planned.');
    expect(earlyEn.text).toContain('Time: 6 December 2026 at 02:30 CET');
  });

  it("an operator's incident update in the reader's language, and an announcement", () => {
    const e = outage({
      id: 'inc-7:3',
      kind: 'incident',
      incident: { id: 7, priority: 1, operator_status: 'identified', message: { da: 'Et certifikat er udløbet.', en: 'A certificate expired.' }, url: `${BASE}/systems/nemlog-in` },
    });
    const da = eventMail(e, { lang: 'da', timeZone: tz });
    expect(da.subject).toBe('Opdatering om NemLog-in: Årsag fundet');
    expect(da.text).toContain('Et certifikat er udløbet.');
    const en = eventMail(e, { lang: 'en', timeZone: tz });
    expect(en.subject).toBe('Update on NemLog-in: Identified');
    expect(en.text).toContain('A certificate expired.');
    const a = eventMail(
      outage({
        id: 'an-1',
        kind: 'announcement',
        systems: [sys('mitid', 'MitID', 'operational')],
        cause: [],
        incident: undefined,
        announcement: { id: 'an-1', kind: 'release', title: { da: 'MitID 2.4' }, body: { da: 'Hurtigere login.', en: 'Faster login.' }, at: T0, link: 'https://www.mitid.dk/2-4' },
      }),
      { lang: 'en', timeZone: tz },
    );
    expect(a.subject).toBe('Release: MitID 2.4');
    expect(a.text).toContain('Faster login.');
    expect(a.text).toContain('Read more: https://www.mitid.dk/2-4');
  });

  it('escapes names in HTML and keeps the subject on one line', () => {
    const e = outage({ systems: [sys('x', 'A <b>&\n"bad"</b>', 'major_outage')], cause: [] });
    const m = eventMail(e, { lang: 'da', timeZone: tz });
    expect(m.subject).toBe('Nedbrud: A <b>& "bad"</b>');
    expect(m.html).toContain('A &lt;b&gt;&amp;');
    expect(m.html).not.toContain('<b>&');
  });

  it('the confirmation: systems, events, link and what happens if ignored; the confirmation of a change', () => {
    const m = confirmationMail({ lang: 'da', confirmUrl: 'https://s.dk/subscriptions/confirm?token=T', systems: ['MitID', 'Virk'], events: ['outage', 'recovery'], change: false, validDays: 7 });
    expect(m.subject).toBe('Bekræft dit abonnement på driftsstatus');
    expect(m.text).toContain('- MitID\n- Virk\n');
    expect(m.text).toContain('Du får besked om: nedbrud og igen i drift.');
    expect(m.text).toContain('https://s.dk/subscriptions/confirm?token=T');
    expect(m.text).toContain('Linket virker i 7 dage.');
    expect(m.html).toContain('<html lang="da">');
    expect(m.html).toContain('>Bekræft abonnementet</a>');
    const c = confirmationMail({ lang: 'en', confirmUrl: 'https://s.dk/c', systems: null, events: null, change: true, validDays: 7 });
    expect(c.subject).toBe('Confirm the change to your subscription to the status page');
    expect(c.text).toContain('- every system');
    expect(c.text).toContain('your subscription stays as it is');
  });

  it('formats times in the configured zone, named', () => {
    expect(mailTime(T0, 'en', 'UTC')).toBe('5 January 2026 at 08:00 UTC');
    expect(mailTime(T0, 'da', 'America/New_York')).toMatch(/^5\. januar 2026 kl\. 03\.00 /);
  });
});

describe('the MIME reader of the test server', () => {
  it('decodes encoded words, quoted-printable and base64 parts', async () => {
    expect(decodeWords('=?UTF-8?Q?Nedbrud=3A_NemLog-in_=E2=80=93?= =?UTF-8?Q?_p=C3=A5virker?=')).toBe('Nedbrud: NemLog-in – påvirker');
    expect(decodeWords('=?UTF-8?B?w6bDuMOl?=')).toBe('æøå');
    const raw = [
      'Subject: =?UTF-8?B?w6bDuMOl?=',
      'Message-ID: <x@y>',
      'Content-Type: multipart/alternative; boundary="--b"',
      '',
      '----b',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'Gr=C3=B8n lin=',
      'je',
      '----b',
      'Content-Type: text/html; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('<p>grøn</p>').toString('base64'),
      '----b--',
      '',
    ].join('\r\n');
    expect(await simpleParse(raw)).toMatchObject({ subject: 'æøå', messageId: '<x@y>', text: 'Grøn linje', html: '<p>grøn</p>' });
  });
});

describe('the e-mail channel over SMTP', () => {
  let smtp: TestSmtpServer;
  let deps: EmailDeps;
  let model: Model;
  const ops: NotificationConfig = configSchema.parse({
    collector: {},
    notifications: [{ id: 'ops', type: 'email', to: ['Drift@Example.dk', 'vagt@example.dk'], systems: ['mitid'], events: ['outage', 'recovery'], lang: 'da', hold: '30s' }],
  }).notifications[0]!;

  beforeAll(async () => {
    smtp = await TestSmtpServer.start();
    model = new Model(testConfig('/nonexistent', { collector: { smtp: { url: smtp.url, from: 'Driftsstatus <drift@status.example.dk>' }, public_url: BASE } }), { localAgent: false });
    deps = { model: () => model, log: silent };
  });
  afterAll(async () => {
    await smtp?.close();
  });
  beforeEach(() => {
    smtp.messages.length = 0;
    smtp.refuse.clear();
    smtp.down = false;
  });

  it('is one channel per address, with the entry’s systems, events, language and hold', () => {
    const channels = emailChannels(ops, deps);
    expect(channels.map((c) => c.id)).toEqual(['ops:drift@example.dk', 'ops:vagt@example.dk']);
    for (const c of channels) expect(c).toMatchObject({ type: 'email', systems: ['mitid'], events: ['outage', 'recovery'], holdMs: 30_000, lang: 'da' });
    expect(emailChannels({ ...ops, type: 'webhook' }, deps)).toEqual([]);
  });

  it('sends the outage to each address: from, subject, text and HTML, a Message-ID from event and address', async () => {
    const [a, b] = emailChannels(ops, deps);
    await a!.send(outage());
    await b!.send(outage());
    expect(smtp.messages).toHaveLength(2);
    const [m1, m2] = smtp.messages;
    // As configured; nodemailer writes the domain in lower case.
    expect(m1!.rcptTo).toEqual(['Drift@example.dk']);
    expect(m1!.mailFrom).toBe('drift@status.example.dk');
    expect(m1!.headers.get('from')).toBe('Driftsstatus <drift@status.example.dk>');
    expect(m1!.subject).toBe('Nedbrud: NemLog-in – påvirker borger.dk, Digital Post');
    expect(m1!.text).toContain('- Digital Post: ◑ Delvist nedbrud (Påvirket af NemLog-in)');
    expect(m1!.html).toContain('<html lang="da">');
    expect(m1!.headers.get('auto-submitted')).toBe('auto-generated');
    expect(m1!.headers.has('list-unsubscribe')).toBe(false);
    expect(m1!.messageId).toBe(messageId('ev-outage-1', 'drift@example.dk', 'Driftsstatus <drift@status.example.dk>'));
    expect(m1!.messageId).toMatch(/^<[0-9a-f]{32}\.vagt@status\.example\.dk>$/);
    expect(m2!.messageId).not.toBe(m1!.messageId);
    // A retry of the same event to the same address carries the same Message-ID.
    await a!.send(outage());
    expect(smtp.messages[2]!.messageId).toBe(m1!.messageId);
    await a!.send(outage({ id: 'ev-outage-2' }));
    expect(smtp.messages[3]!.messageId).not.toBe(m1!.messageId);
  });

  it('rejects when the server refuses the address or is down, so that the outbox retries', async () => {
    const [a, b] = emailChannels(ops, deps);
    smtp.refuse.add('drift@example.dk');
    await expect(a!.send(outage())).rejects.toThrow(/^smtp 550/);
    await b!.send(outage());
    expect(smtp.messages.map((m) => m.rcptTo[0])).toEqual(['vagt@example.dk']);
    smtp.down = true;
    await expect(b!.send(outage())).rejects.toThrow(/^smtp 421/);
    smtp.down = false;
    await b!.send(outage());
    expect(smtp.messages).toHaveLength(2);
  });

  it('rejects when collector.smtp is not configured, or nothing listens', async () => {
    const bare = new Model(testConfig('/nonexistent'), { localAgent: false });
    await expect(emailChannels(ops, { model: () => bare, log: silent })[0]!.send(outage())).rejects.toThrow('collector.smtp is not configured');
    const closed = await TestSmtpServer.start();
    await closed.close();
    const gone = new Model(testConfig('/nonexistent', { collector: { smtp: { url: closed.url, from: 'drift@example.dk' } } }), { localAgent: false });
    await expect(emailChannels(ops, { model: () => gone, log: silent })[0]!.send(outage())).rejects.toThrow(/^smtp: \w+ connect ECONNREFUSED/);
  });

  it('as one channel per entry, retries only the addresses that failed', async () => {
    const one = emailChannel(ops, deps);
    expect(one.id).toBe('ops');
    smtp.refuse.add('drift@example.dk');
    await expect(one.send(outage())).rejects.toThrow(/drift@example\.dk: smtp 550/);
    expect(smtp.messages.map((m) => m.rcptTo[0])).toEqual(['vagt@example.dk']);
    smtp.refuse.clear();
    await one.send(outage());
    expect(smtp.messages.map((m) => m.rcptTo[0])).toEqual(['vagt@example.dk', 'Drift@example.dk']);
  });
});
