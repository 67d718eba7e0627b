// The agent's WebSocket to the collector: connect with the bearer token, hello, welcome, then
// frames both ways; heartbeat watch; reconnect with exponential backoff and full jitter.
// It knows nothing of probes or results: the agent gives it callbacks.
import type { IncomingMessage } from 'node:http';
import type { createConnection } from 'node:net';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { errorMessage } from '../lib/errors.js';
import { version } from '../lib/version.js';
import {
  CLOSE,
  PROTOCOL_VERSION,
  type AckMessage,
  type AssignmentMessage,
  type HelloMessage,
} from '../protocol/messages.js';
import { frameText, parseCollectorMessage } from '../protocol/validate.js';
import { pinnedConnect, tlsAdvice } from './tls.js';

/** Heartbeat period assumed until the welcome names one (the collector's default). */
const DEFAULT_HEARTBEAT_MS = 15_000;
/** A collector that sends nothing (not even a ping) for this many heartbeat periods is presumed gone. */
const SILENCE_FACTOR = 2.5;
/** Time for the upgrade, and then for the welcome after the hello. */
const HANDSHAKE_MS = 10_000;
/** Assignments come from the collector we trust and can be large: allow more than results get. */
const MAX_INCOMING_BYTES = 64 * 1024 * 1024;
/** Bad frames from the collector logged at warn per connection; the rest at debug. */
const MAX_LOGGED_BAD_FRAMES = 5;

export interface ConnectionOptions {
  url: string;
  id: string;
  token: string;
  logger: Logger;
  reconnect: { minMs: number; maxMs: number };
  /** A connection that lasted this long (after its welcome) resets the backoff. Default 10 s. */
  stableMs?: number;
  /** After the welcome: the connection can carry results. */
  onReady: () => void;
  /** The connection is gone (it may never have been ready); a reconnect is already planned. */
  onLost: () => void;
  onAssignment: (m: AssignmentMessage) => void;
  onAck: (m: AckMessage) => void;
  /** For the hello's informative `last_seq`. */
  lastSeq?: () => number | undefined;
  /** Default Math.random; injectable for tests of the backoff. */
  random?: () => number;
  /** PEM CA certificates to trust for wss:// instead of the built-in list (`vagt agent --ca`). */
  ca?: string | Buffer;
  /** Trust exactly this certificate for wss://, whatever its names and issuer (the in-process agent). */
  pinnedCert?: string | Buffer;
}

/**
 * Exponential backoff with full jitter (AWS architecture blog): the ceiling doubles with each
 * failed attempt from `minMs` up to `maxMs`, and the delay is drawn uniformly below it (never
 * under `minMs`), so agents that lost the same collector do not come back in lockstep.
 */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(minMs + random() * Math.max(0, ceiling - minMs));
}

type Trouble = 'unauthorized' | 'unsupported_version' | 'replaced' | 'policy' | 'tls' | undefined;

export class Connection {
  readonly #o: ConnectionOptions;
  readonly #log: Logger;
  readonly #random: () => number;
  #ws: WebSocket | undefined;
  #ready = false;
  #stopped = false;
  #attempt = 0;
  #readyAt = 0;
  #lastHeard = 0;
  #heartbeatMs = DEFAULT_HEARTBEAT_MS;
  #retryTimer: NodeJS.Timeout | undefined;
  #watchTimer: NodeJS.Timeout | undefined;
  #welcomeTimer: NodeJS.Timeout | undefined;
  /** Why the last attempt failed in a way an operator must fix: retried slowly. */
  #trouble: Trouble;
  #badFrames = 0;

  constructor(opts: ConnectionOptions) {
    this.#o = opts;
    this.#log = opts.logger;
    this.#random = opts.random ?? Math.random;
  }

  /** Welcome received and the socket open: results can be sent. */
  get ready(): boolean {
    return this.#ready && this.#ws?.readyState === WebSocket.OPEN;
  }

  /** Bytes queued in the socket, not yet written. */
  get bufferedAmount(): number {
    return this.#ws?.bufferedAmount ?? 0;
  }

