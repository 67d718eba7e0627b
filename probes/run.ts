// Runs one probe, as the agent and `vagt probe` do: owns the timeout, the total duration and the
// rule that nothing escapes as an exception. A prober that ignores its signal cannot hold the
// runner past the timeout by more than a short grace.
import { formatDuration } from '../lib/duration.js';
import type { ProbeOutcome, ProbeSpec } from '../protocol/messages.js';
import type { ProbeConfig } from '../config/schema.js';
import type { ProbeContext, ProbeReport, Prober } from './types.js';
import { failureOf, isTimeout } from './failure.js';
import { proberFor } from './index.js';

export interface RunOptions {
  /** CONTRACT §3: `vagt-agent/<version> (+agent=<id>)`. */
  userAgent: string;
  /** Cancels the probe (e.g. the agent shutting down); the timeout is added to it. */
  signal?: AbortSignal;
  /** Resolves `${secret:NAME}`; default the agent process's environment. */
  secret?: (name: string) => string | undefined;
  /** Monotonic clock in milliseconds for duration_ms; default performance.now. Injectable for tests. */
  now?: () => number;
}

/** After an abort, how long a prober gets to hand back its partial phases before it is left behind. */
const ABORT_GRACE_MS = 100;

const envSecret = (name: string): string | undefined => process.env[name];
const monotonic = (): number => performance.now();

export async function runProbe(spec: ProbeSpec, opts: RunOptions): Promise<ProbeOutcome> {
  const now = opts.now ?? monotonic;
  // Loaded before the clock starts: the first run of a type must not count the module's loading.
  let prober: Prober<ProbeConfig> | undefined;
  let loadError: unknown;
  try {
    prober = await proberFor(spec.type);
  } catch (err) {
    loadError = err ?? new Error('the prober did not load');
  }
  const t0 = now();
  let report: ProbeReport;
  let signal: AbortSignal | undefined;
  const timeoutMs = Number.isFinite(spec.timeout) && spec.timeout > 0 ? spec.timeout : 10_000;
  try {
    if (loadError !== undefined) {
      report = { ok: false, phases: {}, error: failureOf(loadError) };
    } else if (prober === undefined) {
      report = {
        ok: false,
        phases: {},
        error: { code: 'unsupported', message: `probe type "${String(spec.type)}" is not supported by this agent yet` },
      };
    } else {
      const timeout = AbortSignal.timeout(timeoutMs);
      signal = opts.signal === undefined ? timeout : AbortSignal.any([timeout, opts.signal]);
      const ctx: ProbeContext = { signal, userAgent: opts.userAgent, timeoutMs, secret: opts.secret ?? envSecret };
      report = await withGrace(prober(spec, ctx), signal, timeoutMs);
    }
  } catch (err) {
    report = { ok: false, phases: {}, error: failureOf(err) };
  }
  // A probe that had not finished when its time ran out failed by timeout, whatever it was doing.
  if (signal?.aborted === true && !report.ok && report.error?.code !== 'timeout' && isTimeout(signal)) {
    report.error = { code: 'timeout', message: `timed out after ${formatDuration(timeoutMs)}` };
  }
  const outcome = report as ProbeOutcome;
  outcome.duration_ms = Math.round((now() - t0) * 1000) / 1000;
  return outcome;
}

/** The prober's own report, or, if it does not answer within the grace after an abort, a stand-in. */
function withGrace(run: Promise<ProbeReport>, signal: AbortSignal, timeoutMs: number): Promise<ProbeReport> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      timer = setTimeout(() => {
        resolve({
          ok: false,
          phases: {},
          error: isTimeout(signal)
            ? { code: 'timeout', message: `timed out after ${formatDuration(timeoutMs)}` }
            : { code: 'internal', message: 'probe cancelled' },
        });
      }, ABORT_GRACE_MS);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    run.then(
      (r) => {
        signal.removeEventListener('abort', onAbort);
        if (timer !== undefined) clearTimeout(timer);
        resolve(r);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (timer !== undefined) clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
