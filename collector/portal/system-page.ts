// GET /systems/{id}: one system for the public. Its status and why, its service declaration next
// to what was measured, a response-time chart per probe for the last 24 hours, its checks and
// their latest results, its dependencies and its incidents.
import { performance } from 'node:perf_hooks';
import type { SystemConfig } from '../../config/schema.js';
import type { CollectorContext } from '../context.js';
import { send } from '../http.js';
import type { Router } from '../server.js';
import type { Incident } from '../status/incidents.js';
import type { Status } from '../status/types.js';
import { recentAnnouncements } from '../api/announcements.js';
import { readDeclaration } from '../api/declaration.js';
import { probeTarget } from '../api/format.js';
import { responseChart, type ChartPoint } from './chart.js';
import { STATUS_LABEL, STATUS_SYMBOL, TEXT, type Lang } from './labels.js';
import { pickLang } from './lang.js';
import { escapeHtml, formats, page, statusStyle, type Formats } from './layout.js';
import { announcementsSection } from './announcements.js';
import { PORTAL_TEXT } from './texts.js';

const DAY = 86_400_000;
const BUCKET_MS = 15 * 60_000;
const CHART_TTL_MS = 60_000;
/** Results read per probe for its chart at most (a day of 20 agents at 10 s is 172,800). */
const CHART_MAX_RESULTS = 200_000;

/** Nearest rank, as the slowness rules compute it. */
function quantile(sorted: ArrayLike<number>, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
}

export interface SystemCharts {
  at: number;
  from: number;
  to: number;
  /** Probe id -> points, oldest first. */
  probes: Map<string, ChartPoint[]>;
  /** Over the whole day, all probes' successful results. */
  p95: number | undefined;
}

async function readCharts(ctx: CollectorContext, system: SystemConfig, now: number): Promise<SystemCharts> {
  const from = Math.floor((now - DAY) / BUCKET_MS) * BUCKET_MS;
  const probes = new Map<string, ChartPoint[]>();
  const all: number[] = [];
  const model = ctx.model();
  // Response times are our agents' own measurements; a reporter's are not comparable.
  const exclude = [...model.external.keys()];
  for (const p of model.probesBySystem.get(system.id) ?? []) {
    // Only ts and duration of the successful results: from the index alone, without the rows.
    const results = await ctx.store.chartDurations({ system: system.id, probe: p.id, from, to: now, exclude, limit: CHART_MAX_RESULTS });
    const buckets = new Map<number, number[]>();
    for (const r of results) {
      const b = Math.floor(r.ts / BUCKET_MS) * BUCKET_MS;
      let list = buckets.get(b);
      if (list === undefined) buckets.set(b, (list = []));
      list.push(r.duration_ms);
      all.push(r.duration_ms);
    }
    const points = [...buckets]
      .sort((a, b) => a[0] - b[0])
      .map(([at, list]) => {
        // A typed array sorts numbers natively, without a comparator call per comparison.
        const sorted = Float64Array.from(list).sort();
        return { at, p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95) };
      });
    probes.set(p.id, points);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const sorted = Float64Array.from(all).sort();
  return { at: performance.now(), from, to: now, probes, p95: sorted.length === 0 ? undefined : quantile(sorted, 0.95) };
}

function badge(status: Status, lang: Lang): string {
  return `<span class="st" style="${statusStyle(status)}"><span aria-hidden="true">${STATUS_SYMBOL[status]}</span> ${escapeHtml(STATUS_LABEL[lang][status])}</span>`;
}

type Declaration = Awaited<ReturnType<typeof readDeclaration>>;

