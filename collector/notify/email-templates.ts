// The e-mails: one per event (outage, degraded, recovery, service windows and their cancelling,
// incident updates, announcements) and the confirmation of a subscription, in Danish and English,
// as plain text and as simple HTML (inline styles, since mail clients drop style sheets; the
// language in the lang attribute; every status in words and a symbol, never by colour alone).
// Status words come from the portal (labels.ts), so a message says what the status page says.
import { OPERATOR_LABEL, STATUS_COLOUR, STATUS_LABEL, STATUS_SYMBOL, TEXT, type Lang } from '../portal/labels.js';
import { escapeHtml, formats } from '../portal/layout.js';
import { PORTAL_TEXT } from '../portal/texts.js';
import type { Status } from '../status/types.js';
import { maintenancePhase } from './events.js';
import type { Localized, NotifyEvent, NotifyEventKind, NotifySystem } from './types.js';
import { MAINTENANCE_TITLES_DA } from './maintenance-words.js';

export interface Mail {
  subject: string;
  text: string;
  html: string;
}

export interface EventMailOptions {
  lang: Lang;
  /** collector.timezone: the times in the message are in it, with its abbreviation ("CET"). */
  timeZone: string;
  /** A subscriber's unsubscribe link (absolute); none for a configured channel. */
  unsubscribeUrl?: string;
  /** Names of systems the event names only by id (its causes). */
  names?: (id: string) => string | undefined;
}

/** The event kinds in words, for the confirmation and the subscription form. */
export const EVENT_LABEL: Record<Lang, Record<NotifyEventKind, string>> = {
  da: {
    outage: 'Nedbrud',
    degraded: 'Nedsat ydeevne',
    recovery: 'Igen i drift',
    maintenance: 'Servicevinduer',
    incident: 'Opdateringer om hændelser',
    announcement: 'Meddelelser om nye versioner og ændringer',
  },
  en: {
    outage: 'Outages',
    degraded: 'Degraded performance',
    recovery: 'Back in operation',
    maintenance: 'Service windows',
    incident: 'Updates on incidents',
    announcement: 'Announcements of releases and changes',
  },
};

const WORDS = {
  da: {
    outage: 'Nedbrud',
    partial: 'Delvist nedbrud',
    degraded: 'Nedsat ydeevne',
    recovery: 'Igen i drift',
    maintenance: MAINTENANCE_TITLES_DA,
    maintenanceNote: {
      endedEarly: 'Servicevinduet sluttede før planlagt.',
      cancelled: 'Det planlagte servicevindue er aflyst og bliver ikke gennemført.',
    },
    plannedPeriod: 'Planlagt periode',
    incident: (system: string) => `Opdatering om ${system}`,
    incidentNoState: 'Hændelsen er opdateret',
    affects: (names: string) => `påvirker ${names}`,
    status: 'Status',
    at: 'Tidspunkt',
    period: 'Periode',
    systems: 'Systemer',
    priority: (p: number) => `Prioritet ${p}`,
    incidentLink: 'Hændelsen',
    more: 'Læs mere',
    systemLink: (name: string) => `Se status for ${name}`,
    statusPage: 'Driftsstatus for alle systemer',
    footer: 'Denne besked er sendt automatisk fra driftsstatus.',
    subscribed: 'Du får denne e-mail, fordi du abonnerer på driftsstatus.',
    unsubscribe: 'Afmeld',
    and: 'og',
  },
  en: {
    outage: 'Outage',
    partial: 'Partial outage',
    degraded: 'Degraded performance',
    recovery: 'Back in operation',
    maintenance: {
      announced: 'Service window scheduled',
      started: 'Service window started',
      ended: 'Service window ended',
      endedEarly: 'Service window ended early',
      cancelled: 'Service window cancelled',
    },
    maintenanceNote: {
      endedEarly: 'The service window ended earlier than planned.',
      cancelled: 'The planned service window has been cancelled and will not take place.',
    },
    plannedPeriod: 'Planned period',
    incident: (system: string) => `Update on ${system}`,
    incidentNoState: 'The incident was updated',
    affects: (names: string) => `affects ${names}`,
    status: 'Status',
    at: 'Time',
    period: 'Period',
    systems: 'Systems',
    priority: (p: number) => `Priority ${p}`,
    incidentLink: 'The incident',
    more: 'Read more',
    systemLink: (name: string) => `See the status of ${name}`,
    statusPage: 'Status of every system',
    footer: 'This message was sent automatically by the status page.',
    subscribed: 'You get this e-mail because you subscribed to the status page.',
    unsubscribe: 'Unsubscribe',
    and: 'and',
  },
} as const;

