// GET /: the public status page. Server-rendered and complete without JavaScript; with it, the
// page checks /api/v1/status every few seconds and swaps in the fresh sections when a status
// changes (live-script.ts). Danish by default, English by ?lang=en or Accept-Language.
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import type { CollectorContext } from '../context.js';
import { acceptsGzip, send } from '../http.js';
import type { Router } from '../server.js';
import { recentAnnouncements } from '../api/announcements.js';
import type { Incident, IncidentUpdate } from '../status/incidents.js';
import type { Announcement } from '../store/types.js';
import { announcementsSection } from './announcements.js';
import { boxText, boxView } from './embed.js';
import type { Status } from '../status/types.js';
import { PortalHistory, readHistory, type HistorySnapshot, type SystemHistory } from './history.js';
import { OPERATOR_LABEL, STATUS_COLOUR, STATUS_LABEL, STATUS_SYMBOL, TEXT, type Lang } from './labels.js';
import { pickLang } from './lang.js';
import { escapeHtml, formats, page, statusStyle, type Formats } from './layout.js';
import { LIVE_SCRIPT, statusVersion } from './live-script.js';
import { systemPageRoutes } from './system-page.js';
import { PORTAL_TEXT } from './texts.js';

export { escapeHtml } from './layout.js';

function statusBadge(status: Status, lang: Lang): string {
  return `<span class="st" style="${statusStyle(status)}"><span aria-hidden="true">${STATUS_SYMBOL[status]}</span> ${escapeHtml(STATUS_LABEL[lang][status])}</span>`;
}

/** The summary line: the same words and worst status as the embeddable box (embed.ts). */
function summary(ctx: CollectorContext, lang: Lang): string {
  const systems = ctx.model().systems.map((s) => {
    const st = ctx.tracker.get(s.id);
    return { id: s.id, name: s.name, status: st?.status ?? 'unknown', cause: st?.cause ?? [] };
  });
  const { status, text } = boxView(systems, boxText(lang));
  return `<p id="summary" class="summary" style="border-color:${STATUS_COLOUR[status]}"><span aria-hidden="true" style="${statusStyle(status)}">${STATUS_SYMBOL[status]}</span> ${escapeHtml(text)}</p>`;
}

function incidentCard(i: Incident, names: ReadonlyMap<string, string>, lang: Lang, fmt: Formats): string {
  const t = TEXT[lang];
  const p = PORTAL_TEXT[lang];
  const others = i.affected.filter((id) => id !== i.system).map((id) => names.get(id) ?? id);
  const affects = others.length === 0 ? '' : `<p>${escapeHtml(t.affects(others.join(', ')))}</p>`;
  // Newest first, operators' words (when there are any) in the page's language.
  const updates = [...i.updates]
    .reverse()
    .slice(0, 5)
    .map((u) => {
      const text = operatorText(u, lang) ?? u.message;
      return `<li><time datetime="${new Date(u.at).toISOString()}">${escapeHtml(fmt.time(u.at))}</time> ${escapeHtml(text)}</li>`;
    });
  return `<article class="card" data-key="incident-${i.id}"><h3><a href="/systems/${encodeURIComponent(i.system)}${lang === 'en' ? '?lang=en' : ''}">${escapeHtml(t.incident(names.get(i.system) ?? i.system, i.priority))}</a> ${statusBadge(i.status, lang)}</h3>
${affects}<p class="since">${p.started} ${escapeHtml(fmt.dateTime(i.started_at))}</p>${updates.length === 0 ? '' : `<ul class="updates">${updates.join('')}</ul>`}</article>`;
}

/** An operator's update in the page's language, with its Statuspage state ("Årsag fundet: …"). */
function operatorText(u: IncidentUpdate, lang: Lang): string | undefined {
  if (u.operator === undefined) return undefined;
  const text = (lang === 'en' ? u.operator.message.en : undefined) ?? u.operator.message.da;
  return `${OPERATOR_LABEL[lang][u.operator.status]}: ${text}`;
}

