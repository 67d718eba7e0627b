// Connection trouble: backoff, refused tokens, close codes, a silent collector.
import { afterEach, describe, expect, it } from 'vitest';
import { startAgent, type Agent, type AgentOptions } from '../../agent/agent.js';
import { backoffDelay } from '../../agent/connection.js';
import { MemoryOutbox } from '../../agent/outbox.js';
import { FakeCollector, LEVEL, TOKEN, captureLogger, httpSpec, okRun, sleep, waitFor } from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function collector(o: Parameters<typeof FakeCollector.start>[0] = {}): Promise<FakeCollector> {
  const fc = await FakeCollector.start(o);
  cleanups.push(() => fc.close());
  return fc;
}

function agent(fc: FakeCollector, o: Partial<AgentOptions> = {}): { agent: Agent; lines: ReturnType<typeof captureLogger>['lines'] } {
  const { logger, lines } = captureLogger();
  const a = startAgent({ url: fc.url, id: 'kbh-1', token: TOKEN, logger, run: okRun(), batchMs: 20, reconnect: { minMs: 20, maxMs: 200 }, ...o });
  cleanups.push(() => a.stop());
  return { agent: a, lines };
}

describe('backoffDelay', () => {
  it('doubles its ceiling per attempt up to the maximum, never below the minimum', () => {
    const top = (n: number): number => backoffDelay(n, 500, 30_000, () => 1);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map(top)).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
    expect(top(1000)).toBe(30_000);
    for (const n of [0, 3, 10]) expect(backoffDelay(n, 500, 30_000, () => 0)).toBe(500);
  });

  it('draws the delay uniformly below the ceiling (full jitter)', () => {
    let x = 0;
    const steps = (): number => (x = (x + 0.1) % 1);
    const delays = Array.from({ length: 10 }, () => backoffDelay(6, 500, 30_000, steps));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(500);
    expect(Math.max(...delays)).toBeLessThanOrEqual(30_000);
    expect(new Set(delays).size).toBeGreaterThan(5);
  });
});

