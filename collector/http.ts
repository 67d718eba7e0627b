// Response helpers shared by the API, the portal and the server: JSON in one shape, errors as
// { error: { code, message } }, and no caching of live data.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

export const NO_STORE = 'no-store';

/** An error a handler throws to answer with a status and a stable code. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;
  readonly extra: Record<string, unknown>;
  constructor(status: number, code: string, message: string, opts: { headers?: Record<string, string>; extra?: Record<string, unknown> } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = opts.headers ?? {};
    this.extra = opts.extra ?? {};
  }
}

export function send(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  contentType: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': NO_STORE,
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(body);
}

/**
 * Whether the request's Accept-Encoding takes gzip: `gzip` (or `x-gzip`, or `*`) with no q or
 * q > 0, an explicit `gzip` before `*`. Prometheus sends `Accept-Encoding: gzip` on every scrape.
 */
export function acceptsGzip(req: IncomingMessage): boolean {
  const header = req.headers['accept-encoding'];
  if (header === undefined || header === '') return false;
  let gzipQ: number | undefined;
  let anyQ: number | undefined;
  for (const part of header.split(',')) {
    const [coding = '', ...params] = part.split(';').map((p) => p.trim());
    const q = params.map((p) => /^q=([0-9.]+)$/i.exec(p)?.[1]).find((v) => v !== undefined);
    const weight = q === undefined ? 1 : Number(q);
    const c = coding.toLowerCase();
    if (c === 'gzip' || c === 'x-gzip') gzipQ = Math.max(gzipQ ?? 0, weight);
    else if (c === '*') anyQ = weight;
  }
  return (gzipQ ?? anyQ ?? 0) > 0;
}

const gzipAsync = promisify(gzip);

/**
 * send() for a large text body (the /metrics exposition): gzipped when the request accepts it,
 * at level 1 (a tenth of the time of the default level for a few percent more bytes) and on
 * libuv's thread pool, not the event loop; `Vary: Accept-Encoding` either way.
 */
export async function sendCompressible(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  contentType: string,
  headers: Record<string, string> = {},
): Promise<void> {
  const vary = { Vary: 'Accept-Encoding', ...headers };
  if (!acceptsGzip(req)) return send(res, status, body, contentType, vary);
  send(res, status, await gzipAsync(body, { level: 1 }), contentType, { ...vary, 'Content-Encoding': 'gzip' });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  send(res, status, JSON.stringify(body), 'application/json; charset=utf-8', headers);
}

export function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  send(res, status, text.endsWith('\n') ? text : text + '\n', 'text/plain; charset=utf-8', headers);
}

export function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  opts: { headers?: Record<string, string>; extra?: Record<string, unknown> } = {},
): void {
  sendJson(res, status, { error: { code, message, ...opts.extra } }, opts.headers ?? {});
}

/** Epoch ms as ISO-8601, or null for a time that cannot be one. */
export function iso(ms: number | undefined | null): string | null {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return null;
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** The request's body, 413 `too_large` past `limit` bytes (declared or as it arrives, unread beyond). */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) throw new HttpError(413, 'too_large', `the body is larger than ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, 'too_large', `the body is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * Reads a JSON request body of at most `limit` bytes: 415 unless it says JSON, 413 when larger
 * (without reading the rest), 400 `invalid_json` when it does not parse.
 */
export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type))
    throw new HttpError(415, 'unsupported_media_type', 'send the body as JSON with "Content-Type: application/json"');
  const body = await readBody(req, limit);
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, 'invalid_json', 'the body is not valid JSON');
  }
}
