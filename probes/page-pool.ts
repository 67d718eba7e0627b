// A page's sub-resources load as a browser loads them: at most 6 connections per origin, kept
// alive and reused within the one page load. Each connection is opened by our own dial(), so the
// request that opens one carries its dns/connect/tls phases. Everything is closed when the load
// ends or the probe's signal aborts; bodies are counted, never kept.
import { setMaxListeners } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import { Client, type Dispatcher } from 'undici';
import { ProbeFailure, abortFailure, addPhase, type Phases } from './failure.js';
import { bareHost, dial } from './net.js';

/** Chrome's and Firefox's limit per host. */
export const CONNECTIONS_PER_ORIGIN = 6;

/** One request's timings, filled in by the pool. */
export interface Timing {
  /** When the request got its connection (performance.now()); 0 until then. */
  start: number;
  phases: Phases;
  /** Set when this request had to open its connection: when it was ready. */
  dialing?: boolean;
  ready?: number;
}

export interface Fetched {
  status: number;
  headers: IncomingHttpHeaders;
  bytes: number;
  /** The body was longer than maxBytes; the rest was not downloaded. */
  truncated: boolean;
}

export interface PoolOptions {
  insecure: boolean;
  /** Body bytes read per response at most. */
  maxBytes: number;
  signal: AbortSignal;
  timeoutMs: number;
}

interface Origin {
  idle: Conn[];
  open: number;
  waiting: { resolve: (c: Conn) => void; reject: (e: unknown) => void }[];
}

interface Conn {
  client: Client;
  origin: Origin;
  /** The request on this connection now: a (re)connect is timed into its phases. */
  timing: Timing | undefined;
}

export class ConnectionPool {
  private readonly origins = new Map<string, Origin>();
  private readonly clients = new Set<Client>();
  private closed = false;
  /**
   * The probe's signal fanned out: every request and dial listens here, so that the probe's own
   * signal gets one listener, not one per request (and no MaxListeners warning).
   */
  private readonly inner = new AbortController();
  private readonly signal = this.inner.signal;

  constructor(private readonly o: PoolOptions) {
    setMaxListeners(0, this.signal);
    o.signal.addEventListener('abort', this.abort, { once: true });
    if (o.signal.aborted) this.abort();
  }

  /** A GET on a connection of the URL's origin: an idle one, a new one under the limit, or the next one freed. */
  async get(url: URL, headers: Record<string, string>, timing: Timing): Promise<Fetched> {
    const conn = await this.acquire(url);
    timing.start = performance.now();
    try {
      return await this.send(conn, url, headers, timing);
    } finally {
      this.release(conn);
    }
  }

  /** Destroys every connection; requests still waiting for one fail. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.o.signal.removeEventListener('abort', this.abort);
    const why = this.signal.aborted
      ? abortFailure(this.signal, this.o.timeoutMs, 'waiting for a connection')
      : new ProbeFailure('internal', 'page load ended');
    for (const origin of this.origins.values()) for (const w of origin.waiting.splice(0)) w.reject(why);
    for (const client of this.clients) client.destroy().catch(noop);
    this.clients.clear();
  }

  /** Requests in flight fail with the probe's own reason (a timeout names its stage), then all closes. */
  private readonly abort = (): void => {
    this.inner.abort(this.o.signal.reason);
    this.close();
  };

  private acquire(url: URL): Promise<Conn> {
    if (this.closed) return Promise.reject(abortFailure(this.signal, this.o.timeoutMs, `before requesting ${url.host}`));
    let origin = this.origins.get(url.origin);
    if (origin === undefined) {
      origin = { idle: [], open: 0, waiting: [] };
      this.origins.set(url.origin, origin);
    }
    const idle = origin.idle.pop();
    if (idle !== undefined) return Promise.resolve(idle);
    if (origin.open < CONNECTIONS_PER_ORIGIN) {
      origin.open++;
      return Promise.resolve(this.connection(origin, url));
    }
    const o = origin;
    return new Promise((resolve, reject) => o.waiting.push({ resolve, reject }));
  }

  private release(conn: Conn): void {
    conn.timing = undefined;
    if (this.closed) return;
    const next = conn.origin.waiting.shift();
    if (next !== undefined) next.resolve(conn);
    else conn.origin.idle.push(conn);
  }

