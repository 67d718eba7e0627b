// Fault injection for the simulated systems: one small vocabulary shared by the control endpoint,
// the `vagt demo --down/--slow/--error` flags and startSimulator({ faults }).
import { parseDuration } from '../lib/duration.js';

/**
 * `up`: normal service. `down`: the server stops listening, so connections are refused (what a
 * crashed service or a dead load balancer looks like to a probe, for HTTP and TCP alike).
 * `slow`: every response is delayed by `latency_ms`. `error`: every request answers 500.
 */
export type FaultMode = 'up' | 'down' | 'slow' | 'error';
export const FAULT_MODES: readonly FaultMode[] = ['up', 'down', 'slow', 'error'];

export interface Fault {
  mode: FaultMode;
  /** Added latency for `slow`, milliseconds; default DEFAULT_SLOW_MS. Ignored by other modes. */
  latency_ms?: number;
}

export const DEFAULT_SLOW_MS = 3000;
/** A probe times out long before this; a bigger value is surely a typo. */
export const MAX_SLOW_MS = 120_000;

export const UP: Fault = Object.freeze({ mode: 'up' as const });

/** The fault in its canonical form: `slow` always carries its latency, other modes never do. */
export function normalizeFault(f: Fault): Fault {
  return f.mode === 'slow' ? { mode: 'slow', latency_ms: f.latency_ms ?? DEFAULT_SLOW_MS } : { mode: f.mode };
}

/**
 * Checks an untrusted value (a control-endpoint body) and returns the fault or one clear message.
 * Accepts `latency_ms` as a number or `latency` as a duration string ("3s").
 */
export function parseFault(v: unknown): { ok: true; fault: Fault } | { ok: false; error: string } {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    return { ok: false, error: 'expected a JSON object like {"mode":"down"}' };
  }
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (k !== 'mode' && k !== 'latency_ms' && k !== 'latency') {
      return { ok: false, error: `unknown key "${k}"; expected mode and, for slow, latency_ms` };
    }
  }
  if (typeof o.mode !== 'string' || !(FAULT_MODES as readonly string[]).includes(o.mode)) {
    return { ok: false, error: `mode: expected one of ${FAULT_MODES.join(', ')}` };
  }
  const mode = o.mode as FaultMode;
  let latency: number | undefined;
  if (o.latency_ms !== undefined) {
    if (typeof o.latency_ms !== 'number' || !Number.isFinite(o.latency_ms)) {
      return { ok: false, error: 'latency_ms: expected a number of milliseconds' };
    }
    latency = o.latency_ms;
  } else if (o.latency !== undefined) {
    latency = typeof o.latency === 'string' ? parseDuration(o.latency) : undefined;
    if (latency === undefined) return { ok: false, error: 'latency: expected a duration like 3s' };
  }
  if (latency !== undefined && (latency < 0 || latency > MAX_SLOW_MS)) {
    return { ok: false, error: `latency_ms: expected 0 to ${MAX_SLOW_MS}` };
  }
  const fault: Fault = latency === undefined ? { mode } : { mode, latency_ms: Math.round(latency) };
  return { ok: true, fault: normalizeFault(fault) };
}

/**
 * The `vagt demo` flags: `--down mitid`, `--slow virk=3s` (or just `virk`, 3 s), `--error nemkonto`.
 * Each flag may repeat or hold a comma-separated list. Every problem is reported, one line each.
 */
export function parseFaultFlags(
  flags: { down?: readonly string[]; slow?: readonly string[]; error?: readonly string[] },
  knownIds: readonly string[],
): { ok: true; faults: Record<string, Fault> } | { ok: false; problems: string[] } {
  const faults: Record<string, Fault> = {};
  const problems: string[] = [];
  const known = new Set(knownIds);
  const add = (flag: string, id: string, fault: Fault, item = id): void => {
    if (!known.has(id)) {
      problems.push(`--${flag} ${item}: unknown system; expected one of ${knownIds.join(', ')}`);
    } else if (faults[id] !== undefined && faults[id].mode !== fault.mode) {
      problems.push(`--${flag} ${item}: ${id} is already set to ${faults[id].mode}`);
    } else {
      faults[id] = fault;
    }
  };
  const items = (list: readonly string[] | undefined): string[] =>
    (list ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== '');

  for (const id of items(flags.down)) add('down', id, { mode: 'down' });
  for (const id of items(flags.error)) add('error', id, { mode: 'error' });
  for (const item of items(flags.slow)) {
    const eq = item.indexOf('=');
    const id = eq < 0 ? item : item.slice(0, eq);
    if (eq < 0) {
      add('slow', id, { mode: 'slow', latency_ms: DEFAULT_SLOW_MS });
      continue;
    }
    const ms = parseDuration(item.slice(eq + 1));
    if (ms === undefined || ms > MAX_SLOW_MS) {
      problems.push(`--slow ${item}: expected ID=DURATION with a duration up to 2m, like virk=3s`);
      continue;
    }
    add('slow', id, { mode: 'slow', latency_ms: Math.round(ms) }, item);
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, faults };
}

/** "down", "slow (3000 ms)": for logs, the control endpoint and the banner. */
export function describeFault(f: Fault): string {
  return f.mode === 'slow' ? `slow (${f.latency_ms ?? DEFAULT_SLOW_MS} ms)` : f.mode;
}
