// Benchmark (issue 4): the cost of re-deriving status. 1,000 systems, 3 probes each, 10 agents
// each, dependencies between them (each system on up to 2 earlier ones, so chains run deep).
// Measures (a) an update after one result: own status, slowness, suspect agents and incidents of
// the system and the perceived status of its dependants, as ingest does on every batch, and (b) the
// full re-evaluation the timer runs every second (also agents offline).
// Goal: < 5 ms per update.
//
//   node dist/bench/status-derive.js [--systems 1000] [--agents 10] [--probes 3] [--updates 2000]
import { LatestResults } from '../collector/latest.js';
import { StatusTracker, type TrackedSystem } from '../collector/status/tracker.js';
import type { Impact } from '../config/schema.js';
import { ManualClock } from '../lib/clock.js';
import { numberArg } from './harness.js';

const GOAL_MS = 5;
const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);

function main(): void {
  const nSystems = Math.round(numberArg('systems', 1000));
  const nAgents = Math.round(numberArg('agents', 10));
  const nProbes = Math.round(numberArg('probes', 3));
  const updates = Math.round(numberArg('updates', 2000));
  const clock = new ManualClock(T0);
  const latest = new LatestResults();
  const tracker = new StatusTracker({ clock, latest });
  const impacts: Impact[] = ['critical', 'high', 'low'];
  const systems: TrackedSystem[] = [];
  let seed = 42;
  const random = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < nSystems; i++) {
    const depends: Record<string, Impact> = {};
    for (let k = 0; k < 2 && i > 0; k++) depends[`s${Math.floor(random() * i)}`] = impacts[k % 3] as Impact;
    systems.push({
      id: `s${i}`,
      depends_on: depends,
      // Every system has a long-response-time rule, as the demanding case.
      response_time: { slow: 2_000, for: 300_000, percentile: 95 },
      probes: Array.from({ length: nProbes }, (_, p) => ({ id: `p${p}`, interval: 60_000, timeout: 10_000, retries: 1 })),
    });
  }
  tracker.setSystems(
    systems,
    Array.from({ length: nAgents }, (_, a) => `a${a}`),
  );
  let seq = 0;
  const result = (system: string, probe: string, agent: string, ok: boolean) => ({
    agent, seq: ++seq, system, probe, ts: clock.now(), ok, duration_ms: 10, phases: {}, received_at: clock.now(),
  });
  for (const s of systems) for (const p of s.probes) for (let a = 0; a < nAgents; a++) latest.update(result(s.id, p.id, `a${a}`, true));
  tracker.evaluate();

  // (a) one result arrives and flips a vantage point; the system and its dependants are re-derived.
  const times: number[] = [];
  for (let u = 0; u < updates; u++) {
    clock.advance(10);
    const s = systems[Math.floor(random() * systems.length)] as TrackedSystem;
    latest.update(result(s.id, 'p0', `a${u % nAgents}`, random() < 0.5));
    const t = performance.now();
    tracker.evaluate([s.id]);
    times.push(performance.now() - t);
  }
  // (b) the timer's full pass.
  const full: number[] = [];
  for (let i = 0; i < 50; i++) {
    clock.advance(1000);
    const t = performance.now();
    tracker.evaluate();
    full.push(performance.now() - t);
  }
  const pct = (xs: number[], p: number): number => {
    const s = [...xs].sort((x, y) => x - y);
    return Math.round((s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0) * 1000) / 1000;
  };
  const out = {
    systems: nSystems,
    agents: nAgents,
    probes_per_system: nProbes,
    update_ms_p50: pct(times, 50),
    update_ms_p99: pct(times, 99),
    full_ms_p50: pct(full, 50),
    full_ms_p99: pct(full, 99),
    goal_ms: GOAL_MS,
    meets_goal: pct(times, 99) < GOAL_MS,
  };
  process.stdout.write(
    `status of ${nSystems} systems x ${nProbes} probes x ${nAgents} agents, with dependencies\n` +
      `  update after one result: p50 ${out.update_ms_p50} ms, p99 ${out.update_ms_p99} ms (goal < ${GOAL_MS} ms: ${out.meets_goal ? 'meets it' : 'MISSES it'})\n` +
      `  full re-evaluation:      p50 ${out.full_ms_p50} ms, p99 ${out.full_ms_p99} ms\n` +
      `RESULT ${JSON.stringify(out)}\n`,
  );
}

main();
