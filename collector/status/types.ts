// The status vocabulary is Statuspage's (CONTRACT §4); the views are what an end user perceives
// (after dependencies) and the system's own health.
export type Status =
  | 'operational'
  | 'degraded_performance'
  | 'partial_outage'
  | 'major_outage'
  | 'under_maintenance'
  | 'unknown';

export const STATUSES: readonly Status[] = [
  'operational',
  'degraded_performance',
  'partial_outage',
  'major_outage',
  'under_maintenance',
  'unknown',
];

export type View = 'perceived' | 'own';
export const VIEWS: readonly View[] = ['perceived', 'own'];

/** A system's current status as the collector publishes it. */
export interface SystemStatus {
  /** Perceived by end users (after dependencies). */
  status: Status;
  own_status: Status;
  /** Systems that explain `status` when it is worse than `own_status`. */
  cause: string[];
  /** When `status` last changed, epoch ms. */
  since: number;
  /** When `own_status` last changed, epoch ms. */
  own_since: number;
}
