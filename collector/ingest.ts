// The agents' WebSocket endpoint (/agent), on the HTTP server's port with `ws` in noServer mode.
// The token is checked before the upgrade; after it, every frame is size-limited and validated,
// bad ones are answered with an `error` and counted, and nothing an agent sends can crash us.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import type { Clock } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import {
  CLOSE,
  LIMITS,
  PROTOCOL_VERSION,
  SUPPORTED_VERSIONS,
  type CollectorMessage,
  type ErrorMessage,
  type HelloMessage,
  type ResultRecord,
  type ResultsMessage,
} from '../protocol/messages.js';
import { frameText, parseAgentMessage } from '../protocol/validate.js';
import { bearerToken } from './auth.js';
import type { CommitQueue } from './commit-queue.js';
import type { CollectorMetrics, RejectReason } from './metrics.js';
import { probeKey, type Assignment } from './model.js';
import type { AgentSeen, StoredResult } from './store/types.js';

export interface IngestOptions {
  logger: Logger;
  clock: Clock;
  metrics: CollectorMetrics;
  queue: CommitQueue;
  /** The agent a bearer token belongs to. */
  identify(token: string): string | undefined;
  /** The agent's current assignment; undefined when the configuration no longer knows it. */
  assignment(agent: string): Assignment | undefined;
  /** An agent connected, disconnected or was heard from; persisted as "agents seen". */
  onSeen(seen: AgentSeen): void;
  /** Highest seq stored for an agent, to warn when its sequence started over. */
  maxSeq?(agent: string): Promise<number | undefined>;
  heartbeatMs?: number;
  helloTimeoutMs?: number;
  /** More bad frames than this within a minute closes the connection (1008). */
  maxBadFramesPerMinute?: number;
  /** Sockets one agent may hold at once, in any state; more are refused with 429. */
  maxConnectionsPerAgent?: number;
  /** Replies queued for a peer beyond this many bytes: it is not reading them, and is cut off. */
  maxUnreadBytes?: number;
  /**
   * Results of one connection waiting for their commit; beyond this, its socket is not read until
   * acks bring it down to half, so a fast sender meets TCP backpressure instead of growing our heap.
   */
  maxPendingResults?: number;
}

export interface ConnectionInfo {
  agent: string;
  remote_address: string | null;
  version: string | null;
  connected_at: number;
  last_seen: number;
  revision: string | undefined;
}

interface Conn {
  ws: WebSocket;
  agent: string;
  remote: string | null;
  version: string | null;
  connectedAt: number;
  lastSeen: number;
  hello: boolean;
  revision: string | undefined;
  keys: ReadonlySet<string>;
  alive: boolean;
  bad: number[];
  helloTimer: NodeJS.Timeout | undefined;
  log: LogBudget;
  /** Results enqueued and not yet committed. */
  pending: number;
}

/** Warnings an agent can cause, counted per minute: a flood must not flood the log too. */
interface LogBudget {
  start: number;
  used: number;
}

/** Results more than this far ahead of the collector's clock are refused: they would stay "fresh". */
const MAX_FUTURE_MS = 10 * 60_000;
const MAX_LOGGED_BAD_FRAMES = 5;
const MAX_LOGGED_PER_MINUTE = 10;
/** ws reports an oversized frame with one of these (a declared length over maxPayload, or over 2^53). */
const TOO_BIG_CODES = new Set(['WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH']);
/** A refused peer that does not take our answer (a zero window) is cut off after this. */
const REFUSAL_GRACE_MS = 5_000;

function mayLog(budget: LogBudget, now: number): boolean {
  if (now - budget.start >= 60_000) {
    budget.start = now;
    budget.used = 0;
  }
  return budget.used++ < MAX_LOGGED_PER_MINUTE;
}

function remoteOf(req: IncomingMessage): string | null {
  return req.socket.remoteAddress ?? null;
}

/**
 * Answers an upgrade request with a plain HTTP response and closes the socket. The server allows
 * half-open sockets, so ending ours is not enough: a peer that never ends its side would keep the
 * socket forever. It is destroyed once the answer is flushed (as ws does), or after a grace period.
 */
