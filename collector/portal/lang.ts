// The page's language: `?lang=da|en` first, else the browser's Accept-Language, else Danish.
import type { IncomingMessage } from 'node:http';
import type { Lang } from './labels.js';

/** The first of da and en by the header's preference (q-values honoured); undefined when neither. */
export function fromAcceptLanguage(header: string | undefined): Lang | undefined {
  if (header === undefined) return undefined;
  let best: { lang: Lang; q: number; i: number } | undefined;
  header.split(',').forEach((part, i) => {
    const [tag = '', ...params] = part.trim().toLowerCase().split(';');
    const q = Number(params.find((p) => p.trim().startsWith('q='))?.trim().slice(2) ?? '1');
    const base = tag.split('-')[0];
    const lang: Lang | undefined = base === 'da' ? 'da' : base === 'en' ? 'en' : undefined;
    if (lang === undefined || !(q > 0)) return;
    if (best === undefined || q > best.q) best = { lang, q, i };
  });
  return best?.lang;
}

export function pickLang(url: URL, req: IncomingMessage): Lang {
  const asked = url.searchParams.get('lang');
  if (asked === 'en' || asked === 'da') return asked;
  return fromAcceptLanguage(req.headers['accept-language']) ?? 'da';
}
