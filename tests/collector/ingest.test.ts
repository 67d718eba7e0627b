// The /agent WebSocket over real sockets: handshake, acks after storage, and every kind of bad
// input refused, counted, and harmless to other connections.
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { refuseUpgrade } from '../../collector/ingest.js';
import { LIMITS } from '../../protocol/messages.js';
import { checkResult } from '../../protocol/validate.js';
import { rawFrame, sendRaw } from '../e2e/fuzz-raw.js';
import { TOKENS, TestAgent, eventually, getJson, metricsText, res, sample, startHarness, type Harness } from './helpers.js';

let h: Harness;
const rejected = async (reason: string): Promise<number> => sample(await metricsText(h), 'vagt_ingest_rejected_total', { reason }) ?? NaN;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('agent handshake', () => {
  it('answers hello with welcome and the agent\'s assignment, and shows the agent connected', async () => {
    const a = await TestAgent.connect(h.wsUrl, TOKENS['aar-1']);
    a.send({ type: 'hello', protocol: 1, agent: 'aar-1', version: '9.9.9', last_seq: 0 });
    const welcome = await a.next('welcome');
    expect(welcome).toMatchObject({ type: 'welcome', protocol: 1, agent: 'aar-1' });
    expect(welcome.heartbeat_ms).toBeGreaterThan(0);
    const assignment = await a.next('assignment');
    expect(typeof assignment.revision).toBe('string');
    expect(assignment.probes.map((p) => `${p.system}/${p.id}`).sort()).toEqual(['mitid/front', 'virk/front', 'virk/port']);
    expect(assignment.probes.find((p) => p.id === 'port')).toMatchObject({ system: 'virk', interval: 30_000, timeout: 5_000 });

    const agents = await getJson(`${h.collector.url}/api/v1/agents`);
    const me = agents.body.agents.find((x) => x.id === 'aar-1')!;
    expect(me).toMatchObject({ id: 'aar-1', name: 'Aarhus', connected: true, version: '9.9.9', remote_address: '127.0.0.1' });
    expect(me.probes).toContain('virk/port');
    expect(sample(await metricsText(h), 'vagt_agent_connected', { agent: 'aar-1' })).toBe(1);

    await a.close();
    await expect
      .poll(async () => sample(await metricsText(h), 'vagt_agent_connected', { agent: 'aar-1' }), { timeout: 5_000 })
      .toBe(0);
    const after = await getJson(`${h.collector.url}/api/v1/agents`);
    expect(after.body.agents.find((x) => x.id === 'aar-1')).toMatchObject({ connected: false, version: '9.9.9' });
  });

  it('refuses a wrong or missing token with 401 before the upgrade, and counts it', async () => {
    const before = await rejected('unauthorized');
    await expect(TestAgent.connect(h.wsUrl, 'not-a-valid-token-at-all')).rejects.toMatchObject({
      status: 401,
      body: expect.stringContaining('invalid agent token'),
    });
    await expect(TestAgent.connect(h.wsUrl, undefined)).rejects.toMatchObject({
      status: 401,
      body: expect.stringContaining('Authorization: Bearer'),
    });
    expect(await rejected('unauthorized')).toBe(before + 2);
  });

  it('refuses a hello that names another agent than the token\'s', async () => {
    const a = await TestAgent.connect(h.wsUrl, TOKENS['kbh-1']);
    a.send({ type: 'hello', protocol: 1, agent: 'aar-1', version: 'test' });
    expect((await a.next('error')).message).toMatch(/not the agent this token belongs to/);
    expect((await a.closed).code).toBe(1008);
  });

  it('refuses an unsupported protocol version with an error and close 4000', async () => {
    const before = await rejected('unsupported_version');
    const a = await TestAgent.connect(h.wsUrl, TOKENS['kbh-1']);
    a.send({ type: 'hello', protocol: 99, agent: 'kbh-1', version: 'future' });
    const err = await a.next('error');
    expect(err).toMatchObject({ code: 'unsupported_version' });
    expect(err.message).toMatch(/protocol version 99 is not supported; this collector speaks 1/);
    const closed = await a.closed;
    expect(closed.code).toBe(4000);
    expect(closed.reason).toMatch(/unsupported protocol 99/);
    expect(await rejected('unsupported_version')).toBe(before + 1);
  });

  it('wants hello before results', async () => {
    const a = await TestAgent.connect(h.wsUrl, TOKENS['kbh-1']);
    a.send({ type: 'results', batch: 1, results: [res({ seq: 1 })] });
    expect(await a.next('error')).toMatchObject({ code: 'not_hello' });
    await a.close();
  });

  it('replaces an older connection of the same agent (close 4001)', async () => {
    const first = await TestAgent.ready(h.wsUrl, 'kbh-1');
    const second = await TestAgent.ready(h.wsUrl, 'kbh-1');
    expect((await first.closed).code).toBe(4001);
    const ack = await second.batch(1, [res({ seq: 900_001, ts: Date.now() - 60_000 })]);
    expect(ack.accepted).toBe(1);
    expect(sample(await metricsText(h), 'vagt_agent_connected', { agent: 'kbh-1' })).toBe(1);
    await second.close();
  });
});

