// Process-wide V8 settings for a dedicated agent process (`vagt agent`). Measured with
// bench/agent-memory.ts (500 http probes, 100 probes/s, 2-core VM): without them
// the agent's RSS settles near 110 MB, with them near 75 MB, for 0.2-0.7 ms more CPU per probe (docs/PERFORMANCE.md).
// Not applied by startAgent itself: the collector runs its --local-agent in its own process,
// where ingest throughput matters more than a few megabytes.
import { setFlagsFromString } from 'node:v8';

let applied = false;

/**
 * - `--liftoff-only`: undici parses HTTP with llhttp compiled to WebAssembly; V8's background
 *   tier-up of that module to optimized code briefly takes ~35 MB and keeps ~8 MB. Baseline
 *   (Liftoff) code parses a probe's response fast enough.
 * - `--semi-space-growth-factor=1` and `--optimize-for-size`: the probes allocate at a steady
 *   rate, and V8 answers by growing the young generation towards 3 × 16 MB and the old one with
 *   generous slack; an agent has little live data (~5 MB) and prefers more frequent, cheap GCs.
 * - `--no-opt`: an agent waits on the network; its JavaScript is not hot enough for optimized
 *   code to pay for the compiler's memory (measured: same CPU per probe within noise, 3-4 MB less).
 *
 * These flags are read when V8 next compiles or resizes, so this works at run time, but must
 * run early (before the first probe). Idempotent. (NODE_OPTIONS does not accept these flags.)
 */
export function tuneForSmallFootprint(): void {
  if (applied) return;
  applied = true;
  for (const flag of ['--liftoff-only', '--semi-space-growth-factor=1', '--optimize-for-size', '--no-opt'])
    setFlagsFromString(flag);
}
