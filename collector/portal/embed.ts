// The small status box that authorities put in their own pages ("Driftsstatus · Opdateret kl.
// 08:08 · Alle systemer kører · Læs mere"): its words, its view of the status and its CSS, used
// here to render GET /embed (an iframe-able page that reads without JavaScript) and injected by
// widget.ts into /widget.js, which draws the same box in the browser. The browser script repeats
// boxView() in plain JavaScript; the browser test compares the two.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { onlyParams } from '../api/params.js';
import type { CollectorContext } from '../context.js';
import { HttpError, send } from '../http.js';
import type { RouteContext } from '../server.js';
import { STATUSES, type Status } from '../status/types.js';
import { STATUS_COLOUR, STATUS_LABEL, STATUS_SYMBOL, TEXT, type Lang } from './labels.js';
import { escapeHtml } from './page.js';

/** The overall box shows the first of these that any system has. */
export const SEVERITY: readonly Status[] = [
  'major_outage',
  'partial_outage',
  'degraded_performance',
  'under_maintenance',
  'unknown',
  'operational',
];

/** A counted phrase as [one, many with {n}], so the browser needs no function from labels.ts. */
const counted = (f: (n: number) => string): [string, string] => [f(1), f(7).replace('7', '{n}')];

/** Everything the box says in one language; placeholders {t} (a time), {x} (names), {id}. */
export function boxText(lang: Lang) {
  const t = TEXT[lang];
  return {
    title: t.title,
    updated: lang === 'da' ? `${t.updated} kl. {t}` : `${t.updated} {t}`,
    label: STATUS_LABEL[lang],
    allOk: t.allOk,
    someProblems: counted(t.someProblems),
    someMaintenance: counted(t.someMaintenance),
    someUnknown: t.someUnknown,
    none: t.none,
    affectedBy: t.affectedBy('{x}'),
    readMore: lang === 'da' ? 'Læs mere' : 'Read more',
    unavailable: lang === 'da' ? 'Status kunne ikke hentes' : 'Status unavailable',
    noSystem: lang === 'da' ? 'Der er intet system med id "{id}".' : 'There is no system with id "{id}".',
  };
}
export type BoxText = ReturnType<typeof boxText>;

/** The box's CSS, self-contained: in /widget.js it lives in a shadow root, so nothing inherits. */
export const BOX_CSS = [
  '.vagt-box{all:initial;display:inline-flex;flex-wrap:wrap;align-items:baseline;max-width:100%;padding:6px 10px;border:1px solid #d0d7de;border-radius:6px;background:#fff;color:#1f2328;font:14px/1.45 system-ui,"Segoe UI",Roboto,sans-serif}',
  // The dots are decoration: alt text "" keeps them out of what a screen reader says.
  '.vagt-box>*+*::before{content:"\\b7";content:"\\b7"/"";display:inline-block;margin:0 6px;color:#59636e;font-weight:400}',
  '.vagt-box [hidden]{display:none!important}',
  '.title,.st{font-weight:600}',
  '.more{color:#0550ae;text-decoration:underline}',
  '.more:focus-visible{outline:2px solid #0550ae;outline-offset:2px}',
  ...STATUSES.map((s) => `.s-${s}{color:${STATUS_COLOUR[s]}}`),
].join('');

export interface BoxSystem {
  id: string;
  name: string;
  status: Status;
  cause: string[];
}

export interface BoxView {
  status: Status;
  text: string;
}

/** What the box says about the systems (the shape of /api/v1/status), or about one of them. */
export function boxView(systems: readonly BoxSystem[], t: BoxText, system?: string): BoxView {
  const names = new Map(systems.map((s) => [s.id, s.name]));
  if (system !== undefined) {
    const s = systems.find((x) => x.id === system);
    const status = s?.status ?? 'unknown';
    let text = `${s?.name ?? system}: ${t.label[status]}`;
    if (s !== undefined && s.cause.length > 0) text += ` · ${t.affectedBy.replace('{x}', s.cause.map((c) => names.get(c) ?? c).join(', '))}`;
    return { status, text };
  }
  const count = (...st: Status[]): number => systems.filter((s) => st.includes(s.status)).length;
  const plural = (p: [string, string], n: number): string => (n === 1 ? p[0] : p[1].replace('{n}', String(n)));
  const problems = count('major_outage', 'partial_outage', 'degraded_performance');
  const maintenance = count('under_maintenance');
  const text =
    systems.length === 0
      ? t.none
      : problems > 0
        ? plural(t.someProblems, problems)
        : maintenance > 0
          ? plural(t.someMaintenance, maintenance)
          : count('unknown') > 0
            ? t.someUnknown
            : t.allOk;
  return { status: SEVERITY.find((s) => count(s) > 0) ?? 'unknown', text };
}

/** "08:08" in the zone (a 24-hour clock whatever the locale writes); UTC, marked, if the zone is unknown. */
export function clockTime(ms: number, timeZone: string): string {
  const opts: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone };
  let suffix = '';
  let f: Intl.DateTimeFormat;
  try {
    f = new Intl.DateTimeFormat('en-GB', opts);
  } catch {
    f = new Intl.DateTimeFormat('en-GB', { ...opts, timeZone: 'UTC' });
    suffix = ' UTC';
  }
  const part = (type: string): string => f.formatToParts(ms).find((p) => p.type === type)?.value ?? '';
  return `${part('hour')}:${part('minute')}${suffix}`;
}

