// One interface for every probe type, as blackbox_exporter's prober/: the runner owns the timeout,
// the total duration and success; a prober reports what it saw and never throws for a failed probe.
import type { ProbeConfig, ProbeType } from '../config/schema.js';
import type { ProbeOutcome } from '../protocol/messages.js';

export interface ProbeContext {
  /** Aborted when the probe's timeout runs out or the agent shuts down. */
  signal: AbortSignal;
  /** CONTRACT §3: `vagt-agent/<version> (+agent=<id>)`. */
  userAgent: string;
  timeoutMs: number;
  /** Resolves `${secret:NAME}` from the agent's own environment (issue 3). */
  secret?: (name: string) => string | undefined;
}

/** What a prober returns; the runner adds the total duration. */
export type ProbeReport = Omit<ProbeOutcome, 'duration_ms'>;

export type Prober<C extends ProbeConfig = ProbeConfig> = (config: C, ctx: ProbeContext) => Promise<ProbeReport>;

export type ProberRegistry = { [T in ProbeType]?: Prober<Extract<ProbeConfig, { type: T }>> };
