// Query parameter parsing with one clear 400 per bad parameter, naming it.
import { HttpError } from '../http.js';

const ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;
// A time of day needs its zone: "08:00" alone would mean the server's local time.
const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

export function badParameter(name: string, message: string): HttpError {
  return new HttpError(400, 'bad_parameter', `${name}: ${message}`, { extra: { parameter: name } });
}

/** Refuses parameters the route does not know (a typo would otherwise silently widen a query). */
export function onlyParams(q: URLSearchParams, allowed: readonly string[]): void {
  for (const name of new Set(q.keys())) {
    if (!allowed.includes(name))
      throw badParameter(name, `unknown parameter; expected ${allowed.map((a) => `"${a}"`).join(', ')}`);
    if (q.getAll(name).length > 1) throw badParameter(name, 'given more than once');
  }
}

export function idParam(q: URLSearchParams, name: string): string | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  if (!ID.test(v)) throw badParameter(name, 'expected an id (lowercase letters, digits, "-" and "_")');
  return v;
}

/** An ISO-8601 time or epoch milliseconds. */
export function timeParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  if (/^\d{1,15}$/.test(v)) return Number(v);
  if (ISO.test(v)) {
    const t = Date.parse(v);
    if (Number.isFinite(t)) return t;
  }
  throw badParameter(name, 'expected an ISO-8601 time with a zone, like 2026-01-05T08:00:00Z, or epoch milliseconds');
}

export function intParam(q: URLSearchParams, name: string, opts: { min: number; max: number; default: number }): number {
  const v = q.get(name);
  if (v === null) return opts.default;
  if (!/^\d{1,10}$/.test(v) || Number(v) < opts.min || Number(v) > opts.max)
    throw badParameter(name, `expected an integer from ${opts.min} to ${opts.max}`);
  return Number(v);
}
