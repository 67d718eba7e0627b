// agent/tls.ts against real TLS servers with the fixture certificates: the in-process agent's pin
// (nothing is written to a server with another certificate) and the advice for TLS errors.
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { join } from 'node:path';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { pinnedConnect, tlsAdvice } from '../../agent/tls.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'tls');
const pem = (f: string): Buffer => readFileSync(join(FIXTURES, f));

const servers: { close(cb: () => void): unknown }[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
});

function listen(server: Server | ReturnType<typeof createTlsServer>): Promise<number> {
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

/** The error a ws client gets for `url`, and the close of the connection. */
function failure(url: string, options: WebSocket.ClientOptions): Promise<Error> {
  const ws = new WebSocket(url, options);
  return new Promise((resolve, reject) => {
    ws.once('open', () => reject(new Error('connected')));
    ws.once('error', resolve);
  });
}

describe('pinnedConnect', () => {
  it('writes nothing to a server with another certificate', async () => {
    let received = 0;
    let closed!: () => void;
    // The client hangs up during or just after the handshake; either way the server sees it end.
    const serverClosed = new Promise<void>((r) => (closed = r));
    const server = createTlsServer({ cert: pem('localhost.crt'), key: pem('localhost.key') }, (socket: TLSSocket) => {
      socket.on('data', (d: Buffer) => (received += d.length));
      socket.on('error', () => {});
      socket.on('close', () => closed());
    });
    server.on('tlsClientError', () => closed());
    const port = await listen(server);
    const connector = pinnedConnect(pem('valid.crt')) as unknown as WebSocket.ClientOptions['createConnection'];
    const err = await failure(`wss://127.0.0.1:${port}/agent`, { createConnection: connector, headers: { authorization: 'Bearer secret-token' } });
    expect(err.message).toMatch(/another certificate than its collector\.tls\.cert_file/);
    await serverClosed;
    expect(received).toBe(0);
  });
});

describe('tlsAdvice', () => {
  it('points at --ca for an untrusted certificate', async () => {
    const server = createTlsServer({ cert: pem('valid.crt'), key: pem('valid.key') }, (s) => s.on('error', () => {}));
    const port = await listen(server);
    const err = await failure(`wss://127.0.0.1:${port}/agent`, {});
    expect(tlsAdvice(err)).toMatch(/not trusted; give the CA that signed it with --ca/);
  });

  it('points at the dates for an expired certificate', async () => {
    const server = createTlsServer({ cert: pem('expired.crt'), key: pem('expired.key') }, (s) => s.on('error', () => {}));
    const port = await listen(server);
    const err = await failure(`wss://localhost:${port}/agent`, { ca: pem('ca.crt') });
    expect(tlsAdvice(err)).toMatch(/outside its validity dates/);
  });

  it('says when the port speaks no TLS', async () => {
    const port = await listen(createHttpServer((_req, res) => res.end()));
    const err = await failure(`wss://127.0.0.1:${port}/agent`, {});
    expect(tlsAdvice(err)).toMatch(/no TLS at the collector's port/);
  });

  it('has no advice for other errors', () => {
    expect(tlsAdvice(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBeUndefined();
  });
});