function declarationTable(decl: Declaration, charts: SystemCharts, lang: Lang, fmt: Formats): string {
  const p = PORTAL_TEXT[lang];
  // A target as declared ("99,7 %"), a measurement to two decimals.
  const declared = (v: number): string => fmt.percent(v, v % 1 === 0 ? 0 : String(v).split('.')[1]?.length ?? 1);
  const ms = (v: number): string => fmt.ms(v);
  const rows = Object.entries(decl.uptime).map(
    ([w, u]) =>
      `<tr><th scope="row">${escapeHtml(p.uptime(w))}</th><td>${u.target === null ? '–' : declared(u.target)}</td><td>${u.uptime === null ? '–' : fmt.percent(u.uptime)}</td><td>${p.met(u.met)}</td></tr>`,
  );
  for (const r of decl.response_time) {
    if (r.declared_ms === null && r.probe !== null) continue;
    // Hourly aggregates lag the hour in progress: a new system falls back to the last 24 hours.
    const recent = r.probe === null && r.measured_ms === null ? charts.p95 : undefined;
    const measured = r.measured_ms ?? recent;
    const met = r.declared_ms === null || measured === undefined ? null : measured <= r.declared_ms;
    const label = r.probe === null ? p.responseTarget : `${p.responseTarget}, ${r.probe}`;
    const note = recent === undefined ? '' : ` <span class="muted">(${lang === 'da' ? '24 t' : '24 h'})</span>`;
    rows.push(
      `<tr><th scope="row">${escapeHtml(label)}</th><td>${r.declared_ms === null ? '–' : `≤ ${ms(r.declared_ms)}`}</td><td>${measured === undefined ? '–' : ms(measured)}${note}</td><td>${p.met(met)}</td></tr>`,
    );
  }
  const dur = (s: number | null): string => (s === null ? '–' : fmt.duration(s));
  const handling = decl.incidents
    .filter((h) => h.priority <= 3 || h.count > 0)
    .map(
      (h) =>
        `<tr><th scope="row">${escapeHtml(p.priority(h.priority))}</th><td>${h.count}</td><td>${dur(h.first_update.median_s)} / ${dur(h.first_update.max_s)}</td><td>${dur(h.resolution.median_s)} / ${dur(h.resolution.max_s)}${
          h.resolution.open > 0 ? ` <span class="muted">(${h.resolution.open} ${lang === 'da' ? 'åbne' : 'open'})</span>` : ''
        }</td></tr>`,
    );
  return `<section aria-labelledby="h-decl"><h2 id="h-decl">${p.declaration}</h2>
<div class="table"><table><thead><tr><th scope="col"></th><th scope="col">${p.declared}</th><th scope="col">${p.measured}</th><th scope="col"></th></tr></thead><tbody>${rows.join('')}</tbody></table></div>
<h3>${p.handling}</h3>
<div class="table"><table><thead><tr><th scope="col">${p.priorityCol}</th><th scope="col">${p.count}</th><th scope="col">${p.firstUpdate}</th><th scope="col">${p.resolution}</th></tr></thead><tbody>${handling.join('')}</tbody></table></div></section>`;
}

function incidentsList(incidents: readonly Incident[], names: ReadonlyMap<string, string>, lang: Lang, fmt: Formats): string {
  const p = PORTAL_TEXT[lang];
  const t = TEXT[lang];
  if (incidents.length === 0) return `<p class="muted">${p.noPastIncidents}</p>`;
  return `<ul>${incidents
    .map((i) => {
      const took = i.resolved_at === null ? ` – ${badge(i.status, lang)}` : `, ${escapeHtml(p.resolvedAfter(fmt.duration((i.resolved_at - i.started_at) / 1000)))}`;
      return `<li><strong>${escapeHtml(t.incident(names.get(i.system) ?? i.system, i.peak_priority))}</strong> <span class="since">${escapeHtml(fmt.dateTime(i.started_at))}</span>${took}</li>`;
    })
    .join('')}</ul>`;
}