function incidentsSection(ctx: CollectorContext, lang: Lang, fmt: Formats): string {
  const names = new Map(ctx.model().systems.map((s) => [s.id, s.name]));
  const open = ctx.tracker.incidents.open().sort((a, b) => a.priority - b.priority || a.started_at - b.started_at);
  if (open.length === 0) return '<section id="incidents" hidden></section>';
  return `<section id="incidents" aria-labelledby="h-incidents"><h2 id="h-incidents">${PORTAL_TEXT[lang].currentIncidents}</h2>
${open.map((i) => incidentCard(i, names, lang, fmt)).join('\n')}</section>`;
}

function maintenanceSection(ctx: CollectorContext, lang: Lang, fmt: Formats): string {
  const p = PORTAL_TEXT[lang];
  const now = ctx.clock.now();
  const names = new Map(ctx.model().systems.map((s) => [s.id, s.name]));
  const windows = ctx.maintenance.list(now).filter((w) => w.state !== 'completed');
  if (windows.length === 0) return '<section id="maintenance" hidden></section>';
  const cards = windows.map((w) => {
    const title = (lang === 'en' ? w.title.en : undefined) ?? w.title.da;
    const desc = w.description === undefined ? '' : `<p>${escapeHtml((lang === 'en' ? w.description.en : undefined) ?? w.description.da)}</p>`;
    const state = w.state === 'in_progress' ? p.maintenanceActive : p.maintenanceScheduled;
    return `<article class="card" data-key="maintenance-${escapeHtml(w.id)}"><h3>${escapeHtml(title)} <span class="st" style="${statusStyle('under_maintenance')}"><span aria-hidden="true">${STATUS_SYMBOL.under_maintenance}</span> ${state}</span></h3>
<p>${escapeHtml(w.systems.map((id) => names.get(id) ?? id).join(', '))}</p>${desc}<p class="since"><time datetime="${new Date(w.start).toISOString()}">${escapeHtml(fmt.dateTime(w.start))}</time> – <time datetime="${new Date(w.end).toISOString()}">${escapeHtml(fmt.dateTime(w.end))}</time></p></article>`;
  });
  return `<section id="maintenance" aria-labelledby="h-maintenance"><h2 id="h-maintenance">${p.maintenance}</h2>\n${cards.join('\n')}</section>`;
}

/** A day's class: o(k), m(inor), d(own), w (maintenance only), n(o data). */
function dayClass(d: SystemHistory['days'][number]): string {
  if (d.uptime === null) return d.maintenance_s > 0 ? 'w' : 'n';
  if (d.downtime_s === 0) return '';
  return d.uptime >= 99 ? 'm' : 'd';
}

function historyBar(h: SystemHistory | undefined, lang: Lang, fmt: Formats): string {
  const p = PORTAL_TEXT[lang];
  if (h === undefined) return '';
  let problems = 0;
  const cells: string[] = [];
  // Runs of plain days (no outage, or nothing measured) are one element each, stretched over their
  // days: 50 systems x 90 days would otherwise be most of the page. The day lines are drawn over
  // the bar by CSS; the live script names the day under the pointer.
  let run = { c: '', n: 0 };
  const flush = (): void => {
    if (run.n === 0) return;
    const cls = run.c === '' ? '' : ` class="${run.c}"`;
    cells.push(run.n === 1 ? `<i${cls}></i>` : `<i${cls} style="flex:${run.n}"></i>`);
    run = { c: '', n: 0 };
  };
  for (const d of h.days) {
    const c = dayClass(d);
    if (c === '' || c === 'n') {
      if (run.n > 0 && run.c !== c) flush();
      run = { c, n: run.n + 1 };
      continue;
    }
    flush();
    if (c === 'm' || c === 'd') problems++;
    const title = p.dayTitle(
      fmt.date(d.from),
      d.uptime === null ? null : fmt.percent(d.uptime),
      d.downtime_s > 0 ? fmt.duration(d.downtime_s) : '',
      d.maintenance_s > 0 ? fmt.duration(d.maintenance_s) : '',
    );
    cells.push(`<i class="${c}" title="${escapeHtml(title)}"></i>`);
  }
  flush();
  const first = h.days[0]?.date ?? '';
  return `<div class="bar" role="img" aria-label="${escapeHtml(p.historyLabel(problems, h.days.length))}" data-first="${first}" data-days="${h.days.length}">${cells.join('')}</div>
<div class="scale" aria-hidden="true"><span>${p.daysAgo(h.days.length)}</span><span>${p.today}</span></div>`;
}

