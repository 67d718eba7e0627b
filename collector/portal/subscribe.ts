// GET /subscribe: the form for subscribing to e-mails about systems, and the pages that answer it,
// the confirmation link and the unsubscribe link. Plain HTML forms that work without JavaScript,
// each field with its label, errors named next to their field; Danish by default, English by
// ?lang=en (or Accept-Language).
import type { CollectorContext } from '../context.js';
import { send } from '../http.js';
import type { Model } from '../model.js';
import type { Router } from '../server.js';
import { EVENT_LABEL } from '../notify/email-templates.js';
import type { NotifyEventKind } from '../notify/types.js';
import type { Lang } from './labels.js';
import { pickLang } from './lang.js';
import { escapeHtml, formats, page } from './layout.js';

export const EVENT_KINDS: readonly NotifyEventKind[] = ['outage', 'degraded', 'recovery', 'maintenance', 'incident', 'announcement'];

export const SUBSCRIBE_TEXT = {
  da: {
    title: 'Abonnér på driftsstatus',
    intro:
      'Få en e-mail, når et system er nede eller svarer langsomt, når et servicevindue er planlagt, begynder eller slutter, og når systemet kører igen. Du bekræfter abonnementet med et link, vi sender dig, og hver e-mail har et link til at afmelde det igen.',
    email: 'E-mailadresse',
    systems: 'Systemer',
    systemsHint: 'Vælg de systemer, du vil have besked om. Vælger du ingen, får du besked om alle, også dem der kommer til senere.',
    events: 'Giv besked om',
    lang: 'Sprog i e-mails',
    submit: 'Abonnér',
    error: 'Ret venligst dette:',
    disabled: 'E-mail-abonnement er ikke sat op på denne statusside.',
    feed: 'Følg i stedet med i Atom-feedet',
    sentTitle: 'Tjek din indbakke',
    sent: (email: string) =>
      `Hvis ${email} kan få beskeder, får du om lidt en e-mail med et link. Åbn linket for at bekræfte abonnementet. Linket virker i 7 dage.`,
    sentNoMail: 'Kommer der ingen e-mail, så tjek din spam-mappe, eller prøv igen om lidt.',
    confirmedTitle: 'Dit abonnement er bekræftet',
    confirmed: (email: string) => `Vi sender en e-mail til ${email}, når der er nyt om:`,
    all: 'Alle systemer',
    invalidTitle: 'Linket virker ikke',
    invalid: 'Linket er ugyldigt eller for gammelt, eller abonnementet er allerede afmeldt. Du kan abonnere igen nedenfor.',
    unsubscribeTitle: 'Afmeld abonnement',
    unsubscribeAsk: (email: string) => `Vil du afmelde ${email}? Så får du ikke flere e-mails om driftsstatus.`,
    unsubscribeButton: 'Afmeld',
    unsubscribedTitle: 'Du er afmeldt',
    unsubscribed: 'Du får ikke flere e-mails om driftsstatus. Du kan altid abonnere igen.',
    again: 'Abonnér igen',
    unsubscribeLink: 'Afmeld abonnementet',
    back: 'Til driftsstatus',
    limitedTitle: 'For mange forsøg',
    limited: 'Der er bedt om mange bekræftelser for nylig. Prøv igen om en time.',
    failedTitle: 'E-mailen kunne ikke sendes',
    failed: 'Vi kunne ikke sende bekræftelsen lige nu. Prøv igen om lidt.',
    nav: 'Abonnér',
  },
  en: {
    title: 'Subscribe to system status',
    intro:
      'Get an e-mail when a system is down or responds slowly, when a service window is scheduled, starts or ends, and when the system is back. You confirm the subscription by a link we send you, and every e-mail has a link to unsubscribe.',
    email: 'E-mail address',
    systems: 'Systems',
    systemsHint: 'Choose the systems you want to hear about. Choose none to hear about all of them, also those added later.',
    events: 'Tell me about',
    lang: 'Language of the e-mails',
    submit: 'Subscribe',
    error: 'Please correct this:',
    disabled: 'E-mail subscriptions are not set up on this status page.',
    feed: 'Follow the Atom feed instead',
    sentTitle: 'Check your inbox',
    sent: (email: string) =>
      `If ${email} can receive messages, an e-mail with a link is on its way. Open the link to confirm the subscription. The link works for 7 days.`,
    sentNoMail: 'If no e-mail arrives, look in your spam folder, or try again in a while.',
    confirmedTitle: 'Your subscription is confirmed',
    confirmed: (email: string) => `We will e-mail ${email} when there is news about:`,
    all: 'Every system',
    invalidTitle: 'The link does not work',
    invalid: 'The link is not valid or too old, or the subscription has already been cancelled. You can subscribe again below.',
    unsubscribeTitle: 'Unsubscribe',
    unsubscribeAsk: (email: string) => `Unsubscribe ${email}? You will get no more e-mails about system status.`,
    unsubscribeButton: 'Unsubscribe',
    unsubscribedTitle: 'You are unsubscribed',
    unsubscribed: 'You will get no more e-mails about system status. You can subscribe again at any time.',
    again: 'Subscribe again',
    unsubscribeLink: 'Unsubscribe',
    back: 'Back to system status',
    limitedTitle: 'Too many attempts',
    limited: 'Many confirmations were asked for recently. Please try again in an hour.',
    failedTitle: 'The e-mail could not be sent',
    failed: 'We could not send the confirmation just now. Please try again in a while.',
    nav: 'Subscribe',
  },
} as const;

