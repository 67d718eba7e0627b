// E-mail subscriptions with double opt-in. POST /api/v1/subscriptions (public: JSON, or the
// status page's form) stores a pending subscription and mails a confirmation link; GET
// /subscriptions/confirm?token= confirms it; GET /subscriptions/unsubscribe?token= asks, and POST
// /subscriptions/unsubscribe (its button, or a mail client's one-click List-Unsubscribe-Post)
// removes it. Operators list and delete subscriptions with the admin token.
//
// The answer to a subscription never tells whether the address was subscribed already: either way
// a mail goes to the address (a confirmation, or the confirmation of a change), and the answer is
// the same. Confirmation mails are limited per address and per client address, in memory.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { CollectorContext } from '../context.js';
import { HttpError, iso, readBody, readJson, sendError, sendJson } from '../http.js';
import type { Model } from '../model.js';
import { EVENT_LABEL, confirmationMail } from '../notify/email-templates.js';
import { messageId, sendMail, smtpSettings } from '../notify/email.js';
import {
  CONFIRM_VALID_MS,
  changeToken,
  newToken,
  readChangeToken,
  sha256hex,
  subscribers,
  unsubscribeToken,
  unsubscribeTokenId,
  verifyUnsubscribe,
  type SubscriptionChange,
} from '../notify/subscriptions.js';
import type { NotifyEventKind } from '../notify/types.js';
import { publicBase } from '../portal/feed.js';
import type { Lang } from '../portal/labels.js';
import { pickLang } from '../portal/lang.js';
import { EVENT_KINDS, SUBSCRIBE_TEXT, renderMessagePage, renderSubscribePage, renderUnsubscribePage, sendPage, subscribePageRoutes, type FormValues } from '../portal/subscribe.js';
import type { Router } from '../server.js';
import type { Subscription } from '../store/types.js';
import { requireAdmin } from './admin.js';
import { badParameter, onlyParams } from './params.js';

const BODY_LIMIT = 16 * 1024;
const MAX_SYSTEMS = 100;
const HOUR = 3_600_000;
/** Confirmation mails per address and per client address (or proxy-forwarded client) an hour. */
export const LIMITS = { perAddress: 3, perClient: 20 };

// Addresses as people type them; no quoted local parts, comments or IP literals, which no one
// subscribing to a status page needs and which make header injection easier to get wrong.
const LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/** Lower case when it is a usable address; undefined otherwise. */
export function normalEmail(s: string): string | undefined {
  const v = s.trim();
  if (v.length > 254) return undefined;
  const at = v.lastIndexOf('@');
  if (at < 1) return undefined;
  const local = v.slice(0, at);
  const labels = v.slice(at + 1).split('.');
  if (local.length > 64 || !LOCAL.test(local) || labels.length < 2 || !labels.every((l) => LABEL.test(l))) return undefined;
  if (/^\d+$/.test(labels[labels.length - 1]!)) return undefined;
  return v.toLowerCase();
}

/** A bad field, named: `invalid_body` as the other APIs answer it. */
function badField(path: string, message: string): HttpError {
  return new HttpError(400, 'invalid_body', `${path}: ${message}`, { extra: { problems: [{ path, message }] } });
}

interface Request {
  email: string;
  change: SubscriptionChange;
}

function checkSystems(model: Model, v: unknown, path: string, emptyIsAll: boolean): string[] | null {
  if (v === undefined) return null;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw badField(path, 'expected a list of system ids');
  const ids = [...new Set(v)];
  if (ids.length === 0) {
    if (emptyIsAll) return null;
    throw badField(path, 'expected at least one system id; leave systems out for every system');
  }
  if (ids.length > MAX_SYSTEMS) throw badField(path, `expected at most ${MAX_SYSTEMS} systems`);
  const unknown = ids.findIndex((id) => !model.systemById.has(id));
  if (unknown >= 0) throw badField(`${path}[${(v).indexOf(ids[unknown]!)}]`, `no system with id "${ids[unknown]!.slice(0, 100)}"`);
  // In the configuration's order, so that the same choice always reads the same.
  return model.systems.map((s) => s.id).filter((id) => ids.includes(id));
}

function checkEvents(v: unknown, path: string): NotifyEventKind[] | null {
  if (v === undefined) return null;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw badField(path, `expected a list of ${EVENT_KINDS.join(', ')}`);
  const kinds = [...new Set(v)];
  const bad = kinds.find((k) => !(EVENT_KINDS as readonly string[]).includes(k));
  if (bad !== undefined) throw badField(`${path}[${(v).indexOf(bad)}]`, `expected one of ${EVENT_KINDS.join(', ')}`);
  if (kinds.length === 0) throw badField(path, 'expected at least one kind of event; leave events out for every event');
  // Every kind is "all", so kinds added later reach this subscriber too.
  return kinds.length === EVENT_KINDS.length ? null : EVENT_KINDS.filter((k) => kinds.includes(k));
}

