// GET /widget.js, the embeddable status widget, and GET /embed, the same box as a page for an
// iframe (embed.ts). The script's words, colours, symbols and the collector's timezone are
// injected here when it is served, from labels.ts through embed.ts: one source for both.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { CollectorContext } from '../context.js';
import { acceptsGzip, send } from '../http.js';
import type { Router } from '../server.js';
import { STATUS_SYMBOL, type Lang } from './labels.js';
import { BOX_CSS, SEVERITY, boxText, serveEmbed } from './embed.js';
import { CONFIG_PLACEHOLDER, WIDGET_SCRIPT } from './widget-script.js';

/** Foreign pages load it on every view: a few minutes of caching, revalidated by ETag, gzipped. */
const MAX_AGE_S = 300;

function scriptText(lang: Lang) {
  const { noSystem: _unused, ...t } = boxText(lang);
  return t;
}

/** The script with its configuration for a timezone. */
export function widgetScript(timeZone: string): string {
  const config = { tz: timeZone, order: SEVERITY, sym: STATUS_SYMBOL, css: BOX_CSS, da: scriptText('da'), en: scriptText('en') };
  // JSON is JavaScript once "<" (no "</script>" if someone inlines it) and the line separators are escaped.
  const json = JSON.stringify(config).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  return WIDGET_SCRIPT.replace(CONFIG_PLACEHOLDER, () => json);
}

interface Built {
  tz: string;
  plain: Buffer;
  gzip: Buffer;
  etag: string;
}

function build(tz: string): Built {
  const plain = Buffer.from(widgetScript(tz), 'utf8');
  return { tz, plain, gzip: gzipSync(plain, { level: 9 }), etag: createHash('sha256').update(plain).digest('base64url').slice(0, 22) };
}

export function widgetRoutes(router: Router, ctx: CollectorContext): void {
  // The timezone changes only with a reload: build the script once per zone.
  let built: Built | undefined;
  router.get('/widget.js', (req, res) => {
    const tz = ctx.model().config.collector.timezone;
    if (built?.tz !== tz) built = build(tz);
    const gzip = acceptsGzip(req);
    // One ETag per encoding, as the representations differ.
    const etag = `"${built.etag}${gzip ? '-gz' : ''}"`;
    const headers: Record<string, string> = {
      'Cache-Control': `public, max-age=${MAX_AGE_S}`,
      ETag: etag,
      Vary: 'Accept-Encoding',
      'Access-Control-Allow-Origin': '*',
      'Cross-Origin-Resource-Policy': 'cross-origin',
    };
    const match = req.headers['if-none-match'];
    if (match !== undefined && match.split(',').some((m) => m.trim().replace(/^W\//, '') === etag)) {
      res.writeHead(304, headers).end();
      return;
    }
    if (gzip) headers['Content-Encoding'] = 'gzip';
    send(res, 200, gzip ? built.gzip : built.plain, 'text/javascript; charset=utf-8', headers);
  });
  router.get('/embed', (req, res, route) => serveEmbed(ctx, req, res, route));
}