const CONFIRM_WORDS = {
  da: {
    subject: 'Bekræft dit abonnement på driftsstatus',
    changeSubject: 'Bekræft ændringen af dit abonnement på driftsstatus',
    intro: 'Nogen, forhåbentlig dig, har bedt om at få en e-mail på denne adresse, når der er nyt om driftsstatus for',
    changeIntro: 'Nogen, forhåbentlig dig, har bedt om at ændre dit abonnement på driftsstatus. Fremover får du besked om',
    all: 'alle systemer',
    events: 'Du får besked om',
    button: 'Bekræft abonnementet',
    changeButton: 'Bekræft ændringen',
    open: 'Bekræft ved at åbne dette link:',
    valid: (days: number) => `Linket virker i ${days} dage.`,
    ignore: 'Har du ikke bedt om det, kan du se bort fra denne e-mail; så sker der ikke mere.',
    changeIgnore: 'Har du ikke bedt om det, kan du se bort fra denne e-mail; så fortsætter dit abonnement som hidtil.',
  },
  en: {
    subject: 'Confirm your subscription to the status page',
    changeSubject: 'Confirm the change to your subscription to the status page',
    intro: 'Someone, hopefully you, asked for an e-mail to this address when there is news about the status of',
    changeIntro: 'Someone, hopefully you, asked to change your subscription to the status page. From now on you will hear about',
    all: 'every system',
    events: 'You will hear about',
    button: 'Confirm the subscription',
    changeButton: 'Confirm the change',
    open: 'Confirm by opening this link:',
    valid: (days: number) => `The link works for ${days} days.`,
    ignore: 'If you did not ask for this, ignore this e-mail; nothing more will happen.',
    changeIgnore: 'If you did not ask for this, ignore this e-mail; your subscription stays as it is.',
  },
} as const;

const text = (l: Localized, lang: Lang): string => (lang === 'en' ? l.en : undefined) ?? l.da;
/** The portal's pages in the reader's language. */
const inLang = (url: string, lang: Lang): string => (lang === 'en' && !/[?&]lang=/.test(url) ? `${url}${url.includes('?') ? '&' : '?'}lang=en` : url);
/** No line breaks in a subject: a header must stay one header. */
const oneLine = (s: string): string => s.replace(/[\r\n\t]+/g, ' ').replace(/\s{2,}/g, ' ').trim();