function checkEmail(v: unknown): string {
  if (typeof v !== 'string' || v.trim() === '') throw badField('email', 'expected an e-mail address');
  const e = normalEmail(v);
  if (e === undefined) throw badField('email', 'expected an e-mail address like name@example.dk');
  return e;
}

function checkLang(v: unknown): Lang {
  if (v === undefined) return 'da';
  if (v !== 'da' && v !== 'en') throw badField('lang', 'expected "da" or "en"');
  return v;
}

export function parseJsonRequest(model: Model, body: unknown): Request {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badField('(root)', 'expected an object { email, systems?, events?, lang? }');
  const o = body as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['email', 'systems', 'events', 'lang'].includes(k)) throw badField(k, 'unknown field; expected email, systems, events or lang');
  return {
    email: checkEmail(o.email),
    change: { systems: checkSystems(model, o.systems, 'systems', false), events: checkEvents(o.events, 'events'), lang: checkLang(o.lang) },
  };
}

/** The status page's form: no system ticked means every system; the event boxes come ticked. */
export function parseFormRequest(model: Model, form: URLSearchParams): Request {
  const one = (name: string): string | undefined => {
    const all = form.getAll(name);
    if (all.length > 1) throw badField(name, 'given more than once');
    return all[0];
  };
  const email = checkEmail(one('email') ?? '');
  const systems = checkSystems(model, form.getAll('systems'), 'systems', true);
  const events = form.getAll('events');
  if (events.length === 0) throw badField('events', 'choose at least one kind of message');
  return { email, change: { systems, events: checkEvents(events, 'events'), lang: checkLang(one('lang')) } };
}

const isForm = (req: IncomingMessage): boolean => /^application\/x-www-form-urlencoded\s*(;|$)/i.test(req.headers['content-type'] ?? '');

/** A form body of at most `limit` bytes. */
async function readForm(req: IncomingMessage, limit: number): Promise<URLSearchParams> {
  if (!isForm(req)) throw new HttpError(415, 'unsupported_media_type', 'send the body as application/x-www-form-urlencoded');
  return new URLSearchParams((await readBody(req, limit)).toString('utf8'));
}

/** Attempts per key in a sliding hour, in memory. */
export class HourlyLimit {
  readonly #hits = new Map<string, number[]>();
  constructor(readonly max: number) {}

