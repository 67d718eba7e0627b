// The latest result per (system, probe, agent), in memory: what status derivation, the API and the
// gauges read, with the number of consecutive failures behind it (a vantage point fails only after
// `retries` of them). Warm-started from the store, so a restart does not turn everything unknown.
import { isNewer, type StoredResult } from './store/types.js';

/** A vantage point's latest result and its run of consecutive failures (0 after a success). */
export interface VantagePoint {
  agent: string;
  ts: number;
  ok: boolean;
  failures: number;
  duration_ms: number;
}

interface Entry {
  result: StoredResult;
  failures: number;
  /** Built once per result: status derivation reads it on every evaluation. */
  vp: VantagePoint;
}

export class LatestResults {
  readonly #bySystem = new Map<string, Map<string, Map<string, Entry>>>();
  /** Each agent's newest result time over every probe, for the agent-offline alert. */
  readonly #agentNewest = new Map<string, number>();

  /** Keeps r if it is newer than what is known; returns whether it now is the latest. */
  update(r: StoredResult): boolean {
    let probes = this.#bySystem.get(r.system);
    if (probes === undefined) this.#bySystem.set(r.system, (probes = new Map<string, Map<string, Entry>>()));
    let agents = probes.get(r.probe);
    if (agents === undefined) probes.set(r.probe, (agents = new Map<string, Entry>()));
    const prev = agents.get(r.agent);
    if (prev !== undefined && !isNewer(r, prev.result)) return false;
    // A late, older result does not count in the run: only results in order extend it.
    const failures = r.ok ? 0 : (prev?.failures ?? 0) + 1;
    agents.set(r.agent, { result: r, failures, vp: { agent: r.agent, ts: r.ts, ok: r.ok, failures, duration_ms: r.duration_ms } });
    if (r.ts > (this.#agentNewest.get(r.agent) ?? -Infinity)) this.#agentNewest.set(r.agent, r.ts);
    return true;
  }

  /** The latest result of each agent for one probe. */
  *forProbe(system: string, probe: string): Generator<StoredResult> {
    for (const e of this.#bySystem.get(system)?.get(probe)?.values() ?? []) yield e.result;
  }

  /** Each agent's latest result for one probe, with its run of failures. */
  *vantagePoints(system: string, probe: string): Generator<Readonly<VantagePoint>> {
    for (const e of this.#bySystem.get(system)?.get(probe)?.values() ?? []) yield e.vp;
  }

  /** The agent's newest result time (epoch ms) over every probe, if any. */
  newest(agent: string): number | undefined {
    return this.#agentNewest.get(agent);
  }

  /** Every latest result. */
  *all(): Generator<StoredResult> {
    for (const probes of this.#bySystem.values()) for (const agents of probes.values()) for (const e of agents.values()) yield e.result;
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
