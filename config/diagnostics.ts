// Configuration problems as data (as checkly-cli collects them): every problem found is reported
// at once, each with the key it concerns and its line, instead of failing at the first one.

export interface Diagnostic {
  /** Dotted keys with `[i]` for list indices, e.g. `systems[2].probes[0].interval`; `(root)` for the file itself. */
  path: string;
  message: string;
  /** 1-based line in the file, when the problem can be placed. */
  line?: number;
}

/** The path of a problem about the file as a whole. */
export const ROOT_PATH = '(root)';

/** One key of a path segment list, as zod and the YAML walker produce them. */
export type PathSegment = string | number;

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `['systems', 2, 'probes', 0, 'interval']` -> `systems[2].probes[0].interval`. */
export function formatPath(path: readonly PathSegment[]): string {
  if (path.length === 0) return ROOT_PATH;
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    // Keys such as JSONPath expressions or header names with dots would make a dotted path ambiguous.
    else if (PLAIN_KEY.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** CONTRACT §2: `path.to.key: message (line N)`. */
export function formatDiagnostic(d: Diagnostic): string {
  return d.line === undefined ? `${d.path}: ${d.message}` : `${d.path}: ${d.message} (line ${d.line})`;
}

/** By line, problems without a line first; stable, so problems on one line keep their order. */
export function sortDiagnostics(ds: readonly Diagnostic[]): Diagnostic[] {
  return ds
    .map((d, i) => ({ d, i }))
    .sort((a, b) => (a.d.line ?? 0) - (b.d.line ?? 0) || a.i - b.i)
    .map((x) => x.d);
}
