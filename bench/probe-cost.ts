// Benchmark (a): what one HTTP probe costs the agent in CPU, fresh connection each time.
// The target runs in a child process so that its CPU is not counted; this process only probes.
// Goal (issue 2): <= 1 ms CPU per HTTP probe (blackbox_exporter 0.23 spends about 1.5 ms).
//
//   node dist/bench/probe-cost.js [--probes 2000] [--https-probes 500] [--concurrency 20]
import { readFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { join } from 'node:path';
import { httpProbe } from '../config/schema.js';
import { packageRoot, userAgent } from '../lib/version.js';
import type { ProbeOutcome, ProbeSpec } from '../protocol/messages.js';
import { runProbe } from '../probes/run.js';
import { benchMain, numberArg, startTarget } from './harness.js';

const GOAL_CPU_MS = 1;

// A realistic small front page: ~4 KB of HTML, as a public system's landing page might send.
const PAGE = `<!doctype html><html lang="da"><head><meta charset="utf-8"><title>MitID</title></head><body>
<h1>Velkommen til MitID</h1>${'<p>Log på med MitID for at bruge offentlige selvbetjeningsløsninger.</p>\n'.repeat(50)}</body></html>`;

async function serveTarget(): Promise<void> {
  const handler = (_req: unknown, res: ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(PAGE) });
    res.end(PAGE);
  };
  const http = createServer(handler);
  const tlsDir = join(packageRoot, 'tests', 'fixtures', 'tls');
  const https = createHttps({ key: readFileSync(join(tlsDir, 'localhost.key')), cert: readFileSync(join(tlsDir, 'localhost.crt')) }, handler);
  // Many short connections arrive at once; a deep backlog avoids SYN retries skewing the numbers.
  await new Promise<void>((r) => http.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, r));
  await new Promise<void>((r) => https.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, r));
  process.send?.({
    http: (http.address() as { port: number }).port,
    https: (https.address() as { port: number }).port,
  });
  process.on('disconnect', () => process.exit(0));
}

interface Run {
  probes: number;
  failed: number;
  firstError: string | undefined;
  wallMs: number;
  cpuMs: number;
  durations: number[];
}

async function run(spec: ProbeSpec, probes: number, concurrency: number): Promise<Run> {
  const ua = userAgent('bench');
  const durations: number[] = [];
  let next = 0;
  let failed = 0;
  let firstError: string | undefined;
  const record = (r: ProbeOutcome): void => {
    durations.push(r.duration_ms);
    if (!r.ok) {
      failed++;
      firstError ??= `${r.error?.code}: ${r.error?.message}`;
    }
  };
  const worker = async (): Promise<void> => {
    while (next < probes) {
      next++;
      record(await runProbe(spec, { userAgent: ua }));
    }
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { probes, failed, firstError, wallMs, cpuMs: (cpu.user + cpu.system) / 1000, durations };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

interface Summary {
  probes: number;
  failed: number;
  probes_per_s: number;
  cpu_ms_per_probe: number;
  p50_ms: number;
  p99_ms: number;
}

function summary(name: string, r: Run): Summary {
  const sorted = [...r.durations].sort((a, b) => a - b);
  const out: Summary = {
    probes: r.probes,
    failed: r.failed,
    probes_per_s: Math.round((r.probes / r.wallMs) * 1000),
    cpu_ms_per_probe: Math.round((r.cpuMs / r.probes) * 1000) / 1000,
    p50_ms: Math.round(percentile(sorted, 50) * 100) / 100,
    p99_ms: Math.round(percentile(sorted, 99) * 100) / 100,
  };
  process.stdout.write(
    `${name.padEnd(6)} ${out.probes} probes, ${out.failed} failed: ${out.probes_per_s} probes/s, ` +
      `${out.cpu_ms_per_probe} ms CPU per probe, duration p50 ${out.p50_ms} ms, p99 ${out.p99_ms} ms\n`,
  );
  if (r.firstError !== undefined) process.stdout.write(`       first failure: ${r.firstError}\n`);
  return out;
}

async function main(): Promise<void> {
  const probes = Math.round(numberArg('probes', 2000));
  const concurrency = Math.round(numberArg('concurrency', 20));
  const httpsProbes = Math.round(numberArg('https-probes', Math.round(probes / 4), 0));
  // Whatever happens, stop well within a minute.
  setTimeout(() => {
    process.stderr.write('probe-cost: gave up after 55 s\n');
    process.exit(1);
  }, 55_000).unref();

  const target = await startTarget<{ http: number; https: number }>(import.meta.url);
  try {
    // Parsed once here, as the collector does; no zod on the probe path.
    const spec = (url: string, extra: Record<string, unknown> = {}): ProbeSpec => ({
      ...httpProbe.parse({ id: 'front', type: 'http', url, expect: { body_contains: 'MitID' }, ...extra }),
      system: 'bench',
      interval: 60_000,
      timeout: 10_000,
      retries: 0,
    });
    const httpSpec = spec(`http://127.0.0.1:${target.http}/`);
    const httpsSpec = spec(`https://127.0.0.1:${target.https}/`, { insecure_skip_verify: true });

    process.stdout.write(`HTTP probes against a local target in a child process, ${concurrency} at a time, a fresh connection each\n`);
    await run(httpSpec, Math.min(500, probes), concurrency); // warm-up: JIT, sockets
    const http = summary('http', await run(httpSpec, probes, concurrency));
    let https: Summary | undefined;
    if (httpsProbes > 0) {
      await run(httpsSpec, Math.min(100, httpsProbes), concurrency);
      https = summary('https', await run(httpsSpec, httpsProbes, concurrency));
    }

    const verdict = http.cpu_ms_per_probe <= GOAL_CPU_MS ? 'meets' : 'MISSES';
    process.stdout.write(`goal: <= ${GOAL_CPU_MS} ms CPU per HTTP probe: ${verdict} it (${http.cpu_ms_per_probe} ms)\n`);
    process.stdout.write(
      `RESULT ${JSON.stringify({
        probes: http.probes,
        concurrency,
        failed: http.failed,
        probes_per_s: http.probes_per_s,
        cpu_ms_per_probe: http.cpu_ms_per_probe,
        p50_ms: http.p50_ms,
        p99_ms: http.p99_ms,
        ...(https === undefined ? {} : { https_probes_per_s: https.probes_per_s, https_cpu_ms_per_probe: https.cpu_ms_per_probe }),
        goal_cpu_ms_per_probe: GOAL_CPU_MS,
        meets_goal: verdict === 'meets',
      })}\n`,
    );
    if (http.failed > 0) process.exitCode = 1;
  } finally {
    target.child.disconnect();
  }
}

benchMain('probe-cost', main, serveTarget);
