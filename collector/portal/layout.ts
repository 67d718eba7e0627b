// The portal's HTML shell: one small stylesheet, a skip link, the navigation, the footer with the
// language switch, and number and date formats per language in the collector's timezone.
import { STATUS_COLOUR, type Lang } from './labels.js';
import { PORTAL_TEXT } from './texts.js';
import type { Status } from '../status/types.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);

export interface Formats {
  lang: Lang;
  /** "1. december 2026 kl. 08.08.12" */
  dateTime(ms: number): string;
  /** "1. dec. 2026" */
  date(ms: number): string;
  /** "08.08" */
  time(ms: number): string;
  /** "99,95 %" */
  percent(v: number, digits?: number): string;
  /** "1 t 5 min" / "1 h 5 min" */
  duration(seconds: number): string;
  /** A response time: "420 ms", "2,5 s". */
  ms(ms: number): string;
}

const cache = new Map<string, Formats>();
const numberFormats = new Map<string, Intl.NumberFormat>();

/** toLocaleString builds a formatter per call: a page of 50 systems called it thousands of times. */
function numberFormat(locale: string, digits: number): Intl.NumberFormat {
  const key = `${locale} ${digits}`;
  let f = numberFormats.get(key);
  if (f === undefined) {
    f = new Intl.NumberFormat(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits });
    numberFormats.set(key, f);
  }
  return f;
}

export function formats(lang: Lang, timeZone: string): Formats {
  const key = `${lang} ${timeZone}`;
  let f = cache.get(key);
  if (f !== undefined) return f;
  const locale = lang === 'da' ? 'da-DK' : 'en-GB';
  const make = (o: Intl.DateTimeFormatOptions): Intl.DateTimeFormat => {
    try {
      return new Intl.DateTimeFormat(locale, { timeZone, ...o });
    } catch {
      return new Intl.DateTimeFormat(locale, { timeZone: 'UTC', timeZoneName: 'short', ...o });
    }
  };
  const dt = make({ dateStyle: 'long', timeStyle: 'short' });
  const d = make({ day: 'numeric', month: 'short', year: 'numeric' });
  const t = make({ hour: '2-digit', minute: '2-digit' });
  const h = lang === 'da' ? 't' : 'h';
  f = {
    lang,
    dateTime: (ms) => dt.format(ms),
    date: (ms) => d.format(ms),
    time: (ms) => t.format(ms),
    percent: (v, digits = 2) => `${numberFormat(locale, digits).format(v)} %`,
    duration: (s) => {
      const m = Math.round(s / 60);
      if (s < 60) return `${Math.round(s)} s`;
      if (m < 60) return `${m} min`;
      const hours = Math.floor(m / 60);
      if (hours < 48) return m % 60 === 0 ? `${hours} ${h}` : `${hours} ${h} ${m % 60} min`;
      return `${Math.round(hours / 24)} ${lang === 'da' ? 'dage' : 'days'}`;
    },
    ms: (v) => (v < 1000 ? `${Math.round(v)} ms` : `${numberFormat(locale, v < 10_000 ? 1 : 0).format(v / 1000)} s`),
  };
  cache.set(key, f);
  return f;
}

