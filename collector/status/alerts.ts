// Active alerts, keyed so that one condition is one alert: raising an active alert again only
// refreshes its figures, and clearing returns the event to store. Pure bookkeeping.

export type AlertKind = 'long_response_time' | 'agent_offline' | 'agent_suspect';

export const ALERT_KINDS: readonly AlertKind[] = ['long_response_time', 'agent_offline', 'agent_suspect'];

export interface Alert {
  /** Stable key of the condition: `long_response_time:nemlog-in`, `…:nemlog-in:login`, `agent_offline:kbh-1`. */
  key: string;
  kind: AlertKind;
  system?: string;
  probe?: string;
  agent?: string;
  /** When it fired, epoch ms. */
  since: number;
  /** long_response_time: the statistic, its percentile and the threshold, ms. */
  value_ms?: number;
  percentile?: number;
  threshold_ms?: number;
  /** agent_suspect: the systems that only this agent sees failing. */
  systems?: string[];
  /** agent_offline: its newest result, epoch ms. */
  last_result?: number | null;
}

export interface AlertEvent {
  type: 'raised' | 'resolved';
  alert: Alert;
  at: number;
}

export const alertKey = (kind: AlertKind, ...parts: string[]): string => [kind, ...parts].join(':');

export class AlertBook {
  readonly #active = new Map<string, Alert>();

  /** Alerts that were active before a restart. */
  restore(alerts: Iterable<Alert>): void {
    for (const a of alerts) this.#active.set(a.key, a);
  }

  get(key: string): Alert | undefined {
    return this.#active.get(key);
  }

  /** Raises `alert` unless its key is active (then only its figures are refreshed). */
  raise(alert: Alert, events: AlertEvent[]): void {
    const cur = this.#active.get(alert.key);
    if (cur !== undefined) {
      this.#active.set(alert.key, { ...alert, since: cur.since });
      return;
    }
    this.#active.set(alert.key, alert);
    events.push({ type: 'raised', alert, at: alert.since });
  }

  clear(key: string, now: number, events: AlertEvent[]): void {
    const cur = this.#active.get(key);
    if (cur === undefined) return;
    this.#active.delete(key);
    events.push({ type: 'resolved', alert: cur, at: now });
  }

  /** Clears every active alert that `keep` rejects (after a reload removed its subject). */
  retain(keep: (a: Alert) => boolean, now: number, events: AlertEvent[]): void {
    for (const a of [...this.#active.values()]) if (!keep(a)) this.clear(a.key, now, events);
  }

  active(): Alert[] {
    return [...this.#active.values()];
  }
}
