// Loading a configuration file: YAML (with positions) -> `${env:…}` interpolation -> the zod
// schema -> cross-key checks. Every problem of every stage is collected with its path and line,
// as blackbox_exporter's and checkly's config loaders report them; nothing here throws on bad input.
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, visit, type Document, type YAMLError } from 'yaml';
import { errorMessage } from '../lib/errors.js';
import { ROOT_PATH, formatPath, sortDiagnostics, type Diagnostic, type PathSegment } from './diagnostics.js';
import { interpolateEnv, type InterpolationProblem } from './interpolate.js';
import { schemaErrorMap, schemaProblems } from './issues.js';
import { Positions } from './positions.js';
import { configSchema, type Config } from './schema.js';
import { semanticProblems } from './semantics.js';

export type LoadResult = { ok: true; config: Config; source: string } | { ok: false; problems: Diagnostic[] };

/** Larger files are refused unread: a configuration is kilobytes, not a log. */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

/** Aliases expanded at most; guards against "billion laughs" documents. */
const MAX_ALIAS_COUNT = 10_000;

/**
 * Parses and validates configuration text. `file` only names the source in the result.
 * `env` (default process.env) feeds `${env:NAME}`.
 */
export function loadConfigText(text: string, opts: { env?: NodeJS.ProcessEnv; file?: string } = {}): LoadResult {
  try {
    return load(text, opts);
  } catch (err) {
    // A last resort: input that breaks a library (absurd nesting, say) is still one clear problem.
    return { ok: false, problems: [{ path: ROOT_PATH, message: `cannot load the configuration: ${errorMessage(err)}` }] };
  }
}

function load(text: string, opts: { env?: NodeJS.ProcessEnv; file?: string }): LoadResult {
  const env = opts.env ?? process.env;
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, merge: true, uniqueKeys: true });
  const pos = new Positions(doc, lines);
  const at = (path: PathSegment[], message: string): Diagnostic => {
    const line = pos.lineOf(path);
    return line === undefined ? { path: formatPath(path), message } : { path: formatPath(path), message, line };
  };

  // YAML problems first: when the text does not parse, its structure cannot be trusted.
  let yamlProblems: Diagnostic[] = [...doc.errors, ...doc.warnings].map((e) => yamlDiagnostic(e, pos, doc));
  // After a quote that never closes, the rest of the file is inside the string: its errors are echoes.
  const quote = yamlProblems.find((d) => d.message === UNCLOSED_QUOTE);
  if (quote?.line !== undefined) yamlProblems = yamlProblems.filter((d) => d.line === undefined || d.line <= (quote.line ?? 0));
  // Walking every node costs; a file without `*` has no aliases to check.
  if (text.includes('*')) {
    visit(doc, {
      Alias(_key, node) {
        if (node.resolve(doc) !== undefined) return;
        const offset = node.range?.[0] ?? 0;
        yamlProblems.push({
          path: formatPath(pos.pathAt(offset)),
          message: `invalid YAML: unknown alias *${node.source}`,
          line: pos.lineAt(offset),
        });
      },
    });
  }
  if (yamlProblems.length > 0) return { ok: false, problems: firstPerLine(sortDiagnostics(yamlProblems)) };

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    const text = errorMessage(err).replace(/^./, (c) => c.toLowerCase());
    return { ok: false, problems: [{ path: ROOT_PATH, message: `invalid YAML: ${text}` }] };
  }
  // An empty file is a configuration of defaults only, as an empty prometheus.yml is.
  if (raw === null || raw === undefined) raw = {};

  const envProblems: InterpolationProblem[] = [];
  const data = interpolateEnv(raw, env, envProblems);
  const problems: Diagnostic[] = envProblems.map((p) => at(p.path, p.message));

  const parsed = configSchema.safeParse(data, { error: schemaErrorMap, reportInput: true });
  if (!parsed.success) {
    // A key whose variable is missing still holds "${env:…}"; the schema's verdict on that is noise.
    const unresolved = new Set(envProblems.map((p) => formatPath(p.path)));
    for (const p of schemaProblems(parsed.error.issues)) {
      if (!unresolved.has(formatPath(p.path))) problems.push(at(p.path, p.message));
    }
  }
  for (const p of semanticProblems(data)) problems.push(at(p.path, p.message));

  if (problems.length > 0 || !parsed.success) return { ok: false, problems: sortDiagnostics(dedupe(problems)) };
  return { ok: true, config: parsed.data, source: opts.file ?? '<text>' };
}

/** Reads and loads a file; a file that cannot be read is one problem, not an exception. */
export function loadConfigFile(path: string, opts: { env?: NodeJS.ProcessEnv } = {}): LoadResult {
  let text: string;
  try {
    const buf = readFileSync(path);
    if (buf.length > MAX_CONFIG_BYTES) {
      return { ok: false, problems: [{ path: ROOT_PATH, message: `${path} is larger than ${MAX_CONFIG_BYTES} bytes` }] };
    }
    text = buf.toString('utf8');
  } catch (err) {
    return { ok: false, problems: [{ path: ROOT_PATH, message: `cannot read ${path}: ${readError(err)}` }] };
  }
  return loadConfigText(text, { ...opts, file: path });
}

function readError(err: unknown): string {
  switch ((err as NodeJS.ErrnoException | null)?.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory, expected a file';
    default:
      return errorMessage(err);
  }
}

const UNCLOSED_QUOTE = 'invalid YAML: a quoted string opens here and is never closed';

/**
 * Where an unclosed quoted string opens: a quoted string may span lines, so the parser notices only
 * at the end of the file, and the line to fix is where the quote opened.
 */
function unclosedQuoteAt(doc: Document, offset: number): number | undefined {
  let start: number | undefined;
  visit(doc, {
    Scalar(_key, node) {
      const r = node.range;
      if ((node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') && r != null && r[0] < offset && r[1] >= offset) start = r[0];
    },
  });
  return start;
}

function yamlDiagnostic(e: YAMLError, pos: Positions, doc: Document): Diagnostic {
  if (e.code === 'MISSING_CHAR' && /quote/i.test(e.message)) {
    const opened = unclosedQuoteAt(doc, e.pos[0]);
    if (opened !== undefined)
      return { path: formatPath(pos.pathAt(opened)), message: UNCLOSED_QUOTE, line: pos.lineAt(opened) };
  }
  const offset = e.pos[0];
  const line = pos.lineAt(offset);
  if (e.code === 'DUPLICATE_KEY') return { path: formatPath(pos.pathAt(offset)), message: 'duplicate key', line };
  // Around a syntax error the parser's partial tree can hold keys made of broken text: name only
  // the keys before it that look like keys.
  const keys = pos.pathAt(offset);
  const bad = keys.findIndex((k) => typeof k === 'string' && !/^[\w.$-]+$/.test(k));
  const path = formatPath(bad < 0 ? keys : keys.slice(0, bad));
  const text =
    e.code === 'MULTIPLE_DOCS'
      ? 'expected one document, found more than one (a line with ---)'
      : e.message.replace(/^./, (c) => c.toLowerCase());
  return { path, message: `invalid YAML: ${text}`, line };
}

/** One syntax error per line: the ones after the first on a line are mostly its echoes. */
function firstPerLine(ds: Diagnostic[]): Diagnostic[] {
  const lines = new Set<number | undefined>();
  return ds.filter((d) => {
    if (d.message === 'duplicate key') return true;
    if (lines.has(d.line)) return false;
    lines.add(d.line);
    return true;
  });
}

function dedupe(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const k = `${d.path}\u0000${d.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
