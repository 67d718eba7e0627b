// Test helpers: a collector on port 0 with SQLite in a temp dir, and a real `ws` agent client
// that speaks the protocol.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import WebSocket from 'ws';
import { startCollector, type Collector, type CollectorOptions } from '../../collector/collector.js';
import { configSchema, type Config } from '../../config/schema.js';
import type { CollectorMessage, ResultRecord } from '../../protocol/messages.js';

export const TOKENS = {
  'kbh-1': 'kbh-1-token-0123456789abcdef',
  'aar-1': 'aar-1-token-0123456789abcdef',
} as const;
export const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
export const silent = pino({ level: 'silent' });

export function testConfig(dir: string, extra: { systems?: unknown[]; collector?: Record<string, unknown> } = {}): Config {
  return configSchema.parse({
    collector: { listen: '127.0.0.1:0', data_dir: dir, admin_token: ADMIN_TOKEN, ...extra.collector },
    agents: [
      { id: 'kbh-1', name: 'København', token: TOKENS['kbh-1'] },
      { id: 'aar-1', name: 'Aarhus', token: TOKENS['aar-1'] },
    ],
    defaults: { interval: '30s', timeout: '5s', retries: 1 },
    systems: extra.systems ?? [
      { id: 'mitid', name: 'MitID', url: 'https://www.mitid.dk/', probes: [{ id: 'front', type: 'http', url: 'https://www.mitid.dk/' }] },
      {
        id: 'virk',
        name: 'Virk',
        depends_on: { mitid: 'critical' },
        probes: [
          { id: 'front', type: 'http', url: 'https://virk.dk/', headers: { authorization: 'Bearer do-not-leak' } },
          { id: 'port', type: 'tcp', host: '127.0.0.1', port: 443, agents: ['aar-1'] },
        ],
      },
    ],
  });
}

export interface Harness {
  dir: string;
  collector: Collector;
  wsUrl: string;
  close(): Promise<void>;
}

