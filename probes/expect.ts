// Expectations on an HTTP response, shared by the http prober and each flow step. A mismatch is a
// ProbeFailure carrying what was expected and what came, for `vagt probe` to show side by side.
import { isDeepStrictEqual } from 'node:util';
import type { IncomingHttpHeaders } from 'node:http';
import { JSONPath } from 'jsonpath-plus';
import { formatDuration } from '../lib/duration.js';
import { ProbeFailure, compiled, quote } from './failure.js';

export interface ResponseExpect {
  /** Default: any 2xx (or, when redirects are not followed, 2xx and 3xx). */
  status?: readonly number[] | undefined;
  body_contains?: string | undefined;
  body_not_contains?: string | undefined;
  body_regex?: string | undefined;
  /** Header name -> regular expression its value must match. */
  header?: Readonly<Record<string, string>> | undefined;
  /** JSONPath -> the value it must equal. */
  json?: Readonly<Record<string, unknown>> | undefined;
  max_duration?: number | undefined;
}

export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  /** Absent when no expectation needed it. */
  body: Buffer | undefined;
  bytes: number;
  truncated: boolean;
}

/** Whether any expectation reads the body, so that it is kept at all. */
export function readsBody(ex: ResponseExpect | undefined): boolean {
  return ex !== undefined && (ex.body_contains ?? ex.body_not_contains ?? ex.body_regex ?? ex.json) !== undefined;
}

export function checkResponse(ex: ResponseExpect, res: Response, elapsedMs: number, opts: { redirectsOk?: boolean } = {}): void {
  const want = ex.status;
  const defaultOk = (s: number): boolean => s >= 200 && s <= (opts.redirectsOk === true ? 399 : 299);
  if (want === undefined ? !defaultOk(res.status) : !want.includes(res.status)) {
    const expected = want === undefined ? (opts.redirectsOk === true ? 'a 2xx or 3xx status' : 'a 2xx status') : `status ${want.join(' or ')}`;
    // The page that came with a wrong status usually says why ("Forkert kodeord"): show its start.
    const got = res.body === undefined || res.body.length === 0 ? String(res.status) : `${res.status}: ${excerpt(res.body.toString('utf8'))}`;
    throw new ProbeFailure('http_status', `expected ${expected}, got ${res.status}`, { expected, got });
  }
  for (const [name, source] of Object.entries(ex.header ?? {})) {
    const raw = res.headers[name.toLowerCase()];
    if (raw === undefined) throw new ProbeFailure('header_mismatch', `header ${name} is missing`, { expected: `${name} matching /${source}/`, got: 'no such header' });
    const value = Array.isArray(raw) ? raw.join(', ') : raw;
    if (!compiled(source).test(value))
      throw new ProbeFailure('header_mismatch', `header ${name}: ${quote(value)} does not match /${source}/`, {
        expected: `/${source}/`,
        got: value.slice(0, 200),
      });
  }
  if (res.body !== undefined) {
    const text = res.body.toString('utf8');
    const cut = res.truncated ? ` (in the first ${res.bytes} bytes)` : '';
    if (ex.body_contains !== undefined && !text.includes(ex.body_contains))
      throw new ProbeFailure('body_mismatch', `body does not contain ${quote(ex.body_contains)}${cut}`, {
        expected: `body containing ${quote(ex.body_contains)}`,
        got: excerpt(text),
      });
    if (ex.body_not_contains !== undefined && text.includes(ex.body_not_contains))
      throw new ProbeFailure('body_mismatch', `body contains ${quote(ex.body_not_contains)}`, {
        expected: `body without ${quote(ex.body_not_contains)}`,
        got: excerpt(text, text.indexOf(ex.body_not_contains)),
      });
    if (ex.body_regex !== undefined && !compiled(ex.body_regex).test(text))
      throw new ProbeFailure('body_mismatch', `body does not match /${ex.body_regex}/${cut}`, {
        expected: `body matching /${ex.body_regex}/`,
        got: excerpt(text),
      });
    if (ex.json !== undefined) checkJson(ex.json, text);
  }
  if (ex.max_duration !== undefined && elapsedMs > ex.max_duration)
    throw new ProbeFailure('too_slow', `took ${formatDuration(elapsedMs)}, more than max_duration ${formatDuration(ex.max_duration)}`, {
      expected: `at most ${formatDuration(ex.max_duration)}`,
      got: formatDuration(elapsedMs),
    });
}

function checkJson(want: Readonly<Record<string, unknown>>, text: string): void {
  const doc = parseJson(text, 'expect_failed');
  for (const [path, expected] of Object.entries(want)) {
    const got = jsonPath(path, doc, 'expect_failed');
    if (!isDeepStrictEqual(got, expected))
      throw new ProbeFailure('expect_failed', `json ${path}: expected ${short(expected)}, got ${short(got)}`, {
        expected: `${path} = ${short(expected)}`,
        got: `${path} = ${short(got)}`,
      });
  }
}

export function parseJson(text: string, code: 'expect_failed' | 'extract_failed'): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ProbeFailure(code, 'the body is not JSON', { expected: 'a JSON body', got: excerpt(text) });
  }
}

/** The value at a JSONPath: one match as itself, several as a list, none as undefined. */
// One evaluator, kept: called for a result, JSONPath throws an error internally to hand back a
// scalar (a quarter of a flow's own CPU, measured). eval: false: a path is data, never code.
const JSON_PATH = JSONPath({ autostart: false, wrap: false, eval: false, path: '$', json: null });

export function jsonPath(path: string, doc: unknown, code: 'expect_failed' | 'extract_failed'): unknown {
  try {
    return JSON_PATH.evaluate(path, doc as object, undefined, undefined) as unknown;
  } catch (err) {
    throw new ProbeFailure(code, `invalid JSONPath ${quote(path)}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function short(v: unknown): string {
  return v === undefined ? 'nothing' : quote(JSON.stringify(v), 120);
}

/**
 * A readable slice of a body, about 160 characters from `at`, whitespace collapsed. Of an HTML
 * page, the text a user sees ("Forkert bruger-ID eller adgangskode"), not its <head>.
 */
export function excerpt(text: string, at = 0): string {
  if (at === 0 && /^\s*(<!doctype html|<html)/i.test(text)) {
    const visible = text
      .slice(0, 65_536)
      .replace(/<(head|script|style|noscript|template)\b[\s\S]*?<\/\1\s*>/gi, ' ')
      .replace(/<[^>]*>/g, ' ')
      .replace(/&nbsp;/g, ' ');
    if (visible.trim() !== '') text = visible;
  }
  const from = Math.max(0, at - 40);
  const s = text.slice(from, from + 400).replace(/\s+/g, ' ').trim();
  return (from > 0 ? '…' : '') + (s.length > 160 ? `${s.slice(0, 160)}…` : s);
}
