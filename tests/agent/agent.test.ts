// The agent against a fake collector: a real `ws` server on port 0 speaking the protocol, and
// injected `run` functions, so what is tested is the agent's own behaviour on real sockets.
import { afterEach, describe, expect, it } from 'vitest';
import { startAgent, type Agent, type AgentOptions } from '../../agent/agent.js';
import { version } from '../../lib/version.js';
import { PROTOCOL_VERSION, type ProbeOutcome } from '../../protocol/messages.js';
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
  const a = startAgent({
    url: fc.url,
    id: 'kbh-1',
    token: TOKEN,
    logger,
    run: okRun(),
    batchMs: 30,
    reconnect: { minMs: 50, maxMs: 400 },
    ...o,
  });
  cleanups.push(() => a.stop());
  return { agent: a, lines };
}

const key = (r: { system: string; probe: string }): string => `${r.system}/${r.probe}`;

describe('agent', () => {
  it('connects with its bearer token and says hello', async () => {
    const fc = await collector();
    const { agent: a, lines } = agent(fc);
    await waitFor(() => a.connected, 'the agent to connect');
    expect(fc.upgrades[0]?.authorization).toBe(`Bearer ${TOKEN}`);
    expect(fc.hellos).toHaveLength(1);
    expect(fc.hellos[0]).toMatchObject({ type: 'hello', protocol: PROTOCOL_VERSION, agent: 'kbh-1', version });
    expect(lines.some((l) => l.level === LEVEL.info && l.msg === 'connected to the collector')).toBe(true);
    // The token never appears in the agent's logs.
    expect(JSON.stringify(lines)).not.toContain(TOKEN);
  });

  it('runs the assigned probes and streams their results in batches with increasing seqs', async () => {
    const probes = [httpSpec('mitid', 'front', { interval: 50 }), httpSpec('virk', 'port', { interval: 80 })];
    const fc = await collector({ probes, revision: 'rev-a' });
    const runs: string[] = [];
    const before = Date.now();
    const { agent: a, lines } = agent(fc, {
      run: (spec, opts) => {
        runs.push(key({ system: spec.system, probe: spec.id }));
        expect(opts.userAgent).toBe(`vagt-agent/${version} (+agent=kbh-1)`);
        return okRun()(spec);
      },
    });
    await waitFor(() => fc.results.filter((r) => r.probe === 'front').length >= 6 && fc.results.some((r) => r.probe === 'port'), 'results of both probes');
    expect(a.probes.map((p) => `${p.system}/${p.id}`)).toEqual(['mitid/front', 'virk/port']);
    const results = fc.results;
    // Batched: fewer frames than results.
    expect(fc.batches.length).toBeLessThan(results.length);
    for (let i = 1; i < results.length; i++) expect(results[i]!.seq).toBeGreaterThan(results[i - 1]!.seq);
    expect(new Set(results.map(key))).toEqual(new Set(['mitid/front', 'virk/port']));
    for (const r of results) {
      expect(r.ok).toBe(true);
      expect(r.status_code).toBe(200);
      expect(r.ts).toBeGreaterThanOrEqual(before);
      expect(r.ts).toBeLessThanOrEqual(Date.now());
    }
    expect(fc.problems).toEqual([]);
    const assigned = lines.find((l) => l.msg === 'assignment received');
    expect(assigned).toMatchObject({ revision: 'rev-a', probes: 2, added: 2 });
    expect(runs.length).toBeGreaterThanOrEqual(results.length);
  });

  it('an assignment update adds and removes probes', async () => {
    const fc = await collector({ probes: [httpSpec('mitid', 'front', { interval: 50 }), httpSpec('virk', 'front', { interval: 50 })] });
    const { agent: a } = agent(fc);
    await waitFor(() => fc.results.some((r) => r.system === 'virk'), 'results from virk');
    fc.assign([httpSpec('mitid', 'front', { interval: 50 }), httpSpec('nemkonto', 'api', { interval: 50 })], 'r2');
    await waitFor(() => a.probes.some((p) => p.system === 'nemkonto'), 'the new assignment');
    expect(a.probes.map((p) => p.system)).toEqual(['mitid', 'nemkonto']);
    const cut = fc.results.length;
    await waitFor(() => fc.results.slice(cut).filter((r) => r.system === 'nemkonto').length >= 3, 'results from the new probe');
    // A virk result may still be on its way (produced before the update); none is produced after.
    await sleep(200);
    const later = fc.results.slice(cut + 5);
    expect(later.some((r) => r.system === 'virk')).toBe(false);
    expect(later.some((r) => r.system === 'mitid')).toBe(true);
  });

  it('drops the results the collector rejects, and logs them at warn', async () => {
    const fc = await collector({ probes: [httpSpec('mitid', 'front', { interval: 50 })], reject: (r) => r.seq % 2 === 0 });
    const { agent: a, lines } = agent(fc);
    await waitFor(() => a.stats().rejected >= 2, 'rejected results');
    const warn = lines.find((l) => l.level === LEVEL.warn && String(l.msg).includes('rejected'));
    expect(warn).toBeDefined();
    expect((warn!.seqs as number[]).every((s) => s % 2 === 0)).toBe(true);
    await waitFor(() => a.stats().pending === 0 && a.stats().inFlight === 0, 'an empty outbox');
    const s = a.stats();
    expect(s.acked).toBeGreaterThanOrEqual(s.rejected);
  });

  it('keeps at most 4 batches waiting for an ack (backpressure)', async () => {
    const probes = Array.from({ length: 20 }, (_, i) => httpSpec('mitid', `p${i}`, { interval: 20 }));
    const fc = await collector({ probes, autoAck: false });
    const { agent: a } = agent(fc, { batchMs: 10 });
    await waitFor(() => fc.batches.length >= 4, 'four batches');
    await sleep(300);
    expect(fc.batches).toHaveLength(4);
    expect(a.stats().pending).toBeGreaterThan(0);
    // Acks release the rest, oldest first.
    const seen = new Set<number>();
    for (let round = 0; round < 8; round++) {
      const open = fc.batches.filter((b) => !seen.has(b.batch));
      for (const b of open) {
        seen.add(b.batch);
        fc.ack(b);
      }
      await sleep(30);
    }
    expect(fc.batches.length).toBeGreaterThan(4);
    const seqs = fc.results.map((r) => r.seq);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]!).toBeGreaterThan(seqs[i - 1]!);
    // Gone before the agent stops, so stop() does not wait for acks that will never come.
    await fc.crash();
  });

  it('ignores invalid frames from the collector and carries on', async () => {
    const fc = await collector({ probes: [httpSpec('mitid', 'front', { interval: 50 })] });
    const { agent: a, lines } = agent(fc);
    await waitFor(() => fc.results.length >= 2, 'first results');
    fc.sendRaw('this is not json');
    fc.sendRaw('[1,2]');
    fc.sendRaw('{"type":"nonsense"}');
    fc.sendRaw('{"type":"ack","batch":"x"}');
    fc.sendRaw(JSON.stringify({ type: 'assignment', revision: 'r9', probes: [{ system: 'x' }, httpSpec('mitid', 'front', { interval: 50 })] }));
    fc.sendRaw('{"type":"ack","batch":987654,"accepted":1,"rejected":[]}');
    fc.sendRaw(Buffer.from([0xde, 0xad]));
    const cut = fc.results.length;
    await waitFor(() => fc.results.length >= cut + 4, 'results after the garbage');
    expect(a.connected).toBe(true);
    expect(fc.hellos).toHaveLength(1); // the same connection all along
    const bad = lines.filter((l) => l.msg === 'bad frame from the collector ignored');
    expect(bad.length).toBeGreaterThanOrEqual(5);
    expect(lines.some((l) => l.msg === 'assigned probe is invalid; ignored')).toBe(true);
    // The invalid probe of the assignment was left out; the valid one goes on.
    expect(a.probes.map((p) => `${p.system}/${p.id}`)).toEqual(['mitid/front']);
  });

  it('a runner that throws or returns nonsense still yields valid failed results', async () => {
    const fc = await collector({ probes: [httpSpec('mitid', 'throws', { interval: 50 }), httpSpec('mitid', 'nonsense', { interval: 50 })] });
    agent(fc, {
      run: (spec) =>
        spec.id === 'throws'
          ? Promise.reject(new Error('runner bug'))
          : Promise.resolve({ ok: true, duration_ms: -1, phases: { warp: 3 } } as unknown as ProbeOutcome),
    });
    await waitFor(() => fc.results.some((r) => r.probe === 'throws') && fc.results.some((r) => r.probe === 'nonsense'), 'both results');
    expect(fc.problems).toEqual([]);
    expect(fc.results.find((r) => r.probe === 'throws')).toMatchObject({ ok: false, error: { code: 'internal', message: 'runner bug' } });
    expect(fc.results.find((r) => r.probe === 'nonsense')).toMatchObject({ ok: false, error: { code: 'internal' } });
  });

  it('stop() lets the probe in flight finish, flushes its result and closes with 1000', async () => {
    const fc = await collector({ probes: [httpSpec('mitid', 'slow', { interval: 100, timeout: 2000 })] });
    let started = 0;
    const { agent: a } = agent(fc, {
      batchMs: 1000,
      run: async () => {
        started++;
        await sleep(300);
        return { ok: false, duration_ms: 300, phases: {}, error: { code: 'http_status', message: 'status 503' } } satisfies ProbeOutcome;
      },
    });
    await waitFor(() => started >= 1, 'a probe to start');
    const t0 = Date.now();
    await a.stop();
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(fc.results).toHaveLength(1);
    expect(fc.results[0]).toMatchObject({ system: 'mitid', probe: 'slow', ok: false, error: { code: 'http_status' } });
    await waitFor(() => fc.closes.length === 1, 'the close');
    expect(fc.closes[0]!.code).toBe(1000);
    expect(a.connected).toBe(false);
    expect(a.stats()).toMatchObject({ pending: 0, inFlight: 0 });
    // Stopped means stopped: no reconnect, no more runs.
    await sleep(300);
    expect(fc.hellos).toHaveLength(1);
    expect(started).toBe(1);
  });

  it('survives the collector going away and coming back on the same port: unacked results are resent, none lost or duplicated', async () => {
    const probes = [httpSpec('mitid', 'front', { interval: 25 }), httpSpec('virk', 'front', { interval: 40 })];
    const first = await collector({ probes, autoAck: false });
    const port = first.port;
    const { agent: a, lines } = agent(first, { batchMs: 20, reconnect: { minMs: 50, maxMs: 300 } });
    // Ack the first two batches, leave the next ones unacked.
    await waitFor(() => first.batches.length >= 4, 'four batches');
    first.ack(first.batches[0]!);
    first.ack(first.batches[1]!);
    await waitFor(() => a.stats().acked >= first.batches[0]!.results.length + first.batches[1]!.results.length, 'the acks');
    await sleep(50);
    const acked = new Set([...first.batches[0]!.results, ...first.batches[1]!.results].map((r) => r.seq));
    const unacked = first.batches.slice(2).flatMap((b) => b.results.map((r) => r.seq));
    expect(unacked.length).toBeGreaterThan(0);
    await first.crash();

    // Down for a while: the agent keeps probing and retries with backoff.
    await waitFor(() => !a.connected, 'the agent to notice');
    await sleep(600);
    const retries = lines.filter((l) => l.msg === 'reconnecting after a delay').map((l) => l.delay_ms as number);
    expect(retries.length).toBeGreaterThanOrEqual(2);
    for (const d of retries) {
      expect(d).toBeGreaterThanOrEqual(50);
      expect(d).toBeLessThanOrEqual(300);
    }
    expect(lines.some((l) => l.msg === 'disconnected from the collector' && l.level === LEVEL.warn)).toBe(true);

    const second = await FakeCollector.start({ port, probes });
    cleanups.push(() => second.close());
    await waitFor(() => a.connected, 'the reconnect', 5000);
    await waitFor(() => unacked.every((s) => second.results.some((r) => r.seq === s)), 'the unacked results again');
    await waitFor(() => second.results.length >= unacked.length + 10, 'fresh results');
    await a.stop();

    const resent = second.results.map((r) => r.seq);
    // Oldest first: the resend starts with the oldest unacked result.
    expect(resent[0]).toBe(Math.min(...unacked));
    // The agent sent nothing twice to the new collector, and nothing the old one had acked.
    expect(new Set(resent).size).toBe(resent.length);
    expect(resent.some((s) => acked.has(s))).toBe(false);
    // Nothing lost: acked + what reached the second collector is every seq produced, without gaps.
    const all = [...acked, ...resent].sort((x, y) => x - y);
    expect(all.length).toBe(a.stats().produced);
    for (let i = 1; i < all.length; i++) expect(all[i]! - all[i - 1]!).toBe(1);
    expect(second.problems).toEqual([]);
  });
});