export async function startHarness(
  opts: Omit<Partial<CollectorOptions>, 'config'> & { config?: (dir: string) => Config; dir?: string } = {},
): Promise<Harness> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'vagt-collector-'));
  const config = (opts.config ?? testConfig)(dir);
  const { config: _make, dir: _dir, ...rest } = opts;
  const collector = await startCollector({ logger: silent, listen: '127.0.0.1:0', dataDir: dir, ...rest, config });
  return {
    dir,
    collector,
    wsUrl: collector.url.replace(/^http/, 'ws') + '/agent',
    close: async () => {
      await collector.close();
      if (opts.dir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A protocol-speaking test agent over a real WebSocket. */
export class TestAgent {
  readonly ws: WebSocket;
  readonly messages: CollectorMessage[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: { pred: (m: CollectorMessage) => boolean; resolve: (m: CollectorMessage) => void }[] = [];
  #seen = 0;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (data) => {
      const m = JSON.parse((data as Buffer).toString('utf8')) as CollectorMessage;
      this.messages.push(m);
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.pred(m)) return true;
        w.resolve(m);
        return false;
      });
    });
    ws.on('error', () => {});
  }

  /** `options` adds to the client's, e.g. `ca` for wss://. */
  static connect(url: string, token: string | undefined, options: WebSocket.ClientOptions = {}): Promise<TestAgent> {
    const ws = new WebSocket(url, token === undefined ? options : { ...options, headers: { authorization: `Bearer ${token}` } });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new TestAgent(ws)));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body })));
      });
      ws.once('error', reject);
    });
  }

  /** Connects and completes hello; returns the agent with welcome and assignment received. */
  static async ready(url: string, agent: keyof typeof TOKENS): Promise<TestAgent> {
    const a = await TestAgent.connect(url, TOKENS[agent]);
    a.send({ type: 'hello', protocol: 1, agent, version: 'test' });
    await a.next('welcome');
    await a.next('assignment');
    return a;
  }

  send(m: unknown): void {
    this.ws.send(typeof m === 'string' ? m : JSON.stringify(m));
  }

  /** The next message of a type not yet consumed by next(), waiting for it if needed. */
  next<T extends CollectorMessage['type']>(
    type: T,
    where: (m: Extract<CollectorMessage, { type: T }>) => boolean = () => true,
    ms = 5_000,
  ): Promise<Extract<CollectorMessage, { type: T }>> {
    const pred = (m: CollectorMessage): boolean => m.type === type && where(m as Extract<CollectorMessage, { type: T }>);
    for (let i = this.#seen; i < this.messages.length; i++) {
      const m = this.messages[i]!;
      if (pred(m)) {
        this.#seen = i + 1;
        return Promise.resolve(m as Extract<CollectorMessage, { type: T }>);
      }
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} message within ${ms} ms; got ${JSON.stringify(this.messages.slice(-5))}`)), ms);
      this.#waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(timer);
          this.#seen = this.messages.length;
          resolve(m as Extract<CollectorMessage, { type: T }>);
        },
      });
    });
  }

  /** Sends a results batch and waits for its ack. */
  async batch(batch: number, results: ResultRecord[]): Promise<Extract<CollectorMessage, { type: 'ack' }>> {
    this.send({ type: 'results', batch, results });
    return this.next('ack', (m) => m.batch === batch);
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    return this.closed;
  }
}

export function res(over: Partial<ResultRecord> & { seq: number }): ResultRecord {
  return {
    system: 'mitid',
    probe: 'front',
    ts: Date.now(),
    ok: true,
    duration_ms: 42,
    phases: { dns: 1, connect: 2, tls: 5, ttfb: 20, transfer: 3 },
    status_code: 200,
    ...over,
  };
}

export interface ApiResult {
  agent: string;
  system: string;
  probe: string;
  seq: number;
  ts: string;
  ok: boolean;
  status_code: number | null;
  error: { code: string; message: string } | null;
  detail: Record<string, unknown> | null;
}
export interface ApiSystem {
  id: string;
  name: string;
  status: string;
  own_status: string;
  cause: string[];
  since: string;
}
export interface ApiProbe {
  id: string;
  type: string;
  target: string;
  agents: string[] | null;
  latest: ApiResult[];
}
export interface ApiAgent {
  id: string;
  name: string | null;
  connected: boolean;
  last_seen: string | null;
  version: string | null;
  probes: string[];
}
/** Every field any route returns; a test reads the ones its route has. */
export interface ApiBody {
  updated_at: string;
  systems: ApiSystem[];
  probes: ApiProbe[];
  results: ApiResult[];
  limit: number;
  truncated: boolean;
  agents: ApiAgent[];
  error: { code: string; message: string; parameter?: string; problems?: { path: string; message: string }[] };
  [key: string]: unknown;
}

export async function getJson(url: string, init?: RequestInit): Promise<{ status: number; headers: Headers; body: ApiBody }> {
  const r = await fetch(url, init);
  const text = await r.text();
  return { status: r.status, headers: r.headers, body: (text === '' ? {} : JSON.parse(text)) as ApiBody };
}

export interface AdminCallBody extends Record<string, unknown> {
  error?: { code: string; message: string; problems?: { path: string; message: string }[]; parameter?: string };
}

/**
 * A request to the API as an operator would make it: with the admin token unless `token` says
 * otherwise (null: none), a JSON body (or a string as given, with `type`), the answer parsed.
 */
export async function adminCall(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  opts: { token?: string | null; type?: string } = {},
): Promise<{ status: number; headers: Headers; body: AdminCallBody }> {
  const headers: Record<string, string> = {};
  const token = opts.token === undefined ? ADMIN_TOKEN : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = opts.type ?? 'application/json';
  const r = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
  const text = await r.text();
  return { status: r.status, headers: r.headers, body: (text === '' ? null : JSON.parse(text)) as AdminCallBody };
}

/** The value of one sample in a Prometheus exposition, or undefined. */
export function sample(exposition: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const x of (m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)) got[x[1]!] = x[2]!;
    if (Object.entries(labels).every(([k, v]) => got[k] === v) && Object.keys(got).length === Object.keys(labels).length)
      return Number(m[4]);
  }
  return undefined;
}

export async function metricsText(h: Harness): Promise<string> {
  return (await fetch(`${h.collector.url}/metrics`)).text();
}

/** Polls until fn returns a value that is not undefined/false, or fails after ms. */
export async function eventually<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, ms = 5_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - start > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