describe('connection trouble', () => {
  it('a refused token (401) is logged at error with the collector\'s reason, and retried slowly', async () => {
    const fc = await collector({ token: 'another-token' });
    const { agent: a, lines } = agent(fc, { reconnect: { minMs: 20, maxMs: 300 } });
    await waitFor(() => fc.refused >= 2, 'a second attempt', 3000);
    expect(a.connected).toBe(false);
    const err = lines.find((l) => l.level === LEVEL.error && String(l.msg).includes('refused our token'));
    expect(err).toMatchObject({ status: 401 });
    // Retried at the maximum backoff (jittered within its top quarter), not at the minimum.
    const delays = lines.filter((l) => l.msg === 'reconnecting after a delay').map((l) => l.delay_ms as number);
    for (const d of delays) expect(d).toBeGreaterThanOrEqual(225);
    expect(JSON.stringify(lines)).not.toContain(TOKEN);
  });

  it('close 4000 (unsupported protocol version) is logged at error and retried slowly', async () => {
    const fc = await collector({ silentHello: true });
    const { lines } = agent(fc, { reconnect: { minMs: 20, maxMs: 300 } });
    await waitFor(() => fc.hellos.length >= 1, 'the hello');
    for (const ws of fc.sockets) ws.close(4000, 'unsupported protocol 1; supported: 2');
    await waitFor(() => lines.some((l) => l.msg === 'reconnecting after a delay'), 'a planned retry');
    const err = lines.find((l) => l.level === LEVEL.error && l.code === 4000);
    expect(String(err?.msg)).toContain('protocol version');
    expect(err?.reason).toBe('unsupported protocol 1; supported: 2');
    const delay = lines.find((l) => l.msg === 'reconnecting after a delay')!.delay_ms as number;
    expect(delay).toBeGreaterThanOrEqual(225);
  });

  it('close 4001 (replaced by a newer connection) is logged', async () => {
    const fc = await collector();
    const { agent: a, lines } = agent(fc);
    await waitFor(() => a.connected, 'the connection');
    for (const ws of fc.sockets) ws.close(4001, 'replaced by a newer connection of this agent');
    await waitFor(() => lines.some((l) => l.code === 4001), 'the log line');
    const line = lines.find((l) => l.code === 4001)!;
    expect(line.level).toBe(LEVEL.warn);
    expect(String(line.msg)).toContain('replaced');
    // Still retried: the operator may have stopped the other agent.
    await waitFor(() => fc.hellos.length >= 2, 'the reconnect', 3000);
  });

  it('an unreachable collector is retried with growing backoff', async () => {
    const fc = await collector();
    const url = fc.url;
    await fc.close();
    const { logger, lines } = captureLogger();
    const a = startAgent({ url, id: 'kbh-1', token: TOKEN, logger, run: okRun(), reconnect: { minMs: 10, maxMs: 160 } });
    cleanups.push(() => a.stop());
    await waitFor(() => lines.filter((l) => l.msg === 'reconnecting after a delay').length >= 6, 'several attempts', 5000);
    const attempts = lines.filter((l) => l.msg === 'reconnecting after a delay');
    expect(attempts.map((l) => l.attempt)).toEqual(attempts.map((_, i) => i + 1));
    for (const l of attempts) {
      const n = (l.attempt as number) - 1;
      expect(l.delay_ms as number).toBeLessThanOrEqual(Math.min(160, 10 * 2 ** n));
    }
    expect(lines.some((l) => l.level === LEVEL.warn && l.msg === 'cannot connect to the collector')).toBe(true);
  });

  it('a silent collector (no ping, no frame for 2.5 heartbeats) is left for a new connection', async () => {
    const fc = await collector({ heartbeatMs: 100 });
    const { lines } = agent(fc);
    await waitFor(() => fc.hellos.length >= 2, 'a reconnect after the silence', 3000);
    expect(lines.some((l) => l.msg === 'no heartbeat from the collector; reconnecting')).toBe(true);
  });

  it('a collector that pings is not left', async () => {
    const fc = await collector({ heartbeatMs: 100 });
    const timer = setInterval(() => {
      for (const ws of fc.sockets) ws.ping();
    }, 50);
    cleanups.push(() => Promise.resolve(clearInterval(timer)));
    const { agent: a } = agent(fc);
    await waitFor(() => a.connected, 'the connection');
    await sleep(600);
    expect(fc.hellos).toHaveLength(1);
    expect(a.connected).toBe(true);
  });

  it('keeps probing while disconnected and delivers the results once connected', async () => {
    const fc = await collector({ probes: [httpSpec('mitid', 'front', { interval: 30 })] });
    const { agent: a } = agent(fc);
    await waitFor(() => fc.results.length >= 1, 'a first result');
    const port = fc.port;
    await fc.crash();
    await waitFor(() => !a.connected, 'the disconnect');
    const producedWhileDown = a.stats().produced;
    await sleep(300);
    expect(a.stats().produced).toBeGreaterThan(producedWhileDown + 3);
    const back = await collector({ port, probes: fc.probes });
    await waitFor(() => back.results.length >= a.stats().produced - fc.results.length - 2 && back.results.length > 5, 'the backlog');
    expect(back.problems).toEqual([]);
  });
});

describe('outbox bound', () => {
  it('drops the oldest results when the outbox is full, counts them and warns', async () => {
    const fc = await collector({ probes: [httpSpec('mitid', 'front', { interval: 20 })] });
    const outbox = new MemoryOutbox({ capacity: 5 });
    const { agent: a, lines } = agent(fc, { outbox, reconnect: { minMs: 5000, maxMs: 5000 } });
    await waitFor(() => fc.results.length >= 1, 'a first result');
    await fc.crash();
    await waitFor(() => a.stats().dropped >= 3, 'dropped results');
    const warn = lines.find((l) => String(l.msg).startsWith('outbox full'));
    expect(warn?.level).toBe(LEVEL.warn);
    expect(warn?.dropped).toBeGreaterThanOrEqual(1);
    const s = a.stats();
    expect(s.pending + s.inFlight).toBeLessThanOrEqual(5);
    // One warning per period, not one per result.
    expect(lines.filter((l) => String(l.msg).startsWith('outbox full')).length).toBe(1);
  });
});
