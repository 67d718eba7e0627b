// Real local sites for the page probe tests: files by path (anything else is a 404), each site
// counting its connections and the most it had open at once.
import { createServer as createHttp, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { Socket } from 'node:net';
import { pageProbe } from '../../config/schema.js';
import type { ProbeSpec } from '../../protocol/messages.js';
import { TLS_CERT, TLS_KEY, type RunningHttp } from './servers.js';

/** A file's body, or a handler of its own. */
export type Route = string | Buffer | ((req: IncomingMessage, res: ServerResponse) => void);

export interface Site extends RunningHttp {
  /** The most connections open at the same time. */
  maxOpen: number;
}

const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript', css: 'text/css' };

export async function startSite(routes: Record<string, Route>, opts: { tls?: boolean; delayMs?: number } = {}): Promise<Site> {
  const requests: RunningHttp['requests'] = [];
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const path = req.url ?? '/';
    requests.push({ method: req.method ?? '', url: path, headers: req.headers, body: '' });
    const respond = (): void => {
      const route = routes[path];
      if (route === undefined) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      else if (typeof route === 'function') route(req, res);
      else {
        const ext = /\.([a-z0-9]+)$/.exec(path.split('?')[0] ?? '')?.[1] ?? 'html';
        res.writeHead(200, { 'content-type': TYPES[ext] ?? 'application/octet-stream' }).end(route);
      }
    };
    if (opts.delayMs === undefined) respond();
    else setTimeout(respond, opts.delayMs);
  };
  const server = opts.tls === true ? createHttps({ key: TLS_KEY, cert: TLS_CERT }, listener) : createHttp(listener);
  const sockets = new Set<Socket>();
  const state = { connections: 0, maxOpen: 0 };
  server.on('connection', (s: Socket) => {
    state.connections++;
    sockets.add(s);
    state.maxOpen = Math.max(state.maxOpen, sockets.size);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    url: `${opts.tls === true ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    get connections() {
      return state.connections;
    },
    get openSockets() {
      return sockets.size;
    },
    get maxOpen() {
      return state.maxOpen;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A handler that streams for ever (until the client goes away). */
export function endless(req: IncomingMessage, res: ServerResponse): void {
  void req;
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  const chunk = Buffer.alloc(65_536, 120);
  const pump = (): void => {
    while (!res.destroyed && res.write(chunk));
    if (!res.destroyed) res.once('drain', pump);
  };
  pump();
}

/** A page probe spec with the schema's defaults, as the collector would assign it. */
export function pageSpec(input: Record<string, unknown>, timeout = 5000): ProbeSpec {
  return { ...pageProbe.parse({ id: 'p', type: 'page', ...input }), system: 'test', interval: 60_000, retries: 0, timeout };
}

/** An HTML page around some markup. */
export function html(body: string, head = ''): string {
  return `<!doctype html><html><head><title>Side</title>${head}</head><body>${body}</body></html>`;
}