  /** A client that dials lazily, on its first request and again if the server closed the connection. */
  private connection(origin: Origin, url: URL): Conn {
    const https = url.protocol === 'https:';
    const host = bareHost(url.hostname);
    const port = url.port === '' ? (https ? 443 : 80) : Number(url.port);
    const { insecure, timeoutMs } = this.o;
    const { signal } = this;
    const conn: Conn = { client: undefined as unknown as Client, origin, timing: undefined };
    conn.client = new Client(url.origin, {
      connect: (_opts, cb) => {
        const timing: Timing = conn.timing ?? { start: performance.now(), phases: {} };
        timing.dialing = true;
        dial({ host, port, tls: https, insecure, alpn: ['http/1.1'] }, timing.phases, signal, timeoutMs).then(
          (d) => {
            if (this.closed) {
              d.socket.destroy();
              cb(new ProbeFailure('internal', 'page load ended'), null);
              return;
            }
            timing.ready = performance.now();
            cb(null, d.socket);
          },
          (err: unknown) => cb(err instanceof Error ? err : new Error(String(err)), null),
        );
      },
      // The probe's timeout covers everything, as the runner owns it.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    this.clients.add(conn.client);
    return conn;
  }

  private send(conn: Conn, url: URL, headers: Record<string, string>, timing: Timing): Promise<Fetched> {
    conn.timing = timing;
    const { timeoutMs, maxBytes } = this.o;
    const { signal } = this;
    const { phases } = timing;
    return new Promise<Fetched>((resolve, reject) => {
      let settled = false;
      let controller: Dispatcher.DispatchController | undefined;
      let tHeaders = 0;
      let status = 0;
      let resHeaders: IncomingHttpHeaders = {};
      let bytes = 0;
      let truncated = false;
      const tSent = performance.now();
      // A request that opened its connection waits for the server from the moment it was ready.
      const sent = (): number => timing.ready ?? tSent;
      // While dialing, dial() times its own phase (and names the stage of an abort).
      const connected = (): boolean => timing.dialing !== true || timing.ready !== undefined;

      const done = (err?: ProbeFailure): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        if (tHeaders !== 0) addPhase(phases, 'transfer', performance.now() - tHeaders);
        if (err !== undefined) reject(err);
        else resolve({ status, headers: resHeaders, bytes, truncated });
      };
      const onAbort = (): void => {
        if (tHeaders === 0 && connected()) addPhase(phases, 'ttfb', performance.now() - sent());
        const stage =
          tHeaders !== 0 ? `reading the body from ${url.host}` : connected() ? `waiting for the response from ${url.host}` : `connecting to ${url.host}`;
        done(abortFailure(signal, timeoutMs, stage));
        controller?.abort(new Error('aborted'));
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });

      const handler: Dispatcher.DispatchHandler = {
        onRequestStart(c) {
          controller = c;
        },
        onResponseStart(_c, statusCode, h) {
          if (settled || statusCode < 200) return;
          tHeaders = performance.now();
          addPhase(phases, 'ttfb', tHeaders - sent());
          status = statusCode;
          resHeaders = h;
        },
        onResponseData(c, chunk) {
          if (settled) return;
          if (chunk.length > maxBytes - bytes) {
            // The cap is reached: aborting closes the connection rather than download the rest.
            bytes = maxBytes;
            truncated = true;
            done();
            c.abort(new Error('body cap reached'));
            return;
          }
          bytes += chunk.length;
        },
        onResponseEnd() {
          done();
        },
        onResponseError(_c, err: Error & { code?: string }) {
          if (settled) return;
          if (signal.aborted) {
            onAbort();
            return;
          }
          if (err instanceof ProbeFailure) {
            done(err);
            return;
          }
          if (tHeaders === 0 && connected()) addPhase(phases, 'ttfb', performance.now() - sent());
          const why = err.code !== undefined && !err.message.includes(err.code) ? `${err.message} (${err.code})` : err.message;
          done(new ProbeFailure('protocol', `${tHeaders === 0 ? 'no response from' : 'reading the body from'} ${url.host}: ${why}`));
        },
      };
      conn.client.dispatch({ path: `${url.pathname}${url.search}`, method: 'GET', headers, body: null }, handler);
    });
  }
}

function noop(): void {}
