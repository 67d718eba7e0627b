// Benchmark (issue 7): the status page for 50 systems with 90 days of history. The collector runs
// in this process (Node serves HTTP on one core); a child process sends keep-alive requests from
// 32 connections for `--seconds`. Measures the page's size, its render when nothing is cached,
// and requests per second with the collector's CPU per request. Goals: < 100 KB, > 500 req/s.
//
//   node dist/bench/portal.js [--systems 50] [--seconds 10] [--connections 32]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { startCollector } from '../collector/collector.js';
import { SqliteStore } from '../collector/store/sqlite.js';
import { configSchema } from '../config/schema.js';
import { seedHistory } from '../demo/seed-history.js';
import { keepAliveLoad, loadFromChild, loadMain, numberArg } from './harness.js';

const GOALS = { maxBytes: 100 * 1024, minRequestsPerSecond: 500 };

async function load(url: string, seconds: number, connections: number): Promise<void> {
  const u = new URL(url);
  const r = await keepAliveLoad(u.origin, { seconds, connections, ok: 200, request: () => ({ path: u.pathname + u.search, method: 'GET' }) });
  process.stdout.write(JSON.stringify(r));
}

async function main(): Promise<void> {
  const nSystems = Math.round(numberArg('systems', 50));
  const seconds = numberArg('seconds', 10);
  const connections = Math.round(numberArg('connections', 32));
  const dir = mkdtempSync(join(tmpdir(), 'vagt-bench-portal-'));
  const systems = Array.from({ length: nSystems }, (_, i) => ({
    id: `system-${i}`,
    name: `Offentlig selvbetjening ${i}`,
    description: 'Selvbetjening for borgere og virksomheder',
    depends_on: i > 0 ? { 'system-0': 'critical' } : {},
    response_time: { slow: '2s', for: '5m' },
    sla: { uptime: 99.7, windows: { primary: 'mon-fri 08:30-16:30' } },
    probes: [{ id: 'front', type: 'http', url: `https://system-${i}.example.dk/` }],
  }));
  const now = Date.now();
  const store = SqliteStore.open(join(dir, 'vagt.db'));
  // A busier past than most: a bad spell on a fifth of the days.
  const rows = await seedHistory(store, { systems, days: 90, now, incidentsPerDay: 0.2 });
  await store.close();
  const config = configSchema.parse({ collector: { listen: '127.0.0.1:0', data_dir: dir }, systems });
  const collector = await startCollector({ config, logger: pino({ level: 'silent' }) });
  try {
    const first = performance.now();
    const html = await (await fetch(collector.url + '/')).text();
    const firstMs = performance.now() - first;
    // Every ?refresh=N is its own cached page: the first request for each renders it afresh.
    const renders: number[] = [];
    for (let n = 1; n <= 100; n++) {
      const t = performance.now();
      await (await fetch(`${collector.url}/?refresh=${n}`)).text();
      renders.push(performance.now() - t);
    }
    renders.sort((a, b) => a - b);
    const { load: r, cpuMs } = await loadFromChild(import.meta.url, collector.url + '/', seconds, connections);
    const rps = r.done / seconds;
    const result = {
      systems: nSystems,
      status_changes: rows,
      html_bytes: Buffer.byteLength(html),
      first_request_ms: +firstMs.toFixed(1),
      render_uncached_ms_p50: +(renders[50] ?? NaN).toFixed(2),
      requests_per_second: Math.round(rps),
      failed: r.failed,
      latency_ms_p50: +r.p50.toFixed(2),
      latency_ms_p99: +r.p99.toFixed(2),
      collector_cpu_ms_per_request: +(cpuMs / r.done).toFixed(3),
      collector_cores: +(cpuMs / 1000 / seconds).toFixed(2),
      met: Buffer.byteLength(html) < GOALS.maxBytes && rps > GOALS.minRequestsPerSecond,
    };
    process.stdout.write(
      `status page, ${nSystems} systems with 90 days of history (${rows} status changes):\n` +
        `  HTML ${(result.html_bytes / 1024).toFixed(1)} KB (goal < 100 KB); first request ${result.first_request_ms} ms (reads the history); render without cache p50 ${result.render_uncached_ms_p50} ms\n` +
        `  ${result.requests_per_second} requests/s from ${connections} connections (goal > 500), p50 ${result.latency_ms_p50} ms, p99 ${result.latency_ms_p99} ms; ` +
        `collector ${result.collector_cpu_ms_per_request} ms CPU per request, ${result.collector_cores} cores\n`,
    );
    process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  } finally {
    await collector.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

loadMain('portal', load, main);
