// Real local servers on port 0 for the probe tests, each counting the connections it accepts.
import { readFileSync } from 'node:fs';
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { createServer as createNet, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTls } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { httpProbe, tcpProbe } from '../../config/schema.js';
import type { ProbeSpec } from '../../protocol/messages.js';

const fixtures = fileURLToPath(new URL('../fixtures/tls/', import.meta.url));
export const TLS_KEY = readFileSync(`${fixtures}localhost.key`);
export const TLS_CERT = readFileSync(`${fixtures}localhost.crt`);

export interface Running {
  port: number;
  /** Connections accepted so far. */
  connections: number;
  /** Connections still open. */
  openSockets: number;
  close(): Promise<void>;
}

export interface RunningHttp extends Running {
  url: string;
  /** Every request seen, in order. */
  requests: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[];
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

async function listen(server: NetServer | Server, sockets: Set<Socket>, counter: { connections: number }): Promise<number> {
  server.on('connection', (s: Socket) => {
    counter.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  // TLS servers report accepted connections as 'secureConnection' only after the handshake;
  // 'connection' is emitted for the raw socket in both cases.
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

function closer(server: NetServer | Server, sockets: Set<Socket>): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

export async function startHttp(handler: Handler, opts: { tls?: boolean } = {}): Promise<RunningHttp> {
  const requests: RunningHttp['requests'] = [];
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, body);
    });
  };
  const server = opts.tls === true ? createHttps({ key: TLS_KEY, cert: TLS_CERT }, listener) : createHttp(listener);
  const sockets = new Set<Socket>();
  const state = { connections: 0 };
  const port = await listen(server, sockets, state);
  const scheme = opts.tls === true ? 'https' : 'http';
  return {
    port,
    url: `${scheme}://127.0.0.1:${port}`,
    requests,
    get connections() {
      return state.connections;
    },
    get openSockets() {
      return sockets.size;
    },
    close: closer(server, sockets),
  };
}

/** A raw TCP (or TLS) server; `onSocket` decides what it says. */
export async function startTcp(onSocket: (s: Socket) => void, opts: { tls?: boolean } = {}): Promise<Running & { received: string[] }> {
  const received: string[] = [];
  const wrap = (s: Socket): void => {
    s.on('data', (c: Buffer) => received.push(c.toString('utf8')));
    s.on('error', () => {});
    onSocket(s);
  };
  const server = opts.tls === true ? createTls({ key: TLS_KEY, cert: TLS_CERT }, wrap) : createNet(wrap);
  const sockets = new Set<Socket>();
  const state = { connections: 0 };
  const port = await listen(server, sockets, state);
  return {
    port,
    received,
    get connections() {
      return state.connections;
    },
    get openSockets() {
      return sockets.size;
    },
    close: closer(server, sockets),
  };
}

/** A port on which nothing listens (it was just released). */
export async function freePort(): Promise<number> {
  const server = createNet();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const runtime = { system: 'test', interval: 60_000, retries: 0 };

/** An http probe spec with the schema's defaults, as the collector would assign it. */
export function httpSpec(input: Record<string, unknown>, timeout = 5000): ProbeSpec {
  return { ...httpProbe.parse({ id: 'p', type: 'http', ...input }), ...runtime, timeout };
}

export function tcpSpec(input: Record<string, unknown>, timeout = 5000): ProbeSpec {
  return { ...tcpProbe.parse({ id: 'p', type: 'tcp', host: '127.0.0.1', ...input }), ...runtime, timeout };
}

export const UA = 'vagt-agent/0.0.0-test (+agent=test)';

/** Polls until `check` holds or about a second has passed; returns whether it held. */
export async function eventually(check: () => boolean): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return check();
}
