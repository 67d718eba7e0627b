// GET /: a minimal server-rendered status page (the full portal is a later issue). Danish by
// default, ?lang=en for English; times in the configured timezone; reloads itself every 30 s.
import type { CollectorContext } from '../context.js';
import { send } from '../http.js';
import type { Router } from '../server.js';
import type { Status } from '../status/types.js';
import { STATUS_COLOUR, STATUS_LABEL, STATUS_SYMBOL, TEXT, type Lang } from './labels.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);

/** A formatter for the configured timezone; falls back to UTC when the zone is unknown. */
function timeFormat(lang: Lang, timeZone: string): Intl.DateTimeFormat {
  const locale = lang === 'da' ? 'da-DK' : 'en-GB';
  try {
    return new Intl.DateTimeFormat(locale, { timeZone, dateStyle: 'long', timeStyle: 'medium' });
  } catch {
    return new Intl.DateTimeFormat(locale, { timeZone: 'UTC', dateStyle: 'long', timeStyle: 'medium', timeZoneName: 'short' });
  }
}

export function renderStatusPage(ctx: CollectorContext, lang: Lang): string {
  const t = TEXT[lang];
  const labels = STATUS_LABEL[lang];
  const model = ctx.model();
  const fmt = timeFormat(lang, model.config.collector.timezone);
  const names = new Map(model.systems.map((s) => [s.id, s.name]));
  const rows = model.systems.map((s) => {
    const st = ctx.tracker.get(s.id);
    const status: Status = st?.status ?? 'unknown';
    const name = s.url === undefined ? escapeHtml(s.name) : `<a href="${escapeHtml(s.url)}">${escapeHtml(s.name)}</a>`;
    const since = st === undefined ? '' : `<span class="since">${t.since} ${escapeHtml(fmt.format(st.since))}</span>`;
    const causes = (st?.cause ?? []).map((id) => names.get(id) ?? id);
    const cause = causes.length === 0 ? '' : ` <span class="cause">${escapeHtml(t.affectedBy(causes.join(', ')))}</span>`;
    return `<tr><th scope="row">${name}</th><td class="st" style="color:${STATUS_COLOUR[status]}"><span aria-hidden="true">${STATUS_SYMBOL[status]}</span> <strong>${escapeHtml(labels[status])}</strong>${cause} ${since}</td></tr>`;
  });
  const statuses = model.systems.map((s) => ctx.tracker.get(s.id)?.status ?? 'unknown');
  const problems = statuses.filter((s) => s !== 'operational' && s !== 'unknown' && s !== 'under_maintenance').length;
  const maintenance = statuses.filter((s) => s === 'under_maintenance').length;
  const summary =
    statuses.length === 0
      ? t.none
      : problems > 0
        ? t.someProblems(problems)
        : maintenance > 0
          ? t.someMaintenance(maintenance)
          : statuses.includes('unknown')
            ? t.someUnknown
            : t.allOk;
  const summaryStatus: Status =
    problems > 0 ? 'major_outage' : maintenance > 0 ? 'under_maintenance' : statuses.includes('unknown') ? 'unknown' : 'operational';
  // Open incidents, most urgent first: one per root cause, naming what it affects.
  const incidents = ctx.tracker.incidents
    .open()
    .sort((a, b) => a.priority - b.priority || a.started_at - b.started_at)
    .map((i) => {
      const others = i.affected.filter((id) => id !== i.system).map((id) => names.get(id) ?? id);
      const affects = others.length === 0 ? '' : ` <span class="cause">${escapeHtml(t.affects(others.join(', ')))}</span>`;
      return `<li><strong>${escapeHtml(t.incident(names.get(i.system) ?? i.system, i.priority))}</strong>: ${escapeHtml(labels[i.status])}${affects} <span class="since">${t.since} ${escapeHtml(fmt.format(i.started_at))}</span></li>`;
    });
  const incidentList = incidents.length === 0 ? '' : `<section><h2>${t.incidents}</h2><ul class="incidents">${incidents.join('\n')}</ul></section>\n`;
  const other = lang === 'da' ? '?lang=en' : '?lang=da';
  return `<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="30">
<title>${t.title}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:48rem;padding:1.5rem;color:#1f2328;background:#fff}
h1{font-size:1.6rem;margin:0 0 .5rem}
.summary{font-size:1.15rem;font-weight:600;padding:.75rem 1rem;border-left:.4rem solid;background:#f6f8fa;margin:1rem 0}
table{width:100%;border-collapse:collapse}
th,td{text-align:left;padding:.6rem .4rem;border-bottom:1px solid #d0d7de;vertical-align:top}
th[scope=row]{font-weight:500}
.since{display:block;color:#59636e;font-size:.85rem;font-weight:400}
.cause{color:#1f2328;font-weight:400}
a{color:#0550ae}
h2{font-size:1.15rem;margin:1rem 0 .5rem}
.incidents{padding-left:1.2rem;margin:0 0 1rem}
.incidents li{margin:.3rem 0}
footer{margin-top:1.5rem;color:#59636e;font-size:.9rem;display:flex;justify-content:space-between}
</style>
</head>
<body>
<main>
<h1>${t.title}</h1>
<p class="summary" style="border-color:${STATUS_COLOUR[summaryStatus]}">${escapeHtml(summary)}</p>
${incidentList}<table>
<thead><tr><th scope="col">${t.system}</th><th scope="col">${t.status}</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
</main>
<footer><span>${t.updated} <time datetime="${new Date(ctx.tracker.updatedAt).toISOString()}">${escapeHtml(fmt.format(ctx.tracker.updatedAt))}</time></span><a href="${other}" lang="${lang === 'da' ? 'en' : 'da'}">${t.other}</a></footer>
</body>
</html>
`;
}

export function portalRoutes(router: Router, ctx: CollectorContext): void {
  router.get('/', (_req, res, { url }) => {
    const lang: Lang = url.searchParams.get('lang') === 'en' ? 'en' : 'da';
    send(res, 200, renderStatusPage(ctx, lang), 'text/html; charset=utf-8', { 'Content-Language': lang });
  });
}
