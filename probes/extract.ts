// A flow step's `extract`: values taken from a response into variables for later steps. A rule
// that finds nothing fails the step (a later step would only fail less clearly).
import type { IncomingHttpHeaders } from 'node:http';
import { selectOne } from 'css-select';
import type { AnyNode, Element } from 'domhandler';
import { textContent } from 'domutils';
import { parseDocument } from 'htmlparser2';
import type { FlowProbeConfig } from '../config/schema.js';
import { ProbeFailure, compiled, quote } from './failure.js';
import { excerpt, jsonPath, parseJson } from './expect.js';

export type ExtractRule = NonNullable<FlowProbeConfig['steps'][number]['extract']>[string];

export interface Extractable {
  headers: IncomingHttpHeaders;
  body: Buffer | undefined;
}

/** Parses the body at most once, whatever the number of rules. */
class Body {
  private text: string | undefined;
  private html: ReturnType<typeof parseDocument> | undefined;
  private json: { value: unknown } | undefined;
  constructor(private readonly raw: Buffer | undefined) {}
  asText(): string {
    this.text ??= this.raw?.toString('utf8') ?? '';
    return this.text;
  }
  asHtml(): ReturnType<typeof parseDocument> {
    this.html ??= parseDocument(this.asText());
    return this.html;
  }
  asJson(): unknown {
    this.json ??= { value: parseJson(this.asText(), 'extract_failed') };
    return this.json.value;
  }
}

export function extractAll(rules: Readonly<Record<string, ExtractRule>>, res: Extractable, into: Map<string, string>): void {
  const body = new Body(res.body);
  for (const [name, rule] of Object.entries(rules)) into.set(name, extractOne(name, rule, res, body));
}

function extractOne(name: string, rule: ExtractRule, res: Extractable, body: Body): string {
  if ('regex' in rule) {
    const m = compiled(rule.regex).exec(body.asText());
    if (m === null) throw missing(name, `match for /${rule.regex}/`, body);
    return m[1] ?? m[0];
  }
  if ('css' in rule) {
    let el: Element | null;
    try {
      el = selectOne<AnyNode, Element>(rule.css, body.asHtml());
    } catch (err) {
      throw new ProbeFailure('extract_failed', `extract ${name}: invalid CSS selector ${quote(rule.css)}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (el === null) throw missing(name, `element matching ${quote(rule.css)}`, body);
    if (rule.attr === undefined) return textContent(el).trim();
    const v = el.attribs[rule.attr];
    if (v === undefined) throw missing(name, `attribute ${rule.attr} on the element matching ${quote(rule.css)}`, body);
    return v;
  }
  if ('json' in rule) {
    const v = jsonPath(rule.json, body.asJson(), 'extract_failed');
    if (v === undefined || v === null) throw missing(name, `value at JSONPath ${rule.json}`, body);
    return typeof v === 'string' ? v : JSON.stringify(v);
  }
  const raw = res.headers[rule.header.toLowerCase()];
  if (raw === undefined) throw new ProbeFailure('extract_failed', `extract ${name}: no header ${rule.header} in the response`, { expected: `header ${rule.header}`, got: 'no such header' });
  return Array.isArray(raw) ? raw.join(', ') : raw;
}

function missing(name: string, wanted: string, body: Body): ProbeFailure {
  return new ProbeFailure('extract_failed', `extract ${name}: no ${wanted} in the response`, { expected: wanted, got: excerpt(body.asText()) });
}
