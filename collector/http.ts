// Response helpers shared by the API, the portal and the server: JSON in one shape, errors as
// { error: { code, message } }, and no caching of live data.
import type { ServerResponse } from 'node:http';

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
