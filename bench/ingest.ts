// Benchmark (b): collector ingest. A collector with SQLite runs in this process; 10 simulated
// agents run in a child process (so the collector's process is measured alone) and stream batches
// over WebSocket as fast as acks allow. Meanwhile a "flipper" agent alternates one system between
// ok and failing and polls /api/v1/status until each flip is visible: the arrival-to-visibility
// delay. Prints a summary and `RESULT {json}`.
//
//   node dist/bench/ingest.js [--seconds 10] [--agents 10] [--batch 250] [--window 2]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import WebSocket from 'ws';
import { startCollector } from '../collector/collector.js';
import { configSchema } from '../config/schema.js';
import type { CollectorMessage, ResultRecord } from '../protocol/messages.js';

const GOALS = { resultsPerSecond: 50_000, p99VisibilityMs: 250 };
const SYSTEMS = 20;
const PROBES_PER_SYSTEM = 5;

interface Options {
  seconds: number;
  agents: number;
  batch: number;
  window: number;
}

function options(argv: string[]): Options {
  const get = (name: string, def: number): number => {
    const i = argv.indexOf(`--${name}`);
    const v = i >= 0 ? Number(argv[i + 1]) : def;
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name}: expected a positive number`);
    return v;
  };
  return { seconds: get('seconds', 10), agents: get('agents', 10), batch: get('batch', 250), window: get('window', 2) };
}

const token = (id: string): string => `bench-token-${id}-0123456789abcdef`;
const agentId = (i: number): string => `bench-${i}`;

interface SenderReport {
  acked: number;
  sent: number;
  elapsedMs: number;
  flips: number[];
  errors: string[];
}

// ---- the child: simulated agents ------------------------------------------------------------

async function runSenders(url: string, base: string, o: Options): Promise<void> {
  const deadline = performance.now() + o.seconds * 1000;
  const errors: string[] = [];
  let acked = 0;
  let sent = 0;

  function connect(id: string): Promise<{ ws: WebSocket; probes: { system: string; id: string }[] }> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token(id)}` }, perMessageDeflate: false });
      ws.once('error', reject);
      ws.once('open', () => ws.send(JSON.stringify({ type: 'hello', protocol: 1, agent: id, version: 'bench' })));
      const onMessage = (data: WebSocket.RawData): void => {
        const m = JSON.parse((data as Buffer).toString('utf8')) as CollectorMessage;
        if (m.type === 'assignment') {
          ws.off('message', onMessage);
          resolve({ ws, probes: m.probes.map((p) => ({ system: p.system, id: p.id })) });
        }
      };
      ws.on('message', onMessage);
    });
  }

  async function loadAgent(id: string): Promise<void> {
    const { ws, probes } = await connect(id);
    let seq = 0;
    let batchNo = 0;
    let p = 0;
    await new Promise<void>((resolve) => {
      let inFlight = 0;
      const sendBatch = (): void => {
        const results: ResultRecord[] = [];
        const ts = Date.now();
        for (let i = 0; i < o.batch; i++) {
          const probe = probes[p++ % probes.length]!;
          const ok = seq % 50 !== 0;
          results.push({
            seq: seq++,
            system: probe.system,
            probe: probe.id,
            ts,
            ok,
            duration_ms: 80 + (seq % 200),
            phases: { dns: 1.2, connect: 8.5, tls: 22.1, ttfb: 40 + (seq % 100), transfer: 6.3 },
            status_code: ok ? 200 : 503,
            ...(ok ? {} : { error: { code: 'http_status' as const, message: 'status 503, expected 200' } }),
          });
        }
        inFlight++;
        sent += results.length;
        ws.send(JSON.stringify({ type: 'results', batch: batchNo++, results }));
      };
      ws.on('message', (data) => {
        const m = JSON.parse((data as Buffer).toString('utf8')) as CollectorMessage;
        if (m.type === 'ack') {
          inFlight--;
          acked += m.accepted;
          if (m.rejected.length > 0) errors.push(`rejected ${m.rejected.length}`);
          if (performance.now() < deadline) sendBatch();
          else if (inFlight === 0) {
            ws.close();
            resolve();
          }
        } else if (m.type === 'error') errors.push(m.message);
      });
      for (let i = 0; i < o.window; i++) sendBatch();
    });
  }

  async function flipper(): Promise<number[]> {
    const { ws } = await connect('flipper');
    const delays: number[] = [];
    let seq = 0;
    // Give the load a moment to reach a steady state.
    await new Promise((r) => setTimeout(r, 500));
    while (performance.now() < deadline - 500) {
      const ok = seq % 2 === 1;
      const want = ok ? 'operational' : 'major_outage';
      const t0 = performance.now();
      ws.send(
        JSON.stringify({
          type: 'results',
          batch: seq,
          results: [{ seq: seq++, system: 'flip', probe: 'front', ts: Date.now(), ok, duration_ms: 10, phases: {} }],
        }),
      );
      for (;;) {
        const body = (await (await fetch(`${base}/api/v1/status`)).json()) as { systems: { id: string; status: string }[] };
        if (body.systems.find((s) => s.id === 'flip')?.status === want) break;
        if (performance.now() - t0 > 10_000) {
          errors.push('a flip was not visible within 10 s');
          break;
        }
        await new Promise((r) => setTimeout(r, 2));
      }
      delays.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 50));
    }
    ws.close();
    return delays;
  }

  const start = performance.now();
  const [flips] = await Promise.all([flipper(), ...Array.from({ length: o.agents }, (_, i) => loadAgent(agentId(i)))]);
  const report: SenderReport = { acked, sent, elapsedMs: performance.now() - start, flips, errors: errors.slice(0, 5) };
  process.stdout.write(JSON.stringify(report) + '\n');
}