describe('results', () => {
  it('acks a batch only after its results are stored, and updates status and metrics', async () => {
    const a = await TestAgent.ready(h.wsUrl, 'kbh-1');
    const now = Date.now();
    const ack = await a.batch(7, [res({ seq: 1, ts: now - 1000 }), res({ seq: 2, ts: now, tls_expiry: 1_900_000_000 })]);
    expect(ack).toEqual({ type: 'ack', batch: 7, accepted: 2, rejected: [] });
    // The ack promised storage: the results are queryable now, without waiting.
    const stored = await getJson(`${h.collector.url}/api/v1/results?agent=kbh-1&system=mitid&probe=front&from=${now - 1000}`);
    expect(stored.body.results.map((r) => r.seq)).toEqual([1, 2]);
    const status = await getJson(`${h.collector.url}/api/v1/status`);
    expect(status.body.systems.find((s) => s.id === 'mitid')?.status).toBe('operational');

    const m = await metricsText(h);
    const labels = { system: 'mitid', probe: 'front', agent: 'kbh-1' };
    expect(sample(m, 'vagt_probe_success', labels)).toBe(1);
    expect(sample(m, 'vagt_probe_duration_seconds_count', labels)).toBeGreaterThanOrEqual(2);
    expect(sample(m, 'vagt_probe_phase_duration_seconds', { ...labels, phase: 'ttfb' })).toBe(0.02);
    expect(sample(m, 'vagt_tls_certificate_expiry_timestamp_seconds', labels)).toBe(1_900_000_000);
    expect(sample(m, 'vagt_system_status', { system: 'mitid', view: 'perceived', status: 'operational' })).toBe(1);
    expect(sample(m, 'vagt_system_status', { system: 'mitid', view: 'own', status: 'major_outage' })).toBe(0);

    const failing = await a.batch(8, [res({ seq: 3, ts: now + 1, ok: false, status_code: 503, error: { code: 'http_status', message: 'status 503' } })]);
    expect(failing.accepted).toBe(1);
    const down = await getJson(`${h.collector.url}/api/v1/status`);
    expect(down.body.systems.find((s) => s.id === 'mitid')).toMatchObject({
      status: 'major_outage',
      own_status: 'major_outage',
      cause: [],
    });
    expect(sample(await metricsText(h), 'vagt_probe_success', labels)).toBe(0);
    // Back up for the other tests.
    await a.batch(9, [res({ seq: 4, ts: now + 2 })]);
    await a.close();
  });

  it('rejects invalid results and results of unassigned probes individually, keeping the rest', async () => {
    const beforeInvalid = await rejected('invalid_result');
    const beforeUnknown = await rejected('unknown_probe');
    const beforeAccepted = sample(await metricsText(h), 'vagt_ingest_results_total') ?? 0;
    const a = await TestAgent.ready(h.wsUrl, 'kbh-1');
    const ack = await a.batch(20, [
      res({ seq: 101 }),
      { ...res({ seq: 102 }), duration_ms: -5 },
      res({ seq: 103, system: 'virk', probe: 'port' }), // assigned to aar-1 only
      res({ seq: 104, system: 'nope', probe: 'front' }),
      { ...res({ seq: 105 }), phases: { warp: 1 } } as never,
      res({ seq: 106, ts: Date.now() + 3_600_000 }), // an hour in the future
      res({ seq: 107, system: 'virk' }),
      { junk: true } as never, // no seq: counted, cannot be listed
    ]);
    expect(ack.accepted).toBe(2);
    expect([...ack.rejected].sort()).toEqual([102, 103, 104, 105, 106]);
    expect(await rejected('invalid_result')).toBe(beforeInvalid + 4);
    expect(await rejected('unknown_probe')).toBe(beforeUnknown + 2);
    expect(sample(await metricsText(h), 'vagt_ingest_results_total')).toBe(beforeAccepted + 2);
    await a.close();
  });

  it('stores a resent result once and acks it as accepted', async () => {
    const a = await TestAgent.ready(h.wsUrl, 'aar-1');
    const batch = [res({ seq: 500, system: 'virk', probe: 'port' }), res({ seq: 501, system: 'virk', probe: 'port' })];
    expect((await a.batch(1, batch)).accepted).toBe(2);
    const beforeDup = await rejected('duplicate');
    const beforeAccepted = sample(await metricsText(h), 'vagt_ingest_results_total') ?? 0;
    expect(await a.batch(2, batch)).toEqual({ type: 'ack', batch: 2, accepted: 2, rejected: [] });
    expect(await rejected('duplicate')).toBe(beforeDup + 2);
    expect(sample(await metricsText(h), 'vagt_ingest_results_total')).toBe(beforeAccepted);
    const stored = await getJson(`${h.collector.url}/api/v1/results?agent=aar-1&system=virk&probe=port`);
    expect(stored.body.results.filter((r) => r.seq >= 500 && r.seq <= 501)).toHaveLength(2);
    await a.close();
  });

  it('commits batches from many agents arriving together, and acks every one', async () => {
    const agents = await Promise.all([TestAgent.ready(h.wsUrl, 'kbh-1'), TestAgent.ready(h.wsUrl, 'aar-1')]);
    const acks = await Promise.all(
      agents.flatMap((a, i) =>
        Array.from({ length: 20 }, (_, b) =>
          a.batch(1000 + b, Array.from({ length: 50 }, (_, k) => res({ seq: 10_000 + i * 100_000 + b * 50 + k }))),
        ),
      ),
    );
    expect(acks.every((ack) => ack.accepted === 50 && ack.rejected.length === 0)).toBe(true);
    await Promise.all(agents.map((a) => a.close()));
  });
});

