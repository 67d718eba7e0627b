// The collector's one port: a node:http server with a small router for the API, metrics and the
// portal, and the agents' WebSocket upgrade at /agent. Every handler is wrapped, so a bug or bad
// input answers with a status code and a log line, never a crash.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { errorMessage } from '../lib/errors.js';
import { applyCors } from './cors.js';
import { HttpError, sendError } from './http.js';
import { refuseUpgrade } from './ingest.js';

export type Method = 'GET' | 'POST' | 'DELETE';

export interface RouteContext {
  url: URL;
  params: Record<string, string>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, ctx: RouteContext) => void | Promise<void>;

interface Route {
  method: Method;
  pattern: string;
  segments: string[];
  handler: Handler;
}

export class Router {
  readonly #routes: Route[] = [];

  /** `pattern` is a path whose `:name` segments match one path segment each. */
  add(method: Method, pattern: string, handler: Handler): this {
    this.#routes.push({ method, pattern, segments: pattern.split('/').slice(1), handler });
    return this;
  }

  /** Every route as registered (method and pattern), e.g. for checking the OpenAPI document. */
  routes(): { method: Method; pattern: string }[] {
    return this.#routes.map((r) => ({ method: r.method, pattern: r.pattern }));
  }

  get(pattern: string, handler: Handler): this {
    return this.add('GET', pattern, handler);
  }

  post(pattern: string, handler: Handler): this {
    return this.add('POST', pattern, handler);
  }

  delete(pattern: string, handler: Handler): this {
    return this.add('DELETE', pattern, handler);
  }

  /** The route for a method and path; `allow` lists the methods when only the method is wrong. */
  match(
    method: string,
    path: string,
  ): { handler: Handler; params: Record<string, string> } | { allow: string[] } | undefined {
    const parts = path.split('/').slice(1);
    const allow = new Set<string>();
    for (const route of this.#routes) {
      const params = matchSegments(route.segments, parts);
      if (params === undefined) continue;
      // HEAD is GET without a body; node:http drops the body for HEAD itself.
      if (route.method === method || (method === 'HEAD' && route.method === 'GET')) return { handler: route.handler, params };
      allow.add(route.method);
      if (route.method === 'GET') allow.add('HEAD');
    }
    return allow.size > 0 ? { allow: [...allow] } : undefined;
  }
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const v = parts[i]!;
    if (p.startsWith(':')) {
      if (v === '') return undefined;
      let decoded: string;
      try {
        decoded = decodeURIComponent(v);
      } catch {
        return undefined;
      }
      params[p.slice(1)] = decoded;
    } else if (p !== v) return undefined;
  }
  return params;
}

export interface HttpServerOptions {
  router: Router;
  logger: Logger;
  /** WebSocket upgrades by path; any other path is refused with 404. */
  upgrades: Record<string, (req: IncomingMessage, socket: Duplex, head: Buffer) => void>;
  /** PEM certificate (with its chain) and key: HTTPS and wss:// on the same port instead of HTTP. */
  tls?: { cert: Buffer; key: Buffer };
}

export function createHttpServer(opts: HttpServerOptions): Server {
  const { router, logger } = opts;
  const limits = { requestTimeout: 30_000, headersTimeout: 10_000 };
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    void handle(req, res);
  };
  // An https.Server is an http.Server on TLS sockets: routes and upgrades below serve both alike.
  const server: Server =
    opts.tls === undefined ? createServer(limits, onRequest) : createHttpsServer({ ...limits, ...opts.tls }, onRequest);
  // A client that does not trust the certificate (or speaks plain HTTP) fails here, before any request.
  server.on('tlsClientError', (err: Error) => logger.debug({ err: err.message }, 'TLS handshake with a client failed'));

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://collector.invalid');
    } catch {
      sendError(res, 400, 'bad_request', 'the request target is not a valid URL');
      return;
    }
    const readable = (path: string): boolean => {
      const g = router.match('GET', path);
      return g !== undefined && 'handler' in g;
    };
    // Public, read-only paths carry CORS headers; their preflights are answered here.
    if (applyCors(req, res, url.pathname, readable)) return;
    const m = router.match(req.method ?? 'GET', url.pathname);
    if (m === undefined) {
      sendError(res, 404, 'not_found', `no such path: ${url.pathname}`);
      return;
    }
    if ('allow' in m) {
      sendError(res, 405, 'method_not_allowed', `${req.method} is not allowed on ${url.pathname}; use ${m.allow.join(', ')}`, {
        headers: { Allow: m.allow.join(', ') },
      });
      return;
    }
    try {
      await m.handler(req, res, { url, params: m.params });
    } catch (err) {
      if (err instanceof HttpError) {
        sendError(res, err.status, err.code, err.message, { headers: err.headers, extra: err.extra });
        return;
      }
      logger.warn({ err: errorMessage(err), method: req.method, path: url.pathname }, 'request handler failed');
      if (!res.headersSent) sendError(res, 500, 'internal', 'internal error; see the collector log');
      else res.destroy();
    }
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', (err) => logger.debug({ err: err.message }, 'upgrade socket error'));
    try {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const handler = opts.upgrades[path];
      if (handler === undefined) {
        refuseUpgrade(socket, 404, 'Not Found', `no WebSocket endpoint at ${path}; agents connect to /agent`);
        return;
      }
      handler(req, socket, head);
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'upgrade failed');
      socket.destroy();
    }
  });

  // Malformed HTTP: answer 400 rather than leaving the client hanging.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });

  return server;
}
