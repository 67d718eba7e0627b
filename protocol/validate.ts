// Validation of frames on both ends. Hand-written rather than zod: the collector checks every
// result at tens of thousands per second, and these checks are the hot path.
import {
  LIMITS,
  PHASES,
  type AgentMessage,
  type CollectorMessage,
  type Phase,
  type ResultRecord,
} from './messages.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** X.509's latest expressible notAfter, 9999-12-31T23:59:59Z, in epoch seconds. */
const MAX_TLS_EXPIRY = 253_402_300_799;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isDuration = (v: unknown): v is number => isNum(v) && v >= 0 && v <= LIMITS.maxDurationMs;
/** Agent-chosen text echoed in an error or a log line: short. */
const clip = (s: string): string => (s.length > 64 ? `${s.slice(0, 64)}…` : s);

function parseJson(text: string): Parsed<Record<string, unknown>> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: 'frame is not valid JSON' };
  }
  if (!isObject(value)) return { ok: false, error: 'frame is not a JSON object' };
  if (typeof value.type !== 'string') return { ok: false, error: 'message has no "type"' };
  return { ok: true, value };
}

/** A text frame's payload as `ws` hands it over (one buffer, fragments, or an ArrayBuffer). */
export function frameText(data: Buffer | ArrayBuffer | Buffer[]): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  return (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)).toString('utf8');
}

/**
 * Bounds the depth of `detail` (JSON.stringify would overflow the stack while storing it, failing
 * the whole commit) and refuses the keys a naive merge turns into prototype pollution. `v` is an
 * object or array at level `depth` (detail itself is level 1).
 */
function checkDetail(v: object, depth: number): string | undefined {
  if (depth > LIMITS.maxDetailDepth) return `detail: nested deeper than ${LIMITS.maxDetailDepth} levels`;
  if (Array.isArray(v)) {
    for (const x of v as unknown[]) {
      if (typeof x !== 'object' || x === null) continue;
      const problem = checkDetail(x, depth + 1);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  // for-in rather than Object.entries: no allocation on the hot path; JSON objects inherit nothing.
  for (const k in v) {
    const x = (v as Record<string, unknown>)[k];
    if (k === '__proto__' || (k === 'constructor' && isObject(x) && Object.hasOwn(x, 'prototype')))
      return `detail: the key "${k}" is not allowed`;
    if (typeof x !== 'object' || x === null) continue;
    const problem = checkDetail(x, depth + 1);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** Checks one result; returns a message naming the bad field, or undefined when valid. */
export function checkResult(r: unknown): string | undefined {
  if (!isObject(r)) return 'result is not an object';
  if (!Number.isSafeInteger(r.seq) || (r.seq as number) < 0) return 'seq: expected a non-negative integer';
  if (typeof r.system !== 'string' || !ID.test(r.system)) return 'system: expected an id';
  if (typeof r.probe !== 'string' || !ID.test(r.probe)) return 'probe: expected an id';
  if (!isNum(r.ts) || r.ts < 0) return 'ts: expected epoch milliseconds';
  if (typeof r.ok !== 'boolean') return 'ok: expected a boolean';
  if (!isDuration(r.duration_ms)) return `duration_ms: expected milliseconds from 0 to ${LIMITS.maxDurationMs}`;
  if (!isObject(r.phases)) return 'phases: expected an object';
  for (const [k, v] of Object.entries(r.phases)) {
    if (!PHASES.includes(k as Phase)) return `phases.${clip(k)}: unknown phase`;
    if (!isDuration(v)) return `phases.${k}: expected milliseconds from 0 to ${LIMITS.maxDurationMs}`;
  }
  if (r.status_code !== undefined && !(Number.isInteger(r.status_code) && (r.status_code as number) >= 100 && (r.status_code as number) <= 999))
    return 'status_code: expected an HTTP status from 100 to 999';
  if (r.error !== undefined) {
    if (!isObject(r.error) || typeof r.error.code !== 'string' || typeof r.error.message !== 'string')
      return 'error: expected { code, message }';
    if (!ID.test(r.error.code)) return 'error.code: expected a short lower-case code';
    if (r.error.message.length > LIMITS.maxErrorMessageChars) return 'error.message: too long';
  }
  if (r.tls_expiry !== undefined && !(isNum(r.tls_expiry) && r.tls_expiry >= 0 && r.tls_expiry <= MAX_TLS_EXPIRY))
    return 'tls_expiry: expected epoch seconds';
  if (r.detail !== undefined) {
    if (!isObject(r.detail)) return 'detail: expected an object';
    const problem = checkDetail(r.detail, 1);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/**
 * Parses an agent's frame. A `results` message is returned with its valid results, and the seqs of
 * invalid ones listed in `invalid` so that one bad result does not cost the batch.
 */
export function parseAgentMessage(
  text: string,
): Parsed<AgentMessage> & { invalid?: { seq: number | undefined; error: string }[] } {
  const p = parseJson(text);
  if (!p.ok) return p;
  const m = p.value;
  switch (m.type) {
    case 'hello':
      if (!Number.isInteger(m.protocol)) return { ok: false, error: 'hello.protocol: expected an integer' };
      if (typeof m.agent !== 'string' || !ID.test(m.agent)) return { ok: false, error: 'hello.agent: expected an id' };
      if (typeof m.version !== 'string') return { ok: false, error: 'hello.version: expected a string' };
      return { ok: true, value: m as unknown as AgentMessage };
    case 'results': {
      if (!Number.isSafeInteger(m.batch)) return { ok: false, error: 'results.batch: expected an integer' };
      if (!Array.isArray(m.results)) return { ok: false, error: 'results.results: expected an array' };
      if (m.results.length > LIMITS.maxBatchResults)
        return { ok: false, error: `results.results: at most ${LIMITS.maxBatchResults} results in a batch` };
      const valid: ResultRecord[] = [];
      const invalid: { seq: number | undefined; error: string }[] = [];
      for (const r of m.results as unknown[]) {
        const error = checkResult(r);
        if (error === undefined) valid.push(r as ResultRecord);
        else {
          const seq = isObject(r) && Number.isSafeInteger(r.seq) ? (r.seq as number) : undefined;
          invalid.push({ seq, error });
        }
      }
      return { ok: true, value: { type: 'results', batch: m.batch as number, results: valid }, invalid };
    }
    default:
      return { ok: false, error: `unknown message type "${clip(m.type as string)}"` };
  }
}

/** Parses a collector's frame on the agent. */
export function parseCollectorMessage(text: string): Parsed<CollectorMessage> {
  const p = parseJson(text);
  if (!p.ok) return p;
  const m = p.value;
  switch (m.type) {
    case 'welcome':
      if (!Number.isInteger(m.protocol)) return { ok: false, error: 'welcome.protocol: expected an integer' };
      return { ok: true, value: m as unknown as CollectorMessage };
    case 'assignment':
      if (typeof m.revision !== 'string' || !Array.isArray(m.probes))
        return { ok: false, error: 'assignment: expected { revision, probes }' };
      return { ok: true, value: m as unknown as CollectorMessage };
    case 'ack':
      if (!Number.isSafeInteger(m.batch) || !Array.isArray(m.rejected))
        return { ok: false, error: 'ack: expected { batch, accepted, rejected }' };
      return { ok: true, value: m as unknown as CollectorMessage };
    case 'error':
      if (typeof m.code !== 'string' || typeof m.message !== 'string')
        return { ok: false, error: 'error: expected { code, message }' };
      return { ok: true, value: m as unknown as CollectorMessage };
    default:
      return { ok: false, error: `unknown message type "${String(m.type)}"` };
  }
}