describe('bad frames', () => {
  it('answers a malformed frame with an error and a count, and the same and other agents go on', async () => {
    const bad = await TestAgent.ready(h.wsUrl, 'kbh-1');
    const other = await TestAgent.ready(h.wsUrl, 'aar-1');
    const beforeFrame = await rejected('invalid_frame');
    const beforeMessage = await rejected('invalid_message');

    bad.send('{"type": "results", "batch": 1, "resu');
    expect(await bad.next('error')).toMatchObject({ code: 'invalid_frame', message: 'frame is not valid JSON' });
    bad.send('[1, 2, 3]');
    expect(await bad.next('error')).toMatchObject({ code: 'invalid_frame' });
    bad.send(JSON.stringify({ type: 'teleport' }));
    expect((await bad.next('error')).message).toMatch(/unknown message type "teleport"/);
    bad.send(JSON.stringify({ type: 'results', batch: 'x', results: [] }));
    expect(await bad.next('error')).toMatchObject({ code: 'invalid_message' });
    bad.ws.send(Buffer.from('{}'), { binary: true });
    expect((await bad.next('error')).message).toMatch(/binary frames/);

    expect(await rejected('invalid_frame')).toBe(beforeFrame + 3);
    expect(await rejected('invalid_message')).toBe(beforeMessage + 2);
    expect((await bad.batch(3, [res({ seq: 2_000_001 })])).accepted).toBe(1);
    expect((await other.batch(3, [res({ seq: 2_000_001 })])).accepted).toBe(1);
    await bad.close();
    await other.close();
  });

  it('closes an oversized frame with 1009 and counts it, while other agents go on', async () => {
    const big = await TestAgent.ready(h.wsUrl, 'kbh-1');
    const other = await TestAgent.ready(h.wsUrl, 'aar-1');
    const before = await rejected('too_big');
    big.send('x'.repeat(LIMITS.maxFrameBytes + 1));
    expect((await big.closed).code).toBe(1009);
    expect(await rejected('too_big')).toBe(before + 1);
    expect((await other.batch(4, [res({ seq: 2_000_002 })])).accepted).toBe(1);
    await other.close();
  });

  it('closes a connection that keeps sending garbage (1008)', async () => {
    const a = await TestAgent.ready(h.wsUrl, 'kbh-1');
    const before = await rejected('rate_limited');
    for (let i = 0; i < 105 && a.ws.readyState === WebSocket.OPEN; i++) a.send('garbage');
    const closed = await a.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/too many invalid frames/);
    expect(await rejected('rate_limited')).toBe(before + 1);
    // The agent may come back and behave.
    const again = await TestAgent.ready(h.wsUrl, 'kbh-1');
    expect((await again.batch(1, [res({ seq: 2_000_003 })])).accepted).toBe(1);
    await again.close();
  });

  it('refuses WebSocket upgrades on other paths', async () => {
    const ws = new WebSocket(h.collector.url.replace('http', 'ws') + '/elsewhere');
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, r) => resolve(r.statusCode ?? 0));
      ws.on('error', () => resolve(-1));
    });
    expect(status).toBe(404);
  });
});

