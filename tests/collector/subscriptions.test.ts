// E-mail subscriptions with double opt-in, over a real collector and a real local SMTP server:
// the confirmation mail and its link, a subscriber's outage message with its unsubscribe link and
// List-Unsubscribe header, the unsubscribe page and its POST (and one-click), a change to a
// confirmed subscription, bad input, the rate limits, the form on the status page, operators'
// list and delete, and persistence across a restart.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { selectAll, selectOne } from 'css-select';
import type { Element } from 'domhandler';
import { textContent } from 'domutils';
import { parseDocument } from 'htmlparser2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { Model } from '../../collector/model.js';
import { loadSubscribers, sha256hex, subscriberChannels } from '../../collector/notify/subscriptions.js';
import type { NotifyEvent } from '../../collector/notify/types.js';
import { SqliteStore } from '../../collector/store/sqlite.js';
import { ManualClock, systemClock } from '../../lib/clock.js';
import { ADMIN_TOKEN, TestAgent, eventually, metricsText, res, sample, silent, startHarness, testConfig, type Harness } from './helpers.js';
import { TestSmtpServer, type ReceivedMail } from './smtp-server.js';

const FROM = 'Driftsstatus <drift@status.example.dk>';
const dirs: string[] = [];
let smtp: TestSmtpServer;
let dir: string;
let h: Harness;
let base: string;

const config = (d: string) => testConfig(d, { collector: { smtp: { url: smtp.url, from: FROM } } });

interface Sub {
  id: string;
  email: string;
  systems: string[] | null;
  events: string[] | null;
  lang: string;
  state: string;
  created_at: string;
  confirmed_at: string | null;
}

