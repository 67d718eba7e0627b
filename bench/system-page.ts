// Benchmark: GET /systems/{id} when its charts are not cached. A real SQLite file holds a day of
// results of `--systems` systems x `--probes` probes x `--agents` agents every `--interval` seconds
// (http-like rows with phases, a detail JSON and 2 % failures, written round by round and agent by
// agent, so that the systems' rows interleave in the table as agents' batches make them), plus an external source reporting each probe
// of every system once a minute (excluded from the charts). The collector runs in this process.
// Measured per system page: the render with its charts read afresh (the first request for a
// system) and the same page again with the charts cached (a minute), each as wall time and this
// process's CPU; their difference is readCharts. Also the store's read of one probe's day on a
// second connection: full rows (queryResults) and what the chart needs (chartDurations).
//
//   node dist/bench/system-page.js [--systems 10] [--probes 5] [--agents 10] [--interval 30] [--pages 6] [--profile FILE]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { startCollector } from '../collector/collector.js';
import { SqliteStore } from '../collector/store/sqlite.js';
import type { StoredResult } from '../collector/store/types.js';
import { configSchema } from '../config/schema.js';
import { seededRandom } from '../lib/random.js';
import { numberArg } from './harness.js';
import { jitteredDuration, type Series } from './fleet.js';

const DAY = 86_400_000;
const BATCH = 1_000;
const PROBE_IDS = ['front', 'login', 'api', 'search', 'assets', 'p6', 'p7', 'p8'];
const EXTERNAL = 'zabbix';


function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

async function seed(store: SqliteStore, o: { systems: number; probes: number; agents: number; intervalMs: number; now: number }): Promise<number> {
  const rnd = seededRandom(7);
  const medians = Array.from({ length: o.systems * o.probes }, () => 40 * Math.exp(rnd() * 2.5));
  // Agent by agent, as their batches arrive: one probe's results of a round land on as many pages.
  const series: Series[] = [];
  for (let a = 0; a <= o.agents; a++)
    for (let s = 0; s < o.systems; s++)
      for (let p = 0; p < o.probes; p++) {
        const m = medians[s * o.probes + p]!;
        series.push(
          a === o.agents
            ? { system: `system-${s}`, probe: PROBE_IDS[p]!, agent: EXTERNAL, offset: Math.floor(rnd() * 60_000), median: m * 3 }
            : { system: `system-${s}`, probe: PROBE_IDS[p]!, agent: `agent-${a}`, offset: Math.floor(rnd() * o.intervalMs), median: m * (0.8 + rnd() * 0.4) },
        );
      }
  const seqs = new Map<string, number>();
  const start = o.now - DAY - 3_600_000;
  let rows: StoredResult[] = [];
  let n = 0;
  for (let t = start; t < o.now; t += o.intervalMs) {
    for (const s of series) {
      if (s.agent === EXTERNAL && Math.floor((t - start) / 60_000) === Math.floor((t - start - o.intervalMs) / 60_000)) continue;
      const ts = t + s.offset;
      if (ts >= o.now) continue;
      const seq = (seqs.get(s.agent) ?? 0) + 1;
      seqs.set(s.agent, seq);
      const ok = rnd() >= 0.02;
      const duration = ok ? jitteredDuration(s.median, rnd) : 10_000;
      const r: StoredResult = {
        agent: s.agent,
        seq,
        system: s.system,
        probe: s.probe,
        ts,
        ok,
        duration_ms: Math.round(duration * 100) / 100,
        phases: { dns: 1.2, connect: duration * 0.08, tls: duration * 0.2, ttfb: duration * 0.6, transfer: duration * 0.1 },
        detail: { redirects: 0, final_url: `https://www.${s.system}.dk/${s.probe}`, bytes: 20_000 + Math.floor(rnd() * 60_000), tls_version: 'TLSv1.3', ip: '192.0.2.7' },
        received_at: ts + Math.round(duration) + 40,
      };
      if (ok) r.status_code = 200;
      else r.error = { code: 'timeout', message: 'no response within 10000 ms' };
      rows.push(r);
      if (rows.length === BATCH) {
        await store.insertResults(rows);
        n += rows.length;
        rows = [];
      }
    }
  }
  await store.insertResults(rows);
  return n + rows.length;
}

async function timedGet(url: string): Promise<{ ms: number; cpuMs: number; status: number; bytes: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const res = await fetch(url);
  const body = await res.text();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, status: res.status, bytes: Buffer.byteLength(body) };
}

