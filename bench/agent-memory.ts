// Benchmark (c): the agent's memory with 500 probes configured. Three processes, so that the
// RSS measured is the agent's alone: this one plays a minimal collector (a `ws` server that
// assigns 500 http probes and acks every batch), a child serves the HTTP target, and a child
// runs the real agent (startAgent with the real runProbe, tuned as agent/tuning.ts says) and
// reports its memory once a second. Goal (issue 2): agent RSS <= 80 MB.
//
//   node dist/bench/agent-memory.js [--probes 500] [--interval-ms 5000] [--seconds 40] [--concurrency 32]
//       [--no-tuning] [--node-flags "--flag ..."] [--verbose] [--sample-ms 1000]
//       [--cli]   run `node dist/cli/main.js agent ...` itself instead, and read its RSS and CPU
//                 from /proc (no heap figures then)
//       [--memory-outbox]  results wait in memory instead of the durable SQLite outbox (the
//                 default of `vagt agent`, in a temporary data directory here)
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { ProbeSpec } from '../protocol/messages.js';
// The agent's process loads what `vagt agent` loads, and no more: the collector's side (zod for
// the probe specs, the ws server) is imported by the parent only, in main().
import { startAgent } from '../agent/agent.js';
import { tuneForSmallFootprint } from '../agent/tuning.js';
import { createLogger } from '../lib/log.js';
import { numberArg } from './harness.js';

const GOAL_RSS_MB = 80;
const MB = 1024 * 1024;
const TOKEN = 'bench-agent-token';

// ---- child: the HTTP target ---------------------------------------------------------------------

const PAGE = `<!doctype html><html lang="da"><head><meta charset="utf-8"><title>Borger.dk</title></head><body>
<h1>Velkommen til Borger.dk</h1>${'<p>Her finder du information og selvbetjening fra det offentlige.</p>\n'.repeat(50)}</body></html>`;

function serveTarget(): void {
  const server = createServer((_req, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(PAGE) });
    res.end(PAGE);
  });
  server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
    process.send?.({ port: (server.address() as { port: number }).port });
  });
  process.on('disconnect', () => process.exit(0));
}

// ---- child: the agent ---------------------------------------------------------------------------

interface Sample {
  t: number;
  rss: number;
  /** Heap figures and the agent's counters: known only when the agent reports them itself. */
  heapUsed?: number;
  heapTotal?: number;
  external?: number;
  produced?: number;
  pending?: number;
  /** Peak RSS so far (VmHWM), 0 where unknown. */
  peak: number;
  /** CPU time of the agent's process so far, ms. */
  cpuMs: number;
}

/**
 * The peak RSS the kernel saw, between samples too: VmHWM of this process's own memory map.
 * (Not resourceUsage().maxRSS: Linux carries that over from the forking parent through exec.)
 */
function peakRss(pid: number | 'self' = 'self'): number {
  return procStatus(pid, 'VmHWM');
}

/** A `kB` field of /proc/PID/status in bytes; 0 where there is no /proc. */
function procStatus(pid: number | 'self', field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (m !== null) return Number(m[1]) * 1024;
  } catch {
    // not Linux (or the process is gone): the samples' maximum has to do
  }
  return 0;
}

/** User + system CPU of another process, ms, from /proc/PID/stat (clock ticks of 10 ms). */
function procCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

function cpuMs(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
}

function runAgent(url: string, concurrency: number, tune: boolean, dataDir: string | undefined): void {
  // As `vagt agent` does, before anything is compiled.
  if (tune) tuneForSmallFootprint();
  const logger = createLogger({ level: 'warn', name: 'agent', destination: 2 });
  const agent = startAgent({ url, id: 'bench-1', token: TOKEN, logger, concurrency, ...(dataDir === undefined ? {} : { dataDir }) });
  const t0 = performance.now();
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    const s = agent.stats();
    const sample: Sample = {
      t: (performance.now() - t0) / 1000,
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
      produced: s.produced,
      pending: s.pending + s.inFlight,
      peak: peakRss(),
      cpuMs: cpuMs(),
    };
    process.send?.({ sample });
  }, numberArg('sample-ms', 1000));
  process.on('message', (m: { stop?: boolean }) => {
    if (m.stop !== true) return;
    clearInterval(timer);
    void agent.stop().then(() => {
      process.send?.({ done: { maxRss: peakRss(), stats: agent.stats() } }, () => process.exit(0));
    });
  });
  process.on('disconnect', () => process.exit(0));
}

