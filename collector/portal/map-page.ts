// GET /dependencies (the map as a page, with a text alternative), GET /dependencies.svg (the map
// alone) and the status badges. Danish by default, ?lang=en for English.
import type { Impact } from '../../config/schema.js';
import type { CollectorContext } from '../context.js';
import type { Model } from '../model.js';
import { send } from '../http.js';
import { badParameter } from '../api/params.js';
import type { Router } from '../server.js';
import type { Status } from '../status/types.js';
import { SVG_HEADERS, SVG_TYPE, badgeRoutes } from './badge.js';
import { IMPACT_STROKE, LayoutCache, MAP_TEXT, STATUS_FILL, dependencyEdges, renderMapSvg, strokeAttrs } from './dependency-map.js';
import { STATUS_COLOUR, STATUS_LABEL, STATUS_SYMBOL, TEXT, type Lang } from './labels.js';
import { escapeHtml } from './page.js';

/**
 * `?lang=en` or `?lang=da` (the default). Other parameters are ignored: links to these pages and
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
    skip: 'Spring til tekstversionen',
    dependsOn: 'Afhænger af',
    usedBy: 'Bruges af',
    none: 'Ingen',
    back: 'Driftsstatus',
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
    back: 'System status',
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
  return `<div class="legend"><h2>${t.legend}</h2>
<div class="legend-cols"><div><h3>${t.lines}</h3><ul>${impacts.join('')}</ul><p class="note">${escapeHtml(m.arrow)}.</p></div>
<div><h3>${m.statuses}</h3><ul>${statuses.join('')}</ul></div></div></div>`;
}

function updatedAt(ctx: CollectorContext, model: Model, lang: Lang): string {
  const locale = lang === 'da' ? 'da-DK' : 'en-GB';
  let fmt: Intl.DateTimeFormat;
  try {
    fmt = new Intl.DateTimeFormat(locale, { timeZone: model.config.collector.timezone, dateStyle: 'long', timeStyle: 'medium' });
  } catch {
    fmt = new Intl.DateTimeFormat(locale, { timeZone: 'UTC', dateStyle: 'long', timeStyle: 'medium', timeZoneName: 'short' });
  }
  const at = ctx.tracker.updatedAt;
  return `${TEXT[lang].updated} <time datetime="${new Date(at).toISOString()}">${escapeHtml(fmt.format(at))}</time>`;
}

export function renderMapPage(ctx: CollectorContext, model: Model, lang: Lang, svg: string, natural: { width: number }): string {
  const t = PAGE_TEXT[lang];
  const m = MAP_TEXT[lang];
  const labels = STATUS_LABEL[lang];
  const names = new Map(model.systems.map((s) => [s.id, s.name]));
  const edges = dependencyEdges(model.systems);
  const link = (id: string): string => `<a href="/systems/${escapeHtml(encodeURIComponent(id))}">${escapeHtml(names.get(id) ?? id)}</a>`;
  const list = (items: { id: string; impact: Impact }[]): string =>
    items.length === 0
      ? `<span class="none">${t.none}</span>`
      : `<ul>${items.map((d) => `<li>${link(d.id)} <span class="impact">(${m.impact[d.impact]})</span></li>`).join('')}</ul>`;
  const rows = model.systems.map((s) => {
    const st = ctx.tracker.get(s.id);
    const status: Status = st?.status ?? 'unknown';
    const causes = (st?.cause ?? []).map((id) => names.get(id) ?? id);
    const cause = causes.length === 0 ? '' : ` <span class="cause">${escapeHtml(TEXT[lang].affectedBy(causes.join(', ')))}</span>`;
    const deps = edges.filter((e) => e.from === s.id).map((e) => ({ id: e.to, impact: e.impact }));
    const users = edges.filter((e) => e.to === s.id).map((e) => ({ id: e.from, impact: e.impact }));
    return `<tr data-system="${escapeHtml(s.id)}"><th scope="row">${link(s.id)}</th><td class="st"><span style="color:${STATUS_COLOUR[status]}"><span aria-hidden="true">${STATUS_SYMBOL[status]}</span> <strong>${escapeHtml(labels[status])}</strong></span>${cause}</td><td>${list(deps)}</td><td>${list(users)}</td></tr>`;
  });
  const table =
    model.systems.length === 0
      ? `<p>${escapeHtml(m.none)}</p>`
      : `<div class="table-wrap"><table>
<thead><tr><th scope="col">${TEXT[lang].system}</th><th scope="col">${TEXT[lang].status}</th><th scope="col">${t.dependsOn}</th><th scope="col">${t.usedBy}</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table></div>`;
  const other: Lang = lang === 'da' ? 'en' : 'da';
  const q = lang === 'en' ? '?lang=en' : '';
  // Never smaller than 70 % of its natural size: a large map scrolls sideways rather than shrink
  // into unreadable text (the table below is there for reading).
  const w = Math.max(natural.width, 1);
  const sized = svg.replace('<svg ', `<svg style="width:100%;height:auto;max-width:${w}px;min-width:${Math.round(w * 0.7)}px" `);
  return `<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${m.title} – ${TEXT[lang].title}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:72rem;padding:1.5rem;color:#1f2328;background:#fff;line-height:1.45}
a{color:#0550ae}
a:focus-visible{outline:3px solid #0550ae;outline-offset:2px}
.skip{position:absolute;left:-999rem}.skip:focus{position:static}
nav{display:flex;justify-content:space-between;gap:1rem;font-size:.95rem}
h1{font-size:1.6rem;margin:.75rem 0 .5rem}
h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
h3{font-size:1rem;margin:.5rem 0 .25rem}
.intro{max-width:48rem}
.map{overflow-x:auto;border:1px solid #d0d7de;border-radius:.4rem;margin:1rem 0}
.map svg{display:block}
.map a:focus rect,.map a:hover rect{stroke-width:4}
.map a:focus{outline:none}.map a:focus-visible rect{stroke:#0550ae}
.legend ul{list-style:none;padding:0;margin:0}
.legend li{display:flex;align-items:center;gap:.4rem;margin:.2rem 0}
.legend-cols{display:flex;flex-wrap:wrap;gap:0 3rem}
.swatch{display:inline-block;width:1.1rem;height:.8rem;border:2px solid;border-radius:3px}
.note{margin:.3rem 0;font-style:italic}
table{width:100%;border-collapse:collapse}
th,td{text-align:left;padding:.5rem .4rem;border-bottom:1px solid #d0d7de;vertical-align:top}
td ul{margin:0;padding-left:1.1rem}
.cause,.impact,.none{color:#59636e}
.cause{display:block;font-size:.9rem}
.table-wrap{overflow-x:auto}
@media (max-width:36rem){body{padding:1rem}th,td{padding:.4rem .2rem;font-size:.92rem}}
footer{margin-top:1.5rem;color:#59636e;font-size:.9rem;display:flex;flex-wrap:wrap;justify-content:space-between;gap:1rem}
</style>
</head>
<body>
<a class="skip" href="#text">${t.skip}</a>
<nav><a href="/${q}">← ${t.back}</a><a href="?lang=${other}" lang="${other}">${TEXT[lang].other}</a></nav>
<main>
<h1>${m.title}</h1>
<p class="intro">${escapeHtml(t.intro)}</p>
<figure class="map">
${sized.trimEnd()}
</figure>
${legendHtml(lang)}
<h2 id="text">${t.textAlt}</h2>
${table}
</main>
<footer><span>${updatedAt(ctx, model, lang)}</span><a href="/dependencies.svg${q}">${t.svg}</a></footer>
</body>
</html>
`;
}

export function mapRoutes(router: Router, ctx: CollectorContext): void {
  const layouts = new LayoutCache();
  const statusOf = (id: string): ReturnType<typeof ctx.tracker.get> => ctx.tracker.get(id);

  router.get('/dependencies.svg', async (_req, res, { url }) => {
    const lang = langParam(url.searchParams);
    const model = ctx.model();
    const layout = await layouts.get(model);
    const svg = renderMapSvg(layout, model.systems, { lang, statusOf, role: 'img', legend: true });
    send(res, 200, svg, SVG_TYPE, { ...SVG_HEADERS, 'Content-Language': lang });
  });

  router.get('/dependencies', async (_req, res, { url }) => {
    const lang = langParam(url.searchParams);
    const model = ctx.model();
    const layout = await layouts.get(model);
    const svg = renderMapSvg(layout, model.systems, { lang, statusOf, role: 'group', legend: false });
    const width = layout.nodes.length === 0 ? 320 : layout.width;
    send(res, 200, renderMapPage(ctx, model, lang, svg, { width }), 'text/html; charset=utf-8', { 'Content-Language': lang });
  });

  badgeRoutes(router, ctx, langParam);
}
