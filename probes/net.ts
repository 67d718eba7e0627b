// Opens one fresh connection and times it: DNS (our own lookup, so it is measured and never
// cached by a pool), TCP connect and, for TLS, the handshake. Shared by the http and tcp probers.
import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { createSecureContext, connect as tlsConnect, type SecureContext, type TLSSocket } from 'node:tls';
import { ProbeFailure, abortFailure, addPhase, type Phases } from './failure.js';

export interface DialOptions {
  /** A name or an IP literal (IPv6 without brackets). */
  host: string;
  port: number;
  tls: boolean;
  insecure: boolean;
  /** TLS server name; default the host when it is a name (SNI must not be an IP). */
  servername?: string;
  alpn?: string[];
  /** PEM CA certificates trusted instead of the system's store. */
  ca?: string;
}

export interface Dialed {
  socket: Socket;
  /** The address actually connected to. */
  address: string;
  /** TLS only: leaf certificate's notAfter, epoch seconds. */
  tlsExpiry?: number;
  /** TLS only: e.g. "TLSv1.3". */
  tlsVersion?: string;
}

/** Strips the brackets that URL.hostname keeps around IPv6 literals. */
export function bareHost(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

export async function dial(o: DialOptions, phases: Phases, signal: AbortSignal, timeoutMs: number): Promise<Dialed> {
  if (signal.aborted) throw abortFailure(signal, timeoutMs, `before connecting to ${o.host}`);
  const addresses = await resolve(o.host, phases, signal, timeoutMs);
  // Like Go's dialer: try the addresses in order, so a name that resolves to ::1 first still
  // reaches a server that listens on 127.0.0.1 only.
  for (let i = 0; ; i++) {
    const address = addresses[i] ?? o.host;
    try {
      return await connectOnce(o, address, phases, signal, timeoutMs);
    } catch (err) {
      if (!(err instanceof ProbeFailure) || err.code !== 'connect' || i + 1 >= addresses.length) throw err;
    }
  }
}

async function resolve(host: string, phases: Phases, signal: AbortSignal, timeoutMs: number): Promise<string[]> {
  if (isIP(host) !== 0) {
    addPhase(phases, 'dns', 0);
    return [host];
  }
  const t0 = performance.now();
  let onAbort: (() => void) | undefined;
  // getaddrinfo cannot be cancelled; on abort we stop waiting for it and let it finish unseen.
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(abortFailure(signal, timeoutMs, `resolving ${host}`));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const found: LookupAddress[] = await Promise.race([lookup(host, { all: true }), aborted]);
    if (found.length === 0) throw new ProbeFailure('dns', `dns lookup of ${host} found no address`);
    return found.map((a) => a.address);
  } catch (err) {
    if (err instanceof ProbeFailure) throw err;
    const code = (err as { code?: unknown }).code;
    throw new ProbeFailure('dns', `dns lookup of ${host} failed: ${typeof code === 'string' ? code : String(err)}`);
  } finally {
    addPhase(phases, 'dns', performance.now() - t0);
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
  }
}

function connectOnce(o: DialOptions, address: string, phases: Phases, signal: AbortSignal, timeoutMs: number): Promise<Dialed> {
  return new Promise((resolvePromise, reject) => {
    const target = address.includes(':') ? `[${address}]:${o.port}` : `${address}:${o.port}`;
    const t0 = performance.now();
    let tConnected = 0;
    let socket: Socket;
    if (o.tls) {
      const servername = o.servername ?? (isIP(o.host) === 0 ? o.host : undefined);
      socket = tlsConnect({
        secureContext: sharedContext(o.ca),
        host: address,
        port: o.port,
        ...(servername === undefined ? {} : { servername }),
        rejectUnauthorized: !o.insecure,
        ALPNProtocols: o.alpn ?? [],
      });
    } else {
      socket = netConnect({ host: address, port: o.port });
    }

    const cleanup = (): void => {
      signal.removeEventListener('abort', onAbort);
      socket.removeListener('connect', onConnect);
      socket.removeListener('secureConnect', onSecure);
      socket.removeListener('error', onError);
      // Until its next owner listens (undici attaches a tick later), an error such as ECONNRESET
      // must not become an uncaught exception; owners still see it through their own listener.
      socket.on('error', noop);
    };
    const fail = (f: ProbeFailure): void => {
      cleanup();
      socket.destroy();
      reject(f);
    };
    const onAbort = (): void => {
      if (tConnected === 0) addPhase(phases, 'connect', performance.now() - t0);
      else addPhase(phases, 'tls', performance.now() - tConnected);
      fail(abortFailure(signal, timeoutMs, tConnected === 0 ? `connecting to ${target}` : `in the TLS handshake with ${target}`));
    };
    const onConnect = (): void => {
      tConnected = performance.now();
      addPhase(phases, 'connect', tConnected - t0);
      if (!o.tls) {
        cleanup();
        resolvePromise({ socket, address });
      }
    };
    const onSecure = (): void => {
      addPhase(phases, 'tls', performance.now() - tConnected);
      cleanup();
      const tlsSocket = socket as TLSSocket;
      const cert = tlsSocket.getPeerCertificate();
      const expiry = typeof cert.valid_to === 'string' ? Date.parse(cert.valid_to) / 1000 : NaN;
      const version = tlsSocket.getProtocol();
      resolvePromise({
        socket,
        address,
        ...(Number.isFinite(expiry) ? { tlsExpiry: expiry } : {}),
        ...(version === null ? {} : { tlsVersion: version }),
      });
    };
    const onError = (err: Error & { code?: string }): void => {
      if (tConnected === 0) {
        addPhase(phases, 'connect', performance.now() - t0);
        // Node's own text is already the clear one: "connect ECONNREFUSED 127.0.0.1:4321".
        const msg = err.message.startsWith('connect ') ? err.message : `connect ${target}: ${err.message}`;
        fail(new ProbeFailure('connect', msg));
      } else {
        addPhase(phases, 'tls', performance.now() - tConnected);
        const code = err.code !== undefined && !err.message.includes(err.code) ? ` (${err.code})` : '';
        fail(new ProbeFailure('tls', `tls handshake with ${target}: ${err.message}${code}`));
      }
    };

    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', onConnect);
    if (o.tls) socket.once('secureConnect', onSecure);
    socket.once('error', onError);
  });
}

let context: SecureContext | undefined;
const withCa = new Map<string, SecureContext>();

/**
 * One secure context (the default CA store) for every probe, and one per extra CA: building it
 * per connection costs more CPU than the handshake itself. Sessions are not reused, so each probe
 * still pays (and measures) a full handshake.
 */
function sharedContext(ca?: string): SecureContext {
  if (ca === undefined) {
    context ??= createSecureContext();
    return context;
  }
  let c = withCa.get(ca);
  if (c === undefined) {
    if (withCa.size >= 32) withCa.clear();
    c = createSecureContext({ ca });
    withCa.set(ca, c);
  }
  return c;
}

function noop(): void {}