function uptimeLine(h: SystemHistory | undefined, lang: Lang, fmt: Formats): string {
  const p = PORTAL_TEXT[lang];
  const u = h?.uptime;
  if (u === undefined || u.uptime === null) return `<p class="muted">${p.noUptime}</p>`;
  const target = u.target === null ? null : fmt.percent(u.target, u.target % 1 === 0 ? 0 : 1);
  return `<p class="muted">${escapeHtml(p.uptimeVsTarget(fmt.percent(u.uptime), p.window(h?.window ?? 'all'), target, u.met))}</p>`;
}

function systemsSection(ctx: CollectorContext, hist: HistorySnapshot, lang: Lang, fmt: Formats): string {
  const t = TEXT[lang];
  const p = PORTAL_TEXT[lang];
  const model = ctx.model();
  const names = new Map(model.systems.map((s) => [s.id, s.name]));
  const q = lang === 'en' ? '?lang=en' : '';
  const items = model.systems.map((s) => {
    const st = ctx.tracker.get(s.id);
    const status: Status = st?.status ?? 'unknown';
    const causes = (st?.cause ?? []).map((id) => names.get(id) ?? id);
    const cause = causes.length === 0 ? '' : `<p>${escapeHtml(t.affectedBy(causes.join(', ')))}</p>`;
    const slowState = ctx.tracker.slowState(s.id);
    const slow =
      slowState?.firing === true && s.response_time !== undefined && slowState.value !== undefined
        ? `<p class="notice">${escapeHtml(p.slow(fmt.ms(slowState.value), fmt.ms(s.response_time.slow)))}</p>`
        : '';
    const since = st === undefined ? '' : `<span class="since">${t.since} ${escapeHtml(fmt.dateTime(st.since))}</span>`;
    return `<li class="sys" data-system="${escapeHtml(s.id)}"><div class="head"><h3><a href="/systems/${encodeURIComponent(s.id)}${q}">${escapeHtml(s.name)}</a></h3><div>${statusBadge(status, lang)} ${since}</div></div>
${cause}${slow}${historyBar(hist.systems.get(s.id), lang, fmt)}${uptimeLine(hist.systems.get(s.id), lang, fmt)}</li>`;
  });
  const legend = `<ul class="legend" aria-label="${lang === 'da' ? 'Forklaring' : 'Legend'}"><li><i></i>${p.legend.ok}</li><li><i class="m"></i>${p.legend.minor}</li><li><i class="d"></i>${p.legend.major}</li><li><i class="w"></i>${p.legend.maintenance}</li><li><i class="n"></i>${p.legend.none}</li></ul>`;
  return `<section id="systems" aria-labelledby="h-systems"><h2 id="h-systems">${p.systems}</h2>\n<ul class="systems">\n${items.join('\n')}\n</ul>\n${legend}</section>`;
}

function pastIncidents(ctx: CollectorContext, hist: HistorySnapshot, lang: Lang, fmt: Formats): string {
  const p = PORTAL_TEXT[lang];
  const t = TEXT[lang];
  const names = new Map(ctx.model().systems.map((s) => [s.id, s.name]));
  const items = hist.resolved.slice(0, 10).map((i) => {
    const others = i.affected.filter((id) => id !== i.system).map((id) => names.get(id) ?? id);
    const affects = others.length === 0 ? '' : `; ${t.affects(others.join(', '))}`;
    const took = i.resolved_at === null ? '' : `, ${p.resolvedAfter(fmt.duration((i.resolved_at - i.started_at) / 1000))}`;
    return `<li data-key="past-incident-${i.id}"><strong>${escapeHtml(t.incident(names.get(i.system) ?? i.system, i.peak_priority))}</strong>${escapeHtml(affects)}. <span class="since">${escapeHtml(fmt.dateTime(i.started_at))}${escapeHtml(took)}</span></li>`;
  });
  const body = items.length === 0 ? `<p class="muted">${p.noPastIncidents}</p>` : `<ul>${items.join('\n')}</ul>`;
  return `<section id="history" aria-labelledby="h-history"><h2 id="h-history">${p.pastIncidents}</h2>\n${body}</section>`;
}

