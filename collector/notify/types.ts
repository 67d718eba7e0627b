// Notifications (issue 8): what happened, as one message, and the channels that deliver it.
// Events come from the status engine's changes, service windows, operators' incident updates and
// announcements (events.ts); every event is queued per channel in the database before it is sent
// (outbox.ts), so none is lost to a restart and none is sent twice to a channel after success.
import type { NotificationConfig } from '../../config/schema.js';
import type { AnnouncementKind } from '../store/types.js';
import type { OperatorStatus } from '../status/incidents.js';
import type { Status } from '../status/types.js';

/** The configuration's event names (`notifications[].events`). */
export type NotifyEventKind = NonNullable<NotificationConfig['events']>[number];

export type Localized = { da: string; en?: string };

export interface NotifySystem {
  id: string;
  name: string;
  /** Perceived by end users. */
  status: Status;
  own_status: Status;
  /** Root systems that explain `status`. */
  cause: string[];
  /** When `status` began, epoch ms. */
  since: number;
  /** Its page on the status portal (absolute when collector.public_url is set). */
  url: string;
}

/** `cancelled`: called off before it started (DELETE /api/v1/maintenance/{id}). */
export type MaintenancePhase = 'announced' | 'started' | 'ended' | 'cancelled';

export interface NotifyMaintenance {
  id: string;
  phase: MaintenancePhase;
  title: Localized;
  /** As planned, epoch ms. */
  start: number;
  end: number;
  /** `ended` by a cancel while in progress, at the event's `at` rather than at `end`. */
  ended_early?: true;
}

export interface NotifyEvent {
  /** Stable for the same happening, also across restarts: the outbox's idempotency key. */
  id: string;
  kind: NotifyEventKind;
  /** When it happened, epoch ms. */
  at: number;
  /**
   * The systems it is about. A burst (one root cause taking down its dependants) is one event: the
   * root first, then every dependant, so one message names the cause.
   */
  systems: NotifySystem[];
  /** Root systems that explain it; empty when the systems' own health does. */
  cause: string[];
  incident?: { id: number; priority: number; operator_status: OperatorStatus | null; message?: Localized; url: string };
  maintenance?: NotifyMaintenance;
  announcement?: { id: string; kind: AnnouncementKind; title: Localized; body: Localized; at: number; link?: string };
  links: { status_page: string };
}

export type ChannelType = 'webhook' | 'slack' | 'teams' | 'email';

export interface Channel {
  /** `notifications[].id`, or `subscription:<id>` for a subscriber. */
  readonly id: string;
  readonly type: ChannelType;
  /** Systems it wants; undefined: all. */
  readonly systems: readonly string[] | undefined;
  /** Events it wants; undefined: all. */
  readonly events: readonly NotifyEventKind[] | undefined;
  /** A status must hold this long before a message (flap damping), ms; default 0 for outages. */
  readonly holdMs: number;
  readonly lang: 'da' | 'en';
  /** Resolves when the receiver accepted the message; rejects (with a short reason) to be retried. */
  send(event: NotifyEvent): Promise<void>;
}
