// GET /dependencies (the map as a page of the portal, with a text alternative), GET
// /dependencies.svg (the map alone) and the status badges. Danish by default, English by ?lang=en
// (and, for the page, as the portal's others, by Accept-Language).
import type { Impact } from '../../config/schema.js';
import type { CollectorContext } from '../context.js';
import type { Model } from '../model.js';
import { send } from '../http.js';
import { badParameter } from '../api/params.js';
import type { Router } from '../server.js';
import type { Status } from '../status/types.js';
import { SVG_CSP, SVG_TYPE, badgeRoutes } from './badge.js';
import { IMPACT_STROKE, LayoutCache, MAP_TEXT, STATUS_FILL, dependencyEdges, renderMapSvg, strokeAttrs } from './dependency-map.js';
import { STATUS_COLOUR, STATUS_LABEL, STATUS_SYMBOL, TEXT, type Lang } from './labels.js';
import { pickLang } from './lang.js';
import { escapeHtml, formats, page, statusStyle } from './layout.js';

/**
 * For the SVGs: `?lang=en` or `?lang=da` (the default), nothing else; an image has no browser
 * language to speak of (a proxy fetches it for many readers). Other parameters are ignored: links to these pages and
 * badges pick up tracking and cache-busting parameters that must not break them.
 */
export function langParam(q: URLSearchParams): Lang {
  const all = q.getAll('lang');
  if (all.length === 0) return 'da';
  if (all.length > 1) throw badParameter('lang', 'given more than once');
  if (all[0] === 'da' || all[0] === 'en') return all[0];
  throw badParameter('lang', 'expected "da" or "en"');
}

const PAGE_TEXT = {
  da: {
    intro:
      'Kortet viser, hvilke systemer der afhænger af hvilke. En pil går fra et system til det system, det afhænger af, og stregen viser, hvor meget et nedbrud slår igennem. Hvert system er farvet efter den status, brugerne oplever; når et system er nede, er de pile fremhævet i dets farve, hvor nedbruddet slår igennem. Vælg et system for at se detaljer.',
    legend: 'Signaturforklaring',
    lines: 'Afhængigheder',
    textAlt: 'Systemer og afhængigheder som tekst',
    skip: 'Gå til tekstversionen',
    dependsOn: 'Afhænger af',
    usedBy: 'Bruges af',
    none: 'Ingen',
    back: 'Alle systemer',
    svg: 'Kortet som SVG',
  },
  en: {
    intro:
      'The map shows which systems depend on which. An arrow goes from a system to the system it depends on, and the line shows how much an outage carries through. Each system is coloured by the status its users see; when a system is down, the arrows along which its outage carries through are highlighted in its colour. Choose a system for details.',
    legend: 'Legend',
    lines: 'Dependencies',
    textAlt: 'Systems and dependencies as text',
    skip: 'Skip to the text version',
    dependsOn: 'Depends on',
    usedBy: 'Used by',
    none: 'None',
    back: 'All systems',
    svg: 'The map as SVG',
  },
} as const;

/** A short line in the style of an impact, with an arrowhead, for the HTML legend. */
function lineSample(impact: Impact, colour = '#424a53'): string {
  return `<svg class="sample" width="44" height="14" viewBox="0 0 44 14" aria-hidden="true" focusable="false"><path d="M2 7 L34 7" fill="none" ${strokeAttrs(impact, colour)}/><path d="M33 2 L42 7 L33 12 z" fill="${colour}"/></svg>`;
}

function legendHtml(lang: Lang): string {
  const t = PAGE_TEXT[lang];
  const m = MAP_TEXT[lang];
  const impacts = (Object.keys(IMPACT_STROKE) as Impact[]).map((i) => `<li>${lineSample(i)} ${escapeHtml(m.impactLegend[i])}</li>`);
  impacts.push(`<li>${lineSample('critical', STATUS_COLOUR.major_outage)} ${escapeHtml(m.downEdge)}</li>`);
  const statuses = (Object.keys(STATUS_LABEL[lang]) as Status[]).map(
    (s) =>
      `<li><span class="swatch" style="background:${STATUS_FILL[s]};border-color:${STATUS_COLOUR[s]}" aria-hidden="true"></span> <span aria-hidden="true">${STATUS_SYMBOL[s]}</span> ${escapeHtml(STATUS_LABEL[lang][s])}</li>`,
  );
  return `<section class="map-legend" aria-labelledby="h-legend"><h2 id="h-legend">${t.legend}</h2>
<div class="cols"><div><h3>${t.lines}</h3><ul>${impacts.join('')}</ul><p><em>${escapeHtml(m.arrow)}.</em></p></div>
<div><h3>${m.statuses}</h3><ul>${statuses.join('')}</ul></div></div></section>`;
}

// The map's own styles, beside the portal's shared ones (layout.ts); kept small, and in the page.
const MAP_CSS = `.map{overflow-x:auto;border:1px solid var(--line);border-radius:6px;margin:1rem 0}
.map svg{display:block}
.map a:hover rect,.map a:focus rect{stroke-width:4}
.map a:focus{outline:none}.map a:focus-visible rect{stroke:#0969da}
.map-legend ul{list-style:none;padding:0;margin:0}
.map-legend li{display:flex;align-items:center;gap:.4rem;margin:.2rem 0}
.map-legend .cols{display:flex;flex-wrap:wrap;gap:0 3rem}
.swatch{display:inline-block;width:1.1rem;height:.8rem;border:2px solid;border-radius:3px}
.deps{min-width:34rem}.deps td{overflow-wrap:normal}.deps td ul{margin:0;padding-left:1.1rem}
.deps .cause{display:block;font-weight:400;color:var(--muted);font-size:.9rem;white-space:normal}`;