export function renderStatusPage(
  ctx: CollectorContext,
  hist: HistorySnapshot,
  lang: Lang,
  opts: { refreshMs?: number; announcements?: readonly Announcement[] } = {},
): string {
  const model = ctx.model();
  const fmt = formats(lang, model.config.collector.timezone);
  const names = new Map(model.systems.map((s) => [s.id, s.name]));
  const version = statusVersion(model.systems.map((s) => ({ id: s.id, ...(ctx.tracker.get(s.id) ?? { status: 'unknown', cause: [] }) })));
  const body = [
    summary(ctx, lang),
    incidentsSection(ctx, lang, fmt),
    maintenanceSection(ctx, lang, fmt),
    announcementsSection(opts.announcements ?? [], names, lang, fmt),
    systemsSection(ctx, hist, lang, fmt),
    pastIncidents(ctx, hist, lang, fmt),
  ].join('\n');
  return page({
    lang,
    title: PORTAL_TEXT[lang].title,
    path: '/',
    body,
    updatedAt: ctx.tracker.updatedAt,
    fmt,
    tail: LIVE_SCRIPT({ version, lang, timezone: model.config.collector.timezone, everyMs: opts.refreshMs ?? 5_000 }),
  });
}

/** Announcements shown: of the last two weeks, and planned for the next two months. */
const ANNOUNCED_PAST_MS = 14 * 86_400_000;
const ANNOUNCED_AHEAD_MS = 60 * 86_400_000;

/** The same page is asked for many times a second by many readers: kept for a second. */
const RENDER_TTL_MS = 1_000;

export function portalRoutes(router: Router, ctx: CollectorContext): void {
  const history = new PortalHistory();
  const rendered = new Map<string, { at: number; key: string; html: string; gzip: Buffer | undefined }>();
  const snapshot = (): Promise<HistorySnapshot> => {
    const model = ctx.model();
    const now = ctx.clock.now();
    return history.get(() => readHistory(ctx.store, model.systems, model.config.collector.timezone, now), now, model.revision);
  };

  router.get('/', async (req, res, { url }) => {
    const lang = pickLang(url, req);
    // ?refresh=N: the live check every N seconds (kiosks, tests); default 5.
    const asked = Number(url.searchParams.get('refresh') ?? '5');
    const refreshMs = Number.isInteger(asked) && asked >= 1 && asked <= 300 ? asked * 1000 : 5_000;
    const hist = await snapshot();
    const model = ctx.model();
    // What the page shows besides the clock: a change renders at once, the clock once a second.
    const open = ctx.tracker.incidents.open();
    const key = [
      model.revision,
      hist.at,
      statusVersion(model.systems.map((s) => ({ id: s.id, ...(ctx.tracker.get(s.id) ?? { status: 'unknown', cause: [] }) }))),
      open.map((i) => `${i.id}:${i.updates.length}`).join(),
      ctx.maintenance.list(ctx.clock.now()).map((w) => `${w.id}:${w.state}`).join(),
    ].join(' ');
    const slot = `${lang} ${refreshMs}`;
    let cached = rendered.get(slot);
    if (cached === undefined || cached.key !== key || performance.now() - cached.at >= RENDER_TTL_MS) {
      const now = ctx.clock.now();
      const announcements = await recentAnnouncements(ctx.store, { from: now - ANNOUNCED_PAST_MS, to: now + ANNOUNCED_AHEAD_MS, limit: 10 });
      const html = renderStatusPage(ctx, hist, lang, { refreshMs, announcements });
      cached = { at: performance.now(), key, html, gzip: undefined };
      rendered.set(slot, cached);
    }
    const headers = { 'Content-Language': lang, Vary: 'Accept-Language, Accept-Encoding' };
    // Compressed once per render, not per request: a tenth of the bytes for every reader.
    if (acceptsGzip(req)) {
      cached.gzip ??= gzipSync(cached.html, { level: 6 });
      send(res, 200, cached.gzip, 'text/html; charset=utf-8', { ...headers, 'Content-Encoding': 'gzip' });
    } else send(res, 200, cached.html, 'text/html; charset=utf-8', headers);
  });

  systemPageRoutes(router, ctx);
}
