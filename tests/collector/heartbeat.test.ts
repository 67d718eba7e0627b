// Ingest timing with short periods: a silent socket is terminated by the heartbeat, a connection
// without hello is closed with 4002, and a sender faster than the store is paused, not buffered.
// Built from the parts, with the memory store (slowed down where a test needs a slow disk).
import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ManualClock } from '../../lib/clock.js';
import { TokenRing } from '../../collector/auth.js';
import { CommitQueue } from '../../collector/commit-queue.js';
import { Ingest, type IngestOptions } from '../../collector/ingest.js';
import { probeKey } from '../../collector/model.js';
import { CollectorMetrics } from '../../collector/metrics.js';
import { Router, createHttpServer } from '../../collector/server.js';
import { MemoryStore } from '../../collector/store/memory.js';
import type { StoredResult } from '../../collector/store/types.js';
import { TOKENS, res, silent } from './helpers.js';

let server: Server | undefined;
let ingest: Ingest | undefined;
afterEach(async () => {
  await ingest?.close();
  await new Promise((r) => server?.close(r));
  server = undefined;
  ingest = undefined;
});

async function start(
  opts: Pick<IngestOptions, 'heartbeatMs' | 'helloTimeoutMs' | 'maxPendingResults'> & { store?: MemoryStore },
): Promise<{ url: string; metrics: CollectorMetrics; queue: CommitQueue }> {
  const { store = new MemoryStore(), ...rest } = opts;
  const metrics = new CollectorMetrics({ latest: () => [], defaultMetrics: false });
  const tokens = new TokenRing([{ id: 'kbh-1', token: TOKENS['kbh-1'] }]);
  const queue = new CommitQueue({ store, logger: silent, onCommitted: () => {} });
  ingest = new Ingest({
    logger: silent,
    clock: new ManualClock(Date.now()),
    metrics,
    queue,
    identify: (t) => tokens.identify(t),
    assignment: () => ({ revision: 'r1', probes: [], keys: new Set([probeKey('mitid', 'front')]) }),
    onSeen: () => {},
    ...rest,
  });
  const i = ingest;
  server = createHttpServer({ router: new Router(), logger: silent, upgrades: { '/agent': (req, s, head) => i.handleUpgrade(req, s, head) } });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { url: `ws://127.0.0.1:${port}/agent`, metrics, queue };
}

function open(url: string, opts: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${TOKENS['kbh-1']}` }, ...opts });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

const closeOf = (ws: WebSocket): Promise<number> => new Promise((r) => ws.once('close', (code) => r(code)));

describe('ingest timers', () => {
  it('terminates a connection that does not answer pings, and keeps one that does', async () => {
    const { url, metrics } = await start({ heartbeatMs: 250, helloTimeoutMs: 60_000 });
    const silentPeer = await open(url, { autoPong: false });
    const livePeer = await open(url);
    const hello = JSON.stringify({ type: 'hello', protocol: 1, agent: 'kbh-1', version: 'test' });
    livePeer.send(hello);
    const silentClosed = closeOf(silentPeer);
    // Terminated: no closing handshake, so the client sees 1006.
    expect(await silentClosed).toBe(1006);
    expect(livePeer.readyState).toBe(WebSocket.OPEN);
    expect(ingest!.isConnected('kbh-1')).toBe(true);
    expect(await metrics.exposition()).toContain('vagt_agent_connected{agent="kbh-1"} 1');
    livePeer.close();
  });

  it('closes a connection that sends no hello in time with 4002', async () => {
    const { url } = await start({ heartbeatMs: 60_000, helloTimeoutMs: 100 });
    const ws = await open(url);
    const messages: string[] = [];
    ws.on('message', (m) => messages.push((m as Buffer).toString('utf8')));
    expect(await closeOf(ws)).toBe(4002);
    expect(messages.join()).toContain('not_hello');
  });

  it('refuses new agents with 503 while closing', async () => {
    const { url } = await start({ heartbeatMs: 60_000, helloTimeoutMs: 60_000 });
    ingest!.stopAccepting();
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${TOKENS['kbh-1']}` } });
    const status = await new Promise<number>((r) => {
      ws.on('unexpected-response', (_req, res) => r(res.statusCode ?? 0));
      ws.on('error', () => r(-1));
    });
    expect(status).toBe(503);
  });
});

/** A store whose commits wait until the test opens the gate: a disk that cannot keep up. */
class GatedStore extends MemoryStore {
  #open = false;
  #waiting: (() => void)[] = [];

  override async insertResults(rows: readonly StoredResult[]): Promise<boolean[]> {
    if (!this.#open) await new Promise<void>((r) => this.#waiting.push(r));
    return super.insertResults(rows);
  }

  release(): void {
    this.#open = true;
    for (const w of this.#waiting.splice(0)) w();
  }
}

describe('ingest flow control', () => {
  it('stops reading a sender that outruns the store, keeps it through heartbeats, and acks everything once the store catches up', async () => {
    const store = new GatedStore();
    const { url, queue } = await start({ heartbeatMs: 50, helloTimeoutMs: 60_000, maxPendingResults: 2000, store });
    const ws = await open(url);
    const acks: number[] = [];
    ws.on('message', (m) => {
      const msg = JSON.parse((m as Buffer).toString('utf8')) as { type: string; batch?: number; accepted?: number };
      if (msg.type === 'ack') acks.push(msg.accepted!);
    });
    ws.send(JSON.stringify({ type: 'hello', protocol: 1, agent: 'kbh-1', version: 'test' }));
    // 40 batches of 500 (20,000 results) at once, while the first commit hangs.
    for (let b = 1; b <= 40; b++)
      ws.send(JSON.stringify({ type: 'results', batch: b, results: Array.from({ length: 500 }, (_, i) => res({ seq: b * 1000 + i })) }));
    await new Promise((r) => setTimeout(r, 400));
    // Read no further than the limit, give or take the frames already in hand when it paused.
    expect(queue.pending).toBeGreaterThanOrEqual(2000);
    expect(queue.pending).toBeLessThanOrEqual(2000 + 4 * 500);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect(acks).toEqual([]);
    store.release();
    await expect.poll(() => acks.length, { timeout: 10_000 }).toBe(40);
    expect(acks.every((n) => n === 500)).toBe(true);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.close();
  });
});