/** The status page that "Læs mere" opens, relative to the collector's root. */
export function statusPagePath(lang: Lang, system?: string): string {
  return (system === undefined ? './' : `systems/${encodeURIComponent(system)}`) + (lang === 'en' ? '?lang=en' : '');
}

// Refreshes the box in place every minute, child by child, so the live region announces only
// what changed; keeps the last state and says so when a fetch fails. Without JavaScript the
// <noscript> meta refresh reloads the page instead.
const REFRESH_SCRIPT =
  'setInterval(function(){var o=document.getElementById("s");fetch(location.href,{cache:"no-store"}).then(function(r){if(!r.ok)throw 0;return r.text()}).then(function(h){var n=new DOMParser().parseFromString(h,"text/html").getElementById("s"),a=o.children,b=n.children,i;if(a.length!==b.length){o.innerHTML=n.innerHTML;return}for(i=0;i<b.length;i++)if(a[i].outerHTML!==b[i].outerHTML)a[i].outerHTML=b[i].outerHTML}).catch(function(){var e=o.querySelector(".err");e.textContent=o.getAttribute("data-unavailable");e.hidden=false})},60000)';
const EMBED_CSS = `html,body{margin:0;padding:0;background:transparent}\nbody{padding:2px}\n${BOX_CSS}`;
const sha256 = (s: string): string => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;

/** Frameable from anywhere, and nothing else: no X-Frame-Options, only its own script and style. */
export const EMBED_HEADERS: Record<string, string> = {
  'Content-Security-Policy': `default-src 'none'; script-src ${sha256(REFRESH_SCRIPT)}; style-src ${sha256(EMBED_CSS)}; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors *`,
  'Cross-Origin-Resource-Policy': 'cross-origin',
  'Referrer-Policy': 'strict-origin-when-cross-origin',
};

function page(lang: Lang, title: string, body: string, refresh: boolean): string {
  return `<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
${refresh ? '<noscript><meta http-equiv="refresh" content="60"></noscript>\n' : ''}<title>${escapeHtml(title)}</title>
<style>${EMBED_CSS}</style>
</head>
<body>
<main>
${body}
</main>
${refresh ? `<script>${REFRESH_SCRIPT}</script>\n` : ''}</body>
</html>
`;
}

export function renderEmbed(ctx: CollectorContext, lang: Lang, system?: string): string {
  const t = boxText(lang);
  const model = ctx.model();
  // What /api/v1/status says, so the widget and the page agree.
  const systems: BoxSystem[] = model.systems.map((s) => {
    const st = ctx.tracker.get(s.id);
    return { id: s.id, name: s.name, status: st?.status ?? 'unknown', cause: st?.cause ?? [] };
  });
  const v = boxView(systems, t, system);
  const at = ctx.tracker.updatedAt;
  const title = system === undefined ? t.title : `${t.title}: ${model.systemById.get(system)?.name ?? system}`;
  // The same elements, classes and order as the box /widget.js builds.
  const box = `<div class="vagt-box" id="s" role="status" aria-live="polite" aria-atomic="false" data-unavailable="${escapeHtml(t.unavailable)}">
<span class="title">${escapeHtml(t.title)}</span>
<span class="upd" aria-live="off">${escapeHtml(t.updated).replace('{t}', () => `<time datetime="${new Date(at).toISOString()}">${escapeHtml(clockTime(at, model.config.collector.timezone))}</time>`)}</span>
<span class="st s-${v.status}"><span class="sym" aria-hidden="true">${STATUS_SYMBOL[v.status]}</span> <span class="txt">${escapeHtml(v.text)}</span></span>
<span class="err" hidden></span>
<a class="more" href="${escapeHtml(statusPagePath(lang, system))}" target="_top">${escapeHtml(t.readMore)}</a>
</div>`;
  return page(lang, title, box, true);
}

/** A short page in the box's place: the iframe shows why instead of a JSON error. */
function renderProblem(lang: Lang, message: string): string {
  const t = boxText(lang);
  return page(
    lang,
    t.title,
    `<div class="vagt-box" id="s" role="status" data-unavailable="${escapeHtml(t.unavailable)}"><span class="title">${escapeHtml(t.title)}</span><span class="txt">${escapeHtml(message)}</span><span class="err" hidden></span><a class="more" href="${escapeHtml(statusPagePath(lang))}" target="_top">${escapeHtml(t.readMore)}</a></div>`,
    false,
  );
}

/** GET /embed?system=&lang= */
export function serveEmbed(ctx: CollectorContext, _req: IncomingMessage, res: ServerResponse, { url }: RouteContext): void {
  const q = url.searchParams;
  const lang: Lang = q.get('lang') === 'en' ? 'en' : 'da';
  const html = (status: number, body: string): void =>
    send(res, status, body, 'text/html; charset=utf-8', { ...EMBED_HEADERS, 'Content-Language': lang });
  try {
    onlyParams(q, ['system', 'lang']);
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    html(err.status, renderProblem(lang, err.message));
    return;
  }
  // "?system=" (an empty field of a form or template) means every system.
  const system = q.get('system') || undefined;
  if (system !== undefined && !ctx.model().systemById.has(system)) {
    html(404, renderProblem(lang, boxText(lang).noSystem.replace('{id}', system)));
    return;
  }
  html(200, renderEmbed(ctx, lang, system));
}
