// An in-memory Store: the reference behaviour for the shared suite and a fast store for tests.
// It behaves as SQLite does, down to a closed store rejecting rather than throwing.
import { VagtError } from '../../lib/errors.js';
import {
  isNewer,
  type AgentSeen,
  type ResultQuery,
  type StatusChange,
  type StatusChangeQuery,
  type Store,
  type StoredResult,
} from './types.js';

const key = (...parts: (string | number)[]): string => parts.join('\u0000');
const copyChange = (c: StatusChange): StatusChange => ({ ...c, cause: [...c.cause] });

export class MemoryStore implements Store {
  readonly kind = 'memory';
  #open = true;
  #results: StoredResult[] = [];
  #seen = new Set<string>();
  #latest = new Map<string, StoredResult>();
  #changes: StatusChange[] = [];
  #agents = new Map<string, AgentSeen>();

  get open(): boolean {
    return this.#open;
  }

  #run<T>(fn: () => T): Promise<T> {
    if (!this.#open) return Promise.reject(new VagtError('VAGT_ERR_STORE', 'the store is closed'));
    return Promise.resolve(fn());
  }

  insertResults(rows: readonly StoredResult[]): Promise<boolean[]> {
    return this.#run(() =>
      rows.map((r) => {
        const k = key(r.agent, r.seq);
        if (this.#seen.has(k)) return false;
        this.#seen.add(k);
        const copy = structuredClone(r);
        this.#results.push(copy);
        const lk = key(r.system, r.probe, r.agent);
        const prev = this.#latest.get(lk);
        if (prev === undefined || isNewer(copy, prev)) this.#latest.set(lk, copy);
        return true;
      }),
    );
  }

  queryResults(q: ResultQuery): Promise<StoredResult[]> {
    return this.#run(() =>
      this.#results
        .map((r, i) => ({ r, i }))
        .filter(
          ({ r }) =>
            (q.system === undefined || r.system === q.system) &&
            (q.probe === undefined || r.probe === q.probe) &&
            (q.agent === undefined || r.agent === q.agent) &&
            (q.from === undefined || r.ts >= q.from) &&
            (q.to === undefined || r.ts < q.to),
        )
        .sort((a, b) => a.r.ts - b.r.ts || a.i - b.i)
        .slice(0, q.limit)
        .map(({ r }) => structuredClone(r)),
    );
  }

  latestResults(): Promise<StoredResult[]> {
    return this.#run(() => [...this.#latest.values()].map((r) => structuredClone(r)));
  }

  maxSeq(agent: string): Promise<number | undefined> {
    return this.#run(() => {
      let max: number | undefined;
      for (const r of this.#results) if (r.agent === agent && (max === undefined || r.seq > max)) max = r.seq;
      return max;
    });
  }

  recordStatusChanges(changes: readonly StatusChange[]): Promise<void> {
    return this.#run(() => {
      for (const c of changes) this.#changes.push(copyChange(c));
    });
  }

  statusChanges(q: StatusChangeQuery = {}): Promise<StatusChange[]> {
    return this.#run(() =>
      this.#changes
        .map((c, i) => ({ c, i }))
        .filter(
          ({ c }) =>
            (q.system === undefined || c.system === q.system) &&
            (q.view === undefined || c.view === q.view) &&
            (q.from === undefined || c.at >= q.from) &&
            (q.to === undefined || c.at < q.to),
        )
        .sort((a, b) => a.c.at - b.c.at || a.i - b.i)
        .slice(0, q.limit ?? Infinity)
        .map(({ c }) => copyChange(c)),
    );
  }

  latestStatuses(): Promise<StatusChange[]> {
    return this.#run(() => {
      // The order of record decides what "last" means, as SQLite's MAX(id) does.
      const last = new Map<string, StatusChange>();
      for (const c of this.#changes) last.set(key(c.system, c.view), c);
      return [...last.values()].map(copyChange);
    });
  }

  recordAgentsSeen(agents: readonly AgentSeen[]): Promise<void> {
    return this.#run(() => {
      for (const a of agents) {
        const prev = this.#agents.get(a.id);
        if (prev === undefined || a.last_seen >= prev.last_seen) this.#agents.set(a.id, { ...a });
      }
    });
  }

  agents(): Promise<AgentSeen[]> {
    return this.#run(() =>
      [...this.#agents.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((a) => ({ ...a })),
    );
  }

  pruneResults(before: number): Promise<number> {
    return this.#run(() => {
      const keep: StoredResult[] = [];
      for (const r of this.#results) {
        if (r.ts >= before) keep.push(r);
        else this.#seen.delete(key(r.agent, r.seq));
      }
      const removed = this.#results.length - keep.length;
      this.#results = keep;
      return removed;
    });
  }

  close(): Promise<void> {
    this.#open = false;
    return Promise.resolve();
  }
}
