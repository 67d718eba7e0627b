// `${secret:NAME}` and `{{name}}` in a flow's strings, replaced in one pass: a value put in is never
// scanned again, so a server that sends back "${secret:PASSWORD}" as a token cannot make the agent
// send it a secret.
import { ProbeFailure } from './failure.js';
import type { Secrets } from './secrets.js';

const PLACEHOLDER = /\$\{secret:([A-Za-z_][A-Za-z0-9_]*)\}|\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

export function fill(text: string, vars: ReadonlyMap<string, string>, secrets: Secrets): string {
  if (!text.includes('${secret:') && !text.includes('{{')) return text;
  return text.replace(PLACEHOLDER, (_m, secret: string | undefined, name: string | undefined) => {
    if (secret !== undefined) return secrets.value(secret);
    const v = vars.get(name ?? '');
    if (v === undefined) throw new ProbeFailure('extract_failed', `variable {{${name ?? ''}}} has no value: no earlier step extracted it`);
    return v;
  });
}

/** The same through a JSON value: every string in it, keys left alone. */
export function fillJson(v: unknown, vars: ReadonlyMap<string, string>, secrets: Secrets): unknown {
  if (typeof v === 'string') return fill(v, vars, secrets);
  if (Array.isArray(v)) return v.map((x) => fillJson(x, vars, secrets));
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = fillJson(x, vars, secrets);
    return out;
  }
  return v;
}
