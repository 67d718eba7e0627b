// `${secret:NAME}` is resolved here, on the agent, when the probe runs (CONTRACT §3): the value is
// used on the wire to the target and scrubbed from anything that goes back into a result.
import { ProbeFailure } from './failure.js';

const SECRET = /\$\{secret:([A-Za-z_][A-Za-z0-9_]*)\}/g;

export class Secrets {
  /** Values substituted so far, longest first when scrubbing. */
  private readonly used = new Map<string, string>();

  constructor(private readonly lookup: ((name: string) => string | undefined) | undefined) {}

  /** The text with every `${secret:NAME}` replaced; a missing secret fails the probe. */
  resolve(text: string): string {
    if (!text.includes('${secret:')) return text;
    return text.replace(SECRET, (_m, name: string) => this.value(name));
  }

  /** One secret's value, remembered for scrubbing; a missing one fails the probe. */
  value(name: string): string {
    const value = this.lookup?.(name);
    if (value === undefined) throw new ProbeFailure('secret_missing', `secret ${name} is not set on this agent`);
    if (value !== '') this.used.set(value, name);
    return value;
  }

  /** Puts the placeholders back wherever a secret's value shows up (a URL, a Location, an error). */
  scrub(text: string): string {
    if (this.used.size === 0) return text;
    let out = text;
    const values = [...this.used.keys()].sort((a, b) => b.length - a.length);
    for (const v of values) {
      out = out.split(v).join(`\${secret:${this.used.get(v) ?? ''}}`);
      // A URL carries the value percent-encoded.
      const enc = encodeURIComponent(v);
      if (enc !== v) out = out.split(enc).join(`\${secret:${this.used.get(v) ?? ''}}`);
    }
    return out;
  }

  /** scrub() through every string of a JSON-like value, in place for objects and arrays. */
  scrubDeep<T>(v: T): T {
    if (this.used.size === 0) return v;
    if (typeof v === 'string') return this.scrub(v) as T;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) v[i] = this.scrubDeep(v[i] as unknown);
    } else if (typeof v === 'object' && v !== null) {
      const o = v as Record<string, unknown>;
      for (const k of Object.keys(o)) o[k] = this.scrubDeep(o[k]);
    }
    return v;
  }

  get any(): boolean {
    return this.used.size > 0;
  }
}