// ---- parent: the collector and the measurement ----------------------------------------------------

function forkSelf(args: string[], execArgv: string[] = []): ChildProcess {
  return fork(fileURLToPath(import.meta.url), args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv });
}

/** `--node-flags "--a --b"`: V8/Node flags for the agent's process, to compare settings. */
function nodeFlags(): string[] {
  const i = process.argv.indexOf('--node-flags');
  return i === -1 ? [] : (process.argv[i + 1] ?? '').split(/\s+/).filter((f) => f !== '');
}

/** The agent as startAgent() in a child of this script, reporting its own memory over IPC. */
function startChildAgent(
  url: string,
  concurrency: number,
  tune: boolean,
  dataDir: string | undefined,
  flags: string[],
  sampleMs: number,
  onSample: (s: Sample) => void,
): () => Promise<{ maxRss: number }> {
  const agent = forkSelf(
    [
      '--agent',
      url,
      '--concurrency',
      String(concurrency),
      '--sample-ms',
      String(sampleMs),
      ...(tune ? [] : ['--no-tuning']),
      ...(dataDir === undefined ? [] : ['--data-dir', dataDir]),
    ],
    flags,
  );
  agent.on('message', (m: { sample?: Sample }) => {
    if (m.sample !== undefined) onSample(m.sample);
  });
  return () =>
    new Promise<{ maxRss: number }>((resolve, reject) => {
      agent.on('message', (m: { done?: { maxRss: number } }) => {
        if (m.done !== undefined) resolve(m.done);
      });
      agent.once('exit', (code) => reject(new Error(`agent exited with ${code} before reporting`)));
      agent.send({ stop: true });
    });
}

/** `vagt agent` itself, as an operator runs it, observed from outside through /proc. */
function startCliAgent(
  url: string,
  concurrency: number,
  dataDir: string | undefined,
  flags: string[],
  sampleMs: number,
  onSample: (s: Sample) => void,
): () => Promise<{ maxRss: number }> {
  const main = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  // Without a data directory `vagt agent` uses ./data/agent; the in-memory outbox is not a CLI choice.
  const args = [...flags, main, 'agent', '--collector', url, '--id', 'bench-1', '--token', TOKEN, '--concurrency', String(concurrency), '--data-dir', dataDir ?? mkdtempSync(join(tmpdir(), 'vagt-bench-cli-'))];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const pid = child.pid ?? 0;
  const t0 = performance.now();
  let peak = 0;
  const timer = setInterval(() => {
    peak = peakRss(pid) || peak;
    onSample({ t: (performance.now() - t0) / 1000, rss: procStatus(pid, 'VmRSS'), peak, cpuMs: procCpuMs(pid) });
  }, sampleMs);
  return () =>
    new Promise<{ maxRss: number }>((resolve) => {
      clearInterval(timer);
      peak = peakRss(pid) || peak;
      child.once('exit', () => resolve({ maxRss: peak }));
      child.kill('SIGTERM');
    });
}

async function probesFor(n: number, port: number, intervalMs: number): Promise<ProbeSpec[]> {
  const { httpProbe } = await import('../config/schema.js');
  const probes: ProbeSpec[] = [];
  for (let i = 0; i < n; i++) {
    const system = `system-${Math.floor(i / 10)}`;
    probes.push({
      ...httpProbe.parse({ id: `probe-${i % 10}`, type: 'http', url: `http://127.0.0.1:${port}/s/${i}`, expect: { body_contains: 'Borger.dk' } }),
      system,
      interval: intervalMs,
      timeout: 5000,
      retries: 1,
    });
  }
  return probes;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};
const mb = (bytes: number): number => Math.round((bytes / MB) * 10) / 10;

