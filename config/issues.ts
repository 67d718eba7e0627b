// zod issues -> problems a person can act on. The schema's own messages (durations, ids, URLs)
// win; this error map words zod's generic cases ("expected a list, got a mapping") in the terms
// of a YAML file, and never repeats the offending value, which may be a secret.
import type { z } from 'zod';
import type { PathSegment } from './diagnostics.js';

export interface SchemaProblem {
  path: PathSegment[];
  message: string;
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
  null: 'nothing',
};

/** What a YAML value is, in words; never the value itself. */
export function describeValue(v: unknown): string {
  if (v === null) return 'an empty value';
  if (Array.isArray(v)) return 'a list';
  switch (typeof v) {
    case 'string':
      return 'a string';
    case 'number':
      if (!Number.isFinite(v)) return 'a number out of range';
      return Number.isInteger(v) ? 'a whole number' : 'a number';
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object':
      return v instanceof Uint8Array ? 'binary data' : 'a mapping';
    default:
      return typeof v;
  }
}

function orList(values: readonly unknown[]): string {
  const words = values.map(String);
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} or ${words[words.length - 1] ?? ''}`;
}

function size(origin: string, n: number | bigint): string {
  if (origin === 'string') return `${n} character${n === 1 ? '' : 's'}`;
  if (origin === 'array' || origin === 'set') return `${n} item${n === 1 ? '' : 's'}`;
  return String(n);
}

/** The per-parse error map: only for issues the schema did not word itself. */
export const schemaErrorMap: z.core.$ZodErrorMap = (iss) => {
  switch (iss.code) {
    case 'invalid_type':
      if (iss.input === undefined) return 'missing required key';
      return `expected ${EXPECTED[iss.expected] ?? iss.expected}, got ${describeValue(iss.input)}`;
    case 'too_small':
      if (iss.origin === 'string' && Number(iss.minimum) === 1) return 'must not be empty';
      if (iss.origin === 'array' && Number(iss.minimum) === 1) return 'expected at least one item';
      return iss.inclusive === false
        ? `expected more than ${size(iss.origin, iss.minimum)}`
        : `expected at least ${size(iss.origin, iss.minimum)}`;
    case 'too_big':
      return iss.inclusive === false
        ? `expected less than ${size(iss.origin, iss.maximum)}`
        : `expected at most ${size(iss.origin, iss.maximum)}`;
    case 'invalid_value':
      return iss.values.length === 1 ? `expected ${String(iss.values[0])}` : `expected ${orList(iss.values)}`;
    case 'invalid_format':
      return iss.format === 'regex' ? 'not in the expected format' : `expected a valid ${iss.format}`;
    case 'invalid_union':
      return 'not any of the accepted forms';
    default:
      return undefined;
  }
};

/**
 * One problem per issue, one per unknown key; record keys are reported as keys. Expects issues
 * from a parse with `reportInput: true`; the input itself is never put into a message.
 */
export function schemaProblems(issues: readonly z.core.$ZodIssue[]): SchemaProblem[] {
  const out: SchemaProblem[] = [];
  for (const iss of issues) {
    const path = iss.path.map((p) => (typeof p === 'number' ? p : String(p)));
    if (iss.code === 'unrecognized_keys') {
      for (const key of iss.keys) out.push({ path: [...path, key], message: 'unknown key' });
    } else if (iss.code === 'invalid_key') {
      const inner = iss.issues[0]?.message;
      out.push({ path, message: inner === undefined ? 'invalid key' : `invalid key: ${inner}` });
    } else if (iss.code === 'invalid_type' && 'input' in iss && iss.input === undefined) {
      // Parsed with reportInput: a missing key says so, even where the schema words the type.
      out.push({ path, message: 'missing required key' });
    } else {
      out.push({ path, message: iss.message });
    }
  }
  return out;
}
