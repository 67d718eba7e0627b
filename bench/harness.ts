// What the benchmarks share: numeric flags, a target server in a child process (so that its CPU
// is not counted), and the entry point that runs either the benchmark or its target.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Pool, type Dispatcher } from 'undici';

/** `--name N` from the command line; the fallback when absent or not a number >= min. */
export function numberArg(name: string, fallback: number, min = 1): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i === -1 ? undefined : Number(process.argv[i + 1]);
  return v !== undefined && Number.isFinite(v) && v >= min ? v : fallback;
}

/** Forks `moduleUrl` with `--target` and waits for the first message it sends (its ports). */
export function startTarget<T extends object>(moduleUrl: string): Promise<T & { child: ChildProcess }> {
  const child = fork(fileURLToPath(moduleUrl), ['--target'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m: T) => resolve({ ...m, child }));
    child.once('exit', (code) => reject(new Error(`target exited with ${code}`)));
  });
}

/** Runs the target when started with `--target`, else the benchmark, exiting 1 with one line on failure. */
export function benchMain(name: string, main: () => Promise<void>, serveTarget: () => Promise<void>): void {
  if (process.argv.includes('--target')) {
    serveTarget().catch((err: unknown) => {
      process.stderr.write(`${name} target: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
    return;
  }
  main().catch((err: unknown) => {
    process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}

/** What keepAliveLoad measured: answers with the expected status, others, and latency percentiles (ms). */
export interface LoadResult {
  done: number;
  failed: number;
  p50: number;
  p99: number;
}

/**
 * Sends requests from `connections` keep-alive connections for `seconds`, each waiting for its
 * answer before the next; `request(i)` makes the i-th. Counts the answers with status `ok` as done.
 */
export async function keepAliveLoad(
  origin: string,
  opts: { seconds: number; connections: number; ok: number; request: (i: number) => Dispatcher.RequestOptions },
): Promise<LoadResult> {
  const pool = new Pool(origin, { connections: opts.connections, pipelining: 1 });
  const deadline = performance.now() + opts.seconds * 1000;
  let done = 0;
  let failed = 0;
  let n = 0;
  const latencies: number[] = [];
  await Promise.all(
    Array.from({ length: opts.connections }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now();
        const r = await pool.request(opts.request(n++));
        await r.body.text();
        if (r.statusCode === opts.ok) done++;
        else failed++;
        latencies.push(performance.now() - t);
      }
    }),
  );
  await pool.close();
  latencies.sort((a, b) => a - b);
  return { done, failed, p50: latencies[Math.floor(latencies.length / 2)] ?? NaN, p99: latencies[Math.floor(latencies.length * 0.99)] ?? NaN };
}

/**
 * Runs this module again as `--load URL SECONDS CONNECTIONS` in a child process (so the load's CPU
 * is not the server's), and returns what it printed with this process's CPU meanwhile, in ms.
 */
export async function loadFromChild(moduleUrl: string, url: string, seconds: number, connections: number): Promise<{ load: LoadResult; cpuMs: number }> {
  const cpu0 = process.cpuUsage();
  const child = spawn(process.execPath, [fileURLToPath(moduleUrl), '--load', url, String(seconds), String(connections)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((resolve) => child.on('exit', resolve));
  const cpu = process.cpuUsage(cpu0);
  return { load: JSON.parse(out) as LoadResult, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/** The entry point of a benchmark with a load child: `--load URL SECONDS CONNECTIONS` runs `load`, else `main`. */
export function loadMain(name: string, load: (url: string, seconds: number, connections: number) => Promise<void>, main: () => Promise<void>): void {
  const i = process.argv.indexOf('--load');
  const run = i >= 0 ? load(process.argv[i + 1] ?? '', Number(process.argv[i + 2]), Number(process.argv[i + 3])) : main();
  run.catch((err: unknown) => {
    process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