const CSS = `.subscribe fieldset{border:1px solid var(--line);border-radius:6px;margin:1rem 0;padding:.6rem 1rem}
.subscribe legend{font-weight:600;padding:0 .3rem}
.subscribe ul{list-style:none;margin:.4rem 0;padding:0;columns:14rem auto}
.subscribe li{margin:.2rem 0;break-inside:avoid}
.subscribe label.block{display:block;font-weight:600;margin:.8rem 0 .3rem}
.subscribe input[type=email]{font:inherit;width:100%;max-width:28rem;padding:.45rem .5rem;border:1px solid #6e7781;border-radius:4px}
.subscribe input[type=checkbox],.subscribe input[type=radio]{width:1.1rem;height:1.1rem;vertical-align:-2px}
button.primary{font:inherit;font-weight:600;background:#0550ae;color:#fff;border:0;border-radius:6px;padding:.55rem 1.2rem;cursor:pointer}
.error{border-left:.45rem solid #c21f2c;background:#fff5f5;padding:.6rem 1rem;margin:1rem 0}
.field-error{color:#c21f2c;font-weight:600;margin:.2rem 0}`;

/** What the form shows again after an error. */
export interface FormValues {
  email: string;
  systems: readonly string[];
  events: readonly NotifyEventKind[] | null;
  lang: Lang;
}

export interface FormError {
  /** The field at fault: email, systems, events or lang. */
  field: string;
  message: string;
}

const q = (lang: Lang): string => (lang === 'en' ? '?lang=en' : '');

function shell(ctx: CollectorContext, lang: Lang, title: string, body: string, path = '/subscribe'): string {
  const fmt = formats(lang, ctx.model().config.collector.timezone);
  return page({ lang, title: `${title} – ${lang === 'da' ? 'Driftsstatus' : 'System status'}`, path, body, fmt, css: CSS });
}

const enabled = (model: Model): boolean => model.config.collector.smtp !== undefined;

