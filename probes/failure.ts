// How a prober fails: it throws a ProbeFailure internally and turns it into data at its edge, so
// that a failed probe never escapes as an exception (blackbox_exporter returns false plus a log).
import { formatDuration } from '../lib/duration.js';
import type { Phase, ProbeErrorCode, ProbeOutcome } from '../protocol/messages.js';

export type Phases = Partial<Record<Phase, number>>;

export class ProbeFailure extends Error {
  readonly code: ProbeErrorCode;
  /** For a failed expectation: what was wanted and what came, short and already scrubbed-safe. */
  readonly expected: string | undefined;
  readonly got: string | undefined;
  constructor(code: ProbeErrorCode, message: string, opts: { expected?: string; got?: string } = {}) {
    super(message);
    this.name = 'ProbeFailure';
    this.code = code;
    this.expected = opts.expected;
    this.got = opts.got;
  }
}

/** AbortSignal.timeout aborts with a DOMException named TimeoutError; anything else is a cancel. */
export function isTimeout(signal: AbortSignal): boolean {
  return (signal.reason as { name?: unknown } | undefined)?.name === 'TimeoutError';
}

/** The failure for an aborted probe, naming the stage it was in: "timed out after 10s connecting to ...". */
export function abortFailure(signal: AbortSignal, timeoutMs: number, stage: string): ProbeFailure {
  return isTimeout(signal)
    ? new ProbeFailure('timeout', `timed out after ${formatDuration(timeoutMs)} ${stage}`)
    : new ProbeFailure('internal', `probe cancelled ${stage}`);
}

/** Adds a measured span to a phase; phases sum over redirect hops, as blackbox_exporter does. */
export function addPhase(phases: Phases, phase: Phase, ms: number): void {
  phases[phase] = (phases[phase] ?? 0) + ms;
}

/** Microsecond precision is plenty and keeps results small on the wire and in the database. */
export function roundPhases(phases: Phases): Phases {
  for (const k in phases) {
    const key = k as Phase;
    phases[key] = Math.round((phases[key] ?? 0) * 1000) / 1000;
  }
  return phases;
}

export function failureOf(err: unknown): NonNullable<ProbeOutcome['error']> {
  if (err instanceof ProbeFailure) return { code: err.code, message: err.message };
  return { code: 'internal', message: err instanceof Error ? err.message : String(err) };
}

const regexCache = new Map<string, RegExp>();

/** Config regexes are compiled once, not on every run (the schema already checked they compile). */
export function compiled(source: string): RegExp {
  let re = regexCache.get(source);
  if (re === undefined) {
    if (regexCache.size >= 1000) regexCache.clear();
    re = new RegExp(source);
    regexCache.set(source, re);
  }
  return re;
}

/** A value quoted for a message, cut short so that messages stay one readable line. */
export function quote(text: string, max = 80): string {
  const s = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(s);
}
