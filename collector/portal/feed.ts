// GET /feed.atom: an Atom 1.0 feed (RFC 4287) of what a subscriber wants to hear about: perceived
// status changes, incidents opening and resolving (their updates, operators' too, as content),
// service windows as announced, and announcements (releases, interface changes, information). Danish by default, ?lang=en for English. Entry ids are name-based UUIDs of the
// event, so they stay the same whatever host the feed is read through.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { recentAnnouncements } from '../api/announcements.js';
import { badParameter, onlyParams } from '../api/params.js';
import type { CollectorContext } from '../context.js';
import { send } from '../http.js';
import type { Router } from '../server.js';
import type { Incident, IncidentUpdate } from '../status/incidents.js';
import type { MaintenanceWindow } from '../status/maintenance.js';
import type { Status } from '../status/types.js';
import type { AnnouncementKind } from '../store/types.js';
import { OPERATOR_LABEL, STATUS_LABEL, TEXT, type Lang } from './labels.js';
import { escapeXml } from './xml.js';
import { escapeHtml } from './page.js';

const DAY = 86_400_000;
/** How far back the feed looks, and how many entries of each kind it keeps at most. */
export const FEED_SPAN_MS = 30 * DAY;
const MAX_STATUS_ENTRIES = 100;
const MAX_INCIDENTS = 50;
const MAX_WINDOWS = 50;
const MAX_ANNOUNCEMENTS = 50;

export const ATOM_TYPE = 'application/atom+xml; charset=utf-8';

export const FEED_TEXT = {
  da: {
    subtitle: 'Statusændringer, hændelser og servicevinduer',
    changed: (name: string, from: string, to: string) => `Status for ${name} er ændret fra ${from} til ${to}.`,
    first: (name: string, to: string) => `Status for ${name} er ${to}.`,
    at: (time: string) => `Tidspunkt: ${time}.`,
    incidentTitle: (name: string, status: string, priority: number) => `Hændelse i ${name}: ${status} (prioritet ${priority})`,
    resolvedTitle: (name: string) => `Løst: hændelse i ${name}`,
    kind: { opened: 'Åbnet', updated: 'Opdateret', resolved: 'Løst', operator: 'Besked' } as Record<string, string>,
    priority: (p: number) => `prioritet ${p}`,
    operator: OPERATOR_LABEL.da,
    windowTitle: (title: string, names: string) => `Servicevindue: ${title} (${names})`,
    window: (from: string, to: string) => `Fra ${from} til ${to}.`,
    affects: (names: string) => `Berører ${names}.`,
    announcement: { release: 'Ny version', interface_change: 'Ændret snitflade', info: 'Information' } as Record<AnnouncementKind, string>,
    more: 'Læs mere',
  },
  en: {
    subtitle: 'Status changes, incidents and service windows',
    changed: (name: string, from: string, to: string) => `The status of ${name} changed from ${from} to ${to}.`,
    first: (name: string, to: string) => `The status of ${name} is ${to}.`,
    at: (time: string) => `Time: ${time}.`,
    incidentTitle: (name: string, status: string, priority: number) => `Incident in ${name}: ${status} (priority ${priority})`,
    resolvedTitle: (name: string) => `Resolved: incident in ${name}`,
    kind: { opened: 'Opened', updated: 'Updated', resolved: 'Resolved', operator: 'Message' } as Record<string, string>,
    priority: (p: number) => `priority ${p}`,
    operator: OPERATOR_LABEL.en,
    windowTitle: (title: string, names: string) => `Maintenance: ${title} (${names})`,
    window: (from: string, to: string) => `From ${from} to ${to}.`,
    affects: (names: string) => `Affects ${names}.`,
    announcement: { release: 'Release', interface_change: 'Interface change', info: 'Information' } as Record<AnnouncementKind, string>,
    more: 'Read more',
  },
};

/** `?lang=da|en`, Danish when absent; anything else is a 400 naming the parameter. */
export function langParam(url: URL): Lang {
  const v = url.searchParams.get('lang');
  if (v === null || v === 'da') return 'da';
  if (v === 'en') return 'en';
  throw badParameter('lang', 'expected "da" or "en"');
}