export async function renderSystemPage(ctx: CollectorContext, system: SystemConfig, charts: SystemCharts, lang: Lang): Promise<string> {
  const model = ctx.model();
  const tz = model.config.collector.timezone;
  const fmt = formats(lang, tz);
  const p = PORTAL_TEXT[lang];
  const t = TEXT[lang];
  const q = lang === 'en' ? '?lang=en' : '';
  const now = ctx.clock.now();
  const names = new Map(model.systems.map((s) => [s.id, s.name]));
  const st = ctx.tracker.get(system.id);
  const status: Status = st?.status ?? 'unknown';
  const causes = (st?.cause ?? []).map((id) => names.get(id) ?? id);
  const decl = await readDeclaration(ctx, system, now - 30 * DAY, now, now);
  const incidents = await ctx.store.incidents({ system: system.id, from: now - 30 * DAY, limit: 20 });
  const announcements = await recentAnnouncements(ctx.store, { system: system.id, from: now - 30 * DAY, to: now + 60 * DAY, limit: 10 });

  const link = (id: string): string => `<a href="/systems/${encodeURIComponent(id)}${q}">${escapeHtml(names.get(id) ?? id)}</a>`;
  const deps = Object.entries(system.depends_on).map(([id, impact]) => `<li>${link(id)} (${p.impact[impact]}) ${badge(ctx.tracker.get(id)?.status ?? 'unknown', lang)}</li>`);
  const users = model.systems
    .filter((s) => s.depends_on[system.id] !== undefined)
    .map((s) => `<li>${link(s.id)} (${p.impact[s.depends_on[system.id] ?? 'low']})</li>`);

  const probes = model.probesBySystem.get(system.id) ?? [];
  const probeRows = probes.map((pr) => {
    const latest = [...ctx.latest.forProbe(system.id, pr.id)].sort((a, b) => (a.agent < b.agent ? -1 : 1));
    const cells = latest
      .map((r) => `${escapeHtml(r.agent)}: <span style="${statusStyle(r.ok ? 'operational' : 'major_outage')}">${r.ok ? '✓' : '✕'} ${r.ok ? p.passed : p.failed}</span> ${Math.round(r.duration_ms)} ms`)
      .join('<br>');
    const target = probeTarget(pr);
    return `<tr><th scope="row">${escapeHtml(pr.name ?? pr.id)}</th><td>${pr.type}</td><td>${target === null ? '' : escapeHtml(target)}</td><td>${cells === '' ? '–' : cells}</td></tr>`;
  });
  const chartBlocks = probes.map((pr) => {
    const points = charts.probes.get(pr.id) ?? [];
    const title = `<h3>${escapeHtml(pr.name ?? pr.id)}</h3>`;
    if (points.length === 0) return `${title}<p class="muted">${p.noData}</p>`;
    return (
      title +
      responseChart({
        points,
        from: charts.from,
        to: charts.to,
        label: p.chartLabel(pr.name ?? pr.id),
        fmt,
        names: { p50: p.median, p95: p.p95, limit: lang === 'da' ? 'Grænse' : 'Limit' },
        limit: pr.response_time?.slow ?? system.response_time?.slow,
      })
    );
  });

  const body = `<p><a href="/${q}">← ${p.back}</a></p>
<h2 style="font-size:1.5rem">${escapeHtml(system.name)}</h2>
<p class="summary" role="status" style="border-color:currentColor;${statusStyle(status)}"><span aria-hidden="true">${STATUS_SYMBOL[status]}</span> ${escapeHtml(STATUS_LABEL[lang][status])}${
    causes.length === 0 ? '' : ` <span style="color:var(--fg);font-weight:400">– ${escapeHtml(t.affectedBy(causes.join(', ')))}</span>`
  }</p>
${st === undefined ? '' : `<p class="since">${t.since} ${escapeHtml(fmt.dateTime(st.since))}</p>`}
${system.description === undefined ? '' : `<p>${escapeHtml(system.description)}</p>`}
${system.url === undefined ? '' : `<p><a href="${escapeHtml(system.url)}">${escapeHtml(system.url)}</a></p>`}
${announcementsSection(announcements, names, lang, fmt)}
${declarationTable(decl, charts, lang, fmt)}
<section aria-labelledby="h-rt"><h2 id="h-rt">${p.responseTime}</h2><p class="muted">${p.responseTimeNote}</p>
${chartBlocks.join('\n')}</section>
<section aria-labelledby="h-probes"><h2 id="h-probes">${p.probes}</h2>
<div class="table"><table><thead><tr><th scope="col">${p.probe}</th><th scope="col">${p.type}</th><th scope="col">${p.target}</th><th scope="col">${p.latest}</th></tr></thead><tbody>${probeRows.join('')}</tbody></table></div></section>
<section aria-labelledby="h-deps"><h2 id="h-deps">${p.dependencies}</h2>
<h3>${p.dependsOn}</h3>${deps.length === 0 ? `<p class="muted">${p.none}</p>` : `<ul>${deps.join('')}</ul>`}
<h3>${p.dependants}</h3>${users.length === 0 ? `<p class="muted">${p.none}</p>` : `<ul>${users.join('')}</ul>`}</section>
<section aria-labelledby="h-inc"><h2 id="h-inc">${p.incidents}</h2>${incidentsList(incidents, names, lang, fmt)}</section>`;
  return page({ lang, title: `${system.name} – ${p.title}`, path: `/systems/${encodeURIComponent(system.id)}`, body, updatedAt: ctx.tracker.updatedAt, fmt });
}

export function systemPageRoutes(router: Router, ctx: CollectorContext): void {
  const charts = new Map<string, Promise<SystemCharts>>();
  router.get('/systems/:id', async (req, res, { url, params }) => {
    const lang = pickLang(url, req);
    const system = ctx.model().systemById.get(params.id ?? '');
    if (system === undefined) {
      const p = PORTAL_TEXT[lang];
      const fmt = formats(lang, ctx.model().config.collector.timezone);
      const text = lang === 'da' ? 'Systemet findes ikke.' : 'There is no such system.';
      const body = `<h2>${text}</h2><p><a href="/${lang === 'en' ? '?lang=en' : ''}">← ${p.back}</a></p>`;
      send(res, 404, page({ lang, title: `${text} – ${p.title}`, path: url.pathname, body, fmt }), 'text/html; charset=utf-8', { 'Content-Language': lang });
      return;
    }
    let c = charts.get(system.id);
    const cached = c === undefined ? undefined : await c.catch(() => undefined);
    if (cached === undefined || performance.now() - cached.at >= CHART_TTL_MS) {
      c = readCharts(ctx, system, ctx.clock.now());
      charts.set(system.id, c);
      c.catch(() => charts.delete(system.id));
    }
    const html = await renderSystemPage(ctx, system, await c!, lang);
    send(res, 200, html, 'text/html; charset=utf-8', { 'Content-Language': lang, Vary: 'Accept-Language' });
  });
}
