// Benchmark (issue 6): what storage costs. A real SQLite store in a temp dir is filled through
// insertResults (batches of 1,000) with a fleet of 100 systems x 5 probes x 10 agents probing every
// 60 s: http-like results with phases and a small detail, 2 % failures with error codes. Measured:
// bytes per raw result, per hourly aggregate and per status change (dbstat, after a checkpoint),
// the roll-up of one fleet hour and the longest the event loop waited meanwhile, the hourly prune,
// and from these the database size for a year. Prints a table and `RESULT {json}`.
//
//   node dist/bench/storage.js [--hours 3] [--aggregate-days 7] [--status-days 30]
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import type { Status } from '../collector/status/types.js';
import { SqliteStore } from '../collector/store/sqlite.js';
import type { StatusChange, StoredResult } from '../collector/store/types.js';
import type { ProbeErrorCode } from '../protocol/messages.js';
import { numberArg } from './harness.js';
import { seededRandom as seeded } from '../lib/random.js';
import { jitteredDuration, type Series } from './fleet.js';

const SYSTEMS = 100;
const PROBES = 5;
const AGENTS = 10;
const SERIES = SYSTEMS * PROBES * AGENTS;
const INTERVAL_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const PER_HOUR = SERIES * (HOUR_MS / INTERVAL_MS);
const BATCH = 1_000;
/** Status changes per system per day, in each of the two views. */
const CHANGES_PER_DAY = 20;
const H0 = Date.UTC(2026, 0, 5, 0, 0, 0);
/** The raw results' table and its indexes. */
const RAW = ['results', 'results_agent_seq', 'results_system_probe_ts', 'results_ts'];

const FAILURES: { code: ProbeErrorCode; message: string; status?: number }[] = [
  { code: 'timeout', message: 'no response within 10000 ms' },
  { code: 'http_status', message: 'status 503, expected 200', status: 503 },
  { code: 'connect', message: 'connect ECONNREFUSED 192.0.2.17:443' },
  { code: 'body_mismatch', message: 'the body does not contain "Log ind"', status: 200 },
];



function fleet(rnd: () => number): Series[] {
  const out: Series[] = [];
  for (let s = 0; s < SYSTEMS; s++)
    for (let p = 0; p < PROBES; p++) {
      const median = 40 * Math.exp(rnd() * 2.5); // 40 ms to 500 ms
      for (let a = 0; a < AGENTS; a++)
        out.push({ system: `system-${s}`, probe: ['front', 'login', 'api', 'search', 'assets'][p]!, agent: `agent-${a}`, offset: Math.floor(rnd() * INTERVAL_MS), median: median * (0.8 + rnd() * 0.4) });
    }
  return out;
}

/** One hour of the whole fleet, in time order as it would arrive. */
function hourOfResults(series: readonly Series[], hour: number, rnd: () => number, seqs: Map<string, number>): StoredResult[] {
  const rows: StoredResult[] = [];
  for (let m = 0; m < HOUR_MS / INTERVAL_MS; m++)
    for (const s of series) {
      const ts = hour + m * INTERVAL_MS + s.offset;
      const seq = (seqs.get(s.agent) ?? 0) + 1;
      seqs.set(s.agent, seq);
      const failure = rnd() < 0.02 ? FAILURES[Math.floor(rnd() * FAILURES.length)]! : undefined;
      const duration = failure?.code === 'timeout' ? 10_000 : jitteredDuration(s.median, rnd);
      const dns = 0.5 + rnd() * 3;
      const connect = duration * 0.08;
      const tls = duration * 0.2;
      const transfer = duration * 0.1;
      const r: StoredResult = {
        agent: s.agent,
        seq,
        system: s.system,
        probe: s.probe,
        ts,
        ok: failure === undefined,
        duration_ms: Math.round(duration * 100) / 100,
        phases: failure?.code === 'connect' ? { dns } : { dns, connect, tls, ttfb: duration - dns - connect - tls - transfer, transfer },
        detail: { redirects: s.probe === 'login' ? 2 : 0, final_url: `https://www.${s.system}.dk/${s.probe}`, bytes: 20_000 + Math.floor(rnd() * 60_000), tls_version: 'TLSv1.3', ip: `192.0.2.${rows.length % 250}` },
        received_at: ts + Math.round(duration) + 40,
      };
      if (failure === undefined) r.status_code = 200;
      else {
        r.error = { code: failure.code, message: failure.message };
        if (failure.status !== undefined) r.status_code = failure.status;
      }
      if (s.probe === 'front') r.tls_expiry = 1_800_000_000;
      rows.push(r);
    }
  return rows;
}

async function insertAll(store: SqliteStore, rows: readonly StoredResult[]): Promise<void> {
  for (let i = 0; i < rows.length; i += BATCH) await store.insertResults(rows.slice(i, i + BATCH));
}

