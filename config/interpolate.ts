// `${env:NAME}` interpolation (CONTRACT §3), done by the collector when it loads the file. It runs
// on string values after YAML parsing, never on the raw text, so a variable's value cannot change
// the structure of the file (no YAML injection), and substituted text is not scanned again.
// `${secret:NAME}` is left alone: the agent resolves it from its own environment at probe time.
import type { PathSegment } from './diagnostics.js';

const ENV_REF = /\$\{env:([^}]*)\}/g;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const OPEN = '${env:';

export interface InterpolationProblem {
  path: PathSegment[];
  message: string;
}

/**
 * A copy of `value` with every `${env:NAME}` inside string values replaced from `env`. Keys are
 * never interpolated. Problems (unset variable, bad name, unterminated reference) are collected;
 * the reference is then left as written.
 */
export function interpolateEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  problems: InterpolationProblem[],
  path: PathSegment[] = [],
): unknown {
  if (typeof value === 'string') return interpolateString(value, env, problems, path);
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, problems, [...path, i]));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const x = interpolateEnv(v, env, problems, [...path, k]);
      // A `__proto__` key in the file must stay a key, not become a prototype.
      if (k === '__proto__') Object.defineProperty(out, k, { value: x, enumerable: true, writable: true, configurable: true });
      else out[k] = x;
    }
    return out;
  }
  return value;
}

function interpolateString(s: string, env: NodeJS.ProcessEnv, problems: InterpolationProblem[], path: PathSegment[]): string {
  if (!s.includes(OPEN)) return s;
  let refs = 0;
  const out = s.replace(ENV_REF, (ref, name: string) => {
    refs++;
    if (!ENV_NAME.test(name)) {
      problems.push({ path, message: `invalid environment variable name in ${JSON.stringify(ref)}` });
      return ref;
    }
    const v = env[name];
    if (v === undefined) {
      problems.push({ path, message: `environment variable ${name} is not set` });
      return ref;
    }
    return v;
  });
  if (s.split(OPEN).length - 1 > refs) problems.push({ path, message: 'unterminated ${env:...} reference: expected ${env:NAME}' });
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}