async function subscribe(body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: Record<string, unknown> & { error?: { code: string; message: string; problems?: { path: string }[] } } }> {
  const r = await fetch(`${base}/api/v1/subscriptions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: r.status, headers: r.headers, body: (await r.json()) as never };
}

async function postForm(path: string, form: [string, string][], headers: Record<string, string> = {}): Promise<{ status: number; html: string; doc: ReturnType<typeof parseDocument> }> {
  const r = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form).toString() });
  const html = await r.text();
  return { status: r.status, html, doc: parseDocument(html) };
}

async function page(url: string): Promise<{ status: number; headers: Headers; html: string; doc: ReturnType<typeof parseDocument> }> {
  const r = await fetch(url);
  const html = await r.text();
  return { status: r.status, headers: r.headers, html, doc: parseDocument(html) };
}

async function list(query = ''): Promise<Sub[]> {
  const r = await fetch(`${base}/api/v1/subscriptions${query}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  expect(r.status).toBe(200);
  return ((await r.json()) as { subscriptions: Sub[] }).subscriptions;
}

const one = (root: unknown, sel: string): Element | null => selectOne<Element, Element>(sel, root as Element);
const all = (root: unknown, sel: string): Element[] => selectAll<Element, Element>(sel, root as Element);
const text = (root: unknown, sel: string): string => {
  const e = one(root, sel);
  return e === null ? '' : textContent(e).replace(/\s+/g, ' ').trim();
};

/** The confirmation link in a mail (plain text), made absolute against the collector. */
function confirmLink(m: ReceivedMail): string {
  const link = /https?:\/\/\S+\/subscriptions\/confirm\?token=\S+/.exec(m.text)?.[0];
  expect(link, m.text).toBeDefined();
  return link!;
}

async function confirmationFor(email: string, n = 1): Promise<ReceivedMail> {
  const mails = (): ReceivedMail[] => smtp.messages.filter((m) => m.rcptTo.includes(email));
  return smtp.waitFor(() => mails().length >= n).then(() => mails()[n - 1]!);
}

/** Subscribes and confirms; returns the subscription as listed. */
async function subscribed(email: string, body: Record<string, unknown> = {}): Promise<Sub> {
  const before = smtp.messages.filter((m) => m.rcptTo.includes(email)).length;
  expect((await subscribe({ email, ...body })).status).toBe(202);
  const mail = await confirmationFor(email, before + 1);
  expect((await page(confirmLink(mail))).status).toBe(200);
  return (await list()).find((s) => s.email === email)!;
}

function outageEvent(over: Partial<NotifyEvent> = {}): NotifyEvent {
  const now = Date.now();
  return {
    id: `outage:mitid:${now}`,
    kind: 'outage',
    at: now,
    systems: [
      { id: 'mitid', name: 'MitID', status: 'major_outage', own_status: 'major_outage', cause: [], since: now, url: `${base}/systems/mitid` },
      { id: 'virk', name: 'Virk', status: 'major_outage', own_status: 'operational', cause: ['mitid'], since: now, url: `${base}/systems/virk` },
    ],
    cause: ['mitid'],
    links: { status_page: `${base}/` },
    ...over,
  };
}

beforeAll(async () => {
  smtp = await TestSmtpServer.start();
  dir = mkdtempSync(join(tmpdir(), 'vagt-subscriptions-'));
  dirs.push(dir);
  h = await startHarness({ dir, config });
  base = h.collector.url;
});
afterAll(async () => {
  await h?.close();
  await smtp?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('subscribing by e-mail', () => {
  it('stores a pending subscription, mails a confirmation whose link confirms it, and keeps only the token hash', async () => {
    const r = await subscribe({ email: '  Anna@Example.DK ', systems: ['virk'], lang: 'da' });
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ state: 'pending', message: expect.stringContaining('confirmation e-mail') });
    const [pending] = await list();
    expect(pending).toMatchObject({ email: 'anna@example.dk', systems: ['virk'], events: null, lang: 'da', state: 'pending', confirmed_at: null });
    expect(pending!.id).toMatch(/^sub-[0-9a-f]{12}$/);
    expect(pending).not.toHaveProperty('token_sha256');

    const mail = await confirmationFor('anna@example.dk');
    expect(mail.subject).toBe('Bekræft dit abonnement på driftsstatus');
    expect(mail.headers.get('from')).toBe(FROM);
    expect(mail.text).toContain('- Virk\n');
    expect(mail.html).toContain('<html lang="da">');
    const link = confirmLink(mail);
    expect(link.startsWith(`${base}/subscriptions/confirm?token=`)).toBe(true);
    const token = new URL(link).searchParams.get('token')!;
    expect(mail.html).toContain(`href="${link}"`);

    // Only the token's SHA-256 is in the database.
    const db = new Database(join(dir, 'vagt.db'), { readonly: true });
    try {
      const row = db.prepare('SELECT * FROM subscriptions').get() as Record<string, unknown>;
      expect(row.token_sha256).toBe(sha256hex(token));
      expect(JSON.stringify(row)).not.toContain(token);
    } finally {
      db.close();
    }

    // A link checker's HEAD confirms nothing.
    expect((await fetch(link, { method: 'HEAD' })).status).toBe(200);
    expect((await list())[0]?.state).toBe('pending');
    const confirmed = await page(link);
    expect(confirmed.status).toBe(200);
    expect(confirmed.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(one(confirmed.doc, 'html')?.attribs.lang).toBe('da');
    expect(text(confirmed.doc, 'main h2')).toBe('Dit abonnement er bekræftet');
    expect(text(confirmed.doc, 'main')).toContain('Vi sender en e-mail til anna@example.dk, når der er nyt om:');
    expect(all(confirmed.doc, 'main li').map((e) => textContent(e))).toEqual(['Virk']);
    expect(one(confirmed.doc, 'main a[href^="/subscriptions/unsubscribe?token="]')).not.toBeNull();
    const [now] = await list();
    expect(now).toMatchObject({ id: pending!.id, state: 'confirmed', confirmed_at: expect.any(String) });
    // Opening the link again says the same and changes nothing.
    expect(text((await page(link)).doc, 'main h2')).toBe('Dit abonnement er bekræftet');
    expect((await list())[0]).toEqual(now);
    expect((await page(`${base}/subscriptions/confirm?token=${'x'.repeat(43)}`)).status).toBe(404);
    expect(text((await page(`${base}/subscriptions/confirm`)).doc, 'main h2')).toBe('Linket virker ikke');
  });

  it("gives a confirmed subscriber a channel whose outage message has the unsubscribe link and headers", async () => {
    const sub = await subscribed('bo@example.dk', { systems: ['mitid', 'virk'], events: ['outage', 'recovery'], lang: 'en' });
    // The collector's database, through a store of the test's own, as the notifier reads it.
    const store = SqliteStore.open(join(dir, 'vagt.db'));
    try {
      const model = new Model(config(dir), { localAgent: false });
      const deps = { store, model: () => model, log: silent, clock: systemClock };
      await loadSubscribers(deps);
      const channels = subscriberChannels(deps);
      const c = channels.find((x) => x.id === `subscription:${sub.id}`)!;
      expect(c).toMatchObject({ type: 'email', systems: ['mitid', 'virk'], events: ['outage', 'recovery'], lang: 'en', holdMs: 0 });
      await c.send(outageEvent({ id: 'outage-bo-1' }));
      const m = await smtp.waitFor((x) => x.rcptTo.includes('bo@example.dk') && x.subject.startsWith('Outage'));
      expect(m.subject).toBe('Outage: MitID – affects Virk');
      expect(m.text).toContain('- Virk: ✕ Major outage (Affected by MitID)');
      const unsub = /Unsubscribe: (\S+)/.exec(m.text)?.[1];
      expect(unsub).toMatch(new RegExp(`^${base}/subscriptions/unsubscribe\\?token=${sub.id}\\.[A-Za-z0-9_-]{43}&lang=en$`));
      expect(m.headers.get('list-unsubscribe')).toBe(`<${unsub!}>`);
      expect(m.headers.get('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
      expect(m.html).toContain(`href="${unsub!.replace(/&/g, '&amp;')}"`);
      expect(m.html).toContain('<html lang="en">');
      // Only confirmed subscriptions are channels.
      expect(channels.map((x) => x.id).sort()).toEqual((await list('?state=confirmed')).map((x) => `subscription:${x.id}`).sort());

      // The unsubscribe link shows a page with a button; only posting it unsubscribes.
      const ask = await page(unsub!);
      expect(ask.status).toBe(200);
      expect(one(ask.doc, 'html')?.attribs.lang).toBe('en');
      expect(text(ask.doc, 'main')).toContain('Unsubscribe bo@example.dk?');
      const form = one(ask.doc, 'main form[method=post]')!;
      expect(form.attribs.action).toBe('/subscriptions/unsubscribe?lang=en');
      expect(one(form, 'input[type=hidden][name=token]')?.attribs.value).toBe(new URL(unsub!).searchParams.get('token'));
      expect(text(form, 'button[type=submit]')).toBe('Unsubscribe');
      expect((await list()).find((s) => s.id === sub.id)?.state).toBe('confirmed');
      const done = await postForm('/subscriptions/unsubscribe?lang=en', [['token', new URL(unsub!).searchParams.get('token')!]]);
      expect(done.status).toBe(200);
      expect(text(done.doc, 'main h2')).toBe('You are unsubscribed');
      expect((await list()).find((s) => s.id === sub.id)).toBeUndefined();
      expect((await page(unsub!)).status).toBe(404);
      expect((await postForm('/subscriptions/unsubscribe', [['token', new URL(unsub!).searchParams.get('token')!]])).status).toBe(404);
    } finally {
      await store.close();
    }
  });

  it('unsubscribes by one click (RFC 8058: List-Unsubscribe=One-Click posted to the link)', async () => {
    const sub = await subscribed('cy@example.dk');
    const store = SqliteStore.open(join(dir, 'vagt.db'));
    try {
      const model = new Model(config(dir), { localAgent: false });
      const deps = { store, model: () => model, log: silent, clock: systemClock };
      await loadSubscribers(deps);
      const c = subscriberChannels(deps).find((x) => x.id === `subscription:${sub.id}`);
      expect(c).toBeDefined();
      await c!.send(outageEvent({ id: 'outage-cy-1' }));
      const m = await smtp.waitFor((x) => x.rcptTo.includes('cy@example.dk') && x.subject.startsWith('Nedbrud'));
      const target = m.headers.get('list-unsubscribe')!.slice(1, -1);
      const r = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
      expect(r.status).toBe(200);
      expect((await list()).find((s) => s.id === sub.id)).toBeUndefined();
      // A forged token (right id, wrong signature) unsubscribes no one.
      const dee = await subscribed('dee@example.dk');
      expect((await postForm(`/subscriptions/unsubscribe?token=${dee.id}.${'A'.repeat(43)}`, [])).status).toBe(404);
      expect((await list()).find((s) => s.id === dee.id)?.state).toBe('confirmed');
    } finally {
      await store.close();
    }
  });

  it('changes a confirmed subscription only when the new link is opened, and answers as for a new one', async () => {
    const first = await subscribe({ email: 'eva@example.dk', systems: ['virk'] });
    await page(confirmLink(await confirmationFor('eva@example.dk')));
    const again = await subscribe({ email: 'eva@example.dk', systems: ['mitid', 'virk'], lang: 'en' });
    expect([again.status, again.body]).toEqual([first.status, first.body]);
    const mail = await confirmationFor('eva@example.dk', 2);
    expect(mail.subject).toBe('Confirm the change to your subscription to the status page');
    expect(mail.text).toContain('- MitID\n- Virk\n');
    const before = (await list()).find((s) => s.email === 'eva@example.dk')!;
    expect(before).toMatchObject({ systems: ['virk'], lang: 'da', state: 'confirmed' });
    const link = confirmLink(mail);
    // A change link whose content was altered is refused.
    const token = new URL(link).searchParams.get('token')!;
    const [id, payload, mac] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), s: null })).toString('base64url');
    expect((await page(`${base}/subscriptions/confirm?token=${id}.${forged}.${mac}`)).status).toBe(404);
    const ok = await page(link);
    expect(ok.status).toBe(200);
    expect(one(ok.doc, 'html')?.attribs.lang).toBe('en');
    expect(text(ok.doc, 'main h2')).toBe('Your subscription is confirmed');
    expect(all(ok.doc, 'main ul li').map((e) => textContent(e))).toEqual(['MitID', 'Virk']);
    expect((await list()).find((s) => s.email === 'eva@example.dk')).toMatchObject({ id: before.id, systems: ['mitid', 'virk'], lang: 'en', state: 'confirmed' });
  });

  it('refuses bad input with one 400 naming the field, and sends nothing', async () => {
    const sent = smtp.messages.length;
    const cases: [unknown, string][] = [
      [{}, 'email'],
      [{ email: 'not-an-address' }, 'email'],
      [{ email: 'a@b' }, 'email'],
      [{ email: 'x@-bad.dk' }, 'email'],
      [{ email: 'a b@c.dk' }, 'email'],
      [{ email: 'a@b.dk\r\nBcc: x@y.dk' }, 'email'],
      [{ email: `${'a'.repeat(65)}@b.dk` }, 'email'],
      [{ email: 'a@10.0.0.1' }, 'email'],
      [{ email: 42 }, 'email'],
      [{ email: 'ok@example.dk', systems: ['mitid', 'atlantis'] }, 'systems[1]'],
      [{ email: 'ok@example.dk', systems: [] }, 'systems'],
      [{ email: 'ok@example.dk', systems: 'mitid' }, 'systems'],
      [{ email: 'ok@example.dk', systems: Array.from({ length: 101 }, (_, i) => `s${i}`) }, 'systems'],
      [{ email: 'ok@example.dk', events: ['outage', 'nope'] }, 'events[1]'],
      [{ email: 'ok@example.dk', events: [] }, 'events'],
      [{ email: 'ok@example.dk', lang: 'de' }, 'lang'],
      [{ email: 'ok@example.dk', token: 'x' }, 'token'],
      [['ok@example.dk'], '(root)'],
    ];
    for (const [body, field] of cases) {
      const r = await subscribe(body);
      expect([JSON.stringify(body), r.status, r.body.error?.code]).toEqual([JSON.stringify(body), 400, 'invalid_body']);
      expect(r.body.error!.message.startsWith(`${field}: `), r.body.error!.message).toBe(true);
      expect(r.body.error!.problems).toEqual([{ path: field, message: expect.any(String) }]);
    }
    expect((await subscribe('{nope')).body.error?.code).toBe('invalid_json');
    expect((await subscribe('email=a@b.dk', { 'content-type': 'text/plain' })).status).toBe(415);
    const big = await subscribe({ email: 'ok@example.dk', pad: 'x'.repeat(20_000) });
    expect(big.status).toBe(413);
    const withQuery = await fetch(`${base}/api/v1/subscriptions?x=1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email":"ok@example.dk"}' });
    expect([withQuery.status, ((await withQuery.json()) as { error: { code: string } }).error.code]).toEqual([400, 'bad_parameter']);
    expect(smtp.messages.length).toBe(sent);
    expect((await list()).some((s) => s.email === 'ok@example.dk')).toBe(false);
  });

  it('limits confirmation mails per address and per client, counted in the metrics', async () => {
    for (let i = 0; i < 3; i++) expect((await subscribe({ email: 'flood@example.dk' })).status).toBe(202);
    const limited = await subscribe({ email: 'flood@example.dk' });
    expect(limited.status).toBe(429);
    expect(limited.body.error?.code).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(3000);
    await confirmationFor('flood@example.dk', 3);
    expect(smtp.messages.filter((m) => m.rcptTo.includes('flood@example.dk'))).toHaveLength(3);
    // A client behind a proxy on this host is known by the address the proxy forwards.
    const proxy = { 'x-forwarded-for': '198.51.100.1, 203.0.113.7' };
    for (let i = 0; i < 20; i++) expect((await subscribe({ email: `p${i}@example.dk` }, proxy)).status).toBe(202);
    expect((await subscribe({ email: 'p20@example.dk' }, proxy)).status).toBe(429);
    expect((await subscribe({ email: 'p20@example.dk' }, { 'x-forwarded-for': '203.0.113.8' })).status).toBe(202);
    const metrics = await metricsText(h);
    expect(sample(metrics, 'vagt_subscription_requests_total', { result: 'rate_limited' })).toBe(2);
    expect(sample(metrics, 'vagt_subscription_requests_total', { result: 'accepted' })).toBeGreaterThanOrEqual(25);
    expect(sample(metrics, 'vagt_subscription_requests_total', { result: 'invalid' })).toBeGreaterThanOrEqual(18);
    expect(sample(metrics, 'vagt_subscriptions_confirmed')).toBeGreaterThanOrEqual(2);
  });

  it('lets operators list and delete subscriptions with the admin token only', async () => {
    const unauth = await fetch(`${base}/api/v1/subscriptions`);
    expect(unauth.status).toBe(401);
    expect((await fetch(`${base}/api/v1/subscriptions`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(403);
    expect((await fetch(`${base}/api/v1/subscriptions?state=maybe`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(400);
    const confirmed = await list('?state=confirmed');
    expect(confirmed.length).toBeGreaterThan(0);
    expect(confirmed.every((s) => s.state === 'confirmed')).toBe(true);
    expect((await list('?state=pending')).every((s) => s.state === 'pending')).toBe(true);
    const victim = confirmed[0]!;
    expect((await fetch(`${base}/api/v1/subscriptions/${victim.id}`, { method: 'DELETE' })).status).toBe(401);
    const del = await fetch(`${base}/api/v1/subscriptions/${victim.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(del.status).toBe(204);
    expect((await list()).find((s) => s.id === victim.id)).toBeUndefined();
    const again = await fetch(`${base}/api/v1/subscriptions/${victim.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(again.status).toBe(404);
  });
});

describe('the subscription form', () => {
  it('is linked from every page\'s footer and has labelled fields for the address, systems, events and language', async () => {
    const status = await page(`${base}/`);
    expect(text(status.doc, 'footer a[href="/subscribe"]')).toBe('Få besked på e-mail');
    expect(text((await page(`${base}/?lang=en`)).doc, 'footer a[href="/subscribe?lang=en"]')).toBe('Get updates by e-mail');
    const p = await page(`${base}/subscribe`);
    expect(p.status).toBe(200);
    expect(one(p.doc, 'html')?.attribs.lang).toBe('da');
    expect(text(p.doc, 'main h2')).toBe('Abonnér på driftsstatus');
    const form = one(p.doc, 'main form')!;
    expect(form.attribs).toMatchObject({ method: 'post', action: '/api/v1/subscriptions' });
    expect(one(form, 'input#email')?.attribs).toMatchObject({ type: 'email', name: 'email', required: '', autocomplete: 'email' });
    expect(text(form, 'label[for=email]')).toBe('E-mailadresse');
    // Every input has its label.
    for (const input of all(form, 'input:not([type=hidden])')) expect(one(form, `label[for="${input.attribs.id}"]`), input.attribs.id).not.toBeNull();
    expect(all(form, 'input[name=systems]').map((e) => e.attribs.value)).toEqual(['mitid', 'virk']);
    expect(all(form, 'input[name=systems]').some((e) => 'checked' in e.attribs)).toBe(false);
    expect(all(form, 'input[name=events][checked]').map((e) => e.attribs.value)).toEqual(['outage', 'degraded', 'recovery', 'maintenance', 'incident', 'announcement']);
    expect(all(form, 'fieldset legend').map((e) => textContent(e))).toEqual(['Systemer', 'Giv besked om', 'Sprog i e-mails']);
    expect(one(form, 'input[name=lang][value=da]')?.attribs).toHaveProperty('checked');
    expect(one(form, 'script')).toBeNull();
    const en = await page(`${base}/subscribe?lang=en`);
    expect(one(en.doc, 'html')?.attribs.lang).toBe('en');
    expect(text(en.doc, 'main h2')).toBe('Subscribe to system status');
    expect(one(en.doc, 'input[name=lang][value=en]')?.attribs).toHaveProperty('checked');
  });

  it('posts and answers with a page; a bad address comes back with the form, the values and the error', async () => {
    const r = await postForm('/api/v1/subscriptions', [
      ['email', 'form@example.dk'],
      ['systems', 'mitid'],
      ['events', 'outage'],
      ['events', 'recovery'],
      ['lang', 'en'],
    ]);
    expect(r.status).toBe(202);
    expect(one(r.doc, 'html')?.attribs.lang).toBe('en');
    expect(text(r.doc, 'main h2')).toBe('Check your inbox');
    expect(text(r.doc, 'main')).toContain('If form@example.dk can receive messages');
    const mail = await confirmationFor('form@example.dk');
    expect(mail.subject).toBe('Confirm your subscription to the status page');
    expect(mail.text).toContain('You will hear about: outages and back in operation.');
    expect((await list()).find((s) => s.email === 'form@example.dk')).toMatchObject({ systems: ['mitid'], events: ['outage', 'recovery'], lang: 'en', state: 'pending' });
    // No system ticked is every system; every event ticked is every event.
    const allOf = await postForm('/api/v1/subscriptions', [['email', 'form2@example.dk'], ...['outage', 'degraded', 'recovery', 'maintenance', 'incident', 'announcement'].map((e): [string, string] => ['events', e])]);
    expect(allOf.status).toBe(202);
    expect(text(allOf.doc, 'main h2')).toBe('Tjek din indbakke');
    expect((await list()).find((s) => s.email === 'form2@example.dk')).toMatchObject({ systems: null, events: null, lang: 'da' });

    const bad = await postForm('/api/v1/subscriptions', [['email', 'not an address'], ['systems', 'virk'], ['events', 'outage']]);
    expect(bad.status).toBe(400);
    expect(text(bad.doc, '[role=alert]')).toContain('Skriv en gyldig e-mailadresse');
    expect(one(bad.doc, 'input#email')?.attribs).toMatchObject({ value: 'not an address', 'aria-invalid': 'true', 'aria-describedby': 'email-error' });
    expect(one(bad.doc, '#email-error')).not.toBeNull();
    expect(one(bad.doc, 'input[name=systems][value=virk]')?.attribs).toHaveProperty('checked');
    expect(one(bad.doc, 'input[name=events][value=recovery]')?.attribs).not.toHaveProperty('checked');
    const noEvents = await postForm('/api/v1/subscriptions', [['email', 'x@example.dk'], ['lang', 'en']]);
    expect(noEvents.status).toBe(400);
    expect(text(noEvents.doc, '[role=alert]')).toContain('Choose at least one kind of message.');
  });
});

describe('across a restart, and without SMTP', () => {
  it('keeps subscriptions, and a link mailed before the restart still confirms', async () => {
    expect((await subscribe({ email: 'later@example.dk', systems: ['mitid'] })).status).toBe(202);
    const link = confirmLink(await confirmationFor('later@example.dk'));
    const before = await list();
    await h.close();
    h = await startHarness({ dir, config });
    base = h.collector.url;
    expect(await list()).toEqual(before);
    const moved = link.replace(/^http:\/\/[^/]+/, base);
    expect(text((await page(moved)).doc, 'main h2')).toBe('Dit abonnement er bekræftet');
    expect((await list()).find((s) => s.email === 'later@example.dk')?.state).toBe('confirmed');
  });

  it('lets a confirmation link expire after 7 days, and forgets the unconfirmed', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 5, 8));
    const d = mkdtempSync(join(tmpdir(), 'vagt-subscriptions-clock-'));
    dirs.push(d);
    const c = await startHarness({ dir: d, config, clock });
    const was = base;
    base = c.collector.url;
    try {
      expect((await subscribe({ email: 'slow@example.dk' })).status).toBe(202);
      const link = confirmLink(await confirmationFor('slow@example.dk'));
      clock.advance(7 * 86_400_000 + 1);
      expect((await page(link)).status).toBe(404);
      expect((await subscribe({ email: 'other@example.dk' })).status).toBe(202);
      expect((await list()).map((s) => s.email)).toEqual(['other@example.dk']);
    } finally {
      base = was;
      await c.close();
    }
  });

  it('answers that subscriptions are off when collector.smtp is not set', async () => {
    const off = await startHarness();
    try {
      const r = await fetch(`${off.collector.url}/api/v1/subscriptions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email":"a@example.dk"}' });
      expect(r.status).toBe(404);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('subscriptions_disabled');
      const p = await page(`${off.collector.url}/subscribe`);
      expect(p.status).toBe(200);
      expect(text(p.doc, 'main')).toContain('E-mail-abonnement er ikke sat op');
      expect(one(p.doc, 'main form')).toBeNull();
    } finally {
      await off.close();
    }
  });
});

describe('through the notifier', () => {
  it("mails a confirmed subscriber and a configured address when a system goes down, through the outbox; none after unsubscribing", async () => {
    const d = mkdtempSync(join(tmpdir(), 'vagt-subscriptions-e2e-'));
    dirs.push(d);
    const probe = { id: 'front', type: 'http', url: 'https://example.invalid/' };
    const e2eConfig = (dd: string) => {
      const c = testConfig(dd, {
        collector: { smtp: { url: smtp.url, from: FROM } },
        systems: [
          { id: 'mitid', name: 'MitID', probes: [probe] },
          { id: 'virk', name: 'Virk', depends_on: { mitid: 'critical' }, probes: [probe] },
        ],
      });
      c.notifications = configSchema.parse({ collector: {}, notifications: [{ id: 'ops', type: 'email', to: ['ops@example.dk'], lang: 'en', events: ['outage', 'recovery'] }] }).notifications;
      return c;
    };
    const e = await startHarness({ dir: d, config: e2eConfig, notify: { burst: { quietMs: 100, windowMs: 500 }, outbox: { baseMs: 100, maxMs: 400 } } });
    const was = base;
    base = e.collector.url;
    let seq = 0;
    const agent = await TestAgent.ready(e.wsUrl, 'kbh-1');
    const report = (failing: string[]) =>
      agent.batch(++seq, ['mitid', 'virk'].map((system) => res({ seq: seq * 10 + (system === 'mitid' ? 0 : 1), system, ok: !failing.includes(system), ...(failing.includes(system) ? { status_code: 503, error: { code: 'http_status', message: 'status 503' } } : {}) })));
    try {
      await report([]);
      const sub = await subscribed('e2e@example.dk', { systems: ['virk'] });
      const got = (to: string, prefix: string): ReceivedMail[] => smtp.messages.filter((m) => m.rcptTo.includes(to) && m.subject.startsWith(prefix));

      await report(['mitid']);
      const down = await smtp.waitFor((m) => m.rcptTo.includes('e2e@example.dk') && m.subject.startsWith('Nedbrud'), 10_000);
      expect(down.subject).toBe('Nedbrud: MitID – påvirker Virk');
      expect(down.text).toContain('- Virk: ✕ Større nedbrud (Påvirket af MitID)');
      expect(down.text).toContain(`Se status for MitID: ${base}/systems/mitid`);
      const unsub = down.headers.get('list-unsubscribe')!.slice(1, -1);
      expect(unsub).toMatch(new RegExp(`^${base}/subscriptions/unsubscribe\\?token=${sub.id}\\.`));
      expect(down.text).toContain(`Afmeld: ${unsub}`);
      const ops = await smtp.waitFor((m) => m.rcptTo.includes('ops@example.dk') && m.subject.startsWith('Outage'), 10_000);
      expect(ops.subject).toBe('Outage: MitID – affects Virk');
      expect(ops.headers.has('list-unsubscribe')).toBe(false);
      expect(ops.text).toContain(`See the status of MitID: ${base}/systems/mitid?lang=en`);
      // One message each, sent once.
      await new Promise((r) => setTimeout(r, 300));
      expect(got('e2e@example.dk', 'Nedbrud')).toHaveLength(1);
      expect(got('ops@example.dk', 'Outage')).toHaveLength(1);
      const metrics = await metricsText(e);
      expect(sample(metrics, 'vagt_notifications_sent_total', { channel: 'subscription' })).toBe(1);
      expect(sample(metrics, 'vagt_notifications_sent_total', { channel: 'ops' })).toBe(1);

      // One click in the mail client unsubscribes; the recovery then reaches only the configured address.
      const r = await fetch(unsub, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
      expect(r.status).toBe(200);
      await report([]);
      await smtp.waitFor((m) => m.rcptTo.includes('ops@example.dk') && m.subject.startsWith('Back in operation'), 10_000);
      await eventually(async () => (await metricsText(e)).includes('vagt_subscriptions_confirmed 0'));
      await new Promise((res) => setTimeout(res, 500));
      expect(got('e2e@example.dk', 'Igen i drift')).toEqual([]);
    } finally {
      await agent.close();
      base = was;
      await e.close();
    }
  });
});
