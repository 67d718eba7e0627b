// What the benchmarks share: numeric flags, a target server in a child process (so that its CPU
// is not counted), and the entry point that runs either the benchmark or its target.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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
