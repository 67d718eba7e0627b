// Benchmark (issue 5): what durability costs and how fast a backlog drains.
// (a) CPU per result through the durable SQLite outbox (add, batch, ack), against the in-memory one.
// (b) Backlog drain: an agent comes back after an hour offline with 500 probes every 30 s in its
//     outbox (60,000 results) and sends them to a real collector (in this process, so the figure
//     includes the collector's work): results/s until the outbox is empty.
//
//   node dist/bench/outbox.js [--results 100000] [--probes 500] [--interval-s 30] [--hours 1]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startAgent } from '../agent/agent.js';
import { MemoryOutbox, type Outbox } from '../agent/outbox.js';
import { SqliteOutbox } from '../agent/outbox-sqlite.js';
import { startCollector } from '../collector/collector.js';
import { configSchema } from '../config/schema.js';
import type { ResultRecord } from '../protocol/messages.js';
import { numberArg } from './harness.js';

const log = pino({ level: 'silent' });
const TOKEN = 'bench-outbox-token-0123456789';

function record(seq: number, probes: number, ts: number): ResultRecord {
  return {
    seq,
    system: 'web',
    probe: `p${seq % probes}`,
    ts,
    ok: true,
    duration_ms: 12.5,
    phases: { dns: 0.4, connect: 0.3, ttfb: 10.1, transfer: 1.7 },
    status_code: 200,
  };
}

/** CPU µs per result for add + batch + ack of `n` results, 250 per batch. */
function costPerResult(o: Outbox, n: number): number {
  const start = process.cpuUsage();
  const t0 = Date.now() - n;
  for (let i = 1; i <= n; i++) {
    o.add(record(i, 500, t0 + i));
    if (i % 250 === 0) {
      const b = o.nextBatch(250, 1 << 20, 0);
      if (b !== undefined) o.ack(b.id, []);
    }
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

async function main(): Promise<void> {
  const n = Math.round(numberArg('results', 100_000));
  const probes = Math.round(numberArg('probes', 500));
  const intervalS = numberArg('interval-s', 30);
  const hours = numberArg('hours', 1);
  const dir = mkdtempSync(join(tmpdir(), 'vagt-bench-outbox-'));
  try {
    const memory = costPerResult(new MemoryOutbox({ capacity: n + 1 }), n);
    const durable = SqliteOutbox.open(join(dir, 'cost'));
    const sqlite = costPerResult(durable, n);
    durable.close();

    // (b) an hour's backlog, then a collector to send it to.
    const backlog = Math.round((probes * hours * 3600) / intervalS);
    const agentDir = join(dir, 'agent');
    const prefill = SqliteOutbox.open(agentDir);
    const t0 = Date.now() - hours * 3_600_000;
    for (let i = 1; i <= backlog; i++) prefill.add(record(i, probes, t0 + Math.floor((i * hours * 3_600_000) / backlog)));
    prefill.close();
    const config = configSchema.parse({
      agents: [{ id: 'bench', token: TOKEN }],
      // Probed rarely during the drain: the backlog is what is measured.
      defaults: { interval: '1h', timeout: '5s' },
      systems: [{ id: 'web', name: 'Web', probes: Array.from({ length: probes }, (_, i) => ({ id: `p${i}`, type: 'tcp', host: '127.0.0.1', port: 9 })) }],
    });
    const collector = await startCollector({ config, listen: '127.0.0.1:0', dataDir: join(dir, 'collector'), logger: log });
    const startCpu = process.cpuUsage();
    const started = performance.now();
    const agent = startAgent({ url: collector.url.replace('http', 'ws') + '/agent', id: 'bench', token: TOKEN, logger: log, dataDir: agentDir, batchMs: 20 });
    while (agent.stats().acked < backlog) await new Promise((r) => setTimeout(r, 20));
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(startCpu);
    const rejected = agent.stats().rejected;
    if (rejected > 0) throw new Error(`the collector rejected ${rejected} backlog results`);
    await agent.stop();
    await collector.close();

    const out = {
      cpu_us_per_result: { memory: Math.round(memory * 10) / 10, sqlite: Math.round(sqlite * 10) / 10 },
      backlog,
      drain_s: Math.round(seconds * 100) / 100,
      drain_results_per_s: Math.round(backlog / seconds),
      drain_cpu_cores: Math.round(((cpu.user + cpu.system) / 1e6 / seconds) * 100) / 100,
    };
    process.stdout.write(
      `outbox CPU per result (add, batch, ack): memory ${out.cpu_us_per_result.memory} µs, sqlite ${out.cpu_us_per_result.sqlite} µs\n` +
        `backlog of ${backlog} results (${probes} probes every ${intervalS} s for ${hours} h) drained in ${out.drain_s} s: ` +
        `${out.drain_results_per_s} results/s (agent and collector in one process, ${out.drain_cpu_cores} cores)\n` +
        `RESULT ${JSON.stringify(out)}\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`outbox: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
