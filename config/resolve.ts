// From configuration to what agents run: every probe with its system and its timing resolved
// (probe > system > defaults), and each agent's share of them under a revision that changes only
// when that share does, so an agent can tell a real change from a reconnect.
import { createHash } from 'node:crypto';
import type { ProbeSpec } from '../protocol/messages.js';
import type { Config } from './schema.js';

/** Every probe of every system, in file order, with interval, timeout and retries resolved. */
export function resolveProbes(config: Config): ProbeSpec[] {
  const d = config.defaults;
  const out: ProbeSpec[] = [];
  for (const system of config.systems) {
    for (const probe of system.probes) {
      out.push({
        ...probe,
        system: system.id,
        interval: probe.interval ?? d.interval,
        timeout: probe.timeout ?? d.timeout,
        retries: probe.retries ?? system.retries ?? d.retries,
      });
    }
  }
  return out;
}

// A collector asks once per agent: resolve and serialize each probe once per configuration.
// Configurations are immutable once loaded (a reload builds a new one), so the cache is sound.
interface Resolved {
  specs: ProbeSpec[];
  json: string[];
}
const resolvedCache = new WeakMap<Config, Resolved>();

function resolved(config: Config): Resolved {
  let r = resolvedCache.get(config);
  if (r === undefined) {
    const specs = resolveProbes(config);
    r = { specs, json: specs.map(canonicalJson) };
    resolvedCache.set(config, r);
  }
  return r;
}

/**
 * The probes `agentId` runs (those with no `agents` list, or listing it) and their revision: a short
 * hash of their canonical JSON, equal for equal probes. The probe objects are shared between calls
 * for one configuration: treat them as read-only.
 */
export function assignmentFor(config: Config, agentId: string): { revision: string; probes: ProbeSpec[] } {
  const { specs, json } = resolved(config);
  const probes: ProbeSpec[] = [];
  const parts: string[] = [];
  specs.forEach((p, i) => {
    if (p.agents !== undefined && !p.agents.includes(agentId)) return;
    probes.push(p);
    parts.push(json[i] ?? '');
  });
  // The same text as canonicalJson(probes), built from the per-probe pieces.
  return { revision: hash(`[${parts.join(',')}]`), probes };
}

/** A short hash of the canonical JSON of `value`: equal for equal content, whatever the key order. */
export function revisionOf(value: unknown): string {
  return hash(canonicalJson(value));
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/** JSON with object keys sorted at every level; undefined members are left out, as JSON does. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of Object.keys(obj).sort()) {
    const v = obj[k];
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    parts.push(`${JSON.stringify(k)}:${canonicalJson(v)}`);
  }
  return `{${parts.join(',')}}`;
}