  start(): void {
    if (this.#stopped || this.#ws !== undefined) return;
    this.#connect();
  }

  /** Sends a text frame when ready; false when there is no usable connection. */
  send(text: string): boolean {
    if (!this.ready) return false;
    this.#ws!.send(text, (err) => {
      // A failed write means the socket is going down; its close event does the rest.
      if (err) this.#log.debug({ err: err.message }, 'send failed');
    });
    return true;
  }

  /** Closes for good (no reconnect); resolves when the socket is closed or after `waitMs`. */
  async close(code: number = CLOSE.normal, reason = 'agent stopping', waitMs = 1000): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    const ws = this.#ws;
    if (ws === undefined || ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    else ws.close(code, reason);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise<void>((r) => (timer = setTimeout(r, waitMs)))]);
    clearTimeout(timer);
    // Narrowing does not know the socket moved on while we waited.
    if ((ws.readyState as number) !== WebSocket.CLOSED) ws.terminate();
  }

  #connect(): void {
    const { url, token } = this.#o;
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, {
        headers: { authorization: `Bearer ${token}` },
        handshakeTimeout: HANDSHAKE_MS,
        maxPayload: MAX_INCOMING_BYTES,
        perMessageDeflate: false,
        followRedirects: false,
        ...(this.#o.ca === undefined ? {} : { ca: this.#o.ca }),
        // ws types it as net.createConnection; node:http also takes one that calls back.
        ...(this.#o.pinnedCert === undefined ? {} : { createConnection: pinnedConnect(this.#o.pinnedCert) as unknown as typeof createConnection }),
      });
    } catch (err) {
      // An unusable URL is not going to get better; still, never crash: retry slowly and say why.
      this.#log.error({ url, err: errorMessage(err) }, 'cannot connect to the collector');
      this.#trouble = 'policy';
      this.#planRetry();
      return;
    }
    this.#ws = ws;
    this.#ready = false;
    this.#badFrames = 0;
    this.#trouble = undefined;
    let status: number | undefined;
    let lastError: string | undefined;
    let tlsProblem: string | undefined;

    ws.on('unexpected-response', (_req, res: IncomingMessage) => {
      status = res.statusCode;
      // Read the collector's one-line explanation (it says why), then give up on this attempt.
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < 500) body += chunk;
      });
      let finished = false;
      const done = (): void => {
        if (finished) return;
        finished = true;
        lastError = body.trim().slice(0, 500) || `HTTP ${status}`;
        ws.terminate();
      };
      res.once('end', done);
      res.once('error', done);
      setTimeout(done, 1000).unref();
    });
    ws.on('open', () => {
      this.#lastHeard = performance.now();
      const hello: HelloMessage = { type: 'hello', protocol: PROTOCOL_VERSION, agent: this.#o.id, version };
      const lastSeq = this.#o.lastSeq?.();
      if (lastSeq !== undefined) hello.last_seq = lastSeq;
      ws.send(JSON.stringify(hello));
      this.#welcomeTimer = setTimeout(() => {
        this.#log.warn({ url }, 'no welcome from the collector in time; reconnecting');
        ws.terminate();
      }, HANDSHAKE_MS);
      this.#welcomeTimer.unref();
    });
    ws.on('ping', () => {
      this.#lastHeard = performance.now();
    });
    ws.on('pong', () => {
      this.#lastHeard = performance.now();
    });
    ws.on('message', (data, isBinary) => {
      this.#lastHeard = performance.now();
      this.#onFrame(ws, data, isBinary);
    });
    ws.on('error', (err) => {
      // After a refused upgrade, the collector's own explanation is the better message.
      if (status === undefined) {
        lastError = err.message;
        tlsProblem = tlsAdvice(err);
      }
    });
    ws.on('close', (code, reasonBuf) => {
      const reason = reasonBuf.toString();
      const wasReady = this.#ready;
      this.#cleanup();
      if (this.#ws === ws) this.#ws = undefined;
      this.#noteClose(code, reason, status, lastError, wasReady, tlsProblem);
      // Reset the backoff only after a connection that lasted, so a collector that accepts and
      // drops at once is still backed off from.
      if (wasReady && performance.now() - this.#readyAt >= (this.#o.stableMs ?? 10_000)) this.#attempt = 0;
      if (wasReady) this.#o.onLost();
      this.#planRetry();
    });
  }

  #onFrame(ws: WebSocket, data: WebSocket.RawData, isBinary: boolean): void {
    if (isBinary) {
      this.#bad('binary frame from the collector');
      return;
    }
    const text = frameText(data);
    const parsed = parseCollectorMessage(text);
    if (!parsed.ok) {
      this.#bad(parsed.error);
      return;
    }
    const m = parsed.value;
    switch (m.type) {
      case 'welcome': {
        if (this.#ready) {
          this.#bad('a second welcome');
          return;
        }
        if (m.protocol !== PROTOCOL_VERSION) {
          this.#log.error({ protocol: m.protocol, ours: PROTOCOL_VERSION }, 'the collector welcomed us with another protocol version');
          this.#trouble = 'unsupported_version';
          ws.close(CLOSE.unsupportedVersion, `agent speaks protocol ${PROTOCOL_VERSION}`);
          return;
        }
        clearTimeout(this.#welcomeTimer);
        this.#heartbeatMs =
          Number.isFinite(m.heartbeat_ms) && m.heartbeat_ms > 0 ? Math.max(100, m.heartbeat_ms) : DEFAULT_HEARTBEAT_MS;
        this.#ready = true;
        this.#readyAt = performance.now();
        this.#trouble = undefined;
        this.#watch(ws);
        this.#log.info({ url: this.#o.url, heartbeat_ms: this.#heartbeatMs }, 'connected to the collector');
        this.#o.onReady();
        return;
      }
      case 'assignment':
        if (!this.#ready) {
          this.#bad('assignment before welcome');
          return;
        }
        this.#o.onAssignment(m);
        return;
      case 'ack':
        if (!this.#ready) {
          this.#bad('ack before welcome');
          return;
        }
        this.#o.onAck(m);
        return;
      case 'error':
        if (m.code === 'unsupported_version') {
          this.#trouble = 'unsupported_version';
          this.#log.error({ message: m.message }, 'the collector does not speak our protocol version; upgrade the agent or the collector');
        } else {
          this.#log.warn({ code: m.code, message: m.message }, 'the collector reported an error');
        }
        return;
    }
  }

  #bad(problem: string): void {
    this.#badFrames++;
    const fields = { problem, count: this.#badFrames };
    if (this.#badFrames <= MAX_LOGGED_BAD_FRAMES) this.#log.warn(fields, 'bad frame from the collector ignored');
    else this.#log.debug(fields, 'bad frame from the collector ignored');
  }

  /** Detects a silent collector (a dead link that TCP has not noticed): no frame and no ping. */
  #watch(ws: WebSocket): void {
    clearInterval(this.#watchTimer);
    this.#watchTimer = setInterval(() => {
      const silent = performance.now() - this.#lastHeard;
      if (silent > SILENCE_FACTOR * this.#heartbeatMs) {
        this.#log.warn({ silent_ms: Math.round(silent) }, 'no heartbeat from the collector; reconnecting');
        ws.terminate();
      }
    }, this.#heartbeatMs);
    this.#watchTimer.unref();
  }

  #cleanup(): void {
    this.#ready = false;
    clearTimeout(this.#welcomeTimer);
    clearInterval(this.#watchTimer);
    this.#welcomeTimer = undefined;
    this.#watchTimer = undefined;
  }

  #noteClose(
    code: number,
    reason: string,
    status: number | undefined,
    error: string | undefined,
    wasReady: boolean,
    tlsProblem?: string,
  ): void {
    if (this.#stopped) {
      this.#log.info({ code, reason }, 'disconnected from the collector');
      return;
    }
    const url = this.#o.url;
    if (status !== undefined) {
      if (status === 401 || status === 403) {
        this.#trouble = 'unauthorized';
        this.#log.error({ url, status, message: error }, 'the collector refused our token; check --token and the collector\'s agents[] (retrying slowly)');
      } else {
        this.#log.warn({ url, status, message: error }, 'the collector refused the connection');
      }
      return;
    }
    if (code === CLOSE.unsupportedVersion) {
      this.#trouble = 'unsupported_version';
      this.#log.error({ code, reason }, 'the collector does not speak our protocol version; upgrade the agent or the collector (retrying slowly)');
    } else if (code === CLOSE.replaced) {
      this.#trouble = 'replaced';
      this.#log.warn({ code, reason }, 'replaced by a newer connection with our agent id; is another agent running with the same id? (retrying slowly)');
    } else if (code === CLOSE.policy) {
      this.#trouble = 'policy';
      this.#log.error({ code, reason }, 'the collector closed the connection by policy (retrying slowly)');
    } else if (wasReady) {
      // 1000/1001: the collector closed on purpose (a restart, most likely); anything else is trouble.
      const level = code === CLOSE.normal || code === CLOSE.goingAway ? 'info' : 'warn';
      this.#log[level]({ code, reason: reason || undefined }, 'disconnected from the collector');
    } else if (tlsProblem !== undefined) {
      // Not going to fix itself: an operator must act, so retry slowly.
      this.#trouble = 'tls';
      this.#log.error({ url, err: error }, `cannot connect to the collector: ${tlsProblem} (retrying slowly)`);
    } else {
      this.#log.warn({ url, code, err: error }, 'cannot connect to the collector');
    }
  }

  #planRetry(): void {
    if (this.#stopped) return;
    const { minMs, maxMs } = this.#o.reconnect;
    // Trouble an operator must fix is retried at the maximum backoff (still jittered).
    const delay =
      this.#trouble !== undefined
        ? Math.round(maxMs * (0.75 + 0.25 * this.#random()))
        : backoffDelay(this.#attempt, minMs, maxMs, this.#random);
    this.#attempt++;
    this.#log.debug({ delay_ms: delay, attempt: this.#attempt }, 'reconnecting after a delay');
    // Ref'd: while the agent waits to reconnect, this timer is what keeps the process alive.
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#connect();
    }, delay);
  }
}
