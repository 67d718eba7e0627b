// A fake collector for the agent's tests: a real `ws` server on 127.0.0.1 that speaks the
// protocol (validated with the protocol module), records what the agent sends, and acks on
// demand. Restartable on the same port, to play a collector that goes away and comes back.
import type { IncomingHttpHeaders } from 'node:http';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  PROTOCOL_VERSION,
  type CollectorMessage,
  type HelloMessage,
  type ProbeOutcome,
  type ProbeSpec,
  type ResultRecord,
} from '../../protocol/messages.js';
import { parseAgentMessage } from '../../protocol/validate.js';

export const TOKEN = 'agent-test-token-0123456789';

export interface ReceivedBatch {
  batch: number;
  results: ResultRecord[];
  ws: WebSocket;
}

export interface FakeCollectorOptions {
  port?: number;
  token?: string;
  /** Ack each batch as it arrives (default), or leave it to the test. */
  autoAck?: boolean;
  /** Seqs to list as rejected in the ack. */
  reject?: (r: ResultRecord) => boolean;
  heartbeatMs?: number;
  /** Sent after the welcome to each new connection; default none (an empty assignment). */
  probes?: ProbeSpec[];
  revision?: string;
  /** Answer the hello with neither welcome nor assignment (the test does it). */
  silentHello?: boolean;
}

export class FakeCollector {
  readonly wss: WebSocketServer;
  port = 0;
  readonly upgrades: IncomingHttpHeaders[] = [];
  readonly hellos: HelloMessage[] = [];
  readonly batches: ReceivedBatch[] = [];
  readonly closes: { code: number; reason: string }[] = [];
  readonly sockets = new Set<WebSocket>();
  /** Protocol problems in what the agent sent: must stay empty. */
  readonly problems: string[] = [];
  refused = 0;
  probes: ProbeSpec[];
  revision: string;
  readonly #o: FakeCollectorOptions;

  private constructor(o: FakeCollectorOptions) {
    this.#o = o;
    this.probes = o.probes ?? [];
    this.revision = o.revision ?? 'r1';
    const token = o.token ?? TOKEN;
    this.wss = new WebSocketServer({
      host: '127.0.0.1',
      port: o.port ?? 0,
      verifyClient: (info, cb) => {
        this.upgrades.push(info.req.headers);
        if (info.req.headers.authorization === `Bearer ${token}`) cb(true);
        else {
          this.refused++;
          cb(false, 401, 'Unauthorized');
        }
      },
    });
    this.wss.on('connection', (ws) => this.#accept(ws));
  }

  static async start(o: FakeCollectorOptions = {}): Promise<FakeCollector> {
    const fc = new FakeCollector(o);
    await new Promise<void>((resolve, reject) => {
      fc.wss.once('listening', resolve);
      fc.wss.once('error', reject);
    });
    fc.port = (fc.wss.address() as { port: number }).port;
    return fc;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/agent`;
  }

  #accept(ws: WebSocket): void {
    this.sockets.add(ws);
    ws.on('close', (code, reason) => {
      this.sockets.delete(ws);
      this.closes.push({ code, reason: reason.toString() });
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        this.problems.push('binary frame');
        return;
      }
      const text = (data as Buffer).toString('utf8');
      const parsed = parseAgentMessage(text);
      if (!parsed.ok) {
        this.problems.push(parsed.error);
        return;
      }
      if ((parsed.invalid?.length ?? 0) > 0) this.problems.push(`invalid results: ${JSON.stringify(parsed.invalid)}`);
      const m = parsed.value;
      if (m.type === 'hello') {
        this.hellos.push(m);
        if (this.#o.silentHello === true) return;
        send(ws, { type: 'welcome', protocol: PROTOCOL_VERSION, agent: m.agent, heartbeat_ms: this.#o.heartbeatMs ?? 15_000 });
        send(ws, { type: 'assignment', revision: this.revision, probes: this.probes });
        return;
      }
      if (Buffer.byteLength(text) > 1_048_576) this.problems.push('frame over 1 MiB');
      const b: ReceivedBatch = { batch: m.batch, results: m.results, ws };
      this.batches.push(b);
      if (this.#o.autoAck !== false) this.ack(b);
    });
  }

  ack(b: ReceivedBatch): void {
    const rejected = b.results.filter((r) => this.#o.reject?.(r) === true).map((r) => r.seq);
    send(b.ws, { type: 'ack', batch: b.batch, accepted: b.results.length - rejected.length, rejected });
  }

  /** A new assignment to every connected agent (and to those that connect later). */
  assign(probes: ProbeSpec[], revision: string): void {
    this.probes = probes;
    this.revision = revision;
    for (const ws of this.sockets) send(ws, { type: 'assignment', revision, probes });
  }

  sendRaw(data: string | Buffer): void {
    for (const ws of this.sockets) ws.send(data);
  }

  get results(): ResultRecord[] {
    return this.batches.flatMap((b) => b.results);
  }

  /** Goes away abruptly, as a crashed collector: no close frame, sockets destroyed. */
  async crash(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    this.#closed ??= new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await this.#closed;
  }
  #closed: Promise<void> | undefined;

  async close(): Promise<void> {
    await this.crash();
  }
}

export function send(ws: WebSocket, m: CollectorMessage): void {
  ws.send(JSON.stringify(m));
}

/** Polls until `pred` holds; fails with `what` after `ms`. */
export async function waitFor(pred: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

/** A pino logger that keeps its lines, for assertions on what the agent logged. */
export function captureLogger(level: pino.LevelWithSilent = 'debug'): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as LogLine);
      cb();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;

/** An http probe spec with the defaults the collector would resolve. */
export function httpSpec(system: string, id: string, extra: Partial<ProbeSpec> = {}): ProbeSpec {
  return {
    system,
    id,
    type: 'http',
    url: `http://127.0.0.1:1/${system}/${id}`,
    method: 'GET',
    follow_redirects: true,
    max_redirects: 10,
    max_body_bytes: 1_048_576,
    insecure_skip_verify: false,
    expect: {},
    interval: 100,
    timeout: 1000,
    retries: 1,
    ...extra,
  } as ProbeSpec;
}

/** An injected `run` that succeeds after `ms` (default at once). */
export function okRun(ms = 0): (spec: ProbeSpec) => Promise<ProbeOutcome> {
  return async () => {
    if (ms > 0) await sleep(ms);
    return { ok: true, duration_ms: ms, phases: { connect: 0.1 }, status_code: 200 };
  };
}