describe('hostile agents (found by tests/e2e/fuzz.test.ts)', () => {
  it('refuses a detail nested too deep to store, without failing the other batches committed with it', async () => {
    const bad = await TestAgent.ready(h.wsUrl, 'kbh-1');
    const good = await TestAgent.ready(h.wsUrl, 'aar-1');
    const before = await rejected('invalid_result');
    // JSON.parse takes 100 000 levels; JSON.stringify, storing it, overflowed the stack and failed
    // the whole transaction, so every agent's batch in it went unacked.
    const deep = JSON.stringify(res({ seq: 3_000_001 })).replace(/}$/, `,"detail":{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`);
    bad.send(`{"type":"results","batch":1,"results":[${deep}]}`);
    good.send({ type: 'results', batch: 1, results: [res({ seq: 3_000_001 })] });
    expect(await bad.next('ack')).toEqual({ type: 'ack', batch: 1, accepted: 0, rejected: [3_000_001] });
    expect(await good.next('ack')).toEqual({ type: 'ack', batch: 1, accepted: 1, rejected: [] });
    expect(await rejected('invalid_result')).toBe(before + 1);
    await bad.close();
    await good.close();
  });

  it('refuses out-of-range fields and pollution keys that used to be stored', async () => {
    const a = await TestAgent.ready(h.wsUrl, 'kbh-1');
    const before = await rejected('invalid_result');
    const bad: unknown[] = [
      { ...res({ seq: 3_100_001 }), status_code: 1e300 },
      { ...res({ seq: 3_100_002 }), status_code: 99 },
      { ...res({ seq: 3_100_003 }), duration_ms: 1e308 },
      { ...res({ seq: 3_100_004 }), phases: { dns: LIMITS.maxDurationMs + 1 } },
      { ...res({ seq: 3_100_005 }), ok: false, error: { code: 'x'.repeat(100_000), message: 'm' } },
      { ...res({ seq: 3_100_006 }), ok: false, error: { code: '', message: 'm' } },
      { ...res({ seq: 3_100_007 }), tls_expiry: 1e300 },
      { ...res({ seq: 3_100_008 }), tls_expiry: -1 },
      { ...res({ seq: 3_100_009 }), detail: JSON.parse('{"steps":[{"__proto__":{"polluted":true}}]}') as unknown },
      { ...res({ seq: 3_100_010 }), detail: { a: { constructor: { prototype: { polluted: true } } } } },
    ];
    const ack = await a.batch(1, bad as never);
    expect(ack.accepted).toBe(0);
    expect([...ack.rejected].sort()).toEqual(Array.from({ length: 10 }, (_, i) => 3_100_001 + i));
    expect(await rejected('invalid_result')).toBe(before + 10);
    const stored = await getJson(`${h.collector.url}/api/v1/results?agent=kbh-1&limit=10000`);
    expect(stored.body.results.filter((r) => r.seq > 3_100_000 && r.seq <= 3_100_010)).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await a.close();
  });

  it('accepts what real probes produce, up to the limits', () => {
    const nested = (n: number): unknown => (n === 0 ? 1 : { x: nested(n - 1) });
    expect(checkResult({ ...res({ seq: 1 }), status_code: 999, duration_ms: LIMITS.maxDurationMs, tls_expiry: 253_402_300_799 })).toBeUndefined();
    expect(checkResult({ ...res({ seq: 1 }), status_code: 100, ok: false, error: { code: 'too_many_redirects', message: '' } })).toBeUndefined();
    expect(checkResult({ ...res({ seq: 1 }), detail: nested(LIMITS.maxDetailDepth) as Record<string, unknown> })).toBeUndefined();
    expect(checkResult({ ...res({ seq: 1 }), detail: nested(LIMITS.maxDetailDepth + 1) as Record<string, unknown> })).toMatch(/deeper than 32/);
    expect(checkResult({ ...res({ seq: 1 }), detail: { a: [[{ b: [] }]] } })).toBeUndefined();
    expect(checkResult({ ...res({ seq: 1 }), detail: { constructor: 'Object', prototype: 1, steps: [{ requests: [{ phases: { dns: 1 } }] }] } })).toBeUndefined();
  });

  it('keeps what it echoes of an agent\'s text short', async () => {
    const a = await TestAgent.ready(h.wsUrl, 'kbh-1');
    a.send({ type: 'x'.repeat(100_000) });
    const err = await a.next('error');
    expect(err.message.length).toBeLessThan(200);
    await a.close();
  });

  it('counts a frame declaring a length over 2^53 as too_big, like any oversized frame (1009)', async () => {
    const before = await rejected('too_big');
    const got = await sendRaw(Number(new URL(h.collector.url).port), TOKENS['kbh-1'], rawFrame({ opcode: 1, declared: 2n ** 53n }));
    expect(got).toEqual({ status: 101, code: 1009 });
    expect(await rejected('too_big')).toBe(before + 1);
  });

  it('destroys a refused upgrade\'s socket even when the peer never closes its side', async () => {
    // The HTTP server allows half-open sockets: ending ours left a refused peer's socket open for good.
    const server = createServer({ allowHalfOpen: true });
    const serverClosed = new Promise<void>((resolve) =>
      server.on('connection', (sock) => {
        sock.once('close', () => resolve());
        refuseUpgrade(sock, 401, 'Unauthorized', 'no');
      }),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = connect({ port: (server.address() as { port: number }).port, host: '127.0.0.1', allowHalfOpen: true });
    let got = '';
    client.on('data', (d: Buffer) => (got += d.toString()));
    await once(client, 'end');
    await serverClosed;
    expect(got).toMatch(/^HTTP\/1\.1 401 Unauthorized\r\n[^]*\r\n\r\nno\n$/);
    client.destroy();
    server.close();
  });
});

