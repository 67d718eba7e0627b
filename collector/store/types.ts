// The storage interface. SQLite implements it today, an in-memory store backs tests, and a
// PostgreSQL store can be added later: every method is async for that reason, and both existing
// stores pass one shared test suite (tests/collector/store-suite.ts), as gatus does.
import type { ResultRecord } from '../../protocol/messages.js';
import type { Status, View } from '../status/types.js';

/** A result as stored: the wire record plus the agent that sent it and when it arrived (collector clock). */
export interface StoredResult extends ResultRecord {
  agent: string;
  received_at: number;
}

export interface ResultQuery {
  system?: string;
  probe?: string;
  agent?: string;
  /** Inclusive, epoch ms (of `ts`). */
  from?: number;
  /** Exclusive, epoch ms (of `ts`). */
  to?: number;
  limit: number;
}

export interface StatusChange {
  system: string;
  view: View;
  status: Status;
  cause: string[];
  /** Epoch ms. */
  at: number;
}

export interface StatusChangeQuery {
  system?: string;
  view?: View;
  from?: number;
  to?: number;
  limit?: number;
}

export interface AgentSeen {
  id: string;
  /** Epoch ms. */
  last_seen: number;
  version: string | null;
  remote_address: string | null;
}

export interface Store {
  readonly kind: string;
  /** False once closed; /readyz reports it. */
  readonly open: boolean;
  /**
   * Stores results in one transaction, once per (agent, seq): a resent result is ignored. Returns,
   * per row, true when it was new and false when it was a duplicate. Also keeps the latest result
   * per (system, probe, agent).
   */
  insertResults(rows: readonly StoredResult[]): Promise<boolean[]>;
  /** Results oldest first (by ts, then arrival), at most `limit`. */
  queryResults(q: ResultQuery): Promise<StoredResult[]>;
  /** The latest result (by ts, then seq) per (system, probe, agent), for a warm start. */
  latestResults(): Promise<StoredResult[]>;
  /** Highest seq stored for an agent, to warn when an agent's sequence starts over. */
  maxSeq(agent: string): Promise<number | undefined>;
  recordStatusChanges(changes: readonly StatusChange[]): Promise<void>;
  /** Status changes oldest first. */
  statusChanges(q?: StatusChangeQuery): Promise<StatusChange[]>;
  /** The last change per (system, view), so `since` survives a restart. */
  latestStatuses(): Promise<StatusChange[]>;
  recordAgentsSeen(agents: readonly AgentSeen[]): Promise<void>;
  agents(): Promise<AgentSeen[]>;
  /** Deletes results with ts < before; returns how many. */
  pruneResults(before: number): Promise<number>;
  close(): Promise<void>;
}

/** Orders two results of the same (system, probe, agent): later ts wins, then higher seq. */
export function isNewer(a: { ts: number; seq: number }, b: { ts: number; seq: number }): boolean {
  return a.ts > b.ts || (a.ts === b.ts && a.seq > b.seq);
}
