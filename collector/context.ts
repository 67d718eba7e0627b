// What the HTTP routes see of a running collector.
import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import type { Diagnostic } from '../config/diagnostics.js';
import type { ExternalReports } from './external-reports.js';
import type { Ingest } from './ingest.js';
import type { LatestResults } from './latest.js';
import type { CollectorMetrics } from './metrics.js';
import type { Model } from './model.js';
import type { MaintenanceCalendar } from './status/maintenance.js';
import type { StatusTracker } from './status/tracker.js';
import type { Store } from './store/types.js';

export type ReloadResult = { ok: true; revision: string; changed: boolean } | { ok: false; problems: Diagnostic[] };

export interface CollectorContext {
  readonly log: Logger;
  readonly clock: Clock;
  readonly store: Store;
  readonly latest: LatestResults;
  readonly tracker: StatusTracker;
  readonly maintenance: MaintenanceCalendar;
  /** Re-derives every status now and stores what changed (after a window is announced). */
  evaluate(): void;
  readonly metrics: CollectorMetrics;
  readonly ingest: Ingest;
  /** The configuration in force now (swapped by reload). */
  model(): Model;
  /** Store open, server listening, not shutting down. */
  ready(): boolean;
  /** Whether a configuration file is known to reload from. */
  canReload(): boolean;
  reload(): Promise<ReloadResult>;
  /** Reports from external sources (other monitoring systems), and whose token a bearer token is. */
  readonly external: { reports: ExternalReports; identify(token: string): string | undefined };
}