/**
 * Where the portal is reached from outside: collector.public_url when configured, else the
 * request's Host (checked, since it is the client's word), over https when the socket is TLS.
 */
export function publicBase(req: IncomingMessage, ctx: CollectorContext): string {
  const configured = ctx.model().config.collector.public_url;
  if (configured !== undefined) return configured.replace(/\/+$/, '');
  const host = req.headers.host ?? '';
  const safe = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/.test(host) ? host : 'localhost';
  const tls = (req.socket as { encrypted?: boolean }).encrypted === true;
  return `${tls ? 'https' : 'http'}://${safe}`;
}

/** The public page of a system, absolute. */
export function systemLink(base: string, system: string, lang: Lang): string {
  return `${base}/systems/${encodeURIComponent(system)}${lang === 'en' ? '?lang=en' : ''}`;
}

/** One incident update in words: the operator's state and text, or the engine's status and priority. */
export function updateText(u: IncidentUpdate, lang: Lang, names: (id: string) => string): string {
  const t = FEED_TEXT[lang];
  const op = u.operator;
  if (op !== undefined) return `${t.operator[op.status]}: ${(lang === 'en' ? op.message.en : undefined) ?? op.message.da}`;
  const kind = t.kind[u.kind] ?? u.kind;
  if (u.kind === 'resolved') return `${kind}: ${STATUS_LABEL[lang][u.status]}`;
  const affected = u.affected.length === 0 ? '' : ` ${t.affects(u.affected.map(names).join(', '))}`;
  return `${kind}: ${STATUS_LABEL[lang][u.status]}, ${t.priority(u.priority)}.${affected}`;
}

export function incidentTitle(i: Incident, lang: Lang, names: (id: string) => string): string {
  return FEED_TEXT[lang].incidentTitle(names(i.system), STATUS_LABEL[lang][i.status], i.priority);
}

/** Times in the configured zone, with the zone named; UTC when the zone is unknown. */
export function timeFormatter(lang: Lang, timeZone: string): (ms: number) => string {
  const locale = lang === 'da' ? 'da-DK' : 'en-GB';
  const opts: Intl.DateTimeFormatOptions = { dateStyle: 'long', timeStyle: 'short' };
  let fmt: Intl.DateTimeFormat;
  try {
    fmt = new Intl.DateTimeFormat(locale, { ...opts, timeZone });
  } catch {
    fmt = new Intl.DateTimeFormat(locale, { ...opts, timeZone: 'UTC' });
    timeZone = 'UTC';
  }
  return (ms) => `${fmt.format(ms)} (${timeZone})`;
}

// ---- Atom ---------------------------------------------------------------------------------------


