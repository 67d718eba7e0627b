// The scheduler against a fake clock: setTimeout, Date and the scheduler's clocks all move only
// when the test advances them, so absolute-time scheduling can be checked to the millisecond.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { Scheduler, nextDue, stableOffset } from '../../agent/scheduler.js';
import type { ProbeOutcome, ProbeSpec } from '../../protocol/messages.js';
import { httpSpec } from './helpers.js';

const silent = pino({ level: 'silent' });
const T0 = 1_767_600_000_000; // a round epoch ms, so grids are easy to reason about
const OK: ProbeOutcome = { ok: true, duration_ms: 1, phases: {} };

interface Harness {
  s: Scheduler;
  starts: { key: string; at: number }[];
  results: { key: string; ts: number; outcome: ProbeOutcome }[];
  active: () => number;
  maxActive: () => number;
}

/** A scheduler whose runs take `runMs` of fake time (or until aborted, when runMs is Infinity). */
function harness(opts: { runMs?: number | ((spec: ProbeSpec) => number); concurrency?: number; agentId?: string } = {}): Harness {
  const starts: Harness['starts'] = [];
  const results: Harness['results'] = [];
  let active = 0;
  let maxActive = 0;
  const s = new Scheduler({
    agentId: opts.agentId ?? 'kbh-1',
    logger: silent,
    concurrency: opts.concurrency ?? 32,
    wall: () => Date.now(),
    mono: () => Date.now(),
    run: async (spec, signal) => {
      starts.push({ key: `${spec.system}/${spec.id}`, at: Date.now() });
      active++;
      maxActive = Math.max(maxActive, active);
      const ms = typeof opts.runMs === 'function' ? opts.runMs(spec) : (opts.runMs ?? 0);
      try {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            signal.removeEventListener('abort', done);
            resolve();
          };
          if (Number.isFinite(ms)) setTimeout(done, ms);
          signal.addEventListener('abort', done, { once: true });
        });
      } finally {
        active--;
      }
      return signal.aborted ? { ok: false, duration_ms: ms, phases: {}, error: { code: 'internal', message: 'aborted' } } : OK;
    },
    onResult: (spec, outcome, ts) => results.push({ key: `${spec.system}/${spec.id}`, ts, outcome }),
  });
  return { s, starts, results, active: () => active, maxActive: () => maxActive };
}

/** The due times of a probe in (from, to]. */
function grid(agent: string, spec: ProbeSpec, from: number, to: number): number[] {
  const offset = stableOffset(agent, spec.system, spec.id, spec.interval);
  const out: number[] = [];
  for (let t = nextDue(from, offset, spec.interval); t <= to; t += spec.interval) out.push(t);
  return out;
}

/** stop() waits on (fake) timers for runs in progress: let time pass while it does. */
async function stopNow(h: Harness): Promise<void> {
  const p = h.s.stop();
  await vi.advanceTimersByTimeAsync(10_000);
  await p;
}

const startsOf = (h: Harness, key: string): number[] => h.starts.filter((x) => x.key === key).map((x) => x.at);

describe('stable offsets', () => {
  it('gives the same offset for the same agent, system and probe, within [0, interval)', () => {
    const a = stableOffset('kbh-1', 'mitid', 'front', 60_000);
    expect(stableOffset('kbh-1', 'mitid', 'front', 60_000)).toBe(a);
    expect(a).toBeGreaterThanOrEqual(0);
    expect(a).toBeLessThan(60_000);
    expect(Number.isInteger(a)).toBe(true);
    // Another agent running the same probe fires at another moment.
    expect(stableOffset('aar-1', 'mitid', 'front', 60_000)).not.toBe(a);
    expect(stableOffset('kbh-1', 'mitid', 'login', 60_000)).not.toBe(a);
  });

  it('spreads 500 probes evenly over the interval', () => {
    const interval = 10_000;
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 500; i++) {
      const off = stableOffset('kbh-1', `system-${i % 25}`, `probe-${i}`, interval);
      buckets[Math.floor(off / 1000)]!++;
    }
    // 50 expected per tenth; hashing keeps every tenth well populated.
    for (const n of buckets) {
      expect(n).toBeGreaterThan(25);
      expect(n).toBeLessThan(75);
    }
  });

  it('nextDue is the first grid point strictly after now', () => {
    expect(nextDue(T0, 300, 1000)).toBe(T0 + 300);
    expect(nextDue(T0 + 300, 300, 1000)).toBe(T0 + 1300);
    expect(nextDue(T0 + 299, 300, 1000)).toBe(T0 + 300);
  });
});

