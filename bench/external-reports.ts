// Benchmark (issue 9): reports from other monitoring systems, POST /api/v1/systems/{id}/reports.
// The collector runs in this process; a child process posts reports from `--connections`
// keep-alive connections for `--seconds`, from 50 sources, each naming one of 100 systems with 5 probes, so every
// report stores 5 results. Each answer waits for its commit (synchronous=FULL), as an agent's ack
// does. Goal: >= 1,000 reports/s, 100 times what 100 systems checked every 10 s by Zabbix send.
//
//   node dist/bench/external-reports.js [--seconds 10] [--connections 32]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startCollector } from '../collector/collector.js';
import { configSchema } from '../config/schema.js';
import { keepAliveLoad, loadFromChild, loadMain, numberArg } from './harness.js';

const GOAL_REPORTS_PER_SECOND = 1000;
const SYSTEMS = 100;
/** Many sources, as many authorities' monitoring would be: one source alone is held to 100 a second. */
const SOURCES = 50;
const token = (i: number): string => `bench-zabbix-token-${String(i % SOURCES).padStart(4, '0')}-0123456789`;

async function load(url: string, seconds: number, connections: number): Promise<void> {
  const r = await keepAliveLoad(url, {
    seconds,
    connections,
    ok: 202,
    request: (i) => ({
      path: `/api/v1/systems/system-${i % SYSTEMS}/reports`,
      method: 'POST',
      headers: { authorization: `Bearer ${token(i)}`, 'content-type': 'application/json' },
      body: JSON.stringify(i % 7 === 0 ? { status: 'major_outage', message: 'web scenario failed' } : { success: true, duration_ms: 120 }),
    }),
  });
  process.stdout.write(JSON.stringify(r));
}

async function main(): Promise<void> {
  const seconds = numberArg('seconds', 10);
  const connections = Math.round(numberArg('connections', 32));
  const dir = mkdtempSync(join(tmpdir(), 'vagt-bench-reports-'));
  const systems = Array.from({ length: SYSTEMS }, (_, i) => ({
    id: `system-${i}`,
    name: `System ${i}`,
    probes: Array.from({ length: 5 }, (_, j) => ({ id: `p${j}`, type: 'http', url: `https://system-${i}.example.dk/${j}` })),
  }));
  const config = configSchema.parse({
    collector: { listen: '127.0.0.1:0', data_dir: dir },
    agents: Array.from({ length: SOURCES }, (_, i) => ({ id: `zabbix-${i}`, token: token(i), external: {} })),
    systems,
  });
  const collector = await startCollector({ config, logger: pino({ level: 'silent' }) });
  try {
    const { load: r, cpuMs } = await loadFromChild(import.meta.url, collector.url, seconds, connections);
    const rps = r.done / seconds;
    const result = {
      reports_per_second: Math.round(rps),
      results_per_second: Math.round(rps * 5),
      failed: r.failed,
      latency_ms_p50: +r.p50.toFixed(2),
      latency_ms_p99: +r.p99.toFixed(2),
      collector_cpu_ms_per_report: +(cpuMs / r.done).toFixed(3),
      collector_cores: +(cpuMs / 1000 / seconds).toFixed(2),
      met: rps >= GOAL_REPORTS_PER_SECOND && r.failed === 0,
    };
    process.stdout.write(
      `external reports, ${SOURCES} sources, ${SYSTEMS} systems × 5 probes, ${connections} connections for ${seconds} s:\n` +
        `  ${result.reports_per_second} reports/s (goal >= ${GOAL_REPORTS_PER_SECOND}), ${result.results_per_second} results/s stored, ${r.failed} failed; ` +
        `p50 ${result.latency_ms_p50} ms, p99 ${result.latency_ms_p99} ms; collector ${result.collector_cpu_ms_per_report} ms CPU per report, ${result.collector_cores} cores\n`,
    );
    process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  } finally {
    await collector.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

loadMain('external-reports', load, main);
