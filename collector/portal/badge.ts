// GET /badge/{id}.svg: a shields.io-style flat badge, the system's name on the left and its
// perceived status in words (with its symbol) on the right, coloured by the status. Meant for
// <img> in other sites, so an unknown system still gets an image (grey, 404) rather than JSON.
import type { CollectorContext } from '../context.js';
import { HttpError, send } from '../http.js';
import type { Router } from '../server.js';
import type { Status } from '../status/types.js';
import { STATUS_COLOUR, STATUS_LABEL, STATUS_SYMBOL, type Lang } from './labels.js';
import { escapeXml } from './xml.js';


/**
 * Approximate advance width of `text` in Verdana (the badge font; wide enough for the system
 * fonts of the map too) at `px`. Per-class averages rather than a full metrics table: a badge a
 * few pixels too wide is fine, text spilling out of it is not, so the guesses lean wide.
 */
export function textWidth(text: string, px = 11): number {
  let w = 0;
  for (const ch of text) {
    if (ch === ' ') w += 3.9;
    else if ('fijlrt.,:;!|\'()[]'.includes(ch)) w += 4.1;
    else if (ch === 'm' || ch === 'w') w += 10;
    else if (ch === 'M' || ch === 'W') w += 11;
    else if (/[0-9]/.test(ch)) w += 7;
    else if (/\p{Lu}/u.test(ch)) w += 7.6;
    else if (/\p{Ll}/u.test(ch)) w += 6.8;
    else w += 8.5; // symbols (✓ ✕ ⚙ …), punctuation and anything wider
  }
  return (w * px) / 11;
}

export const BADGE_TEXT = {
  da: { unknownSystem: 'ukendt system' },
  en: { unknownSystem: 'unknown system' },
} as const satisfies Record<Lang, Record<string, string>>;

const GREY = '#59636e';
const LEFT_FILL = '#555';
/** Longer names are cut (with an ellipsis): a badge is a label, not a paragraph. */
const MAX_CHARS = 40;

const clip = (s: string): string => {
  const chars = [...s];
  return chars.length <= MAX_CHARS ? s : chars.slice(0, MAX_CHARS - 1).join('') + '…';
};

/** A flat two-part badge; `title` is the accessible name (and the tooltip). */
export function renderBadge(left: string, right: string, colour: string, title: string): string {
  const l = clip(left);
  const r = clip(right);
  const lw = Math.round(textWidth(l) + 12);
  const rw = Math.round(textWidth(r) + 12);
  const w = lw + rw;
  const t = escapeXml(title);
  const text = (x: number, s: string): string =>
    `<text aria-hidden="true" x="${x}" y="15" fill="#010101" fill-opacity=".3">${escapeXml(s)}</text><text x="${x}" y="14">${escapeXml(s)}</text>`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="20" viewBox="0 0 ${w} 20" role="img" aria-label="${t}">` +
    `<title>${t}</title>` +
    `<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>` +
    `<clipPath id="r"><rect width="${w}" height="20" rx="3" fill="#fff"/></clipPath>` +
    `<g clip-path="url(#r)"><rect width="${lw}" height="20" fill="${LEFT_FILL}"/><rect class="status" x="${lw}" width="${rw}" height="20" fill="${colour}"/><rect width="${w}" height="20" fill="url(#s)"/></g>` +
    `<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="11">` +
    text(lw / 2, l) +
    text(lw + rw / 2, r) +
    `</g></svg>\n`
  );
}

/** The badge of a configured system: its name, and its perceived status in words and symbol. */
export function systemBadge(name: string, status: Status, lang: Lang): string {
  const words = STATUS_LABEL[lang][status];
  return renderBadge(name, `${STATUS_SYMBOL[status]} ${words}`, STATUS_COLOUR[status], `${name}: ${words}`);
}

const ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function unknownBadge(id: string, lang: Lang): string {
  const words = BADGE_TEXT[lang].unknownSystem;
  // Echo the id only when it could be one, so the embedder sees which id is wrong.
  const left = ID.test(id) ? id : '?';
  return renderBadge(left, words, GREY, `${left}: ${words}`);
}

/** Headers of an SVG that other sites embed: fetched fresh, readable cross-origin, inert. */
export const SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'";
const SVG_HEADERS: Record<string, string> = {
  'Cache-Control': 'no-cache',
  'Access-Control-Allow-Origin': '*',
  'Content-Security-Policy': SVG_CSP,
};
export const SVG_TYPE = 'image/svg+xml; charset=utf-8';

export function badgeRoutes(router: Router, ctx: CollectorContext, langOf: (q: URLSearchParams) => Lang): void {
  router.get('/badge/:file', (_req, res, { url, params }) => {
    const file = params.file ?? '';
    const lang = langOf(url.searchParams);
    if (!file.endsWith('.svg')) throw new HttpError(404, 'not_found', `badges are at /badge/{id}.svg, not /badge/${file}`);
    const id = file.slice(0, -'.svg'.length);
    const system = ctx.model().systemById.get(id);
    if (system === undefined) {
      send(res, 404, unknownBadge(id, lang), SVG_TYPE, { ...SVG_HEADERS, 'Content-Language': lang });
      return;
    }
    const status = ctx.tracker.get(id)?.status ?? 'unknown';
    send(res, 200, systemBadge(system.name, status, lang), SVG_TYPE, { ...SVG_HEADERS, 'Content-Language': lang });
  });
}