// ---- the parent: the collector --------------------------------------------------------------

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main(o: Options): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vagt-bench-ingest-'));
  const ids = [...Array.from({ length: o.agents }, (_, i) => agentId(i)), 'flipper'];
  const systems = Array.from({ length: SYSTEMS }, (_, s) => ({
    id: `sys-${s}`,
    name: `System ${s}`,
    probes: Array.from({ length: PROBES_PER_SYSTEM }, (_, p) => ({
      id: `p${p}`,
      type: 'http',
      url: `http://127.0.0.1:9/${s}/${p}`,
      agents: ids.filter((id) => id !== 'flipper'),
    })),
  }));
  systems.push({
    id: 'flip',
    name: 'Flip',
    probes: [{ id: 'front', type: 'http', url: 'http://127.0.0.1:9/flip', agents: ['flipper'] }],
  });
  const config = configSchema.parse({
    collector: { listen: '127.0.0.1:0', data_dir: dir },
    agents: ids.map((id) => ({ id, token: token(id) })),
    defaults: { interval: '30s', timeout: '10s' },
    systems,
  });
  const collector = await startCollector({ config, logger: pino({ level: 'warn' }), listen: '127.0.0.1:0', dataDir: dir });
  const wsUrl = collector.url.replace('http://', 'ws://') + '/agent';

  process.stdout.write(
    `collector ingest: ${o.agents} agents × batches of ${o.batch} (window ${o.window}) for ${o.seconds} s, SQLite in ${dir}\n`,
  );
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [fileURLToPath(import.meta.url), '--sender', wsUrl, collector.url, ...process.argv.slice(2)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await collector.close();
  rmSync(dir, { recursive: true, force: true });

  const line = out.split('\n').find((l) => l.startsWith('{'));
  if (code !== 0 || line === undefined) throw new Error(`the sender process failed (exit ${code})`);
  const r = JSON.parse(line) as SenderReport;
  const flips = [...r.flips].sort((a, b) => a - b);
  const perSecond = r.acked / (r.elapsedMs / 1000);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const result = {
    results_per_second: Math.round(perSecond),
    results: r.acked,
    collector_cpu_us_per_result: +((cpuMs * 1000) / r.acked).toFixed(2),
    collector_cpu_cores: +(cpuMs / wallMs).toFixed(2),
    visibility_ms: {
      p50: +percentile(flips, 50).toFixed(1),
      p99: +percentile(flips, 99).toFixed(1),
      max: +(flips.at(-1) ?? NaN).toFixed(1),
      samples: flips.length,
    },
    goals: GOALS,
    met: perSecond >= GOALS.resultsPerSecond && percentile(flips, 99) <= GOALS.p99VisibilityMs,
    agents: o.agents,
    batch: o.batch,
    cpus: cpus().length,
  };
  process.stdout.write(
    [
      `  results stored and acked: ${r.acked.toLocaleString('en')} in ${(r.elapsedMs / 1000).toFixed(1)} s`,
      `  throughput:               ${result.results_per_second.toLocaleString('en')} results/s (goal >= ${GOALS.resultsPerSecond.toLocaleString('en')})`,
      `  collector CPU:            ${result.collector_cpu_us_per_result} µs per result, ${result.collector_cpu_cores} cores busy`,
      `  arrival -> /api/v1/status: p50 ${result.visibility_ms.p50} ms, p99 ${result.visibility_ms.p99} ms, max ${result.visibility_ms.max} ms over ${flips.length} flips (goal p99 <= ${GOALS.p99VisibilityMs} ms)`,
      `  goals ${result.met ? 'met' : 'NOT met'}${r.errors.length > 0 ? `; sender errors: ${r.errors.join('; ')}` : ''}`,
      `RESULT ${JSON.stringify(result)}`,
      '',
    ].join('\n'),
  );
}

const argv = process.argv.slice(2);
if (argv[0] === '--sender') {
  await runSenders(argv[1]!, argv[2]!, options(argv.slice(3)));
} else {
  try {
    await main(options(argv));
  } catch (err) {
    process.stderr.write(`bench ingest: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