function list(names: readonly string[], lang: Lang): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} ${WORDS[lang].and} ${names[names.length - 1]!}`;
}

/** "5. januar 2026 kl. 09.00 CET": the collector's zone, named, since a mail is read anywhere. */
export function mailTime(ms: number, lang: Lang, timeZone: string): string {
  let zone = '';
  try {
    const parts = new Intl.DateTimeFormat(lang === 'da' ? 'da-DK' : 'en-GB', { timeZone, timeZoneName: 'short', hour: 'numeric' }).formatToParts(ms);
    zone = parts.find((p) => p.type === 'timeZoneName')?.value ?? '';
  } catch {
    zone = 'UTC';
  }
  return `${formats(lang, timeZone).dateTime(ms)}${zone === '' ? '' : ` ${zone}`}`;
}

/** The systems that explain the event (its causes among its systems), and the others. */
function split(event: NotifyEvent): { heads: NotifySystem[]; others: NotifySystem[] } {
  const byCause = event.systems.filter((s) => event.cause.includes(s.id));
  const heads = byCause.length > 0 ? byCause : event.systems.slice(0, 1);
  return { heads, others: event.systems.filter((s) => !heads.includes(s)) };
}

function headline(event: NotifyEvent, lang: Lang, names: (id: string) => string): string {
  const w = WORDS[lang];
  const { heads, others } = split(event);
  const who = (): string => {
    const h = list(heads.map((s) => s.name), lang);
    return others.length === 0 ? h : `${h} – ${w.affects(others.map((s) => s.name).join(', '))}`;
  };
  switch (event.kind) {
    case 'outage': {
      const partial = heads.every((s) => s.status === 'partial_outage');
      return `${partial ? w.partial : w.outage}: ${who()}`;
    }
    case 'degraded':
      return `${w.degraded}: ${who()}`;
    case 'recovery':
      return `${w.recovery}: ${list(event.systems.map((s) => s.name), lang)}`;
    case 'maintenance': {
      const m = event.maintenance;
      const phase = m === undefined ? 'announced' : maintenancePhase(m);
      return `${w.maintenance[phase]}: ${m === undefined ? list(event.systems.map((s) => s.name), lang) : text(m.title, lang)}`;
    }
    case 'incident': {
      const state = event.incident?.operator_status;
      const name = heads[0]?.name ?? (event.cause[0] !== undefined ? names(event.cause[0]) : '');
      return `${w.incident(name)}${state === null || state === undefined ? '' : `: ${OPERATOR_LABEL[lang][state]}`}`;
    }
    case 'announcement': {
      const a = event.announcement;
      if (a === undefined) return PORTAL_TEXT[lang].announcements;
      return `${PORTAL_TEXT[lang].announcementKind[a.kind]}: ${text(a.title, lang)}`;
    }
  }
}

interface Line {
  /** A label and its value ("Tidspunkt: …"); value may be a link. */
  label?: string;
  value: string;
  href?: string;
}

interface SystemLine {
  system: NotifySystem;
  status: Status;
  cause: string | undefined;
}

/** What a message says, once, for both the plain text and the HTML. */
interface Content {
  lang: Lang;
  title: string;
  paragraphs: string[];
  systems: SystemLine[];
  lines: Line[];
  links: Line[];
  footer: string;
  unsubscribeUrl: string | undefined;
}

function content(event: NotifyEvent, opts: EventMailOptions): Content {
  const { lang, timeZone } = opts;
  const w = WORDS[lang];
  const names = (id: string): string => event.systems.find((s) => s.id === id)?.name ?? opts.names?.(id) ?? id;
  const when = (ms: number): string => mailTime(ms, lang, timeZone);
  const title = oneLine(headline(event, lang, names));
  const paragraphs: string[] = [];
  const lines: Line[] = [];
  const status = event.kind === 'outage' || event.kind === 'degraded' || event.kind === 'recovery';
  const systems: SystemLine[] = event.systems.map((s) => {
    const own = s.cause.filter((c) => c !== s.id);
    // A system back in operation is affected by nothing any more.
    const shown = own.length > 0 && s.status !== 'operational';
    return { system: s, status: s.status, cause: shown ? TEXT[lang].affectedBy(own.map(names).join(', ')) : undefined };
  });
  // The root cause named once more, when none of the systems in the message is it.
  const outside = event.cause.filter((c) => !event.systems.some((s) => s.id === c));
  if (outside.length > 0) paragraphs.push(`${TEXT[lang].affectedBy(outside.map(names).join(', '))}.`);
  if (status) lines.push({ label: w.at, value: when(event.at) });
  const m = event.maintenance;
  if (event.kind === 'maintenance' && m !== undefined) {
    const phase = maintenancePhase(m);
    const retracted = phase === 'cancelled' || phase === 'endedEarly';
    if (retracted) paragraphs.push(w.maintenanceNote[phase]);
    lines.push({ label: retracted ? w.plannedPeriod : w.period, value: `${when(m.start)} – ${when(m.end)}` });
    if (retracted) lines.push({ label: w.at, value: when(event.at) });
  }
  const i = event.incident;
  if (i !== undefined) {
    if (i.message !== undefined) paragraphs.push(text(i.message, lang));
    else if (event.kind === 'incident' && i.operator_status === null) paragraphs.push(w.incidentNoState);
    lines.push({ label: w.incidentLink, value: w.priority(i.priority), href: inLang(i.url, lang) });
    if (!status) lines.push({ label: w.at, value: when(event.at) });
  }
  const a = event.announcement;
  if (event.kind === 'announcement' && a !== undefined) {
    paragraphs.push(text(a.body, lang));
    lines.push({ label: w.at, value: when(a.at) });
    if (a.link !== undefined) lines.push({ label: w.more, value: a.link, href: a.link });
  }
  const links: Line[] = [];
  const first = split(event).heads[0];
  if (first !== undefined) links.push({ value: w.systemLink(first.name), href: inLang(first.url, lang) });
  links.push({ value: w.statusPage, href: inLang(event.links.status_page, lang) });
  return {
    lang,
    title,
    paragraphs,
    systems: event.kind === 'announcement' && event.systems.length === 0 ? [] : systems,
    lines,
    links,
    footer: opts.unsubscribeUrl === undefined ? w.footer : w.subscribed,
    unsubscribeUrl: opts.unsubscribeUrl,
  };
}

function plain(c: Content): string {
  const w = WORDS[c.lang];
  const out: string[] = [c.title, ''];
  for (const p of c.paragraphs) out.push(p, '');
  if (c.systems.length > 0) {
    out.push(`${w.status}:`);
    for (const s of c.systems)
      out.push(`- ${s.system.name}: ${STATUS_SYMBOL[s.status]} ${STATUS_LABEL[c.lang][s.status]}${s.cause === undefined ? '' : ` (${s.cause})`}`);
    out.push('');
  }
  for (const l of c.lines) out.push(`${l.label === undefined ? '' : `${l.label}: `}${l.value}${l.href !== undefined && l.href !== l.value ? ` <${l.href}>` : ''}`);
  if (c.lines.length > 0) out.push('');
  for (const l of c.links) out.push(`${l.value}: ${l.href ?? ''}`);
  out.push('', '-- ', c.footer);
  if (c.unsubscribeUrl !== undefined) out.push(`${w.unsubscribe}: ${c.unsubscribeUrl}`);
  return out.join('\n') + '\n';
}

const FONT = 'font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;color:#1f2328';
const LINK = 'color:#0550ae';

function shell(lang: Lang, title: string, inner: string): string {
  return `<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