const CSS = `
:root{--fg:#1f2328;--muted:#59636e;--line:#d0d7de;--bg:#fff;--soft:#f6f8fa;--link:#0550ae}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:var(--fg);background:var(--bg);line-height:1.45}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem;z-index:2}
header,main,footer{max-width:56rem;margin:0 auto;padding:0 1rem}
header{display:flex;flex-wrap:wrap;align-items:baseline;justify-content:space-between;gap:.5rem;padding-top:1.2rem}
header h1{font-size:1.6rem;margin:0}header h1 a{color:inherit;text-decoration:none}
nav ul{list-style:none;display:flex;flex-wrap:wrap;gap:1rem;margin:0;padding:0}
a{color:var(--link)}a:focus-visible,button:focus-visible{outline:3px solid #0969da;outline-offset:2px}
h2{font-size:1.2rem;margin:1.6rem 0 .6rem}h3{font-size:1.05rem;margin:0}
.summary{font-size:1.15rem;font-weight:600;padding:.8rem 1rem;border-left:.45rem solid;background:var(--soft);margin:1rem 0}
.st{font-weight:600;white-space:nowrap}
.card{border:1px solid var(--line);border-radius:6px;padding:.8rem 1rem;margin:.6rem 0}
.card p{margin:.25rem 0}
.muted,.since{color:var(--muted);font-size:.9rem}
.systems{list-style:none;margin:0;padding:0}
.sys{border-bottom:1px solid var(--line);padding:.9rem 0}
.sys .head{display:flex;justify-content:space-between;gap:.5rem;flex-wrap:wrap;align-items:baseline}
.notice{color:#8a5a00;font-weight:500}
.bar{display:flex;height:2rem;margin:.5rem 0 .2rem;position:relative}
.bar::after{content:"";position:absolute;inset:0;pointer-events:none;background:repeating-linear-gradient(to right,transparent 0,transparent calc(100%/90 - 2px),#fff calc(100%/90 - 2px),#fff calc(100%/90))}
.bar i{flex:1;background:#2da44e}
.bar i.m{background:#d4a72c}.bar i.d{background:#cf222e}.bar i.w{background:#54aeff}.bar i.n{background:#d0d7de}
.scale{display:flex;justify-content:space-between;gap:.5rem;color:var(--muted);font-size:.85rem}
.legend{display:flex;flex-wrap:wrap;gap:.4rem 1rem;padding:0;list-style:none;color:var(--muted);font-size:.85rem}
.legend i{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;margin-right:.3rem;vertical-align:-1px;background:#2da44e}
.legend i.m{background:#d4a72c}.legend i.d{background:#cf222e}.legend i.w{background:#54aeff}.legend i.n{background:#d0d7de}
table{width:100%;border-collapse:collapse}.table{overflow-x:auto}td{overflow-wrap:anywhere}th,td{text-align:left;padding:.45rem .4rem;border-bottom:1px solid var(--line);vertical-align:top}
.updates{margin:.4rem 0 0;padding-left:1.1rem}
svg.chart{width:100%;height:auto;max-height:16rem}
footer{margin-top:2rem;padding-bottom:2rem;color:var(--muted);font-size:.9rem;display:flex;flex-wrap:wrap;justify-content:space-between;gap:.5rem;border-top:1px solid var(--line);padding-top:1rem}
@media (max-width:40rem){.bar::after{background:repeating-linear-gradient(to right,transparent 0,transparent calc(100%/90 - 1px),#fff calc(100%/90 - 1px),#fff calc(100%/90))}}
`;

export function statusStyle(status: Status): string {
  return `color:${STATUS_COLOUR[status]}`;
}

export function page(opts: {
  lang: Lang;
  title: string;
  /** The path of this page, for the language switch. */
  path: string;
  body: string;
  updatedAt?: number;
  fmt: Formats;
  /** Scripts and data blocks, as HTML, at the end of the body. */
  tail?: string;
  /** The page's own CSS, after the shared stylesheet. */
  css?: string;
}): string {
  const t = PORTAL_TEXT[opts.lang];
  const other: Lang = opts.lang === 'da' ? 'en' : 'da';
  const q = (lang: Lang): string => (lang === 'da' ? '' : '?lang=en');
  const langLink = `${opts.path}?lang=${other}`;
  const updated =
    opts.updatedAt === undefined
      ? ''
      : `<span id="updated">${opts.lang === 'da' ? 'Opdateret' : 'Updated'} <time datetime="${new Date(opts.updatedAt).toISOString()}">${escapeHtml(opts.fmt.dateTime(opts.updatedAt))}</time></span>`;
  return `<!doctype html>
<html lang="${opts.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(opts.title)}</title>
<link rel="alternate" type="application/atom+xml" href="/feed.atom${q(opts.lang)}" title="${escapeHtml(t.title)}">
<style>${CSS}${opts.css ?? ''}</style>
</head>
<body>
<a class="skip" href="#main">${t.skip}</a>
<header><h1><a href="/${q(opts.lang)}">${escapeHtml(t.title)}</a></h1>
<nav aria-label="${opts.lang === 'da' ? 'Hovedmenu' : 'Main'}"><ul><li><a href="/${q(opts.lang)}">${t.nav.status}</a></li><li><a href="/dependencies${q(opts.lang)}">${t.nav.dependencies}</a></li><li><a href="/feed.atom${q(opts.lang)}">${t.nav.feed}</a></li><li><a href="/api/v1/status">${t.nav.api}</a></li><li><a href="${escapeHtml(langLink)}" lang="${other}" hreflang="${other}">${other === 'en' ? 'English' : 'Dansk'}</a></li></ul></nav>
</header>
<main id="main">
${opts.body}
</main>
<footer>${updated}<a href="/subscribe${q(opts.lang)}">${opts.lang === 'da' ? 'Få besked på e-mail' : 'Get updates by e-mail'}</a><span>vagt</span></footer>
${opts.tail ?? ''}
</body>
</html>
`;
}