describe('connection floods', () => {
  it('refuses an agent\'s ninth open socket with 429 and counts it; other agents and later connections go on', async () => {
    const h2 = await startHarness();
    try {
      const count = async (): Promise<number | undefined> =>
        sample(await metricsText(h2), 'vagt_ingest_rejected_total', { reason: 'too_many_connections' });
      const idle = await Promise.all(Array.from({ length: 8 }, () => TestAgent.connect(h2.wsUrl, TOKENS['kbh-1'])));
      await expect(TestAgent.connect(h2.wsUrl, TOKENS['kbh-1'])).rejects.toMatchObject({
        status: 429,
        body: expect.stringContaining('agent kbh-1 already has 8 open connections'),
      });
      expect(await count()).toBe(1);
      const other = await TestAgent.ready(h2.wsUrl, 'aar-1');
      expect((await other.batch(1, [res({ seq: 1 })])).accepted).toBe(1);
      await Promise.all(idle.map((a) => a.close()));
      const back = await eventually(() => TestAgent.ready(h2.wsUrl, 'kbh-1').catch(() => undefined));
      expect((await back.batch(1, [res({ seq: 1 })])).accepted).toBe(1);
      await back.close();
      await other.close();
    } finally {
      await h2.close();
    }
  });

  it('cuts off a peer that sends without reading the answers, and counts it (not_reading)', async () => {
    const h2 = await startHarness();
    try {
      const count = async (): Promise<number | undefined> => sample(await metricsText(h2), 'vagt_ingest_rejected_total', { reason: 'not_reading' });
      const a = await TestAgent.ready(h2.wsUrl, 'kbh-1');
      a.ws.pause();
      // 25 KB that earn an 18 KB ack (1000 refused seqs): without a limit the acks piled up unbounded.
      const frame = JSON.stringify({ type: 'results', batch: 1, results: Array.from({ length: 1000 }, (_, i) => ({ seq: Number.MAX_SAFE_INTEGER - i })) });
      for (let round = 0; round < 200 && (await count()) === 0; round++) for (let i = 0; i < 50; i++) a.send(frame);
      expect(await count()).toBe(1);
      a.ws.resume();
      expect((await a.closed).code).toBe(1006);
      const other = await TestAgent.ready(h2.wsUrl, 'aar-1');
      expect((await other.batch(1, [res({ seq: 1 })])).accepted).toBe(1);
      await other.close();
    } finally {
      await h2.close();
    }
  });
});
