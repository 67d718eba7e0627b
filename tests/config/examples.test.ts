// The shipped examples load, and full.yaml and docs/configuration.md cover every key of the schema:
// a key added to config/schema.ts without an example and a description fails here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../config/diagnostics.js';
import { loadConfigFile } from '../../config/load.js';
import { resolveProbes } from '../../config/resolve.js';
import { configSchema } from '../../config/schema.js';

const root = join(import.meta.dirname, '..', '..');
const ENV = {
  VAGT_TOKEN_KBH1: 'kbh1-0123456789abcdef',
  VAGT_TOKEN_AAR1: 'aar1-0123456789abcdef',
  VAGT_TOKEN_ZABBIX: 'zabbix-0123456789abcdef',
  VAGT_ADMIN_TOKEN: 'admin-0123456789abcdef',
  HOOK_SECRET: 'hook-secret',
};

function load(rel: string) {
  const r = loadConfigFile(join(root, rel), { env: ENV });
  if (!r.ok) throw new Error(`${rel}:\n` + r.problems.map(formatDiagnostic).join('\n'));
  return r.config;
}

// ---- a walk over the zod schema, next to the values of an example ------------------------------

interface Def {
  type: string;
  innerType?: Schema;
  in?: Schema;
  shape?: Record<string, Schema>;
  element?: Schema;
  valueType?: Schema;
  options?: Schema[];
  discriminator?: string;
  values?: unknown[];
}
interface Schema {
  _zod: { def: Def };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function unwrap(s: Schema): Schema {
  for (;;) {
    const d = s._zod.def;
    if ((d.type === 'optional' || d.type === 'default' || d.type === 'nullable' || d.type === 'prefault') && d.innerType) s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else return s;
  }
}

/** Key paths of the schema for which none of `values` has a value. `keys` collects every key name. */
function uncovered(schema: Schema, values: unknown[], path: string, keys: Set<string>): string[] {
  const d = unwrap(schema)._zod.def;
  if (d.type === 'object' && d.shape) {
    const out: string[] = [];
    for (const [key, sub] of Object.entries(d.shape)) {
      keys.add(key);
      const vs = values.filter(isObj).map((v) => v[key]).filter((v) => v !== undefined);
      if (vs.length === 0) out.push(`${path}.${key}`);
      else out.push(...uncovered(sub, vs, `${path}.${key}`, keys));
    }
    return out;
  }
  if (d.type === 'array' && d.element) return uncovered(d.element, values.flatMap((v): unknown[] => (Array.isArray(v) ? (v as unknown[]) : [])), `${path}[]`, keys);
  if (d.type === 'record' && d.valueType) return uncovered(d.valueType, values.filter(isObj).flatMap(Object.values), `${path}.*`, keys);
  if (d.type === 'union' && d.options) {
    const out: string[] = [];
    // Keys every option has (a probe's id, interval, agents, ...) need to be shown only once.
    const shapes = d.options.map((o) => unwrap(o)._zod.def.shape ?? {});
    const common = Object.keys(shapes[0] ?? {}).filter((k) => k !== d.discriminator && shapes.every((sh) => k in sh));
    const commonSeen = new Set<string>();
    for (const option of d.options) {
      const od = unwrap(option)._zod.def;
      if (od.type !== 'object' || !od.shape) continue;
      const shape = od.shape;
      let label: string;
      let vs: unknown[];
      if (d.discriminator) {
        const lit = unwrap(shape[d.discriminator]!)._zod.def.values?.[0];
        label = String(lit);
        vs = values.filter((v) => isObj(v) && v[d.discriminator!] === lit);
      } else {
        // An undiscriminated union of objects: a value belongs to the option that has all its keys.
        label = Object.keys(shape).join('|');
        vs = values.filter((v) => isObj(v) && Object.keys(v).every((k) => k in shape));
      }
      if (vs.length === 0) {
        out.push(`${path}<${label}>`);
        continue;
      }
      const miss = uncovered(option, vs, `${path}<${label}>`, keys);
      for (const k of common) if (!miss.includes(`${path}<${label}>.${k}`)) commonSeen.add(k);
      out.push(...miss);
    }
    return out.filter((m) => !common.some((k) => commonSeen.has(k) && m.startsWith(`${path}<`) && m.endsWith(`>.${k}`)));
  }
  return [];
}

describe('example configurations', () => {
  it('minimal.yaml loads: one system, one http probe, one agent', () => {
    const c = load('config/examples/minimal.yaml');
    expect(c.systems).toHaveLength(1);
    expect(c.systems[0]!.probes.map((p) => p.type)).toEqual(['http']);
    expect(c.agents.map((a) => a.id)).toEqual(['kbh-1']);
    expect(c.agents[0]!.token).toBe(ENV.VAGT_TOKEN_KBH1);
  });

  it('full.yaml loads, with every probe type', () => {
    const c = load('config/examples/full.yaml');
    expect(new Set(resolveProbes(c).map((p) => p.type))).toEqual(new Set(['http', 'tcp', 'dns', 'tls', 'flow', 'page']));
    expect(c.collector.admin_token).toBe(ENV.VAGT_ADMIN_TOKEN);
  });

  it('full.yaml uses every key of the schema', () => {
    const raw: unknown = YAML.parse(readFileSync(join(root, 'config/examples/full.yaml'), 'utf8'), { merge: true });
    const missing = uncovered(configSchema as unknown as Schema, [raw], '', new Set());
    expect(missing).toEqual([]);
  });

  it('docs/configuration.md describes every key of the schema', () => {
    // full.yaml covers every key (above), so walking it visits every key of the schema.
    const raw: unknown = YAML.parse(readFileSync(join(root, 'config/examples/full.yaml'), 'utf8'), { merge: true });
    const keys = new Set<string>();
    uncovered(configSchema as unknown as Schema, [raw], '', keys);
    expect(keys.size).toBeGreaterThan(60);
    const doc = readFileSync(join(root, 'docs/configuration.md'), 'utf8');
    expect([...keys].filter((k) => !doc.includes('`' + k + '`'))).toEqual([]);
  });

  it('the walk notices a missing key', () => {
    const missing = uncovered(configSchema as unknown as Schema, [{ collector: { listen: 'x' } }], '', new Set());
    expect(missing).toContain('.collector.data_dir');
    expect(missing).toContain('.systems');
  });
});