async function main(): Promise<void> {
  const nSystems = Math.round(numberArg('systems', 10));
  const nProbes = Math.min(PROBE_IDS.length, Math.round(numberArg('probes', 5)));
  const nAgents = Math.round(numberArg('agents', 10));
  const intervalMs = numberArg('interval', 30) * 1000;
  const pages = Math.min(nSystems, Math.round(numberArg('pages', 6)));
  const dir = mkdtempSync(join(tmpdir(), 'vagt-bench-system-page-'));
  const now = Date.now();
  const systems = Array.from({ length: nSystems }, (_, i) => ({
    id: `system-${i}`,
    name: `Offentlig selvbetjening ${i}`,
    response_time: { slow: '2s', for: '5m' },
    sla: { uptime: 99.7, windows: { primary: 'mon-fri 08:30-16:30' } },
    probes: PROBE_IDS.slice(0, nProbes).map((id) => ({ id, type: 'http', url: `https://system-${i}.example.dk/${id}` })),
  }));
  const agents = [
    ...Array.from({ length: nAgents }, (_, i) => ({ id: `agent-${i}`, token: `agent-token-${i}-0123456789abcdef` })),
    { id: EXTERNAL, token: 'zabbix-token-0123456789abcdef', external: {} },
  ];
  try {
    const seedStore = SqliteStore.open(join(dir, 'vagt.db'));
    const t0 = performance.now();
    const rows = await seed(seedStore, { systems: nSystems, probes: nProbes, agents: nAgents, intervalMs, now });
    const seedMs = performance.now() - t0;
    // Rolled up now, so the collector's start has no backlog to roll up while we measure.
    await seedStore.rollupHours();
    await seedStore.close();
    const perProbe = Math.round((nAgents * DAY) / intervalMs);
    process.stdout.write(
      `system page: ${nSystems} systems x ${nProbes} probes x ${nAgents} agents every ${intervalMs / 1000} s and an external source every 60 s: ` +
        `${rows.toLocaleString('en')} results (${perProbe.toLocaleString('en')} per probe per day from the agents), seeded in ${(seedMs / 1000).toFixed(1)} s\n`,
    );

    const config = configSchema.parse({
      collector: { listen: '127.0.0.1:0', data_dir: dir },
      agents,
      defaults: { interval: `${intervalMs / 1000}s` },
      systems,
    });
    const collector = await startCollector({ config, logger: pino({ level: 'silent' }) });
    const side = SqliteStore.open(join(dir, 'vagt.db'));
    try {
      // Let the start's housekeeping (roll-up, warm start) settle.
      await new Promise((r) => setTimeout(r, 2_000));
      await timedGet(`${collector.url}/`);
      // --profile FILE: a CPU profile (Chrome's .cpuprofile) of one uncached page, of a system that
      // is not among those measured below.
      const profileAt = process.argv.indexOf('--profile');
      if (profileAt >= 0 && pages < nSystems) {
        const session = new Session();
        session.connect();
        await session.post('Profiler.enable');
        await session.post('Profiler.setSamplingInterval', { interval: 100 });
        await session.post('Profiler.start');
        await timedGet(`${collector.url}/systems/system-${nSystems - 1}`);
        const { profile } = await session.post('Profiler.stop');
        writeFileSync(process.argv[profileAt + 1] ?? 'system-page.cpuprofile', JSON.stringify(profile));
        session.disconnect();
      }
      const fresh: { ms: number; cpuMs: number }[] = [];
      const cached: { ms: number; cpuMs: number }[] = [];
      let bytes = 0;
      for (let i = 0; i < pages; i++) {
        const url = `${collector.url}/systems/system-${i}`;
        const a = await timedGet(url);
        const b = await timedGet(url);
        if (a.status !== 200 || b.status !== 200) throw new Error(`GET ${url}: ${a.status}, ${b.status}`);
        bytes = a.bytes;
        fresh.push(a);
        cached.push(b);
      }
      // The store alone, one probe's day, on a second connection.
      const q = { system: 'system-0', probe: PROBE_IDS[0]!, from: now - DAY, to: now };
      const full: number[] = [];
      const lean: number[] = [];
      let nFull = 0;
      let nLean = 0;
      for (let i = 0; i < 5; i++) {
        let t = performance.now();
        nFull = (await side.queryResults({ ...q, limit: 200_000 })).length;
        full.push(performance.now() - t);
        t = performance.now();
        nLean = (await side.chartDurations({ ...q, exclude: [EXTERNAL], limit: 200_000 })).length;
        lean.push(performance.now() - t);
      }
      const result = {
        systems: nSystems,
        probes: nProbes,
        agents: nAgents,
        interval_s: intervalMs / 1000,
        results: rows,
        results_per_probe_day: perProbe,
        html_bytes: bytes,
        uncached_ms_median: +median(fresh.map((x) => x.ms)).toFixed(1),
        uncached_cpu_ms_median: +median(fresh.map((x) => x.cpuMs)).toFixed(1),
        cached_charts_ms_median: +median(cached.map((x) => x.ms)).toFixed(1),
        cached_charts_cpu_ms_median: +median(cached.map((x) => x.cpuMs)).toFixed(1),
        read_charts_ms: +(median(fresh.map((x) => x.ms)) - median(cached.map((x) => x.ms))).toFixed(1),
        query_results_one_probe_ms: +median(full).toFixed(1),
        query_results_rows: nFull,
        chart_durations_one_probe_ms: +median(lean).toFixed(1),
        chart_durations_rows: nLean,
      };
      process.stdout.write(
        `  GET /systems/{id}, charts read afresh: median ${result.uncached_ms_median} ms, ${result.uncached_cpu_ms_median} ms CPU (${pages} systems)\n` +
          `  the same page with its charts cached: median ${result.cached_charts_ms_median} ms, ${result.cached_charts_cpu_ms_median} ms CPU; so readCharts ~${result.read_charts_ms} ms\n` +
          `  one probe's day from the store: queryResults ${result.query_results_one_probe_ms} ms (${nFull} rows), chartDurations ${result.chart_durations_one_probe_ms} ms (${nLean} rows)\n` +
          `  HTML ${(bytes / 1024).toFixed(1)} KB\n`,
      );
      process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
    } finally {
      await side.close();
      await collector.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`system-page: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
