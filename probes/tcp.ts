// The tcp prober: DNS, connect and (optionally) a TLS handshake on a fresh connection, then an
// optional line sent and the reply read until it matches, as blackbox_exporter's tcp module does.
import { StringDecoder } from 'node:string_decoder';
import type { Socket } from 'node:net';
import type { TcpProbeConfig } from '../config/schema.js';
import type { Prober, ProbeReport } from './types.js';
import { ProbeFailure, abortFailure, compiled, failureOf, quote, roundPhases, type Phases } from './failure.js';
import { dial } from './net.js';
import { Secrets } from './secrets.js';

/** A banner or a reply longer than this without a match is a mismatch, not a reason to keep reading. */
const MAX_READ = 65_536;

export const tcpProber: Prober<TcpProbeConfig> = async (config, ctx) => {
  const phases: Phases = {};
  const detail: Record<string, unknown> = {};
  const secrets = new Secrets(ctx.secret);
  let tlsExpiry: number | undefined;
  try {
    const send = config.send === undefined ? undefined : secrets.resolve(config.send);
    const conn = await dial(
      { host: config.host, port: config.port, tls: config.tls, insecure: config.insecure_skip_verify },
      phases,
      ctx.signal,
      ctx.timeoutMs,
    );
    detail.ip = conn.address;
    tlsExpiry = conn.tlsExpiry;
    if (conn.tlsVersion !== undefined) detail.tls_version = conn.tlsVersion;
    const { socket } = conn;
    try {
      const match = matcher(config.expect);
      if (match === undefined) {
        if (send !== undefined) await write(socket, send, ctx.signal, ctx.timeoutMs);
      } else {
        if (send !== undefined) socket.write(send);
        detail.bytes = await readUntil(socket, match, ctx.signal, ctx.timeoutMs);
      }
    } finally {
      socket.destroy();
    }
    return done({ ok: true, phases, detail }, tlsExpiry, secrets);
  } catch (err) {
    return done({ ok: false, phases, detail, error: failureOf(err) }, tlsExpiry, secrets);
  }
};

function done(r: ProbeReport, tlsExpiry: number | undefined, secrets: Secrets): ProbeReport {
  roundPhases(r.phases);
  if (tlsExpiry !== undefined) r.tls_expiry = tlsExpiry;
  if (r.error !== undefined && secrets.any) r.error.message = secrets.scrub(r.error.message);
  return r;
}

interface Matcher {
  test(text: string): boolean;
  describe: string;
}

function matcher(expect: TcpProbeConfig['expect']): Matcher | undefined {
  if (expect === undefined || (expect.contains === undefined && expect.regex === undefined)) return undefined;
  const { contains, regex } = expect;
  const re = regex === undefined ? undefined : compiled(regex);
  return {
    test: (text) => (contains === undefined || text.includes(contains)) && (re === undefined || re.test(text)),
    describe: [contains === undefined ? '' : quote(contains), regex === undefined ? '' : `/${regex}/`].filter(Boolean).join(' and '),
  };
}

function write(socket: Socket, data: string, signal: AbortSignal, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      socket.removeListener('error', onError);
      reject(abortFailure(signal, timeoutMs, 'sending'));
    };
    const onError = (err: Error): void => {
      signal.removeEventListener('abort', onAbort);
      reject(new ProbeFailure('protocol', `send failed: ${err.message}`));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', onError);
    socket.end(data, () => {
      signal.removeEventListener('abort', onAbort);
      socket.removeListener('error', onError);
      resolve();
    });
  });
}

/** Reads until the text so far matches; resolves with the bytes read. */
function readUntil(socket: Socket, match: Matcher, signal: AbortSignal, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder('utf8');
    let text = '';
    let bytes = 0;
    const cleanup = (): void => {
      signal.removeEventListener('abort', onAbort);
      socket.removeListener('data', onData);
      socket.removeListener('end', onEnd);
      socket.removeListener('error', onError);
    };
    const fail = (f: ProbeFailure): void => {
      cleanup();
      reject(f);
    };
    const got = (): string => (bytes === 0 ? 'nothing' : quote(text));
    const onData = (chunk: Buffer): void => {
      bytes += chunk.length;
      text += decoder.write(chunk);
      if (match.test(text)) {
        cleanup();
        resolve(bytes);
      } else if (bytes >= MAX_READ) {
        fail(new ProbeFailure('expect_failed', `no ${match.describe} in the first ${bytes} bytes`));
      }
    };
    const onEnd = (): void => fail(new ProbeFailure('expect_failed', `connection closed before ${match.describe} was received; got ${got()}`));
    const onError = (err: Error): void => fail(new ProbeFailure('protocol', `read failed: ${err.message}`));
    const onAbort = (): void => {
      const f = abortFailure(signal, timeoutMs, `waiting for ${match.describe}`);
      fail(new ProbeFailure(f.code, `${f.message}; got ${got()}`));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', onError);
  });
}