export function subscribeForm(model: Model, lang: Lang, values?: FormValues, error?: FormError): string {
  const t = SUBSCRIBE_TEXT[lang];
  const v: FormValues = values ?? { email: '', systems: [], events: null, lang };
  const err = (field: string): string =>
    error?.field === field ? `<p class="field-error" id="${field}-error">${escapeHtml(error.message)}</p>` : '';
  const invalid = (field: string): string => (error?.field === field ? ` aria-invalid="true" aria-describedby="${field}-error"` : '');
  const systems = model.systems.map(
    (s) =>
      `<li><input type="checkbox" id="sys-${escapeHtml(s.id)}" name="systems" value="${escapeHtml(s.id)}"${v.systems.includes(s.id) ? ' checked' : ''}> <label for="sys-${escapeHtml(s.id)}">${escapeHtml(s.name)}</label></li>`,
  );
  const events = EVENT_KINDS.map(
    (e) =>
      `<li><input type="checkbox" id="ev-${e}" name="events" value="${e}"${v.events === null || v.events.includes(e) ? ' checked' : ''}> <label for="ev-${e}">${escapeHtml(EVENT_LABEL[lang][e])}</label></li>`,
  );
  const langs = (['da', 'en'] as const).map(
    (l) =>
      `<li><input type="radio" id="lang-${l}" name="lang" value="${l}"${v.lang === l ? ' checked' : ''}> <label for="lang-${l}" lang="${l}">${l === 'da' ? 'Dansk' : 'English'}</label></li>`,
  );
  const summary =
    error === undefined
      ? ''
      : `<div class="error" role="alert"><p><strong>${t.error}</strong> <a href="#${error.field === 'email' ? 'email' : `h-${error.field}`}">${escapeHtml(error.message)}</a></p></div>`;
  return `${summary}<form class="subscribe" method="post" action="/api/v1/subscriptions" accept-charset="utf-8">
<label class="block" for="email">${t.email}</label>
${err('email')}<input id="email" name="email" type="email" autocomplete="email" required maxlength="254" value="${escapeHtml(v.email)}"${invalid('email')}>
<fieldset${invalid('systems')}><legend id="h-systems">${t.systems}</legend>
<p class="muted" id="systems-hint">${t.systemsHint}</p>${err('systems')}
<ul>${systems.join('')}</ul>
</fieldset>
<fieldset${invalid('events')}><legend id="h-events">${t.events}</legend>${err('events')}
<ul>${events.join('')}</ul>
</fieldset>
<fieldset${invalid('lang')}><legend id="h-lang">${t.lang}</legend>${err('lang')}
<ul>${langs.join('')}</ul>
</fieldset>
<p><button class="primary" type="submit">${t.submit}</button></p>
</form>`;
}

/** The form page; with `error` (a 400), the values sent are kept and the error is named. */
export function renderSubscribePage(ctx: CollectorContext, lang: Lang, values?: FormValues, error?: FormError): string {
  const t = SUBSCRIBE_TEXT[lang];
  const model = ctx.model();
  const body = enabled(model)
    ? `<h2 style="font-size:1.5rem">${t.title}</h2>\n<p>${escapeHtml(t.intro)}</p>\n${subscribeForm(model, lang, values, error)}`
    : `<h2 style="font-size:1.5rem">${t.title}</h2>\n<p>${t.disabled}</p>\n<p><a href="/feed.atom${q(lang)}">${t.feed}</a></p>`;
  return shell(ctx, lang, t.title, body);
}

/** A page with a heading, paragraphs (text, escaped here) and links. */
export function renderMessagePage(
  ctx: CollectorContext,
  lang: Lang,
  title: string,
  paragraphs: readonly string[],
  opts: { list?: readonly string[]; links?: readonly { href: string; text: string }[]; html?: string } = {},
): string {
  const list = opts.list === undefined ? '' : `<ul>${opts.list.map((x) => `<li>${escapeHtml(x)}</li>`).join('')}</ul>\n`;
  const links = (opts.links ?? []).map((l) => `<p><a href="${escapeHtml(l.href)}">${escapeHtml(l.text)}</a></p>`).join('\n');
  const body = `<h2 style="font-size:1.5rem">${escapeHtml(title)}</h2>
${paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n')}
${list}${opts.html ?? ''}${links}`;
  return shell(ctx, lang, title, body);
}

/** The unsubscribe page: a button, since mail scanners follow links but do not post forms. */
export function renderUnsubscribePage(ctx: CollectorContext, lang: Lang, email: string, token: string): string {
  const t = SUBSCRIBE_TEXT[lang];
  const form = `<form class="subscribe" method="post" action="/subscriptions/unsubscribe${q(lang)}">
<input type="hidden" name="token" value="${escapeHtml(token)}">
<p><button class="primary" type="submit">${t.unsubscribeButton}</button></p>
</form>`;
  return renderMessagePage(ctx, lang, t.unsubscribeTitle, [t.unsubscribeAsk(email)], { html: form, links: [{ href: `/${q(lang)}`, text: t.back }] });
}

export function sendPage(res: Parameters<typeof send>[0], status: number, html: string, lang: Lang, headers: Record<string, string> = {}): void {
  send(res, status, html, 'text/html; charset=utf-8', {
    'Content-Language': lang,
    // The pages carry tokens in their forms and links: not for other sites' frames or referrers.
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    ...headers,
  });
}

export function subscribePageRoutes(router: Router, ctx: CollectorContext): void {
  router.get('/subscribe', (req, res, { url }) => {
    const lang = pickLang(url, req);
    sendPage(res, 200, renderSubscribePage(ctx, lang), lang, { Vary: 'Accept-Language' });
  });
}
