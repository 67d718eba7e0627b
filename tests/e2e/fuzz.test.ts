// Fuzz: thousands of random and malicious frames at an authenticated connection (agent kbh-1),
// while a real agent (aar-1) keeps sending results. The collector must stay up with bounded memory,
// answer and count every bad frame exactly as the protocol says, store nothing it should not, and
// keep serving the real agent. The frames come from a seeded PRNG: VAGT_FUZZ_SEED=<seed> replays a
// run (the seed is printed when the test fails); VAGT_FUZZ_FRAMES changes how many are sent.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import WebSocket from 'ws';
import { REJECT_REASONS, type RejectReason } from '../../collector/metrics.js';
import type { AckMessage, CollectorMessage } from '../../protocol/messages.js';
import { TOKENS, TestAgent, getJson, metricsText, res, sample, startHarness, type Harness } from '../collector/helpers.js';
import { FrameGen, Rng, type Closer, type Frame } from './fuzz-frames.js';
import { VIOLATIONS, sendRaw } from './fuzz-raw.js';

const SEED = Number(process.env.VAGT_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32));
const FRAMES = Number(process.env.VAGT_FUZZ_FRAMES ?? 4000);
/** ingest.ts: more bad frames than this within a minute closes the connection. */
const MAX_BAD_FRAMES = 100;
/** ingest.ts: sockets one agent may hold at once. */
const MAX_CONNECTIONS = 8;
const REASONS = REJECT_REASONS;
type Reason = RejectReason;