export function renderMapPage(ctx: CollectorContext, model: Model, lang: Lang, svg: string, natural: { width: number }): string {
  const t = PAGE_TEXT[lang];
  const m = MAP_TEXT[lang];
  const labels = STATUS_LABEL[lang];
  const fmt = formats(lang, model.config.collector.timezone);
  const names = new Map(model.systems.map((s) => [s.id, s.name]));
  const edges = dependencyEdges(model.systems);
  const q = lang === 'en' ? '?lang=en' : '';
  const link = (id: string): string =>
    `<a href="/systems/${escapeHtml(encodeURIComponent(id))}${q}">${escapeHtml(names.get(id) ?? id)}</a>`;
  const list = (items: { id: string; impact: Impact }[]): string =>
    items.length === 0
      ? `<span class="muted">${t.none}</span>`
      : `<ul>${items.map((d) => `<li>${link(d.id)} <span class="muted">(${m.impact[d.impact]})</span></li>`).join('')}</ul>`;
  const rows = model.systems.map((s) => {
    const st = ctx.tracker.get(s.id);
    const status: Status = st?.status ?? 'unknown';
    const causes = (st?.cause ?? []).map((id) => names.get(id) ?? id);
    const cause = causes.length === 0 ? '' : ` <span class="cause">${escapeHtml(TEXT[lang].affectedBy(causes.join(', ')))}</span>`;
    const deps = edges.filter((e) => e.from === s.id).map((e) => ({ id: e.to, impact: e.impact }));
    const users = edges.filter((e) => e.to === s.id).map((e) => ({ id: e.from, impact: e.impact }));
    return `<tr data-system="${escapeHtml(s.id)}"><th scope="row">${link(s.id)}</th><td><span class="st" style="${statusStyle(status)}"><span aria-hidden="true">${STATUS_SYMBOL[status]}</span> ${escapeHtml(labels[status])}</span>${cause}</td><td>${list(deps)}</td><td>${list(users)}</td></tr>`;
  });
  const table =
    model.systems.length === 0
      ? `<p>${escapeHtml(m.none)}</p>`
      : `<div class="table"><table class="deps">
<thead><tr><th scope="col">${TEXT[lang].system}</th><th scope="col">${TEXT[lang].status}</th><th scope="col">${t.dependsOn}</th><th scope="col">${t.usedBy}</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table></div>`;
  // Never smaller than 70 % of its natural size: a large map scrolls sideways rather than shrink
  // into unreadable text (the table below is there for reading).
  const w = Math.max(natural.width, 1);
  const sized = svg.replace('<svg ', `<svg style="width:100%;height:auto;max-width:${w}px;min-width:${Math.round(w * 0.7)}px" `);
  const body = `<p><a href="/${q}">← ${t.back}</a></p>
<h2 style="font-size:1.5rem">${m.title}</h2>
<p>${escapeHtml(t.intro)} <a href="#h-text">${t.skip}</a>.</p>
<figure class="map" style="margin:1rem 0">
${sized.trimEnd()}
</figure>
${legendHtml(lang)}
<section aria-labelledby="h-text"><h2 id="h-text">${t.textAlt}</h2>
${table}
</section>
<p><a href="/dependencies.svg${q}">${t.svg}</a></p>`;
  return page({ lang, title: `${m.title} – ${TEXT[lang].title}`, path: '/dependencies', body, updatedAt: ctx.tracker.updatedAt, fmt, css: MAP_CSS });
}

export function mapRoutes(router: Router, ctx: CollectorContext): void {
  const layouts = new LayoutCache();
  const statusOf = (id: string): ReturnType<typeof ctx.tracker.get> => ctx.tracker.get(id);

  router.get('/dependencies.svg', async (_req, res, { url }) => {
    const lang = langParam(url.searchParams);
    const model = ctx.model();
    const layout = await layouts.get(model);
    const svg = renderMapSvg(layout, model.systems, { lang, statusOf, role: 'img', legend: true });
    // Live data, never cached; inert when opened on its own. Cross-origin reads are cors.ts's call.
    send(res, 200, svg, SVG_TYPE, { 'Content-Security-Policy': SVG_CSP, 'Content-Language': lang });
  });

  // The page picks its language as the portal's other pages do (?lang, else Accept-Language).
  router.get('/dependencies', async (req, res, { url }) => {
    const lang = pickLang(url, req);
    const model = ctx.model();
    const layout = await layouts.get(model);
    const svg = renderMapSvg(layout, model.systems, { lang, statusOf, role: 'group', legend: false });
    const width = layout.nodes.length === 0 ? 320 : layout.width;
    send(res, 200, renderMapPage(ctx, model, lang, svg, { width }), 'text/html; charset=utf-8', {
      'Content-Language': lang,
      Vary: 'Accept-Language',
    });
  });

  badgeRoutes(router, ctx, langParam);
}