/** Bytes and entries per table or index, after a checkpoint. */
function usage(db: Database.Database): Map<string, number> {
  db.pragma('wal_checkpoint(TRUNCATE)');
  const rows = db.prepare("SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name").all() as { name: string; bytes: number }[];
  return new Map(rows.map((r) => [r.name, r.bytes]));
}

const sum = (m: Map<string, number>, names: readonly string[]): number => names.reduce((n, k) => n + (m.get(k) ?? 0), 0);
const gb = (bytes: number): string => `${(bytes / 1e9).toFixed(1)} GB`;

/** Runs fn and reports the longest stretch in which the event loop could not run a timer. */
async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number; maxBlockMs: number }> {
  let last = performance.now();
  let maxBlockMs = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    maxBlockMs = Math.max(maxBlockMs, now - last);
    last = now;
  }, 1);
  const t0 = performance.now();
  const value = await fn();
  const end = performance.now();
  clearInterval(ticker);
  return { value, ms: end - t0, maxBlockMs: Math.max(maxBlockMs, end - last) };
}

async function main(): Promise<void> {
  const hours = Math.round(numberArg('hours', 3));
  const aggregateDays = Math.round(numberArg('aggregate-days', 7));
  const statusDays = Math.round(numberArg('status-days', 30));
  const dir = mkdtempSync(join(tmpdir(), 'vagt-bench-storage-'));
  const path = join(dir, 'vagt.db');
  try {
    const rnd = seeded(6);
    const series = fleet(rnd);
    const seqs = new Map<string, number>();
    const store = SqliteStore.open(path);
    const side = new Database(path);
    process.stdout.write(`storage: ${SYSTEMS} systems x ${PROBES} probes x ${AGENTS} agents every ${INTERVAL_MS / 1000} s (${PER_HOUR.toLocaleString('en')} results an hour), ${hours} + 1 hours of raw results in ${dir}\n`);

    // Raw results: `hours` hours, rolled up together, then one more, rolled up alone.
    let insertMs = 0;
    for (let h = 0; h < hours; h++) {
      const rows = hourOfResults(series, H0 + h * HOUR_MS, rnd, seqs);
      const t0 = performance.now();
      await insertAll(store, rows);
      insertMs += performance.now() - t0;
    }
    const backlog = await timed(() => store.rollupHours());
    const last = hourOfResults(series, H0 + hours * HOUR_MS, rnd, seqs);
    await insertAll(store, last);
    const oneHour = await timed(() => store.rollupHours());
    const rawRows = (hours + 1) * PER_HOUR;

    let u = usage(side);
    const rawBytes = sum(u, RAW);
    const rawBy = u;
    const fileBytes = statSync(path).size;
    const aggRowsReal = side.prepare('SELECT COUNT(*) FROM hourly_aggregates').pluck().get() as number;
    const sketchBytes = side.prepare('SELECT AVG(LENGTH(sketch)) FROM hourly_aggregates').pluck().get() as number;
    const detailBytes = side.prepare('SELECT AVG(LENGTH(detail)) FROM results').pluck().get() as number;

    // The hourly prune: one hour of the fleet's raw results, the oldest.
    const prune = await timed(() => store.pruneResults(H0 + HOUR_MS));

    // Aggregates at steady state: more hours appended as the roll-up appends them, hour by hour
    // (copies of the last real hour), so the B-tree's pages fill as they would over a year.
    const copy = side.prepare(
      `INSERT INTO hourly_aggregates SELECT system, probe, agent, hour + ?, count, failures, sum_ms, min_ms, max_ms, sketch FROM hourly_aggregates WHERE hour = ?`,
    );
    const lastHour = H0 + hours * HOUR_MS;
    side.transaction(() => {
      for (let k = 1; k <= aggregateDays * 24; k++) copy.run(k * HOUR_MS, lastHour);
    })();
    u = usage(side);
    const aggRows = side.prepare('SELECT COUNT(*) FROM hourly_aggregates').pluck().get() as number;
    const aggBytes = sum(u, ['hourly_aggregates']);

    // The status timeline: CHANGES_PER_DAY per system per day in each view.
    const statuses: Status[] = ['operational', 'degraded_performance', 'operational', 'partial_outage', 'operational', 'major_outage'];
    const changes: StatusChange[] = [];
    const perSystem = statusDays * CHANGES_PER_DAY;
    for (let i = 0; i < perSystem; i++)
      for (let s = 0; s < SYSTEMS; s++)
        for (const view of ['own', 'perceived'] as const) {
          const status = statuses[(i + s) % statuses.length]!;
          const cause = view === 'perceived' && status !== 'operational' && s % 3 === 0 ? [`system-${(s + 1) % SYSTEMS}`] : [];
          changes.push({ system: `system-${s}`, view, status, cause, at: H0 + Math.floor((i * DAY_MS) / CHANGES_PER_DAY) + s * 1_000 });
        }
    for (let i = 0; i < changes.length; i += BATCH) await store.recordStatusChanges(changes.slice(i, i + BATCH));
    u = usage(side);
    const changeBytes = sum(u, ['status_changes', 'status_changes_system_view_at']);

    side.close();
    await store.close();

    const perResult = rawBytes / rawRows;
    const perResultFile = fileBytes / rawRows;
    const perAggregate = aggBytes / aggRows;
    const perChange = changeBytes / changes.length;
    const year = {
      raw_results: SERIES * (30 * DAY_MS) / INTERVAL_MS,
      aggregates: SERIES * 8_760,
      status_changes: SYSTEMS * 2 * CHANGES_PER_DAY * 365,
    };
    const bytes = {
      raw: year.raw_results * perResultFile,
      aggregates: year.aggregates * perAggregate,
      status: year.status_changes * perChange,
    };
    const total = bytes.raw + bytes.aggregates + bytes.status;
    const result = {
      bytes_per_result: Math.round(perResult),
      bytes_per_result_file: Math.round(perResultFile),
      bytes_per_result_by: Object.fromEntries(RAW.map((k) => [k, Math.round((rawBy.get(k) ?? 0) / rawRows)])),
      bytes_per_aggregate: Math.round(perAggregate),
      sketch_bytes_avg: Math.round(sketchBytes),
      detail_bytes_avg: Math.round(detailBytes),
      bytes_per_status_change: Math.round(perChange),
      insert_results_per_s: Math.round((hours * PER_HOUR) / (insertMs / 1000)),
      rollup_backlog_hours: backlog.value,
      rollup_backlog_ms: Math.round(backlog.ms),
      rollup_one_hour_ms: Math.round(oneHour.ms),
      rollup_one_hour_max_block_ms: Math.round(oneHour.maxBlockMs),
      prune_one_hour_ms: Math.round(prune.ms),
      prune_one_hour_max_block_ms: Math.round(prune.maxBlockMs),
      prune_one_hour_rows: prune.value,
      aggregate_rows_measured: aggRows,
      aggregate_rows_rolled_up: aggRowsReal,
      status_changes_measured: changes.length,
      year: { ...year, bytes_raw: Math.round(bytes.raw), bytes_aggregates: Math.round(bytes.aggregates), bytes_status: Math.round(bytes.status), bytes_total: Math.round(total) },
    };
    const n = (x: number): string => x.toLocaleString('en');
    process.stdout.write(
      [
        `  inserted ${n(hours * PER_HOUR)} results in batches of ${BATCH}: ${n(result.insert_results_per_s)} results/s`,
        `  roll-up of ${hours} hours at once: ${n(result.rollup_backlog_ms)} ms; of one fleet hour (${n(PER_HOUR)} results): ${n(result.rollup_one_hour_ms)} ms, longest the event loop waited ${result.rollup_one_hour_max_block_ms} ms`,
        `  prune of one fleet hour (${n(prune.value)} results): ${n(result.prune_one_hour_ms)} ms, longest the event loop waited ${result.prune_one_hour_max_block_ms} ms`,
        '',
        '  | what | bytes each | measured over |',
        '  |---|---|---|',
        `  | raw result (table and its 3 indexes) | ${result.bytes_per_result} | ${n(rawRows)} results |`,
        `  | raw result (whole file / results) | ${result.bytes_per_result_file} | ${n(rawRows)} results |`,
        `  | hourly aggregate (sketch ${result.sketch_bytes_avg} bytes on average) | ${result.bytes_per_aggregate} | ${n(aggRows)} rows (${aggregateDays} days) |`,
        `  | status change (table and index) | ${result.bytes_per_status_change} | ${n(changes.length)} changes |`,
        '',
        `  raw result by structure: ${Object.entries(result.bytes_per_result_by).map(([k, v]) => `${k} ${v}`).join(', ')}; its detail JSON ${result.detail_bytes_avg} bytes on average`,
        '',
        '  one year of the fleet:',
        `  | raw results, 30 days | ${n(year.raw_results)} | ${gb(bytes.raw)} |`,
        `  | hourly aggregates, 12 months | ${n(year.aggregates)} | ${gb(bytes.aggregates)} |`,
        `  | status changes, 12 months | ${n(year.status_changes)} | ${gb(bytes.status)} |`,
        `  | total | | ${gb(total)} |`,
        `  (raw results kept for the whole year instead: ${gb((bytes.raw * 365) / 30)})`,
        `RESULT ${JSON.stringify(result)}`,
        '',
      ].join('\n'),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`storage: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
