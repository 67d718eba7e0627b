// The sub-resources a browser loads for an HTML page, found with a real parser (htmlparser2), in
// document order, resolved against <base href>, deduplicated; and what counts as the same site.
import { isIP } from 'node:net';
import { selectAll } from 'css-select';
import { isTag, type AnyNode, type Element } from 'domhandler';
import { parseDocument } from 'htmlparser2';
import { getPublicSuffix } from 'tough-cookie';
import { bareHost } from './net.js';

// Iframes are pages of their own, and <a href> is a link, not a resource.
const SELECTOR = 'base[href], script[src], link[href], img[src], img[srcset], source[src], video[poster]';
const PRELOAD_AS: ReadonlySet<string> = new Set(['script', 'style', 'font', 'image']);

export function pageResources(html: string, pageUrl: URL): URL[] {
  const found = selectAll<AnyNode, Element>(SELECTOR, parseDocument(html)).filter((el) => !inert(el));
  const base = baseUrl(found, pageUrl);
  const seen = new Set<string>();
  const out: URL[] = [];
  const add = (ref: string | undefined): void => {
    const text = ref?.trim() ?? '';
    if (text === '') return; // an empty src is not fetched
    let url: URL;
    try {
      url = new URL(text, base);
    } catch {
      return;
    }
    // data:, blob:, javascript:, about: and the like are not requests.
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return;
    url.hash = ''; // never sent: /a.css and /a.css#x are one request
    if (seen.has(url.href)) return;
    seen.add(url.href);
    out.push(url);
  };
  for (const el of found) {
    const a = el.attribs;
    switch (el.name) {
      case 'script':
        // Browsers that run modules skip nomodule scripts.
        if (a.nomodule === undefined) add(a.src);
        break;
      case 'link':
        if (loadsLink(a)) add(a.href);
        break;
      case 'img':
        add(a.src);
        add(firstCandidate(a.srcset));
        break;
      case 'source':
        add(a.src);
        break;
      case 'video':
        add(a.poster);
        break;
    }
  }
  return out;
}

/** The registrable domain (eTLD+1) of a host; an IP address or a single label is its own site. */
export function siteOf(hostname: string): string {
  const host = bareHost(hostname).toLowerCase().replace(/\.$/, '');
  if (isIP(host) !== 0) return host;
  return getPublicSuffix(host, { allowSpecialUseDomain: true, ignoreError: true }) ?? host;
}

function loadsLink(a: Record<string, string>): boolean {
  const rel = (a.rel ?? '').toLowerCase().split(/\s+/);
  if (rel.includes('stylesheet') || rel.includes('icon') || rel.includes('modulepreload')) return true;
  return rel.includes('preload') && PRELOAD_AS.has((a.as ?? '').trim().toLowerCase());
}

/** The first <base href> that parses as an http(s) URL, else the page's own URL. */
function baseUrl(found: Element[], pageUrl: URL): URL {
  const el = found.find((e) => e.name === 'base');
  const href = el?.attribs.href?.trim();
  if (href === undefined) return pageUrl;
  try {
    const base = new URL(href, pageUrl);
    return base.protocol === 'http:' || base.protocol === 'https:' ? base : pageUrl;
  } catch {
    return pageUrl;
  }
}

/** srcset's first URL, as the HTML spec splits candidates ("a.png 1x, b.png 2x"; URLs may hold commas). */
function firstCandidate(srcset: string | undefined): string | undefined {
  if (srcset === undefined) return undefined;
  const m = /^[\s,]*(\S+)/.exec(srcset);
  return m?.[1]?.replace(/,+$/, '');
}

/** Inside <noscript> (scripting is on) or <template>, nothing is loaded. */
function inert(el: Element): boolean {
  for (let p = el.parent; p !== null; p = p.parent) if (isTag(p) && (p.name === 'noscript' || p.name === 'template')) return true;
  return false;
}
