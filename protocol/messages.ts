// The agent <-> collector wire protocol: JSON text frames over one WebSocket at /agent.
// Both ends import this module, so the shapes cannot drift. docs/protocol.md describes it.
import type { ProbeConfig } from '../config/schema.js';

/** Bumped on an incompatible change; the collector refuses versions it does not speak. */
export const PROTOCOL_VERSION = 1;
export const SUPPORTED_VERSIONS: readonly number[] = [1];

/** Frame and batch limits, enforced by the collector and respected by the agent. */
export const LIMITS = {
  maxFrameBytes: 1_048_576,
  maxBatchResults: 1000,
  maxErrorMessageChars: 1000,
  /** A day: no probe runs longer, and absurd values would wreck the duration histograms. */
  maxDurationMs: 86_400_000,
  /** `detail` is stored and served as is; JSON.stringify recurses, so depth must be bounded. */
  maxDetailDepth: 32,
} as const;

/** WebSocket close codes beyond the standard ones (4000-4999 are for applications). */
export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
  /** A frame that is not valid JSON or not a valid message. */
  invalidFrame: 1007,
  policy: 1008,
  tooBig: 1009,
  unsupportedVersion: 4000,
  /** The same agent id connected again; the older connection is closed. */
  replaced: 4001,
  /** No hello within the handshake time. */
  helloTimeout: 4002,
} as const;

export type Phase = 'dns' | 'connect' | 'tls' | 'ttfb' | 'transfer';
export const PHASES: readonly Phase[] = ['dns', 'connect', 'tls', 'ttfb', 'transfer'];

/** Stable error codes a failed probe carries; a failed probe is data, not an exception. */
export type ProbeErrorCode =
  | 'timeout'
  | 'dns'
  | 'connect'
  | 'tls'
  | 'http_status'
  | 'body_mismatch'
  | 'header_mismatch'
  | 'too_slow'
  | 'too_many_redirects'
  | 'protocol'
  | 'expect_failed'
  | 'extract_failed'
  | 'certificate'
  | 'resources_failed'
  | 'unsupported'
  | 'secret_missing'
  /** Not a probe: an external source (Zabbix, Alertmanager, ...) reported the failure. */
  | 'reported'
  | 'internal';

/** What a probe run produced. Durations in milliseconds; times in epoch milliseconds. */
export interface ProbeOutcome {
  ok: boolean;
  /** Whole run, as measured by the runner on a monotonic clock. */
  duration_ms: number;
  phases: Partial<Record<Phase, number>>;
  /** HTTP status of the final response, where there was one. */
  status_code?: number;
  error?: { code: ProbeErrorCode; message: string };
  /** Leaf certificate's notAfter in epoch seconds, for https/tls probes. */
  tls_expiry?: number;
  /** Small, type-specific facts: redirect count, bytes, flow steps, resolved addresses. */
  detail?: Record<string, unknown>;
}

/**
 * One HTTP request on the wire, as a flow step or a page load records it in `detail`: the request
 * itself and every redirect hop it followed, each timed. URLs never carry a secret's value.
 */
export interface RequestDetail {
  method: string;
  url: string;
  /** Absent when no response arrived. */
  status?: number;
  /** From the start of this request to the end of its body (or its failure). */
  duration_ms: number;
  phases: Partial<Record<Phase, number>>;
  bytes?: number;
  /** Milliseconds after the probe started: a waterfall. */
  start_ms: number;
}

/** A flow's `detail.steps[i]`. */
export interface StepDetail {
  index: number;
  name: string;
  ok: boolean;
  duration_ms: number;
  /** Final status after redirects. */
  status_code?: number;
  /** The request and each redirect hop it followed, in order. */
  requests: RequestDetail[];
  /** Set on the failed step only. */
  error?: { code: ProbeErrorCode; message: string; expected?: string; got?: string };
}

/** One result as it travels from agent to collector. */
export interface ResultRecord extends ProbeOutcome {
  /** Agent-local sequence number, strictly increasing; (agent, seq) identifies a result. */
  seq: number;
  system: string;
  probe: string;
  /** When the probe started, epoch milliseconds (agent clock). */
  ts: number;
}

/** A probe as the collector assigns it, defaults resolved. */
export type ProbeSpec = ProbeConfig & {
  system: string;
  interval: number;
  timeout: number;
  retries: number;
};

// ---- messages -----------------------------------------------------------------------------------

export interface HelloMessage {
  type: 'hello';
  protocol: number;
  agent: string;
  version: string;
  /** Highest seq the agent has produced so far; informative. */
  last_seq?: number;
}

export interface WelcomeMessage {
  type: 'welcome';
  protocol: number;
  agent: string;
  /** Heartbeat period the collector expects, ms. */
  heartbeat_ms: number;
}

export interface AssignmentMessage {
  type: 'assignment';
  /** Changes whenever the set of probes changes. */
  revision: string;
  probes: ProbeSpec[];
}

export interface ResultsMessage {
  type: 'results';
  /** Agent-chosen batch id, echoed in the ack. */
  batch: number;
  results: ResultRecord[];
}

export interface AckMessage {
  type: 'ack';
  batch: number;
  /** Seqs from the batch that were stored (or already stored). */
  accepted: number;
  /** Seqs refused as invalid; they will never be accepted, so the agent drops them. */
  rejected: number[];
}

export interface ErrorMessage {
  type: 'error';
  code: 'invalid_frame' | 'invalid_message' | 'unsupported_version' | 'not_hello' | 'rate_limited' | 'internal';
  message: string;
}

export type AgentMessage = HelloMessage | ResultsMessage;
export type CollectorMessage = WelcomeMessage | AssignmentMessage | AckMessage | ErrorMessage;
