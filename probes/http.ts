// The http prober. Every hop gets a fresh connection (our own DNS lookup, connect and TLS, handed
// to a one-shot undici Client), so each run measures what a first-time visitor pays; phases are
// summed over redirect hops, as blackbox_exporter does.
import type { IncomingHttpHeaders } from 'node:http';
import { Client, type Dispatcher } from 'undici';
import type { HttpProbeConfig } from '../config/schema.js';
import { formatDuration } from '../lib/duration.js';
import type { ProbeContext, ProbeReport, Prober } from './types.js';
import {
  ProbeFailure,
  abortFailure,
  addPhase,
  compiled,
  failureOf,
  quote,
  roundPhases,
  type Phases,
} from './failure.js';
import { bareHost, dial, type Dialed } from './net.js';
import { Secrets } from './secrets.js';

type Method = HttpProbeConfig['method'];

interface Seen {
  status: number | undefined;
  tlsExpiry: number | undefined;
}

interface Hop {
  status: number;
  headers: IncomingHttpHeaders;
  /** Kept only when an expectation reads the body. */
  body: Buffer | undefined;
  bytes: number;
  truncated: boolean;
  conn: Dialed;
}

interface HopRequest {
  url: URL;
  method: Method;
  headers: Record<string, string>;
  body: string | undefined;
  /** Stop at the headers when the response is a redirect that will be followed. */
  follow: boolean;
  keepBody: boolean;
  maxBytes: number;
  insecure: boolean;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
// Credentials do not follow a redirect to another origin (as fetch and Go's client do).
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

export const httpProber: Prober<HttpProbeConfig> = async (config, ctx) => {
  const start = performance.now();
  const phases: Phases = {};
  const detail: Record<string, unknown> = {};
  const secrets = new Secrets(ctx.secret);
  // Filled in as soon as response headers arrive, so a failure while reading the body keeps them.
  const seen: Seen = { status: undefined, tlsExpiry: undefined };
  try {
    let url = parseUrl(secrets.resolve(config.url));
    let method: Method = config.method;
    let body = config.body === undefined ? undefined : secrets.resolve(config.body);
    const headers = requestHeaders(config.headers, ctx.userAgent, secrets);
    // Credentials in the URL (https://user:pass@host/) become Basic auth, as browsers and curl do.
    if ((url.username !== '' || url.password !== '') && headers.authorization === undefined) {
      const user = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
      headers.authorization = `Basic ${Buffer.from(user).toString('base64')}`;
    }
    const ex = config.expect;
    const keepBody = ex.body_contains !== undefined || ex.body_not_contains !== undefined || ex.body_regex !== undefined;
    let redirects = 0;
    let hop: Hop;
    for (;;) {
      const req: HopRequest = {
        url,
        method,
        headers,
        body,
        follow: config.follow_redirects,
        keepBody,
        maxBytes: config.max_body_bytes,
        insecure: config.insecure_skip_verify,
      };
      hop = await exchange(req, phases, ctx, seen, detail);
      const location = hop.headers.location;
      if (!config.follow_redirects || !REDIRECTS.has(hop.status) || typeof location !== 'string') break;
      if (redirects >= config.max_redirects) {
        detail.redirects = redirects;
        const why = `stopped after ${redirects} redirects (max_redirects ${config.max_redirects}) at ${shown(url)}`;
        throw new ProbeFailure('too_many_redirects', why);
      }
      const next = nextUrl(url, location);
      if (next.origin !== url.origin) for (const h of CREDENTIAL_HEADERS) delete headers[h];
      // Browsers turn 303 into GET, and POST into GET on 301/302; the body goes with it.
      const toGet =
        (hop.status === 303 && method !== 'GET' && method !== 'HEAD') ||
        ((hop.status === 301 || hop.status === 302) && method === 'POST');
      if (toGet) {
        method = 'GET';
        body = undefined;
        delete headers['content-type'];
        delete headers['content-length'];
      }
      url = next;
      redirects++;
    }
    detail.redirects = redirects;
    detail.final_url = shown(url);
    detail.bytes = hop.bytes;
    if (hop.truncated) detail.truncated = true;
    if (hop.conn.tlsVersion !== undefined) detail.tls_version = hop.conn.tlsVersion;
    checkExpectations(config, hop, performance.now() - start);
    return finish({ ok: true, phases, detail }, seen, secrets);
  } catch (err) {
    return finish({ ok: false, phases, detail, error: failureOf(err) }, seen, secrets);
  }
};

function finish(r: ProbeReport, seen: Seen, secrets: Secrets): ProbeReport {
  roundPhases(r.phases);
  if (seen.status !== undefined) r.status_code = seen.status;
  if (seen.tlsExpiry !== undefined) r.tls_expiry = seen.tlsExpiry;
  if (secrets.any) {
    if (typeof r.detail?.final_url === 'string') r.detail.final_url = secrets.scrub(r.detail.final_url);
    if (r.error !== undefined) r.error.message = secrets.scrub(r.error.message);
  }
  return r;
}

/** A URL as it may appear in a result: without the credentials it may carry. */
function shown(url: URL): string {
  if (url.username === '' && url.password === '') return url.href;
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}

function parseUrl(text: string): URL {
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

/** Configured headers, lowercased; the User-Agent is always the contract's. */
function requestHeaders(
  configured: Record<string, string> | undefined,
  userAgent: string,
  secrets: Secrets,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (configured !== undefined)
    for (const [k, v] of Object.entries(configured)) out[k.toLowerCase()] = secrets.resolve(v);
  out['user-agent'] = userAgent;
  return out;
}

/** One request on one fresh connection. */
async function exchange(
  req: HopRequest,
  phases: Phases,
  ctx: ProbeContext,
  seen: Seen,
  detail: Record<string, unknown>,
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
  detail.ip = conn.address;
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

function checkExpectations(config: HttpProbeConfig, hop: Hop, elapsed: number): void {
  const ex = config.expect;
  const want = ex.status;
  if (want === undefined ? hop.status < 200 || hop.status > 299 : !want.includes(hop.status)) {
    const expected = want === undefined ? 'a 2xx status' : `status ${want.join(' or ')}`;
    throw new ProbeFailure('http_status', `expected ${expected}, got ${hop.status}`);
  }
  if (ex.header !== undefined) {
    for (const [name, source] of Object.entries(ex.header)) {
      const raw = hop.headers[name.toLowerCase()];
      if (raw === undefined) throw new ProbeFailure('header_mismatch', `header ${name} is missing`);
      const value = Array.isArray(raw) ? raw.join(', ') : raw;
      if (!compiled(source).test(value))
        throw new ProbeFailure('header_mismatch', `header ${name}: ${quote(value)} does not match /${source}/`);
    }
  }
  if (hop.body !== undefined) {
    const text = hop.body.toString('utf8');
    const cut = hop.truncated ? ` (in the first ${hop.bytes} bytes)` : '';
    if (ex.body_contains !== undefined && !text.includes(ex.body_contains))
      throw new ProbeFailure('body_mismatch', `body does not contain ${quote(ex.body_contains)}${cut}`);
    if (ex.body_not_contains !== undefined && text.includes(ex.body_not_contains))
      throw new ProbeFailure('body_mismatch', `body contains ${quote(ex.body_not_contains)}`);
    if (ex.body_regex !== undefined && !compiled(ex.body_regex).test(text))
      throw new ProbeFailure('body_mismatch', `body does not match /${ex.body_regex}/${cut}`);
  }
  if (ex.max_duration !== undefined && elapsed > ex.max_duration)
    throw new ProbeFailure(
      'too_slow',
      `took ${formatDuration(elapsed)}, more than max_duration ${formatDuration(ex.max_duration)}`,
    );
}

function noop(): void {}
