// Long response times: a statistic of the fresh vantage points' response times compared with a
// threshold, with time and value hysteresis so that an alert neither fires on one slow result nor
// flaps around the threshold. Pure: the caller feeds it a value and the time.

export interface SlowRule {
  /** Threshold, ms. */
  slow: number;
  /** How long the statistic must stay over `slow` to fire, and under the clear level to resolve. */
  for: number;
  /** Percentile (0-100] of the response times compared with `slow`. */
  percentile: number;
}

/** A firing alert resolves only below this share of `slow`. */
export const CLEAR_RATIO = 0.9;

export interface SlowState {
  firing: boolean;
  /** When the statistic went over `slow` (pending), or under the clear level (while firing). */
  crossedAt?: number | undefined;
  /** When the alert fired; set while firing. */
  since?: number | undefined;
  /** The last statistic seen, ms. */
  value?: number | undefined;
}

/** Nearest-rank percentile of unsorted values; undefined for none. Sorts `values` in place. */
export function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  if (values.length === 1) return values[0];
  values.sort((a, b) => a - b);
  const rank = Math.min(values.length, Math.max(1, Math.ceil((p / 100) * values.length)));
  return values[rank - 1];
}

/**
 * The next state after seeing `value` (undefined: no fresh successful result, which changes
 * nothing) at `now`. Pending: over `slow` since `crossedAt`; fires after `for`. Firing: under
 * CLEAR_RATIO x `slow` since `crossedAt`; resolves after `for`.
 */
export function stepSlow(state: SlowState, value: number | undefined, now: number, rule: SlowRule): SlowState {
  if (value === undefined) return state;
  if (!state.firing) {
    if (value <= rule.slow) return { firing: false, value };
    const crossedAt = state.crossedAt ?? now;
    if (now - crossedAt >= rule.for) return { firing: true, since: now, value };
    return { firing: false, crossedAt, value };
  }
  if (value > rule.slow * CLEAR_RATIO) return { firing: true, since: state.since, value };
  const crossedAt = state.crossedAt ?? now;
  if (now - crossedAt >= rule.for) return { firing: false, value };
  return { firing: true, since: state.since, crossedAt, value };
}
