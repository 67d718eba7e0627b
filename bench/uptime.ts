// Benchmark (issue 6): uptime for a month over 100 systems, from a real SQLite file. Each system
// has a declaration (primary mon-fri 08:30-16:30, holidays on) and a month of timeline in both
// views, with `--changes` status changes a day (outages, slowness, service windows, unknown).
// Measures `vagt report`'s computation (monthReport, perceived view) and one refresh of the
// uptime gauges (24h and 30d for every system). Goal: the month in < 200 ms.
//
//   node dist/bench/uptime.js [--systems 100] [--changes 20] [--runs 10]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { SystemConfig } from '../config/schema.js';
import type { Status } from '../collector/status/types.js';
import { SqliteStore } from '../collector/store/sqlite.js';
import type { StatusChange } from '../collector/store/types.js';
import { UptimeGauges } from '../collector/uptime/gauges.js';
import { monthBounds, monthReport } from '../collector/uptime/report.js';
import { seededRandom } from '../lib/random.js';
import { numberArg } from './harness.js';

const GOAL_MS = 200;
const TZ = 'Europe/Copenhagen';
const MONTH = '2026-10';
const DAY = 86_400_000;

async function main(): Promise<void> {
  const nSystems = Math.round(numberArg('systems', 100));
  const perDay = Math.round(numberArg('changes', 20));
  const runs = Math.round(numberArg('runs', 10));
  const dir = mkdtempSync(join(tmpdir(), 'vagt-bench-uptime-'));
  const store = SqliteStore.open(join(dir, 'vagt.db'));
  try {
    const systems: SystemConfig[] = Array.from({ length: nSystems }, (_, i) => ({
      id: `s${i}`,
      name: `System ${i}`,
      depends_on: {},
      probes: [],
      sla: { uptime: 99.7, windows: { primary: 'mon-fri 08:30-16:30' }, holidays: true },
    }));
    const { from, to } = monthBounds(MONTH, TZ)!;
    // A few days of history before the month, as a running collector has.
    const start = from - 3 * DAY;
    const random = seededRandom(7);
    const bad: Status[] = ['major_outage', 'partial_outage', 'degraded_performance', 'under_maintenance', 'unknown'];
    let rows = 0;
    for (const s of systems) {
      const changes: StatusChange[] = [];
      const n = Math.round(((to - start) / DAY) * perDay);
      // Alternating good and bad stretches at random times: the bad ones short.
      const times = Array.from({ length: n }, () => start + Math.floor(random() * (to - start))).sort((a, b) => a - b);
      times.forEach((at, k) => {
        const status: Status = k % 2 === 0 ? 'operational' : bad[Math.floor(random() * bad.length)]!;
        for (const view of ['perceived', 'own'] as const) changes.push({ system: s.id, view, status, cause: [], at });
      });
      await store.recordStatusChanges(changes);
      rows += changes.length;
    }

    const now = to + DAY;
    const monthMs: number[] = [];
    let downtime = 0;
    for (let r = 0; r < runs; r++) {
      const t = performance.now();
      const report = await monthReport(store, systems, { month: MONTH, timezone: TZ, view: 'perceived', now });
      monthMs.push(performance.now() - t);
      downtime = report.systems.reduce((sum, s) => sum + (s.windows.all?.downtime_s ?? 0), 0);
    }
    const gauges = new UptimeGauges();
    const gaugeMs: number[] = [];
    for (let r = 0; r < runs; r++) {
      const t = performance.now();
      await gauges.refresh(store, systems, TZ, to);
      gaugeMs.push(performance.now() - t);
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
    const first = monthMs[0] ?? NaN;
    const result = {
      systems: nSystems,
      status_changes: rows,
      month_report_ms_first: +first.toFixed(1),
      month_report_ms_median: +median(monthMs).toFixed(1),
      gauges_refresh_ms_median: +median(gaugeMs).toFixed(1),
      gauge_series: gauges.series().length,
      goal_ms: GOAL_MS,
      met: median(monthMs) < GOAL_MS,
    };
    process.stdout.write(
      `uptime for ${MONTH} over ${nSystems} systems (${rows} status changes stored; ${Math.round(downtime / 3600)} h of downtime found):\n` +
        `  monthReport: first run ${result.month_report_ms_first} ms, median of ${runs} ${result.month_report_ms_median} ms (goal < ${GOAL_MS} ms)\n` +
        `  uptime gauges, 24h + 30d for every system: median ${result.gauges_refresh_ms_median} ms, ${result.gauge_series} series\n`,
    );
    process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`uptime: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
