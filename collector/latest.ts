// The latest result per (system, probe, agent), in memory: what status derivation, the API and the
// gauges read. Warm-started from the store, so a restart does not turn everything unknown.
import { isNewer, type StoredResult } from './store/types.js';

export class LatestResults {
  readonly #bySystem = new Map<string, Map<string, Map<string, StoredResult>>>();

  /** Keeps r if it is newer than what is known; returns whether it now is the latest. */
  update(r: StoredResult): boolean {
    let probes = this.#bySystem.get(r.system);
    if (probes === undefined) this.#bySystem.set(r.system, (probes = new Map<string, Map<string, StoredResult>>()));
    let agents = probes.get(r.probe);
    if (agents === undefined) probes.set(r.probe, (agents = new Map<string, StoredResult>()));
    const prev = agents.get(r.agent);
    if (prev !== undefined && !isNewer(r, prev)) return false;
    agents.set(r.agent, r);
    return true;
  }

  /** The latest result of each agent for one probe. */
  forProbe(system: string, probe: string): Iterable<StoredResult> {
    return this.#bySystem.get(system)?.get(probe)?.values() ?? [];
  }

  /** Every latest result. */
  *all(): Generator<StoredResult> {
    for (const probes of this.#bySystem.values()) for (const agents of probes.values()) yield* agents.values();
  }

  /** Forgets what `keep` rejects, after a reload removed probes or agents. */
  retain(keep: (system: string, probe: string, agent: string) => boolean): void {
    for (const [system, probes] of this.#bySystem) {
      for (const [probe, agents] of probes) {
        for (const agent of agents.keys()) if (!keep(system, probe, agent)) agents.delete(agent);
        if (agents.size === 0) probes.delete(probe);
      }
      if (probes.size === 0) this.#bySystem.delete(system);
    }
  }
}
