// One HTTP request on one fresh connection: our own DNS lookup, connect and TLS (dial), handed to a
// one-shot undici Client that never dials or pools on its own. Shared by the http and flow probers,
// which own the redirect loop and what a hop's response means.
import type { IncomingHttpHeaders } from 'node:http';
import { Client, type Dispatcher } from 'undici';
import type { ProbeContext } from './types.js';
import { ProbeFailure, abortFailure, addPhase, quote, type Phases } from './failure.js';
import { bareHost, dial, type Dialed } from './net.js';

export const REDIRECTS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

export interface Hop {
  status: number;
  headers: IncomingHttpHeaders;
  /** Kept only when asked for (keepBody). */
  body: Buffer | undefined;
  bytes: number;
  truncated: boolean;
  conn: Dialed;
}

export interface HopRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  /** Stop at the headers when the response is a redirect that will be followed. */
  follow: boolean;
  keepBody: boolean;
  maxBytes: number;
  insecure: boolean;
}

/** What a hop got before it finished or failed, so that a failure while reading keeps it. */
export interface Seen {
  status: number | undefined;
  tlsExpiry: number | undefined;
  ip?: string;
}

/** A URL as it may appear in a result: without the credentials it may carry. */
export function shown(url: URL): string {
  if (url.username === '' && url.password === '') return url.href;
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}

export function parseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ProbeFailure('protocol', `invalid URL ${quote(text)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ProbeFailure('protocol', `unsupported URL scheme ${url.protocol}`);
  return url;
}

function nextUrl(base: URL, location: string): URL {
  let next: URL;
  try {
    next = new URL(location, base);
  } catch {
    throw new ProbeFailure('protocol', `redirect to an invalid Location ${quote(location)}`);
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:')
    throw new ProbeFailure('protocol', `redirect to an unsupported scheme ${next.protocol}`);
  return next;
}

// Credentials do not follow a redirect to another origin (as fetch and Go's client do).
export const CREDENTIAL_HEADERS: readonly string[] = ['authorization', 'cookie', 'proxy-authorization'];

/** A request as a redirect loop carries it from hop to hop. */
export interface Redirectable {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/**
 * The request that follows a redirect, as browsers make it: 303 turns anything but GET/HEAD into
 * GET, 301/302 turn POST into GET, and the body goes with the method; credentials stay behind
 * when the origin changes. `headers` is changed in place.
 */
export function redirected(from: Redirectable, status: number, location: string): Redirectable {
  const url = nextUrl(from.url, location);
  const { headers } = from;
  if (url.origin !== from.url.origin) for (const h of CREDENTIAL_HEADERS) delete headers[h];
  const toGet =
    (status === 303 && from.method !== 'GET' && from.method !== 'HEAD') ||
    ((status === 301 || status === 302) && from.method === 'POST');
  if (!toGet) return { url, method: from.method, headers, body: from.body };
  delete headers['content-type'];
  delete headers['content-length'];
  return { url, method: 'GET', headers, body: undefined };
}

/** One request on one fresh connection. */
export async function exchange(
  req: HopRequest,
  phases: Phases,
  ctx: ProbeContext,
  seen: Seen,
): Promise<Hop> {
  const { url } = req;
  const https = url.protocol === 'https:';
  const port = url.port === '' ? (https ? 443 : 80) : Number(url.port);
  const conn = await dial(
    { host: bareHost(url.hostname), port, tls: https, insecure: req.insecure, alpn: ['http/1.1'] },
    phases,
    ctx.signal,
    ctx.timeoutMs,
  );
  seen.ip = conn.address;
  if (conn.tlsExpiry !== undefined) seen.tlsExpiry = conn.tlsExpiry;
  return new Promise<Hop>((resolve, reject) => {
    const { signal } = ctx;
    let handed = false;
    // The socket is already connected: undici gets it once and never dials or pools on its own.
    // The callback must not run synchronously: undici's resume loop would not see the connection.
    const client = new Client(url.origin, {
      connect: (_opts, cb) => {
        queueMicrotask(() => {
          if (handed) {
            cb(new Error('connection closed'), null);
            return;
          }
          handed = true;
          cb(null, conn.socket);
        });
      },
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    let settled = false;
    let tHeaders = 0;
    let status = 0;
    let headers: IncomingHttpHeaders = {};
    let bytes = 0;
    let truncated = false;
    const chunks: Buffer[] = [];

    const done = (err?: ProbeFailure, complete = false): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (tHeaders !== 0) addPhase(phases, 'transfer', performance.now() - tHeaders);
      // A fresh connection per hop. After a complete response undici closes it itself (we asked
      // for `Connection: close`); otherwise it goes now. Not destroying a finished client saves
      // an error object and its stack trace per probe, a tenth of the probe's CPU.
      if (!complete) client.destroy().catch(noop);
      if (err !== undefined) reject(err);
      else resolve({ status, headers, body: req.keepBody ? Buffer.concat(chunks) : undefined, bytes, truncated, conn });
    };
    const onAbort = (): void => {
      if (tHeaders === 0) addPhase(phases, 'ttfb', performance.now() - tSent);
      const stage = tHeaders === 0 ? `waiting for the response from ${url.host}` : `reading the body from ${url.host}`;
      done(abortFailure(signal, ctx.timeoutMs, stage));
    };
    signal.addEventListener('abort', onAbort, { once: true });

    const handler: Dispatcher.DispatchHandler = {
      // undici tells the handler styles apart by this method.
      onRequestStart() {},
      onResponseStart(_controller, statusCode, h) {
        if (settled || statusCode < 200) return;
        tHeaders = performance.now();
        addPhase(phases, 'ttfb', tHeaders - tSent);
        status = statusCode;
        seen.status = statusCode;
        headers = h;
        if (req.follow && REDIRECTS.has(statusCode) && typeof h.location === 'string') done();
      },
      onResponseData(_controller, chunk) {
        if (settled) return;
        const room = req.maxBytes - bytes;
        if (chunk.length > room) {
          // The cap is reached: stop here rather than download the rest.
          if (req.keepBody && room > 0) chunks.push(chunk.subarray(0, room));
          bytes = req.maxBytes;
          truncated = true;
          done();
          return;
        }
        bytes += chunk.length;
        if (req.keepBody) chunks.push(chunk);
      },
      onResponseEnd() {
        done(undefined, true);
      },
      onResponseError(_controller, err) {
        if (settled) return;
        if (tHeaders === 0) addPhase(phases, 'ttfb', performance.now() - tSent);
        done(httpFailure(err, tHeaders !== 0, url));
      },
    };
    const tSent = performance.now();
    client.dispatch(
      { path: `${url.pathname}${url.search}`, method: req.method, headers: req.headers, body: req.body ?? null, reset: true },
      handler,
    );
  });
}

function httpFailure(err: Error & { code?: string }, gotHeaders: boolean, url: URL): ProbeFailure {
  const why = err.code !== undefined && !err.message.includes(err.code) ? `${err.message} (${err.code})` : err.message;
  return new ProbeFailure('protocol', `${gotHeaders ? 'reading the body from' : 'no response from'} ${url.host}: ${why}`);
}

function noop(): void {}