/** A name-based (version 5 style) UUID as a URN: the same event always gets the same id. */
const NAMESPACE = Buffer.from('4b1f0c3e9a2d4e7f8c6b5a4d3e2f1a0b', 'hex');
export function urnUuid(key: string): string {
  const h = createHash('sha1').update(NAMESPACE).update(key, 'utf8').digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `urn:uuid:${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

export interface FeedEntry {
  id: string;
  title: string;
  /** Epoch ms. */
  updated: number;
  published: number;
  link: string;
  category: 'status' | 'incident' | 'maintenance' | 'announcement';
  /** HTML (escaped again as the content of type="html"). */
  html: string;
}

const isoTime = (ms: number): string => new Date(ms).toISOString();

function entryXml(e: FeedEntry): string {
  return `<entry>
<id>${escapeXml(e.id)}</id>
<title type="text">${escapeXml(e.title)}</title>
<updated>${isoTime(e.updated)}</updated>
<published>${isoTime(e.published)}</published>
<link rel="alternate" type="text/html" href="${escapeXml(e.link)}"/>
<category term="${e.category}"/>
<content type="html">${escapeXml(e.html)}</content>
</entry>`;
}

// ---- the entries --------------------------------------------------------------------------------

interface Env {
  ctx: CollectorContext;
  lang: Lang;
  base: string;
  now: number;
  names: (id: string) => string;
  time: (ms: number) => string;
}

/** Changes of the perceived status; the first record of a system, while it is unknown, is not news. */
async function statusEntries(env: Env): Promise<FeedEntry[]> {
  const { ctx, lang, base, now, names, time } = env;
  const t = FEED_TEXT[lang];
  const labels = STATUS_LABEL[lang];
  const from = now - FEED_SPAN_MS;
  const out: FeedEntry[] = [];
  for (const s of ctx.model().systems) {
    // Stretches, so repeated records (a restart records the status again) are already merged.
    const intervals = await ctx.store.statusIntervals({ system: s.id, view: 'perceived', from });
    let prev: Status | undefined;
    for (const i of intervals) {
      const before = prev;
      prev = i.status;
      // The stretch in force at `from` started earlier: not a change within the feed's span.
      if (before === undefined && (i.from <= from || i.status === 'unknown')) continue;
      if (before === i.status) continue; // only the cause changed
      const name = names(s.id);
      const causes = i.cause.filter((c) => c !== s.id).map(names);
      const html = [
        `<p>${escapeHtml(before === undefined ? t.first(name, labels[i.status]) : t.changed(name, labels[before], labels[i.status]))}</p>`,
        causes.length === 0 ? '' : `<p>${escapeHtml(TEXT[lang].affectedBy(causes.join(', ')))}.</p>`,
        `<p>${escapeHtml(t.at(time(i.from)))}</p>`,
      ].join('');
      out.push({
        id: urnUuid(`status|${s.id}|perceived|${i.from}|${i.status}`),
        title: `${name}: ${labels[i.status]}`,
        updated: i.from,
        published: i.from,
        link: systemLink(base, s.id, lang),
        category: 'status',
        html,
      });
    }
  }
  return out.sort((a, b) => b.updated - a.updated).slice(0, MAX_STATUS_ENTRIES);
}

/** An incident gives an entry when it opens (kept up to date with its updates) and one when it resolves. */
async function incidentEntries(env: Env): Promise<FeedEntry[]> {
  const { ctx, lang, base, now, names, time } = env;
  const t = FEED_TEXT[lang];
  const byId = new Map<number, Incident>();
  for (const i of await ctx.store.incidents({ from: now - FEED_SPAN_MS, limit: MAX_INCIDENTS })) byId.set(i.id, i);
  // Open incidents are in memory before their write lands.
  for (const i of ctx.tracker.incidents.open()) byId.set(i.id, i);
  const out: FeedEntry[] = [];
  for (const i of byId.values()) {
    const others = i.affected.filter((id) => id !== i.system).map(names);
    const timeline = [...i.updates]
      .reverse()
      .map((u) => `<li><time datetime="${isoTime(u.at)}">${escapeHtml(time(u.at))}</time>: ${escapeHtml(updateText(u, lang, names))}</li>`)
      .join('');
    const html = `${others.length === 0 ? '' : `<p>${escapeHtml(t.affects(others.join(', ')))}</p>`}<ul>${timeline}</ul>`;
    const link = systemLink(base, i.system, lang);
    // A store started afresh reuses ids: the start time keeps the entry ids apart.
    const key = `incident|${i.id}|${i.started_at}`;
    const lastOpen = i.updates.filter((u) => u.kind !== 'resolved').reduce((m, u) => Math.max(m, u.at), i.started_at);
    out.push({ id: urnUuid(`${key}|opened`), title: incidentTitle(i, lang, names), updated: lastOpen, published: i.started_at, link, category: 'incident', html });
    if (i.resolved_at !== null)
      out.push({ id: urnUuid(`${key}|resolved`), title: t.resolvedTitle(names(i.system)), updated: i.resolved_at, published: i.resolved_at, link, category: 'incident', html });
  }
  return out;
}

/** Service windows as announced: one entry each, from when it was announced, with its start and end. */
function windowEntries(env: Env): FeedEntry[] {
  const { ctx, lang, base, now, names, time } = env;
  const t = FEED_TEXT[lang];
  const recent = ctx.maintenance
    .list(now)
    .filter((w) => w.end > now - FEED_SPAN_MS)
    .sort((a, b) => b.created_at - a.created_at)
    .slice(0, MAX_WINDOWS);
  return recent.map((w: MaintenanceWindow) => {
    const title = (lang === 'en' ? w.title.en : undefined) ?? w.title.da;
    const description = w.description === undefined ? undefined : ((lang === 'en' ? w.description.en : undefined) ?? w.description.da);
    const systems = w.systems.map(names).join(', ');
    const html = [
      `<p>${escapeHtml(t.window(time(w.start), time(w.end)))}</p>`,
      `<p>${escapeHtml(t.affects(systems))}</p>`,
      description === undefined ? '' : `<p>${escapeHtml(description)}</p>`,
    ].join('');
    return {
      id: urnUuid(`maintenance|${w.id}|${w.start}|${w.end}`),
      title: t.windowTitle(title, systems),
      updated: w.created_at,
      published: w.created_at,
      link: w.systems[0] === undefined ? `${base}/` : systemLink(base, w.systems[0], lang),
      category: 'maintenance' as const,
      html,
    };
  });
}

/** Announcements (releases, interface changes, information), from when they were posted. */
async function announcementEntries(env: Env): Promise<FeedEntry[]> {
  const { ctx, lang, base, now, names, time } = env;
  const t = FEED_TEXT[lang];
  const rows = await recentAnnouncements(ctx.store, { from: now - FEED_SPAN_MS, limit: MAX_ANNOUNCEMENTS });
  return rows.map((a) => {
    const pick = (l: { da: string; en?: string }): string => (lang === 'en' ? l.en : undefined) ?? l.da;
    const html = [
      `<p>${escapeHtml(pick(a.body))}</p>`,
      `<p>${escapeHtml(t.affects(a.systems.map(names).join(', ')))} ${escapeHtml(t.at(time(a.at)))}</p>`,
      a.link === undefined ? '' : `<p><a href="${escapeHtml(a.link)}">${escapeHtml(t.more)}</a></p>`,
    ].join('');
    return {
      id: urnUuid(`announcement|${a.id}|${a.created_at}`),
      title: `${t.announcement[a.kind]}: ${pick(a.title)}`,
      updated: a.created_at,
      published: a.created_at,
      link: a.systems[0] === undefined ? `${base}/` : systemLink(base, a.systems[0], lang),
      category: 'announcement' as const,
      html,
    };
  });
}

export async function renderFeed(ctx: CollectorContext, opts: { lang: Lang; base: string }): Promise<string> {
  const { lang, base } = opts;
  const model = ctx.model();
  const now = ctx.clock.now();
  const byId = new Map(model.systems.map((s) => [s.id, s.name]));
  const env: Env = {
    ctx,
    lang,
    base,
    now,
    names: (id) => byId.get(id) ?? id,
    time: timeFormatter(lang, model.config.collector.timezone),
  };
  const entries = [...(await statusEntries(env)), ...(await incidentEntries(env)), ...windowEntries(env), ...(await announcementEntries(env))].sort(
    (a, b) => b.updated - a.updated || (a.id < b.id ? -1 : 1),
  );
  const updated = entries.reduce((m, e) => Math.max(m, e.updated), 0) || now;
  const q = lang === 'en' ? '?lang=en' : '';
  const title = TEXT[lang].title;
  return `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="${lang}">
<id>${urnUuid(`feed|${model.config.collector.public_url ?? ''}|${lang}`)}</id>
<title type="text">${escapeXml(title)}</title>
<subtitle type="text">${escapeXml(FEED_TEXT[lang].subtitle)}</subtitle>
<updated>${isoTime(updated)}</updated>
<link rel="self" type="application/atom+xml" href="${escapeXml(`${base}/feed.atom${q}`)}"/>
<link rel="alternate" type="text/html" href="${escapeXml(`${base}/${q}`)}"/>
<author><name>${escapeXml(title)}</name></author>
<generator>vagt</generator>
${entries.map(entryXml).join('\n')}
</feed>
`;
}

export function feedRoutes(router: Router, ctx: CollectorContext): void {
  router.get('/feed.atom', async (req, res, { url }) => {
    onlyParams(url.searchParams, ['lang']);
    const lang = langParam(url);
    const body = await renderFeed(ctx, { lang, base: publicBase(req, ctx) });
    send(res, 200, body, ATOM_TYPE, { 'Content-Language': lang });
  });
}
