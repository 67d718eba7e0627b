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

export const probeKey = (system: string, probe: string): string => `${system}\u0000${probe}`;

export class Model {
  readonly config: Config;
  /** Identifies this configuration; reported by reload. */
  readonly revision: string;
  readonly systems: readonly SystemConfig[];
  readonly systemById: ReadonlyMap<string, SystemConfig>;
  readonly probesBySystem: ReadonlyMap<string, readonly ProbeSpec[]>;
  /** Configured agents, plus the in-process one when it runs. */
  readonly agentIds: readonly string[];
  readonly #assignments = new Map<string, Assignment>();

  constructor(config: Config, opts: { localAgent: boolean }) {
    this.config = config;
    this.revision = revisionOf(config);
    this.systems = config.systems;
    this.systemById = new Map(config.systems.map((s) => [s.id, s]));
    const bySystem = new Map<string, ProbeSpec[]>(config.systems.map((s) => [s.id, []]));
    for (const p of resolveProbes(config)) bySystem.get(p.system)?.push(p);
    this.probesBySystem = bySystem;
    const ids = config.agents.map((a) => a.id);
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
}