</head>
<body style="margin:0;padding:0;background:#ffffff">
<div style="${FONT};max-width:40rem;margin:0 auto;padding:16px">
${inner}
</div>
</body>
</html>
`;
}

function html(c: Content): string {
  const w = WORDS[c.lang];
  const parts: string[] = [`<h1 style="font-size:22px;margin:0 0 16px">${escapeHtml(c.title)}</h1>`];
  for (const p of c.paragraphs) parts.push(`<p style="margin:0 0 12px">${escapeHtml(p)}</p>`);
  if (c.systems.length > 0) {
    const rows = c.systems.map(
      (s) =>
        `<li style="margin:0 0 6px"><strong>${escapeHtml(s.system.name)}</strong>: <span style="color:${STATUS_COLOUR[s.status]};font-weight:bold"><span aria-hidden="true">${STATUS_SYMBOL[s.status]}</span> ${escapeHtml(STATUS_LABEL[c.lang][s.status])}</span>${s.cause === undefined ? '' : ` <span style="color:#59636e">(${escapeHtml(s.cause)})</span>`}</li>`,
    );
    parts.push(`<h2 style="font-size:18px;margin:16px 0 8px">${w.status}</h2>\n<ul style="margin:0 0 12px;padding-left:20px">${rows.join('')}</ul>`);
  }
  if (c.lines.length > 0) {
    const rows = c.lines.map((l) => {
      const value = l.href === undefined ? escapeHtml(l.value) : `<a href="${escapeHtml(l.href)}" style="${LINK}">${escapeHtml(l.value)}</a>`;
      return `<p style="margin:0 0 6px">${l.label === undefined ? '' : `<strong>${escapeHtml(l.label)}:</strong> `}${value}</p>`;
    });
    parts.push(rows.join('\n'));
  }
  parts.push(
    `<p style="margin:16px 0 0">${c.links.map((l) => `<a href="${escapeHtml(l.href ?? '')}" style="${LINK}">${escapeHtml(l.value)}</a>`).join('<br>')}</p>`,
  );
  const unsub =
    c.unsubscribeUrl === undefined ? '' : ` <a href="${escapeHtml(c.unsubscribeUrl)}" style="${LINK}">${w.unsubscribe}</a>`;
  parts.push(`<hr style="border:0;border-top:1px solid #d0d7de;margin:24px 0 12px">\n<p style="margin:0;font-size:14px;color:#59636e">${escapeHtml(c.footer)}${unsub}</p>`);
  return shell(c.lang, c.title, parts.join('\n'));
}

/** The message about one event, in the channel's or subscriber's language. */
export function eventMail(event: NotifyEvent, opts: EventMailOptions): Mail {
  const c = content(event, opts);
  return { subject: c.title, text: plain(c), html: html(c) };
}

export interface ConfirmationOptions {
  lang: Lang;
  confirmUrl: string;
  /** System names; null: every system. */
  systems: readonly string[] | null;
  /** null: every event. */
  events: readonly NotifyEventKind[] | null;
  /** An address already subscribed asks for other systems: the link confirms the change. */
  change: boolean;
  validDays: number;
}

/** The e-mail with the link that confirms a subscription (double opt-in) or a change to one. */
export function confirmationMail(o: ConfirmationOptions): Mail {
  const w = CONFIRM_WORDS[o.lang];
  const subject = o.change ? w.changeSubject : w.subject;
  const systems = o.systems === null ? [w.all] : [...o.systems];
  const events = o.events === null ? undefined : o.events.map((e) => EVENT_LABEL[o.lang][e].toLowerCase());
  const intro = o.change ? w.changeIntro : w.intro;
  const ignore = o.change ? w.changeIgnore : w.ignore;
  const lines = [
    subject,
    '',
    `${intro}:`,
    ...systems.map((s) => `- ${s}`),
    ...(events === undefined ? [] : ['', `${w.events}: ${list(events, o.lang)}.`]),
    '',
    w.open,
    o.confirmUrl,
    '',
    w.valid(o.validDays),
    ignore,
  ];
  const inner = [
    `<h1 style="font-size:22px;margin:0 0 16px">${escapeHtml(subject)}</h1>`,
    `<p style="margin:0 0 8px">${escapeHtml(intro)}:</p>`,
    `<ul style="margin:0 0 12px;padding-left:20px">${systems.map((s) => `<li>${escapeHtml(s)}</li>`).join('')}</ul>`,
    events === undefined ? '' : `<p style="margin:0 0 12px">${escapeHtml(`${w.events}: ${list(events, o.lang)}.`)}</p>`,
    `<p style="margin:16px 0"><a href="${escapeHtml(o.confirmUrl)}" style="display:inline-block;background:#0550ae;color:#ffffff;padding:10px 16px;border-radius:6px;text-decoration:none;font-weight:bold">${escapeHtml(o.change ? w.changeButton : w.button)}</a></p>`,
    `<p style="margin:0 0 12px;font-size:14px;color:#59636e">${escapeHtml(w.open)} <a href="${escapeHtml(o.confirmUrl)}" style="${LINK};word-break:break-all">${escapeHtml(o.confirmUrl)}</a></p>`,
    `<p style="margin:0;font-size:14px;color:#59636e">${escapeHtml(`${w.valid(o.validDays)} ${ignore}`)}</p>`,
  ];
  return { subject, text: lines.join('\n') + '\n', html: shell(o.lang, subject, inner.filter((x) => x !== '').join('\n')) };
}