async function main(): Promise<void> {
  const nProbes = Math.round(numberArg('probes', 500));
  const intervalMs = Math.round(numberArg('interval-ms', 5000));
  const seconds = numberArg('seconds', 40);
  const concurrency = Math.round(numberArg('concurrency', 32));
  setTimeout(() => {
    process.stderr.write('agent-memory: gave up after 58 s\n');
    process.exit(1);
  }, 58_000).unref();

  const target = forkSelf(['--target']);
  const targetPort = await new Promise<number>((resolve, reject) => {
    target.once('message', (m: { port: number }) => resolve(m.port));
    target.once('exit', (code) => reject(new Error(`target exited with ${code}`)));
  });
  const probes = await probesFor(nProbes, targetPort, intervalMs);
  const { WebSocketServer } = await import('ws');
  const { PROTOCOL_VERSION } = await import('../protocol/messages.js');
  const { parseAgentMessage } = await import('../protocol/validate.js');

  // The minimal collector: welcome, assignment, ack every batch.
  let results = 0;
  let failed = 0;
  let batches = 0;
  let firstError: string | undefined;
  const counted: { t: number; results: number }[] = [];
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    verifyClient: (info, cb) => cb(info.req.headers.authorization === `Bearer ${TOKEN}`, 401),
  });
  await new Promise<void>((r) => wss.once('listening', r));
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      const parsed = parseAgentMessage((data as Buffer).toString('utf8'));
      if (!parsed.ok) return;
      const m = parsed.value;
      if (m.type === 'hello') {
        ws.send(JSON.stringify({ type: 'welcome', protocol: PROTOCOL_VERSION, agent: m.agent, heartbeat_ms: 15_000 }));
        ws.send(JSON.stringify({ type: 'assignment', revision: 'bench', probes }));
        return;
      }
      batches++;
      results += m.results.length;
      for (const r of m.results)
        if (!r.ok) {
          failed++;
          firstError ??= `${r.error?.code}: ${r.error?.message}`;
        }
      ws.send(JSON.stringify({ type: 'ack', batch: m.batch, accepted: m.results.length, rejected: [] }));
    });
  });
  const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}/agent`;

  process.stdout.write(
    `agent with ${nProbes} http probes every ${intervalMs / 1000} s (${Math.round((nProbes / intervalMs) * 1000)} probes/s expected), ` +
      `concurrency ${concurrency}, for ${seconds} s; agent, collector and target in separate processes\n`,
  );
  const flags = nodeFlags();
  const cli = process.argv.includes('--cli');
  const tune = !process.argv.includes('--no-tuning');
  if (flags.length > 0) process.stdout.write(`agent process flags: ${flags.join(' ')}\n`);
  process.stdout.write(
    cli
      ? 'agent process: `vagt agent` (dist/cli/main.js), as deployed; RSS and CPU from /proc\n'
      : `agent process: startAgent() alone; tuning (agent/tuning.ts): ${tune ? 'on' : 'off'}\n`,
  );
  const samples: Sample[] = [];
  const t0 = performance.now();
  const onSample = (sample: Sample): void => {
    samples.push(sample);
    counted.push({ t: (performance.now() - t0) / 1000, results });
    if (samples.length % 5 === 0 || process.argv.includes('--verbose'))
      process.stdout.write(
        `  t=${sample.t.toFixed(0).padStart(3)} s  rss ${mb(sample.rss)} MB  ` +
          (sample.heapUsed === undefined
            ? ''
            : `heap used ${mb(sample.heapUsed)} of ${mb(sample.heapTotal ?? 0)} MB  external ${mb(sample.external ?? 0)} MB  `) +
          `peak ${mb(sample.peak)} MB  results ${results}\n`,
      );
  };
  const sampleMs = numberArg('sample-ms', 1000);
  const dataDir = process.argv.includes('--memory-outbox') ? undefined : mkdtempSync(join(tmpdir(), 'vagt-bench-agent-'));
  process.stdout.write(`outbox: ${dataDir === undefined ? 'in memory' : 'durable (SQLite)'}\n`);
  const stop = cli
    ? startCliAgent(url, concurrency, dataDir, flags, sampleMs, onSample)
    : startChildAgent(url, concurrency, tune, dataDir, flags, sampleMs, onSample);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const done = await stop();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  for (const ws of wss.clients) ws.terminate();
  wss.close();
  target.disconnect();

  if (samples.length < 4) throw new Error('too few memory samples from the agent');
  // Steady state: the second half of the run, after the first interval filled every probe's slot.
  const steady = samples.filter((s) => s.t >= Math.max(intervalMs / 1000 + 1, seconds / 2));
  const window = steady.length >= 2 ? steady : samples.slice(-2);
  const rssMax = Math.max(done.maxRss, ...samples.map((s) => s.rss));
  const rssSteady = median(window.map((s) => s.rss));
  const heaps = cli ? undefined : { max: Math.max(...samples.map((s) => s.heapUsed ?? 0)), steady: median(window.map((s) => s.heapUsed ?? 0)) };
  // Probes per second from the collector's count over the steady window.
  const c0 = counted[samples.indexOf(window[0]!)]!;
  const c1 = counted[samples.indexOf(window[window.length - 1]!)]!;
  const probesPerS = c1.t > c0.t ? Math.round(((c1.results - c0.results) / (c1.t - c0.t)) * 10) / 10 : 0;
  const backlog = cli ? undefined : Math.max(...window.map((s) => s.pending ?? 0));
  const w0 = window[0]!;
  const w1 = window[window.length - 1]!;
  // Results produced by the agent over the window (seen by the collector, when the agent cannot say).
  const produced = cli ? c1.results - c0.results : (w1.produced ?? 0) - (w0.produced ?? 0);
  const cpuPerProbe = produced > 0 ? Math.round(((w1.cpuMs - w0.cpuMs) / produced) * 1000) / 1000 : 0;
  const cpuShare = w1.t > w0.t ? Math.round(((w1.cpuMs - w0.cpuMs) / ((w1.t - w0.t) * 1000)) * 1000) / 10 : 0;

  const out = {
    probes: nProbes,
    interval_ms: intervalMs,
    seconds,
    concurrency,
    results,
    failed,
    batches,
    probes_per_s: probesPerS,
    rss_max_mb: mb(rssMax),
    rss_steady_mb: mb(rssSteady),
    ...(heaps === undefined ? {} : { heap_used_max_mb: mb(heaps.max), heap_used_steady_mb: mb(heaps.steady) }),
    ...(backlog === undefined ? {} : { outbox_max_backlog: backlog }),
    cpu_ms_per_probe: cpuPerProbe,
    cpu_percent: cpuShare,
    agent_process: cli ? 'vagt agent' : tune ? 'startAgent, tuned' : 'startAgent, untuned',
    outbox: dataDir === undefined ? 'memory' : 'sqlite',
    goal_rss_mb: GOAL_RSS_MB,
    meets_goal: rssMax / MB <= GOAL_RSS_MB,
  };
  process.stdout.write(
    `results: ${results} (${failed} failed) in ${batches} batches; ${probesPerS} probes/s in steady state\n` +
      `RSS: max ${out.rss_max_mb} MB, steady ${out.rss_steady_mb} MB` +
      (heaps === undefined ? '\n' : `; heap used: max ${mb(heaps.max)} MB, steady ${mb(heaps.steady)} MB\n`) +
      `agent CPU: ${cpuPerProbe} ms per probe (everything: scheduling, probing, batching, sending), ${cpuShare}% of a core\n`,
  );
  if (firstError !== undefined) process.stdout.write(`first failure: ${firstError}\n`);
  process.stdout.write(`goal: agent RSS <= ${GOAL_RSS_MB} MB: ${out.meets_goal ? 'meets' : 'MISSES'} it (max ${out.rss_max_mb} MB)\n`);
  process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
  if (failed > 0 || results === 0) process.exitCode = 1;
}

const agentAt = process.argv.indexOf('--agent');
if (process.argv.includes('--target')) {
  serveTarget();
} else if (agentAt !== -1) {
  const dataAt = process.argv.indexOf('--data-dir');
  runAgent(
    process.argv[agentAt + 1] ?? '',
    Math.round(numberArg('concurrency', 32)),
    !process.argv.includes('--no-tuning'),
    dataAt === -1 ? undefined : process.argv[dataAt + 1],
  );
} else {
  main().catch((err: unknown) => {
    process.stderr.write(`agent-memory: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
