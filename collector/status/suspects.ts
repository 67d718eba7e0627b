// Suspect agents: an agent that alone sees unrelated systems fail is more likely looking through a
// bad network than at bad systems. This keeps, per agent, the systems it alone sees failing
// ("lonely" failures, from derive.ts's tallies) and decides who is suspect, only for the agents
// whose lonely systems changed.
import type { Impact } from '../../config/schema.js';
import { alertKey, type AlertBook, type AlertEvent } from './alerts.js';

export class SuspectAgents {
  /** System -> every system it depends on, directly or through others. */
  #upstream = new Map<string, Set<string>>();
  #agents: ReadonlySet<string> = new Set();
  readonly #byAgent = new Map<string, Set<string>>();
  readonly #bySystem = new Map<string, readonly string[]>();
  #suspects = new Set<string>();
  /** Agents whose lonely systems changed since suspects were last decided. */
  readonly #dirty = new Set<string>();

  /** The dependency graph (acyclic; a cycle is cut) and the agents that may be suspect. */
  configure(depends: ReadonlyMap<string, Readonly<Record<string, Impact>>>, agents: ReadonlySet<string>): void {
    this.#agents = agents;
    this.#upstream = new Map();
    const up = (id: string, seen: Set<string>): Set<string> => {
      const done = this.#upstream.get(id);
      if (done !== undefined) return done;
      const out = new Set<string>();
      seen.add(id);
      for (const dep of Object.keys(depends.get(id) ?? {})) {
        if (seen.has(dep)) continue;
        out.add(dep);
        for (const x of up(dep, seen)) out.add(x);
      }
      seen.delete(id);
      this.#upstream.set(id, out);
      return out;
    };
    for (const id of depends.keys()) up(id, new Set());
    for (const id of this.#bySystem.keys()) if (!depends.has(id)) this.#bySystem.delete(id);
    for (const [agent, set] of this.#byAgent) {
      for (const id of set) if (!depends.has(id)) set.delete(id);
      this.#dirty.add(agent);
      if (!agents.has(agent)) this.#byAgent.delete(agent);
    }
    for (const agent of this.#suspects) this.#dirty.add(agent);
  }

  has(agent: string): boolean {
    return this.#suspects.has(agent);
  }

  /** The current suspects; tallies skip their failures. */
  get set(): ReadonlySet<string> {
    return this.#suspects;
  }

  /** Records which agents alone see `system` failing now. */
  note(system: string, lonely: readonly string[]): void {
    const prev = this.#bySystem.get(system) ?? [];
    if (lonely.length === 0 && prev.length === 0) return;
    for (const a of prev)
      if (!lonely.includes(a)) {
        this.#byAgent.get(a)?.delete(system);
        this.#dirty.add(a);
      }
    for (const a of lonely) {
      let set = this.#byAgent.get(a);
      if (set === undefined) this.#byAgent.set(a, (set = new Set()));
      if (set.has(system)) continue;
      set.add(system);
      this.#dirty.add(a);
    }
    if (lonely.length === 0) this.#bySystem.delete(system);
    else this.#bySystem.set(system, lonely);
  }

  /**
   * Decides the changed agents: suspect when it alone sees at least two unrelated systems fail
   * (neither depends on the other). Raises and clears `agent_suspect`; returns whether the set of
   * suspects changed.
   */
  refresh(now: number, alerts: AlertBook, events: AlertEvent[]): boolean {
    if (this.#dirty.size === 0) return false;
    let changed = false;
    for (const agent of this.#dirty) {
      const lonely = this.#byAgent.get(agent);
      const key = alertKey('agent_suspect', agent);
      if (lonely !== undefined && this.#agents.has(agent) && this.#hasUnrelated(lonely)) {
        alerts.raise({ key, kind: 'agent_suspect', agent, since: now, systems: [...lonely].sort() }, events);
        if (!this.#suspects.has(agent)) changed = true;
        this.#suspects.add(agent);
      } else {
        alerts.clear(key, now, events);
        if (this.#suspects.delete(agent)) changed = true;
      }
    }
    this.#dirty.clear();
    return changed;
  }

  #hasUnrelated(systems: ReadonlySet<string>): boolean {
    if (systems.size < 2) return false;
    const list = [...systems];
    for (let i = 0; i < list.length; i++)
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i] ?? '';
        const b = list[j] ?? '';
        if (!this.#upstream.get(a)?.has(b) && !this.#upstream.get(b)?.has(a)) return true;
      }
    return false;
  }
}