/** The heap after a full collection; without --expose-gc, V8 lends us its gc. */
function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** An attacker's connection: counts what came back, and wakes waiters on every message or close. */
class Attacker {
  readonly ws: WebSocket;
  /** Errors answering a frame (not the extra rate_limited one). */
  errors = 0;
  rateLimited = 0;
  readonly acks = new Map<number, AckMessage>();
  welcomed = false;
  assigned = false;
  internal: string | undefined;
  closed: { code: number; reason: string } | undefined;
  #wake: (() => void)[] = [];

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data: Buffer) => {
      const m = JSON.parse(data.toString('utf8')) as CollectorMessage;
      if (m.type === 'ack') this.acks.set(m.batch, m);
      else if (m.type === 'welcome') this.welcomed = true;
      else if (m.type === 'assignment') this.assigned = true;
      else if (m.code === 'rate_limited') this.rateLimited++;
      else if (m.code === 'internal') this.internal = m.message;
      else this.errors++;
      this.#notify();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.#notify();
    });
    // Writes racing the collector's close fail here; the close is what we look at.
    ws.on('error', () => {});
  }

  static open(url: string, token: string): Promise<Attacker> {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, maxPayload: 64 * 1024 * 1024 });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new Attacker(ws)));
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode }));
      });
      ws.once('error', reject);
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = [];
    for (const w of wake) w();
  }

  send(f: { data: string | Buffer; binary: boolean }): void {
    this.ws.send(f.data, { binary: f.binary });
  }

  /** Waits for cond; a close or an `internal` error first is a failure, and so is 10 s of silence. */
  async until(cond: () => boolean, what: string, closing = false): Promise<void> {
    let deadline = Date.now() + 10_000;
    while (!cond()) {
      if (this.internal !== undefined) throw new Error(`the collector failed (internal) while we waited for ${what}: ${this.internal}`);
      if (this.closed !== undefined && !closing)
        throw new Error(`closed (${this.closed.code} ${this.closed.reason}) while we waited for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`nothing for 10 s while we waited for ${what}`);
      const progressed = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), left);
        this.#wake.push(() => {
          clearTimeout(t);
          resolve(true);
        });
      });
      if (progressed) deadline = Date.now() + 10_000;
    }
  }
}

interface Tally {
  /** Every frame the attacker sent, hellos included. */
  sent: number;
  /** Bad frames the collector read (the rest came after a close and are ignored). */
  processed: number;
  /** Frames sent after one that closed the connection. */
  dropped: number;
  sessions: number;
  /** Exactly what vagt_ingest_rejected_total must have grown by. */
  expected: Record<Reason, number>;
  results: number;
  /** Accepted results (smuggled valid ones, duplicates included) and the seqs stored. */
  accepted: number;
  stored: Set<number>;
  labels: Map<string, number>;
}

let h: Harness;
const crashes: unknown[] = [];
const onCrash = (err: unknown): void => {
  crashes.push(err);
};

beforeAll(async () => {
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  h = await startHarness();
});
afterAll(async () => {
  process.off('uncaughtException', onCrash);
  process.off('unhandledRejection', onCrash);
  await h?.close();
});

/**
 * Opens one of kbh-1's sockets. A 429 means the collector has not yet seen enough of our closed
 * ones close (the client hears of a close a moment before the server does): counted, and retried.
 */
async function room<T>(t: Tally, open: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await open();
    } catch (err) {
      if ((err as { status?: number }).status !== 429 || attempt >= 200) throw err;
      t.expected.too_many_connections++;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

async function rejectedNow(): Promise<Record<Reason, number>> {
  const m = await metricsText(h);
  return Object.fromEntries(REASONS.map((r) => [r, sample(m, 'vagt_ingest_rejected_total', { reason: r }) ?? NaN])) as Record<Reason, number>;
}

/** Sends frames together and waits for each one's answer: its error or its ack. */
async function burst(a: Attacker, frames: Frame[], t: Tally, helloDone: boolean): Promise<void> {
  const errorsBefore = a.errors;
  let errors = 0;
  const acks: { frame: Frame; batch: number }[] = [];
  for (const f of frames) {
    a.send(f);
    t.sent++;
    t.processed++;
    t.labels.set(f.label, (t.labels.get(f.label) ?? 0) + 1);
    if (f.expect.kind === 'error' || !helloDone) {
      // Before hello even a well-formed results frame is only "send hello first".
      errors++;
      t.expected[f.expect.kind === 'error' ? f.expect.reason : 'invalid_message']++;
    } else acks.push({ frame: f, batch: f.expect.batch });
  }
  const labels = frames.map((f) => f.label).join(', ');
  await a.until(() => a.errors - errorsBefore >= errors && acks.every((x) => a.acks.has(x.batch)), `the answers to [${labels}]`);
  expect(a.errors - errorsBefore, `errors for [${labels}]`).toBe(errors);
  for (const { frame, batch } of acks) {
    const want = frame.expect as Extract<Frame['expect'], { kind: 'ack' }>;
    const ack = a.acks.get(batch)!;
    a.acks.delete(batch);
    expect({ accepted: ack.accepted, rejected: [...ack.rejected].sort((x, y) => x - y) }, `ack of ${frame.label}: ${want.what.join('; ')}`).toEqual({
      accepted: want.accepted,
      rejected: want.rejected,
    });
    t.expected.invalid_result += want.invalid;
    t.expected.unknown_probe += want.unknown;
    t.results += want.sent;
    t.accepted += want.accepted;
    for (const seq of want.stored) t.stored.add(seq);
  }
}

/** Sends a frame the collector must close on, then a few it must ignore. */
async function closeWith(a: Attacker, c: Closer, trailing: Frame[], t: Tally): Promise<void> {
  a.send(c);
  for (const f of trailing) a.send(f);
  t.sent += 1 + trailing.length;
  t.processed++;
  t.dropped += trailing.length;
  t.labels.set(c.label, (t.labels.get(c.label) ?? 0) + 1);
  t.expected[c.reason]++;
  await a.until(() => a.closed !== undefined, `the close after ${c.label}`, true);
  expect(a.closed?.code, `close code after ${c.label}`).toBe(c.code);
}

/** One attacker connection: maybe some frames before hello, then bursts, then some way to end. */
async function session(rng: Rng, gen: FrameGen, t: Tally): Promise<void> {
  const a = await room(t, () => Attacker.open(h.wsUrl, TOKENS['kbh-1']));
  t.sessions++;
  let bad = 0;
  if (rng.chance(0.3)) {
    const pre = Array.from({ length: rng.int(1, 5) }, () => (rng.chance(0.3) ? gen.resultsFrame() : gen.errorFrame(false)));
    await burst(a, pre, t, false);
    bad += pre.length;
  }
  if (rng.chance(0.08)) {
    await closeWith(a, gen.badHello(), [gen.garbage()], t);
    return;
  }
  a.send({ data: JSON.stringify({ type: 'hello', protocol: 1, agent: 'kbh-1', version: 'fuzz' }), binary: false });
  t.sent++;
  await a.until(() => a.welcomed && a.assigned, 'welcome and assignment');

  while (t.sent < FRAMES) {
    const frames: Frame[] = [];
    const n = rng.int(1, 30);
    for (let i = 0; i < n; i++) {
      const f = rng.chance(0.45) ? gen.resultsFrame() : gen.errorFrame(true);
      if (f.expect.kind === 'error') {
        // Stay under the rate limit here: running into it is one of the endings below.
        if (bad >= MAX_BAD_FRAMES) break;
        bad++;
      }
      frames.push(f);
    }
    await burst(a, frames, t, true);
    if (bad >= MAX_BAD_FRAMES || rng.chance(0.1)) break;
  }

  const ending = rng.next();
  if (ending < 0.5) {
    // Into the rate limit: the 101st bad frame is answered, counted, and closes; the rest are ignored.
    const need = MAX_BAD_FRAMES + 1 - bad;
    const extra = rng.int(0, 5);
    for (let i = 0; i < need + extra; i++) a.send(gen.garbage());
    t.sent += need + extra;
    t.processed += need;
    t.dropped += extra;
    t.expected.invalid_frame += need;
    t.expected.rate_limited++;
    const before = a.errors;
    await a.until(() => a.closed !== undefined, 'the rate-limit close', true);
    expect(a.errors - before, 'errors before the rate-limit close').toBe(need);
    expect(a.rateLimited).toBe(1);
    expect(a.closed).toEqual({ code: 1008, reason: 'too many invalid frames' });
  } else if (ending < 0.8) {
    await closeWith(a, gen.closer(), Array.from({ length: rng.int(0, 3) }, () => gen.garbage()), t);
  } else {
    a.ws.close();
    await a.until(() => a.closed !== undefined, 'our own close', true);
  }
}

/** The real agent: batches of good results, each acked in full, and the status API answering. */
async function goodAgent(stop: () => boolean): Promise<{ seqs: number[]; batches: number; statusChecks: number }> {
  const a = await TestAgent.ready(h.wsUrl, 'aar-1');
  const probes = [
    ['mitid', 'front'],
    ['virk', 'front'],
    ['virk', 'port'],
  ] as const;
  const seqs: number[] = [];
  let batch = 0;
  let statusChecks = 0;
  while (!stop() || batch < 10) {
    batch++;
    const results = Array.from({ length: 1 + (batch % 25) }, (_, i) => {
      const [system, probe] = probes[(batch + i) % probes.length]!;
      seqs.push(seqs.length + 1);
      return res({ seq: seqs.length, system, probe, ts: Date.now() });
    });
    expect(await a.batch(batch, results)).toEqual({ type: 'ack', batch, accepted: results.length, rejected: [] });
    if (batch % 5 === 0) {
      const st = await getJson(`${h.collector.url}/api/v1/status`);
      expect(st.status).toBe(200);
      expect(st.body.systems.map((s) => s.id).sort()).toEqual(['mitid', 'virk']);
      statusChecks++;
    }
  }
  expect(a.ws.readyState).toBe(WebSocket.OPEN);
  await a.close();
  return { seqs, batches: batch, statusChecks };
}

it('survives thousands of random and malicious frames, counts each, stores none, and serves a real agent', async () => {
  onTestFailed(() => console.error(`fuzz seed: VAGT_FUZZ_SEED=${SEED}`));
  const rng = new Rng(SEED);
  const gen = new FrameGen({ rng, firstSeq: 1_000_000_000 });
  const t: Tally = {
    sent: 0,
    processed: 0,
    dropped: 0,
    sessions: 0,
    expected: Object.fromEntries(REASONS.map((r) => [r, 0])) as Record<Reason, number>,
    results: 0,
    accepted: 0,
    stored: new Set(),
    labels: new Map(),
  };
  const port = Number(new URL(h.collector.url).port);
  const before = await rejectedNow();
  gc();
  const heapBefore = process.memoryUsage().heapUsed;

  let attacking = true;
  const good = goodAgent(() => !attacking);
  // An early failure of the good agent is reported below, not as an unhandled rejection.
  good.catch(() => {});
  try {
    // A flood of connections that never say hello: a few are allowed, the rest refused.
    const flood = await Promise.allSettled(Array.from({ length: MAX_CONNECTIONS + 4 }, () => TestAgent.connect(h.wsUrl, TOKENS['kbh-1'])));
    const refused = flood.filter((r) => r.status === 'rejected');
    expect(refused.map((r) => (r.reason as { status?: number }).status)).toEqual([429, 429, 429, 429]);
    t.expected.too_many_connections += refused.length;
    await Promise.all(flood.flatMap((r) => (r.status === 'fulfilled' ? [r.value.close()] : [])));
    // Strangers: no token, or a wrong one, refused before the upgrade.
    for (let i = 0; i < 10; i++) {
      const token = i === 0 ? undefined : rng.pick(['x', TOKENS['kbh-1'] + 'x', TOKENS['kbh-1'].toUpperCase(), rng.junk(4000).replace(/[^\x21-\x7e]/g, 'a')]);
      await expect(TestAgent.connect(h.wsUrl, token)).rejects.toMatchObject({ status: 401 });
      t.expected.unauthorized++;
    }
    // Violations of the WebSocket framing itself, each on its own connection.
    for (const v of VIOLATIONS) {
      const got = await room(t, async () => {
        const r = await sendRaw(port, TOKENS['kbh-1'], v.bytes);
        if (r.status === 429) throw Object.assign(new Error('HTTP 429'), { status: 429 });
        return r;
      });
      expect(got, v.label).toEqual({ status: 101, code: v.code });
      t.expected[v.reason]++;
      t.processed++;
    }
    while (t.sent < FRAMES) await session(rng, gen, t);
  } finally {
    attacking = false;
  }
  const served = await good;

  // Alive and serving: the API answers, and the real agent is connected no more (it said goodbye).
  expect(crashes).toEqual([]);
  expect((await getJson(`${h.collector.url}/api/v1/status`)).status).toBe(200);

  // Counted: exactly what the protocol promises per frame, hence at least one per bad frame read.
  const after = await rejectedNow();
  const grew = Object.fromEntries(REASONS.map((r) => [r, after[r] - before[r]])) as Record<Reason, number>;
  t.expected.duplicate = t.accepted - t.stored.size;
  expect(grew).toEqual(t.expected);
  const { duplicate: _dup, ...refusals } = grew;
  expect(Object.values(refusals).reduce((s, n) => s + n, 0)).toBeGreaterThanOrEqual(t.processed);

  // Stored: the real agent's results, every one, and of the attacker's only the valid smuggled ones.
  const good1 = await getJson(`${h.collector.url}/api/v1/results?agent=aar-1&limit=10000`);
  expect(good1.body.truncated).toBe(false);
  expect(good1.body.results.map((r) => r.seq).sort((x, y) => x - y)).toEqual(served.seqs);
  const bad1 = await getJson(`${h.collector.url}/api/v1/results?agent=kbh-1&limit=10000`);
  expect(bad1.body.truncated).toBe(false);
  expect(bad1.body.results.map((r) => r.seq).sort((x, y) => x - y)).toEqual([...t.stored].sort((x, y) => x - y));
  const all = await getJson(`${h.collector.url}/api/v1/results?limit=10000`);
  expect(all.body.results.length).toBe(served.seqs.length + t.stored.size);
  for (const r of bad1.body.results) {
    expect(['mitid/front', 'virk/front']).toContain(`${r.system}/${r.probe}`);
    expect(JSON.stringify(r.detail ?? {})).not.toContain('__proto__');
    if (r.error !== null) expect(Object.keys(r.error).sort()).toEqual(['code', 'message']);
  }

  // Not polluted.
  for (const proto of [Object.prototype, Array.prototype, Function.prototype]) expect(Object.hasOwn(proto, 'vagtPolluted')).toBe(false);
  expect(({} as Record<string, unknown>).vagtPolluted).toBeUndefined();

  // Bounded: the heap after a full collection, with every attacker connection gone.
  gc();
  const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
  expect(heapGrowth).toBeLessThan(64 * 1024 * 1024);

  console.log(
    `fuzz seed ${SEED}: ${t.sent} frames in ${t.sessions} sessions (+${VIOLATIONS.length} raw violations, 10 strangers): ` +
      `${t.processed} bad frames read, ${t.dropped} ignored after a close, ${t.results} results in acked batches; ` +
      `rejected ${JSON.stringify(grew)}; the real agent had ${served.seqs.length} results in ${served.batches} batches acked and ` +
      `${served.statusChecks} status checks; heap ${(heapGrowth / 1048576).toFixed(1)} MiB`,
  );
  // About 10 s on two cores; the margin is for a loaded CI machine.
}, 60_000);