export function refuseUpgrade(socket: Duplex, status: number, reason: string, body: string, extra: string[] = []): void {
  const text = body.endsWith('\n') ? body : body + '\n';
  const head = [
    `HTTP/1.1 ${status} ${reason}`,
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(text)}`,
    'Cache-Control: no-store',
    'Connection: close',
    ...extra,
  ];
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const grace = setTimeout(() => socket.destroy(), REFUSAL_GRACE_MS);
  grace.unref();
  socket.once('close', () => clearTimeout(grace));
  socket.once('finish', () => socket.destroy());
  socket.end(head.join('\r\n') + '\r\n\r\n' + text);
}

/** Only the known fields, the agent's id and the arrival time: nothing an agent adds is stored. */
function toStored(r: ResultRecord, agent: string, now: number): StoredResult {
  const s: StoredResult = {
    agent,
    seq: r.seq,
    system: r.system,
    probe: r.probe,
    ts: r.ts,
    ok: r.ok,
    duration_ms: r.duration_ms,
    phases: r.phases,
    received_at: now,
  };
  if (r.status_code !== undefined) s.status_code = r.status_code;
  if (r.error !== undefined) s.error = { code: r.error.code, message: r.error.message };
  if (r.tls_expiry !== undefined) s.tls_expiry = r.tls_expiry;
  if (r.detail !== undefined) s.detail = r.detail;
  return s;
}

export class Ingest {
  readonly #o: Required<Omit<IngestOptions, 'maxSeq'>> & Pick<IngestOptions, 'maxSeq'>;
  readonly #log: Logger;
  readonly #wss: WebSocketServer;
  /** Every open socket, before and after hello. */
  readonly #all = new Set<Conn>();
  /** The current connection of each agent (after hello). */
  readonly #byAgent = new Map<string, Conn>();
  readonly #heartbeat: NodeJS.Timeout;
  /** Refused upgrades, logged within a budget like bad frames. */
  readonly #refusals: LogBudget = { start: 0, used: 0 };
  #closing = false;

  constructor(opts: IngestOptions) {
    this.#o = {
      heartbeatMs: 15_000,
      helloTimeoutMs: 10_000,
      maxBadFramesPerMinute: 100,
      maxConnectionsPerAgent: 8,
      maxUnreadBytes: 4 * 1024 * 1024,
      maxPendingResults: 20 * LIMITS.maxBatchResults,
      ...opts,
    };
    this.#log = opts.logger;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: LIMITS.maxFrameBytes, clientTracking: false });
    this.#wss.on('error', (err) => this.#log.warn({ err: errorMessage(err) }, 'websocket server error'));
    this.#heartbeat = setInterval(() => this.#beat(), this.#o.heartbeatMs);
    this.#heartbeat.unref();
  }

  /** Agents connected now (after hello). */
  connections(): ConnectionInfo[] {
    return [...this.#byAgent.values()].map((c) => ({
      agent: c.agent,
      remote_address: c.remote,
      version: c.version,
      connected_at: c.connectedAt,
      last_seen: c.lastSeen,
      revision: c.revision,
    }));
  }

  isConnected(agent: string): boolean {
    return this.#byAgent.has(agent);
  }

  /** The server's 'upgrade' handler for /agent. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const remote = remoteOf(req);
    if (this.#closing) {
      refuseUpgrade(socket, 503, 'Service Unavailable', 'the collector is shutting down; reconnect later');
      return;
    }
    const token = bearerToken(req.headers.authorization);
    const agent = token === undefined ? undefined : this.#o.identify(token);
    if (agent === undefined) {
      this.#o.metrics.rejected('unauthorized');
      const why =
        token === undefined
          ? 'missing agent token: send "Authorization: Bearer <token>"'
          : 'invalid agent token: it matches no agent in the collector\'s configuration';
      if (mayLog(this.#refusals, this.#o.clock.now()))
        this.#log.warn({ remote, reason: token === undefined ? 'missing token' : 'invalid token' }, 'agent refused');
      refuseUpgrade(socket, 401, 'Unauthorized', why, ['WWW-Authenticate: Bearer realm="vagt"']);
      return;
    }
    // Each socket costs memory until its hello (10 s) or its closing handshake; a leaked token must
    // not buy an unbounded number. After hello a newer connection replaces the older one anyway.
    let open = 0;
    for (const c of this.#all) if (c.agent === agent) open++;
    if (open >= this.#o.maxConnectionsPerAgent) {
      this.#o.metrics.rejected('too_many_connections');
      if (mayLog(this.#refusals, this.#o.clock.now())) this.#log.warn({ agent, remote, open }, 'too many connections for this agent; refused');
      refuseUpgrade(
        socket,
        429,
        'Too Many Requests',
        `agent ${agent} already has ${open} open connections; close them or try again later`,
        ['Retry-After: 10'],
      );
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, agent, remote));
  }

  #accept(ws: WebSocket, agent: string, remote: string | null): void {
    const now = this.#o.clock.now();
    const conn: Conn = {
      ws,
      agent,
      remote,
      version: null,
      connectedAt: now,
      lastSeen: now,
      hello: false,
      revision: undefined,
      keys: new Set(),
      alive: true,
      bad: [],
      helloTimer: undefined,
      log: { start: now, used: 0 },
      pending: 0,
    };
    this.#all.add(conn);
    conn.helloTimer = setTimeout(() => {
      this.#send(conn, { type: 'error', code: 'not_hello', message: `no hello within ${this.#o.helloTimeoutMs} ms` });
      ws.close(CLOSE.helloTimeout, 'no hello in time');
    }, this.#o.helloTimeoutMs);
    conn.helloTimer.unref();

    ws.on('message', (data, isBinary) => {
      try {
        this.#onMessage(conn, data, isBinary);
      } catch (err) {
        this.#log.warn({ agent, err: errorMessage(err) }, 'handling an agent frame failed');
        this.#send(conn, { type: 'error', code: 'internal', message: 'the collector failed to handle this frame' });
      }
    });
    ws.on('pong', () => {
      conn.alive = true;
    });
    ws.on('error', (err: Error & { code?: string }) => {
      // ws closes the socket itself after a protocol error (1009 for an oversized frame).
      const reason: RejectReason = err.code !== undefined && TOO_BIG_CODES.has(err.code) ? 'too_big' : 'invalid_frame';
      this.#o.metrics.rejected(reason);
      this.#log.warn({ agent, remote, code: err.code, err: err.message }, 'agent connection error');
    });
    ws.on('close', (code, reason) => this.#onClose(conn, code, reason.toString()));
    this.#log.debug({ agent, remote }, 'agent connected, waiting for hello');
  }

  #onMessage(conn: Conn, data: RawData, isBinary: boolean): void {
    // Frames still arriving after we decided to close (e.g. a garbage flood) are ignored.
    if (conn.ws.readyState !== WebSocket.OPEN) return;
    // Every frame is answered; a peer that sends without reading the answers would have them pile
    // up here. No closing handshake: it would not read that either.
    const unread = conn.ws.bufferedAmount;
    if (unread > this.#o.maxUnreadBytes) {
      this.#o.metrics.rejected('not_reading');
      this.#log.warn({ agent: conn.agent, remote: conn.remote, unread }, 'agent does not read our replies; cutting it off');
      conn.ws.terminate();
      return;
    }
    conn.alive = true;
    conn.lastSeen = this.#o.clock.now();
    if (isBinary) {
      this.#bad(conn, 'invalid_frame', 'invalid_frame', 'binary frames are not accepted: send JSON text frames');
      return;
    }
    const text = frameText(data);
    const parsed = parseAgentMessage(text);
    if (!parsed.ok) {
      const frame = parsed.error.startsWith('frame ');
      this.#bad(conn, frame ? 'invalid_frame' : 'invalid_message', frame ? 'invalid_frame' : 'invalid_message', parsed.error);
      return;
    }
    const m = parsed.value;
    if (m.type === 'hello') {
      this.#onHello(conn, m);
      return;
    }
    if (!conn.hello) {
      this.#bad(conn, 'invalid_message', 'not_hello', 'send hello before results');
      return;
    }
    this.#onResults(conn, m, parsed.invalid ?? []);
  }

  #onHello(conn: Conn, m: HelloMessage): void {
    const { ws, agent } = conn;
    if (conn.hello) {
      this.#bad(conn, 'invalid_message', 'invalid_message', 'hello was already received on this connection');
      return;
    }
    if (!SUPPORTED_VERSIONS.includes(m.protocol)) {
      this.#o.metrics.rejected('unsupported_version');
      const supported = SUPPORTED_VERSIONS.join(', ');
      this.#log.warn({ agent, protocol: m.protocol, version: m.version }, 'agent speaks an unsupported protocol version');
      this.#send(conn, {
        type: 'error',
        code: 'unsupported_version',
        message: `protocol version ${m.protocol} is not supported; this collector speaks ${supported}`,
      });
      ws.close(CLOSE.unsupportedVersion, `unsupported protocol ${m.protocol}; supported: ${supported}`.slice(0, 120));
      return;
    }
    if (m.agent !== agent) {
      this.#o.metrics.rejected('unauthorized');
      this.#log.warn({ agent, claimed: m.agent }, 'hello names another agent than the token');
      this.#send(conn, {
        type: 'error',
        code: 'invalid_message',
        message: `hello.agent "${m.agent}" is not the agent this token belongs to`,
      });
      ws.close(CLOSE.policy, 'agent id does not match the token');
      return;
    }
    const assignment = this.#o.assignment(agent);
    if (assignment === undefined) {
      ws.close(CLOSE.policy, 'agent is not in the configuration');
      return;
    }
    clearTimeout(conn.helloTimer);
    conn.hello = true;
    conn.version = m.version.slice(0, 100);
    const prev = this.#byAgent.get(agent);
    if (prev !== undefined && prev !== conn) {
      this.#log.info({ agent, old: prev.remote, new: conn.remote }, 'agent reconnected; closing its older connection');
      prev.ws.close(CLOSE.replaced, 'replaced by a newer connection of this agent');
    }
    this.#byAgent.set(agent, conn);
    this.#o.metrics.agentConnected(agent, true);
    this.#send(conn, { type: 'welcome', protocol: PROTOCOL_VERSION, agent, heartbeat_ms: this.#o.heartbeatMs });
    this.#assign(conn, assignment);
    this.#o.onSeen({ id: agent, last_seen: conn.lastSeen, version: conn.version, remote_address: conn.remote });
    this.#log.info({ agent, remote: conn.remote, version: conn.version, probes: assignment.probes.length }, 'agent connected');
    if (m.last_seq !== undefined && this.#o.maxSeq !== undefined) {
      const lastSeq = m.last_seq;
      this.#o.maxSeq(agent).then(
        (stored) => {
          if (stored !== undefined && Number.isFinite(lastSeq) && lastSeq < stored)
            this.#log.warn(
              { agent, last_seq: lastSeq, stored_seq: stored },
              'agent sequence started over: its results with a seq already stored will be dropped as duplicates',
            );
        },
        () => {},
      );
    }
  }

  #assign(conn: Conn, a: Assignment): void {
    conn.revision = a.revision;
    conn.keys = a.keys;
    this.#send(conn, { type: 'assignment', revision: a.revision, probes: a.probes });
  }

  #onResults(conn: Conn, m: ResultsMessage, invalid: { seq: number | undefined; error: string }[]): void {
    const rejected: number[] = [];
    const now = this.#o.clock.now();
    if (invalid.length > 0) {
      for (const i of invalid) if (i.seq !== undefined) rejected.push(i.seq);
      this.#o.metrics.rejected('invalid_result', invalid.length);
      if (mayLog(conn.log, now))
        this.#log.warn(
          { agent: conn.agent, batch: m.batch, invalid: invalid.length, first: invalid[0]?.error },
          'invalid results rejected',
        );
    }
    const rows: StoredResult[] = [];
    let unknown = 0;
    let future = 0;
    for (const r of m.results) {
      if (!conn.keys.has(probeKey(r.system, r.probe))) {
        rejected.push(r.seq);
        unknown++;
      } else if (r.ts > now + MAX_FUTURE_MS) {
        rejected.push(r.seq);
        future++;
      } else rows.push(toStored(r, conn.agent, now));
    }
    if (unknown > 0) {
      this.#o.metrics.rejected('unknown_probe', unknown);
      if (mayLog(conn.log, now))
        this.#log.warn({ agent: conn.agent, batch: m.batch, count: unknown }, 'results for probes not assigned to this agent rejected');
    }
    if (future > 0) {
      this.#o.metrics.rejected('invalid_result', future);
      if (mayLog(conn.log, now))
        this.#log.warn({ agent: conn.agent, count: future }, 'results dated in the future rejected; is the agent\'s clock right?');
    }
    const batch = m.batch;
    conn.pending += rows.length;
    if (conn.pending > this.#o.maxPendingResults && !conn.ws.isPaused) {
      this.#log.debug({ agent: conn.agent, pending: conn.pending }, 'agent sends faster than we commit; pausing its socket');
      conn.ws.pause();
    }
    this.#o.queue.enqueue(rows, (err) => {
      conn.pending -= rows.length;
      if (conn.ws.isPaused && conn.pending <= this.#o.maxPendingResults / 2) conn.ws.resume();
      if (err !== undefined) {
        // No ack: the agent keeps the results and sends them again.
        this.#send(conn, { type: 'error', code: 'internal', message: `batch ${batch} was not stored; send it again` });
        return;
      }
      this.#send(conn, { type: 'ack', batch, accepted: rows.length, rejected });
    });
  }

  #bad(conn: Conn, reason: RejectReason, code: ErrorMessage['code'], message: string): void {
    this.#o.metrics.rejected(reason);
    const now = this.#o.clock.now();
    conn.bad.push(now);
    while (conn.bad.length > 0 && conn.bad[0]! <= now - 60_000) conn.bad.shift();
    // The first few per minute at warn; a flood must not flood the log too.
    if (conn.bad.length <= MAX_LOGGED_BAD_FRAMES)
      this.#log.warn({ agent: conn.agent, remote: conn.remote, reason, message }, 'bad frame from agent');
    this.#send(conn, { type: 'error', code, message });
    if (conn.bad.length > this.#o.maxBadFramesPerMinute) {
      this.#o.metrics.rejected('rate_limited');
      this.#log.warn({ agent: conn.agent, remote: conn.remote }, 'too many bad frames; closing the connection');
      this.#send(conn, { type: 'error', code: 'rate_limited', message: 'too many invalid frames; closing' });
      conn.ws.close(CLOSE.policy, 'too many invalid frames');
    }
  }

  #send(conn: Conn, m: CollectorMessage): void {
    if (conn.ws.readyState !== WebSocket.OPEN) return;
    conn.ws.send(JSON.stringify(m), (err) => {
      if (err) this.#log.debug({ agent: conn.agent, err: err.message }, 'send failed');
    });
  }

  #onClose(conn: Conn, code: number, reason: string): void {
    clearTimeout(conn.helloTimer);
    this.#all.delete(conn);
    if (this.#byAgent.get(conn.agent) !== conn) return;
    this.#byAgent.delete(conn.agent);
    this.#o.metrics.agentConnected(conn.agent, false);
    const now = this.#o.clock.now();
    this.#o.onSeen({ id: conn.agent, last_seen: Math.max(conn.lastSeen, now), version: conn.version, remote_address: conn.remote });
    this.#log.info({ agent: conn.agent, code, reason }, 'agent disconnected');
  }

  /** Ping every socket; one that did not answer the previous ping is dead and is terminated. */
  #beat(): void {
    for (const conn of this.#all) {
      // A paused socket's pongs wait unread behind its results: our slowness, not its death.
      if (conn.ws.isPaused) continue;
      if (!conn.alive) {
        this.#log.warn({ agent: conn.agent, remote: conn.remote }, 'agent did not answer the heartbeat; terminating');
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      try {
        conn.ws.ping();
      } catch {
        conn.ws.terminate();
      }
    }
  }

  /** After a reload: a new assignment to every agent whose revision changed; agents gone are closed. */
  pushAssignments(): void {
    for (const conn of this.#byAgent.values()) {
      const a = this.#o.assignment(conn.agent);
      if (a === undefined) {
        this.disconnect(conn.agent, CLOSE.policy, 'agent removed from the configuration');
        continue;
      }
      if (a.revision !== conn.revision) {
        this.#log.info({ agent: conn.agent, revision: a.revision, probes: a.probes.length }, 'sending a new assignment');
        this.#assign(conn, a);
      } else conn.keys = a.keys;
    }
  }

  /** Closes an agent's sockets (e.g. its token changed); it reconnects and authenticates again. */
  disconnect(agent: string, code: number, reason: string): void {
    for (const conn of this.#all) if (conn.agent === agent) conn.ws.close(code, reason);
  }

  /** Stops accepting agents. */
  stopAccepting(): void {
    this.#closing = true;
  }

  /** Closes every socket with 1001 and waits (briefly) for them to go. */
  async close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#heartbeat);
    const closed = [...this.#all].map(
      (conn) =>
        new Promise<void>((resolve) => {
          if (conn.ws.readyState === WebSocket.CLOSED) return resolve();
          conn.ws.once('close', () => resolve());
          conn.ws.close(CLOSE.goingAway, 'collector shutting down');
          // A peer that does not complete the closing handshake is cut off.
          setTimeout(() => {
            conn.ws.terminate();
            resolve();
          }, 2_000).unref();
        }),
    );
    await Promise.all(closed);
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }
}