  /** Counts an attempt; false (and not counted) when the key had `max` in the last hour. */
  take(key: string, now: number): boolean {
    const recent = (this.#hits.get(key) ?? []).filter((t) => t > now - HOUR);
    if (recent.length >= this.max) {
      this.#hits.set(key, recent);
      return false;
    }
    recent.push(now);
    this.#hits.set(key, recent);
    if (this.#hits.size > 10_000) for (const [k, v] of this.#hits) if (v.every((t) => t <= now - HOUR)) this.#hits.delete(k);
    return true;
  }

  /** Seconds until the key may try again. */
  retryAfter(key: string, now: number): number {
    const oldest = (this.#hits.get(key) ?? []).find((t) => t > now - HOUR);
    return oldest === undefined ? 0 : Math.max(1, Math.ceil((oldest + HOUR - now) / 1000));
  }
}

/**
 * Who is asking: the peer's address, or, from a proxy on this host (loopback), the client it names
 * last in X-Forwarded-For (the hop it added itself; earlier ones are the client's own word).
 */
export function clientKey(req: IncomingMessage): string {
  const peer = req.socket.remoteAddress ?? 'unknown';
  const loopback = peer === '::1' || peer.startsWith('127.') || peer.startsWith('::ffff:127.');
  const forwarded = req.headers['x-forwarded-for'];
  if (loopback && typeof forwarded === 'string') {
    const last = forwarded.split(',').pop()?.trim();
    if (last !== undefined && last !== '' && last.length <= 64) return last;
  }
  return peer;
}


interface SubscriptionMetrics {
  requests: Counter<'result'>;
}

const metricsByRegistry = new WeakMap<Registry, SubscriptionMetrics>();

function subscriptionMetrics(ctx: CollectorContext): SubscriptionMetrics {
  const registry = ctx.metrics.registry;
  let m = metricsByRegistry.get(registry);
  if (m === undefined) {
    const list = subscribers(ctx);
    m = {
      requests: new Counter({
        name: 'vagt_subscription_requests_total',
        help: 'Requests to subscribe by e-mail, by result: accepted (a confirmation mail sent), invalid, rate_limited, failed (the mail could not be sent).',
        labelNames: ['result'],
        registers: [registry],
      }),
    };
    new Gauge({
      name: 'vagt_subscriptions_confirmed',
      help: 'Confirmed e-mail subscriptions.',
      registers: [registry],
      collect() {
        this.set(list.size);
      },
    });
    for (const r of ['accepted', 'invalid', 'rate_limited', 'failed'] as const) m.requests.inc({ result: r }, 0);
    metricsByRegistry.set(registry, m);
  }
  return m;
}

const newId = (): string => `sub-${randomBytes(6).toString('hex')}`;
const langQuery = (lang: Lang, sep: '?' | '&'): string => (lang === 'en' ? `${sep}lang=en` : '');

function subscriptionJson(s: Subscription): Record<string, unknown> {
  return {
    id: s.id,
    email: s.email,
    systems: s.systems,
    events: s.events,
    lang: s.lang,
    state: s.state,
    created_at: iso(s.created_at),
    confirmed_at: iso(s.confirmed_at),
  };
}

export function subscriptionsRoutes(router: Router, ctx: CollectorContext): void {
  // Registered with the routes, so both families are exported from the collector's start.
  const metrics = subscriptionMetrics(ctx);
  const perAddress = new HourlyLimit(LIMITS.perAddress);
  const perClient = new HourlyLimit(LIMITS.perClient);

  /** The form's answer as a page, the API's as JSON. */
  const answer = (res: ServerResponse, form: boolean, lang: Lang, status: number, json: unknown, html: () => string, headers: Record<string, string> = {}): void => {
    if (form) sendPage(res, status, html(), lang, headers);
    else sendJson(res, status, json, headers);
  };

  router.post('/api/v1/subscriptions', async (req, res, { url }) => {
    onlyParams(url.searchParams, []);
    const model = ctx.model();
    const form = isForm(req);
    const pageLang: Lang = url.searchParams.get('lang') === 'en' ? 'en' : 'da';
    if (model.config.collector.smtp === undefined) {
      if (form) return sendPage(res, 404, renderSubscribePage(ctx, pageLang), pageLang);
      throw new HttpError(404, 'subscriptions_disabled', 'e-mail subscriptions are off: set collector.smtp in the configuration');
    }
    let request: Request;
    let values: FormValues | undefined;
    try {
      if (form) {
        const body = await readForm(req, BODY_LIMIT);
        const l = body.get('lang') === 'en' ? 'en' : 'da';
        const events = body.getAll('events').filter((e): e is NotifyEventKind => (EVENT_KINDS as readonly string[]).includes(e));
        values = { email: (body.get('email') ?? '').slice(0, 254), systems: body.getAll('systems'), events, lang: l };
        request = parseFormRequest(model, body);
      } else request = parseJsonRequest(model, await readJson(req, BODY_LIMIT));
    } catch (err) {
      if (err instanceof HttpError && err.status === 400) {
        metrics.requests.inc({ result: 'invalid' });
        if (form && values !== undefined) {
          const problem = (err.extra.problems as { path: string; message: string }[] | undefined)?.[0];
          const field = problem?.path.replace(/\[.*$/, '') ?? 'email';
          return sendPage(res, 400, renderSubscribePage(ctx, values.lang, values, { field, message: formMessage(field, values.lang) }), values.lang);
        }
      }
      throw err;
    }
    const { email, change } = request;
    const lang = change.lang;
    const t = SUBSCRIBE_TEXT[lang];
    const now = ctx.clock.now();

    const client = clientKey(req);
    if (!perClient.take(client, now) || !perAddress.take(email, now)) {
      metrics.requests.inc({ result: 'rate_limited' });
      const retry = String(Math.max(perClient.retryAfter(client, now), perAddress.retryAfter(email, now), 1));
      ctx.log.info({ client }, 'subscription refused: too many confirmation mails asked for');
      return answer(
        res,
        form,
        lang,
        429,
        { error: { code: 'rate_limited', message: 'too many confirmation mails were asked for; try again later' } },
        () => renderMessagePage(ctx, lang, t.limitedTitle, [t.limited], { links: [{ href: `/${langQuery(lang, '?')}`, text: t.back }] }),
        { 'Retry-After': retry },
      );
    }

    const list = subscribers(ctx);
    await list.load();
    // Without collector.public_url, the address this request came to (docs/notifications.md).
    const base = publicBase(req, ctx);
    await ctx.store.prunePendingSubscriptions(now - CONFIRM_VALID_MS);
    const [existing] = await ctx.store.subscriptions({ email });
    let link: string;
    let key: string;
    if (existing?.state === 'confirmed') {
      // The subscription stays as it is until the owner of the address confirms the change.
      const token = changeToken(existing, change, now + CONFIRM_VALID_MS);
      link = `${base}/subscriptions/confirm?token=${token}${langQuery(lang, '&')}`;
      key = `change:${sha256hex(token)}`;
    } else {
      const { token, sha256 } = newToken();
      await ctx.store.saveSubscription({
        id: existing?.id ?? newId(),
        email,
        systems: change.systems,
        events: change.events,
        lang,
        token_sha256: sha256,
        state: 'pending',
        created_at: now,
        confirmed_at: null,
      });
      link = `${base}/subscriptions/confirm?token=${token}${langQuery(lang, '&')}`;
      key = `confirm:${sha256}`;
    }
    const names = change.systems?.map((id) => model.systemById.get(id)?.name ?? id) ?? null;
    const mail = confirmationMail({ lang, confirmUrl: link, systems: names, events: change.events, change: existing?.state === 'confirmed', validDays: CONFIRM_VALID_MS / 86_400_000 });
    try {
      const smtp = smtpSettings(model);
      await sendMail(smtp, { ...mail, to: email, messageId: messageId(key, email, smtp.from) });
    } catch (err) {
      metrics.requests.inc({ result: 'failed' });
      ctx.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'sending a subscription confirmation failed');
      return answer(
        res,
        form,
        lang,
        503,
        { error: { code: 'mail_failed', message: 'the confirmation e-mail could not be sent just now; try again later' } },
        () => renderMessagePage(ctx, lang, t.failedTitle, [t.failed], { links: [{ href: `/subscribe${langQuery(lang, '?')}`, text: t.title }] }),
        { 'Retry-After': '60' },
      );
    }
    metrics.requests.inc({ result: 'accepted' });
    ctx.log.info({ change: existing?.state === 'confirmed' }, 'subscription confirmation sent');
    answer(
      res,
      form,
      lang,
      202,
      { state: 'pending', message: 'a confirmation e-mail is on its way to the address; the subscription starts when its link is opened' },
      () => renderMessagePage(ctx, lang, t.sentTitle, [t.sent(email), t.sentNoMail], { links: [{ href: `/${langQuery(lang, '?')}`, text: t.back }] }),
    );
  });

  const invalidLink = (res: ServerResponse, lang: Lang): void => {
    const t = SUBSCRIBE_TEXT[lang];
    sendPage(res, 404, renderMessagePage(ctx, lang, t.invalidTitle, [t.invalid], { links: [{ href: `/subscribe${langQuery(lang, '?')}`, text: t.title }] }), lang);
  };

  const confirmedPage = (res: ServerResponse, sub: Subscription): void => {
    const lang = sub.lang;
    const t = SUBSCRIBE_TEXT[lang];
    const model = ctx.model();
    const systems = sub.systems === null ? [t.all] : sub.systems.map((id) => model.systemById.get(id)?.name ?? id);
    const events = sub.events === null ? undefined : sub.events.map((e) => EVENT_LABEL[lang][e]).join(', ');
    sendPage(
      res,
      200,
      renderMessagePage(ctx, lang, t.confirmedTitle, [t.confirmed(sub.email)], {
        list: events === undefined ? systems : [...systems, `${t.events}: ${events}`],
        links: [
          { href: `/${langQuery(lang, '?')}`, text: t.back },
          { href: `/subscriptions/unsubscribe?token=${unsubscribeToken(sub)}${langQuery(lang, '&')}`, text: t.unsubscribeLink },
        ],
      }),
      lang,
    );
  };

  // A GET that changes state, as double opt-in links do: the link in the mail is the consent.
  router.get('/subscriptions/confirm', async (req, res, { url }) => {
    const lang = pickLang(url, req);
    // A link checker's HEAD is not the reader opening the link.
    if (req.method === 'HEAD') return sendPage(res, 200, '', lang);
    const token = url.searchParams.get('token') ?? '';
    const list = subscribers(ctx);
    await list.load();
    const now = ctx.clock.now();
    const change = readChangeToken(token);
    if (change !== undefined) {
      const [sub] = await ctx.store.subscriptions({ id: change.id, state: 'confirmed' });
      if (sub === undefined || !change.verify(sub) || change.expires <= now) return invalidLink(res, lang);
      const next: Subscription = { ...sub, ...change.change };
      await ctx.store.saveSubscription(next);
      list.update(next);
      ctx.log.info({ subscription: sub.id }, 'subscription changed');
      return confirmedPage(res, next);
    }
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return invalidLink(res, lang);
    const [sub] = await ctx.store.subscriptions({ token_sha256: sha256hex(token) });
    if (sub === undefined) return invalidLink(res, lang);
    if (sub.state === 'confirmed') return confirmedPage(res, sub);
    if (sub.created_at + CONFIRM_VALID_MS <= now) return invalidLink(res, lang);
    const next: Subscription = { ...sub, state: 'confirmed', confirmed_at: now };
    await ctx.store.saveSubscription(next);
    list.update(next);
    ctx.log.info({ subscription: sub.id }, 'subscription confirmed');
    confirmedPage(res, next);
  });

  /** The subscription an unsubscribe token is for, when the token is right. */
  const byUnsubscribeToken = async (token: string): Promise<Subscription | undefined> => {
    const id = unsubscribeTokenId(token);
    if (id === undefined) return undefined;
    const [sub] = await ctx.store.subscriptions({ id });
    return sub !== undefined && verifyUnsubscribe(sub, token) ? sub : undefined;
  };

  router.get('/subscriptions/unsubscribe', async (req, res, { url }) => {
    const lang = pickLang(url, req);
    const token = url.searchParams.get('token') ?? '';
    const sub = await byUnsubscribeToken(token);
    if (sub === undefined) return invalidLink(res, lang);
    sendPage(res, 200, renderUnsubscribePage(ctx, lang, sub.email, token), lang);
  });

  // The page's button posts the token in the form; a mail client's one-click unsubscribe (RFC
  // 8058) posts "List-Unsubscribe=One-Click" to the link itself, the token in its query.
  router.post('/subscriptions/unsubscribe', async (req, res, { url }) => {
    const lang: Lang = url.searchParams.get('lang') === 'en' ? 'en' : 'da';
    const body = isForm(req) ? await readForm(req, BODY_LIMIT) : new URLSearchParams();
    const token = url.searchParams.get('token') ?? body.get('token') ?? '';
    const sub = await byUnsubscribeToken(token);
    if (sub === undefined) return invalidLink(res, lang);
    await subscribers(ctx).load();
    await ctx.store.deleteSubscription(sub.id);
    subscribers(ctx).remove(sub.id);
    ctx.log.info({ subscription: sub.id, one_click: body.get('List-Unsubscribe') === 'One-Click' }, 'unsubscribed');
    const t = SUBSCRIBE_TEXT[sub.lang];
    sendPage(
      res,
      200,
      renderMessagePage(ctx, sub.lang, t.unsubscribedTitle, [t.unsubscribed], {
        links: [
          { href: `/subscribe${langQuery(sub.lang, '?')}`, text: t.again },
          { href: `/${langQuery(sub.lang, '?')}`, text: t.back },
        ],
      }),
      sub.lang,
    );
  });

  router.get('/api/v1/subscriptions', async (req, res, { url }) => {
    onlyParams(url.searchParams, ['state']);
    requireAdmin(req, ctx);
    const state = url.searchParams.get('state');
    if (state !== null && state !== 'pending' && state !== 'confirmed') throw badParameter('state', 'expected "pending" or "confirmed"');
    const rows = await ctx.store.subscriptions(state === null ? {} : { state });
    sendJson(res, 200, { subscriptions: rows.map(subscriptionJson) });
  });

  router.delete('/api/v1/subscriptions/:id', async (req, res, { url, params }) => {
    onlyParams(url.searchParams, []);
    requireAdmin(req, ctx);
    const id = params.id ?? '';
    await subscribers(ctx).load();
    if (!(await ctx.store.deleteSubscription(id))) return sendError(res, 404, 'not_found', `no subscription with id "${id.slice(0, 100)}"`);
    subscribers(ctx).remove(id);
    ctx.log.info({ subscription: id }, 'subscription deleted by an operator');
    res.writeHead(204, { 'Cache-Control': 'no-store' }).end();
  });

  subscribePageRoutes(router, ctx);
}

/** The form's error in the page's words. */
function formMessage(field: string, lang: Lang): string {
  const da = lang === 'da';
  switch (field) {
    case 'email':
      return da ? 'Skriv en gyldig e-mailadresse, fx navn@example.dk.' : 'Enter a valid e-mail address, e.g. name@example.dk.';
    case 'systems':
      return da ? 'Vælg systemer fra listen (højst 100).' : 'Choose systems from the list (at most 100).';
    case 'events':
      return da ? 'Vælg mindst én slags besked.' : 'Choose at least one kind of message.';
    default:
      return da ? 'Vælg dansk eller engelsk.' : 'Choose Danish or English.';
  }
}
