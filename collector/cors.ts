// CORS for the read-only, public surface: status pages elsewhere may read the API, the summary, the
// feed, badges and the widget from a browser. Only GET and HEAD, with `*` and never credentials, so
// the admin routes (POST, DELETE, a bearer token) cannot be called cross-origin.
import type { IncomingMessage, ServerResponse } from 'node:http';

const PUBLIC_EXACT: ReadonlySet<string> = new Set(['/api/v2/summary.json', '/feed.atom', '/widget.js']);
const PUBLIC_PREFIXES: readonly string[] = ['/api/v1/', '/badge/'];

export const CORS_METHODS = 'GET, HEAD, OPTIONS';
export const CORS_MAX_AGE_S = 86_400;

/** Request headers a cross-origin reader may send; notably not Authorization or Cookie. */
const SAFE_HEADERS: ReadonlySet<string> = new Set([
  'accept',
  'accept-language',
  'content-language',
  'cache-control',
  'pragma',
  'if-none-match',
  'if-modified-since',
  'x-requested-with',
]);

/** Whether the path is part of the public, read-only surface that other origins may read. */
export function isPublicPath(path: string): boolean {
  return PUBLIC_EXACT.has(path) || PUBLIC_PREFIXES.some((p) => path.startsWith(p) && path.length > p.length);
}

/**
 * Adds CORS headers to the response of a public GET/HEAD, and answers a preflight for one. Returns
 * true when it answered (the request is done); anything else goes on to the router unchanged, so a
 * preflight asking for POST, or for a path that does not answer GET, gets the router's 405/404 and
 * no CORS allowance.
 */
export function applyCors(req: IncomingMessage, res: ServerResponse, path: string, readable: (path: string) => boolean): boolean {
  const method = req.method ?? 'GET';
  if (!isPublicPath(path)) return false;
  if (method === 'GET' || method === 'HEAD') {
    res.setHeader('Access-Control-Allow-Origin', '*');
    return false;
  }
  // Only a path that answers GET is allowed: /api/v1/reload (POST only) gets no preflight.
  if (method !== 'OPTIONS' || !readable(path)) return false;
  const asked = header(req, 'access-control-request-method');
  if (asked !== undefined && asked !== 'GET' && asked !== 'HEAD') return false;
  const requested = (header(req, 'access-control-request-headers') ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => SAFE_HEADERS.has(h));
  const headers: Record<string, string | number> = {
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Methods': CORS_METHODS,
    'Access-Control-Max-Age': CORS_MAX_AGE_S,
    Allow: CORS_METHODS,
    'Cache-Control': 'no-store',
  };
  if (requested.length > 0) headers['Access-Control-Allow-Headers'] = [...new Set(requested)].join(', ');
  res.writeHead(204, headers).end();
  return true;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}
