// What the collector derives from one configuration: systems, resolved probes and each agent's
// assignment. Immutable; a reload builds a new Model and swaps it in.
import type { Config, SystemConfig } from '../config/schema.js';
import { assignmentFor, resolveProbes, revisionOf } from '../config/resolve.js';
import type { ProbeSpec } from '../protocol/messages.js';

export const LOCAL_AGENT_ID = 'local';

export interface Assignment {
  revision: string;
  probes: ProbeSpec[];
  /** `system\0probe` of every assigned probe: the results this agent may send. */
  keys: ReadonlySet<string>;
}

/** An authority's own monitoring, reporting results over HTTP: one more vantage point. */
export interface ExternalSource {
  id: string;
  name: string | undefined;
  /** Systems it may report on; undefined: every system. */
  systems: ReadonlySet<string> | undefined;
  /** How long one report counts, ms. */
  staleAfter: number;
}

export const probeKey = (system: string, probe: string): string => `${system}\u0000${probe}`;

export class Model {
  readonly config: Config;
  /** Identifies this configuration; reported by reload. */
  readonly revision: string;
  readonly systems: readonly SystemConfig[];
  readonly systemById: ReadonlyMap<string, SystemConfig>;
  readonly probesBySystem: ReadonlyMap<string, readonly ProbeSpec[]>;
  /** Configured agents that run probes, plus the in-process one when it runs. */
  readonly agentIds: readonly string[];
  /** External sources (agents with `external`): they report over HTTP and run nothing. */
  readonly external: ReadonlyMap<string, ExternalSource>;
  readonly #assignments = new Map<string, Assignment>();

  constructor(config: Config, opts: { localAgent: boolean }) {
    this.config = config;
    this.revision = revisionOf(config);
    this.systems = config.systems;
    this.systemById = new Map(config.systems.map((s) => [s.id, s]));
    const bySystem = new Map<string, ProbeSpec[]>(config.systems.map((s) => [s.id, []]));
    for (const p of resolveProbes(config)) bySystem.get(p.system)?.push(p);
    this.probesBySystem = bySystem;
    const ids = config.agents.filter((a) => a.external === undefined).map((a) => a.id);
    this.external = new Map(
      config.agents.flatMap((a): [string, ExternalSource][] =>
        a.external === undefined
          ? []
          : [[a.id, { id: a.id, name: a.name, systems: a.external.systems === undefined ? undefined : new Set(a.external.systems), staleAfter: a.external.stale_after }]],
      ),
    );
    if (opts.localAgent && !ids.includes(LOCAL_AGENT_ID)) ids.push(LOCAL_AGENT_ID);
    this.agentIds = ids;
  }

  /** The agent's probes; undefined for an agent this configuration does not know. */
  assignment(agent: string): Assignment | undefined {
    if (!this.agentIds.includes(agent)) return undefined;
    let a = this.#assignments.get(agent);
    if (a === undefined) {
      const { revision, probes } = assignmentFor(this.config, agent);
      a = { revision, probes, keys: new Set(probes.map((p) => probeKey(p.system, p.id))) };
      this.#assignments.set(agent, a);
    }
    return a;
  }

  isAssigned(system: string, probe: string, agent: string): boolean {
    return this.assignment(agent)?.keys.has(probeKey(system, probe)) ?? false;
  }

  /** The probes of `system` that an external source's reports count on; empty when it may not report on it. */
  reportable(source: string, system: string): readonly ProbeSpec[] {
    const ext = this.external.get(source);
    if (ext === undefined || (ext.systems !== undefined && !ext.systems.has(system))) return [];
    return (this.probesBySystem.get(system) ?? []).filter((p) => p.agents === undefined || p.agents.includes(source));
  }

  /** Whether a result of this (system, probe, agent) belongs to this configuration: assigned, or reportable. */
  accepts(system: string, probe: string, agent: string): boolean {
    if (!this.external.has(agent)) return this.isAssigned(system, probe, agent);
    return this.reportable(agent, system).some((p) => p.id === probe);
  }
}