describe('Scheduler', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs each probe on its epoch-anchored grid, without drift from the run time', async () => {
    const h = harness({ runMs: 300 });
    const a = httpSpec('mitid', 'front', { interval: 1000 });
    const b = httpSpec('virk', 'front', { interval: 700 });
    expect(h.s.assign([a, b])).toMatchObject({ added: 2, removed: 0, changed: 0, kept: 0, invalid: 0 });
    await vi.advanceTimersByTimeAsync(10_000);
    // Chained setTimeout(interval) after each run would have drifted by 300 ms per turn.
    expect(startsOf(h, 'mitid/front')).toEqual(grid('kbh-1', a, T0, T0 + 10_000));
    expect(startsOf(h, 'virk/front')).toEqual(grid('kbh-1', b, T0, T0 + 10_000));
    expect(startsOf(h, 'mitid/front')).toHaveLength(10);
    // Results carry the start time (wall clock) as ts.
    expect(h.results.filter((r) => r.key === 'mitid/front').map((r) => r.ts)).toEqual(startsOf(h, 'mitid/front').slice(0, h.results.filter((r) => r.key === 'mitid/front').length));
    await stopNow(h);
  });

  it('skips the turn of a probe that is still running instead of stacking runs', async () => {
    const h = harness({ runMs: 250 });
    const a = httpSpec('mitid', 'slow', { interval: 100 });
    h.s.assign([a]);
    await vi.advanceTimersByTimeAsync(3000);
    const starts = startsOf(h, 'mitid/slow');
    expect(h.maxActive()).toBe(1);
    // A run takes 250 ms, so of every three 100 ms turns, two find it still running.
    const due = grid('kbh-1', a, T0, T0 + 3000);
    expect(starts.length).toBeGreaterThanOrEqual(Math.floor(due.length / 3));
    expect(starts.length).toBeLessThanOrEqual(Math.ceil(due.length / 3));
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBe(300);
    expect(h.s.skipped).toBeGreaterThanOrEqual(2 * (starts.length - 1));
    await stopNow(h);
  });

  it('caps the probes in flight at the concurrency, and every probe gets its turns', async () => {
    const h = harness({ runMs: 900, concurrency: 3 });
    const specs = Array.from({ length: 10 }, (_, i) => httpSpec('mitid', `p${i}`, { interval: 1000 }));
    h.s.assign(specs);
    let sawQueue = false;
    for (let t = 0; t < 10_000; t += 50) {
      await vi.advanceTimersByTimeAsync(50);
      expect(h.active()).toBeLessThanOrEqual(3);
      expect(h.s.active).toBeLessThanOrEqual(3);
      if (h.s.queued > 0) sawQueue = true;
    }
    expect(h.maxActive()).toBe(3);
    expect(sawQueue).toBe(true);
    for (const s of specs) expect(startsOf(h, `mitid/${s.id}`).length).toBeGreaterThanOrEqual(1);
    await stopNow(h);
  });

  it('on a new assignment keeps unchanged probes on their schedule, starts new ones and stops removed ones', async () => {
    const h = harness({ runMs: 10 });
    const a = httpSpec('mitid', 'front', { interval: 1000 });
    const b = httpSpec('virk', 'front', { interval: 1000 });
    h.s.assign([a, b]);
    await vi.advanceTimersByTimeAsync(2500);
    const cut = Date.now();
    // The same spec as a new object with its keys in another order: unchanged.
    const aAgain = Object.fromEntries(Object.entries(a).reverse()) as ProbeSpec;
    const c = httpSpec('borger-dk', 'front', { interval: 500 });
    expect(h.s.assign([aAgain, c])).toMatchObject({ added: 1, removed: 1, changed: 0, kept: 1 });
    expect(h.s.probes.map((p) => `${p.system}/${p.id}`)).toEqual(['mitid/front', 'borger-dk/front']);
    await vi.advanceTimersByTimeAsync(3000);
    expect(startsOf(h, 'mitid/front')).toEqual(grid('kbh-1', a, T0, T0 + 5500));
    expect(startsOf(h, 'virk/front').every((t) => t < cut)).toBe(true);
    expect(startsOf(h, 'virk/front')).toEqual(grid('kbh-1', b, T0, cut));
    expect(startsOf(h, 'borger-dk/front')).toEqual(grid('kbh-1', c, cut, T0 + 5500));
    await stopNow(h);
  });

  it('a changed spec takes effect at the next turn; the run in progress is not disturbed', async () => {
    const h = harness({ runMs: (s) => (s.timeout === 1000 ? 400 : 10) });
    const a = httpSpec('mitid', 'front', { interval: 1000, timeout: 1000 });
    h.s.assign([a]);
    const [first] = grid('kbh-1', a, T0, T0 + 1000);
    await vi.advanceTimersByTimeAsync(first! - T0 + 100); // the first run is in progress
    expect(h.active()).toBe(1);
    const changed = { ...a, timeout: 2000, interval: 500 };
    expect(h.s.assign([changed])).toMatchObject({ changed: 1 });
    await vi.advanceTimersByTimeAsync(2000);
    expect(h.results[0]?.key).toBe('mitid/front'); // the run under the old spec still reported
    const after = startsOf(h, 'mitid/front').slice(1);
    expect(after).toEqual(grid('kbh-1', changed, first! + 100, Date.now()).filter((t) => t >= first! + 400));
    await stopNow(h);
  });

  it('discards the result of a probe unassigned while it ran', async () => {
    const h = harness({ runMs: 500 });
    const a = httpSpec('mitid', 'front', { interval: 1000 });
    h.s.assign([a]);
    const [first] = grid('kbh-1', a, T0, T0 + 1000);
    await vi.advanceTimersByTimeAsync(first! - T0 + 100);
    expect(h.active()).toBe(1);
    h.s.assign([]);
    await vi.advanceTimersByTimeAsync(3000);
    expect(h.starts).toHaveLength(1);
    expect(h.results).toHaveLength(0);
    await stopNow(h);
  });

  it('ignores invalid probes of an assignment and schedules the rest', () => {
    const h = harness();
    const out = h.s.assign([
      { system: 'mitid' },
      httpSpec('mitid', 'front', { interval: 0 }),
      httpSpec('mitid', 'front', { interval: 1000 }),
      httpSpec('mitid', 'front', { interval: 2000 }), // the same probe twice
      null,
    ]);
    expect(out).toMatchObject({ added: 1, invalid: 4 });
    expect(h.s.probes).toHaveLength(1);
  });

  it('stop() waits for a run in progress, and returns once it ends', async () => {
    const h = harness({ runMs: 300 });
    const a = httpSpec('mitid', 'front', { interval: 1000, timeout: 5000 });
    h.s.assign([a]);
    const [first] = grid('kbh-1', a, T0, T0 + 1000);
    await vi.advanceTimersByTimeAsync(first! - T0 + 100);
    let stopped = false;
    const p = h.s.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(100);
    expect(stopped).toBe(false);
    await vi.advanceTimersByTimeAsync(150);
    await p;
    expect(h.results).toHaveLength(1);
    expect(h.results[0]!.outcome.ok).toBe(true);
    // Nothing more is scheduled after stop.
    await vi.advanceTimersByTimeAsync(5000);
    expect(h.starts).toHaveLength(1);
  });

  it('stop() aborts a run still going after its timeout', async () => {
    const h = harness({ runMs: Infinity });
    const a = httpSpec('mitid', 'hang', { interval: 1000, timeout: 2000 });
    h.s.assign([a]);
    const [first] = grid('kbh-1', a, T0, T0 + 1000);
    await vi.advanceTimersByTimeAsync(first! - T0 + 10);
    let stopped = false;
    const p = h.s.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(1900);
    expect(stopped).toBe(false);
    await vi.advanceTimersByTimeAsync(300);
    await p;
    expect(h.results).toHaveLength(1);
    expect(h.results[0]!.outcome).toMatchObject({ ok: false, error: { message: 'aborted' } });
  });
});
