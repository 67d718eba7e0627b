// The notifier: what the collector creates to tell channels what happened. It turns the status
// engine's changes, service windows, operators' incident updates and announcements into events
// (events.ts), and hands each to the durable outbox (outbox.ts) for every channel that wants it.
//
// Channels come from the configuration (`notifications`), made by a factory per type (webhook,
// slack and teams here; `email` registered by the e-mail module), and from sources of channels
// beyond the configuration (one per confirmed subscriber). Both are read again on every dispatch
// round, so a reload or a new subscriber takes effect without a restart.
import type { Logger } from 'pino';
import type { NotificationConfig } from '../../config/schema.js';
import type { Clock } from '../../lib/clock.js';
import { errorMessage } from '../../lib/errors.js';
import type { Model } from '../model.js';
import type { Incident, IncidentUpdate } from '../status/incidents.js';
import type { MaintenanceWindow } from '../status/maintenance.js';
import type { Evaluation } from '../status/tracker.js';
import type { SystemStatus } from '../status/types.js';
import type { Announcement, ChannelBacklog, StatusChange, Store } from '../store/types.js';
import { EventBuilder, type BurstTuning } from './events.js';
import { Outbox, type ChannelDirectory, type OutboxTuning } from './outbox.js';
import type { Channel, ChannelType, NotifyEvent } from './types.js';
import { httpChannel } from './webhook.js';

/** What a channel factory or source may use. */
export interface ChannelEnv {
  /** The configuration in force now (it changes on reload). */
  model(): Model;
  store: Store;
  log: Logger;
  clock: Clock;
  /** Where links point: collector.public_url, else the collector's own address; no trailing slash. */
  baseUrl(): string;
}

/** Makes the channel(s) of one `notifications` entry; undefined when it cannot (yet). */
export type ChannelFactory = (n: NotificationConfig, env: ChannelEnv) => Channel | readonly Channel[] | undefined;
/**
 * Channels beyond the configuration, read on every dispatch round (keep it cheap). Undefined while
 * it does not know yet (nothing of its channels is dropped then); a channel it stops returning is
 * gone, and its pending messages are dropped.
 */
export type ChannelSource = (env: ChannelEnv) => readonly Channel[] | undefined;

const registeredFactories = new Map<ChannelType, ChannelFactory>();
const registeredSources = new Set<ChannelSource>();

/** Registers the factory of a channel type for every notifier (the e-mail module registers `email`). */
export function registerChannelType(type: ChannelType, factory: ChannelFactory): void {
  registeredFactories.set(type, factory);
}

/** Registers a source of channels for every notifier (subscribers); returns its removal. */
export function registerChannelSource(source: ChannelSource): () => void {
  registeredSources.add(source);
  return () => registeredSources.delete(source);
}

/** Channels of these types may be several per entry, with ids `<entry id>:<something>`. */
const MULTI: ReadonlySet<ChannelType> = new Set(['email']);

/** The metric label of a channel: its entry's id; all subscribers together as `subscription`. */
export const channelLabel = (id: string): string => id.split(':')[0] ?? id;

export interface NotifyMetrics {
  notificationSent(channel: string): void;
  notificationFailed(channel: string): void;
  notificationRetried(channel: string): void;
  notificationDropped(channel: string, n: number): void;
  /** Pending per channel label; labels of configured channels are there with 0. */
  notificationPending(byChannel: ReadonlyMap<string, number>): void;
}

export interface NotifyTuning {
  burst: Partial<BurstTuning>;
  outbox: Partial<OutboxTuning>;
  /** Finished deliveries are kept this long (idempotency), then pruned. */
  keepMs: number;
  maintenanceCatchUpMs: number;
}

const KEEP_MS = 7 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;
/** Service windows are looked at this often at most (their starts and ends). */
const WINDOWS_EVERY_MS = 1000;

export interface NotifierOptions {
  store: Store;
  clock: Clock;
  log: Logger;
  model: () => Model;
  /** The engine's current status of a system. */
  current: (id: string) => SystemStatus | undefined;
  /** Every service window (configured and announced). */
  windows: (now: number) => readonly MaintenanceWindow[];
  metrics?: NotifyMetrics;
  /** Factories by type, before the registered ones and the built-in webhook, slack and teams. */
  factories?: Partial<Record<ChannelType, ChannelFactory>>;
  /** Channels beyond the configuration, besides the registered sources. */
  extraChannels?: () => readonly Channel[] | undefined;
  tuning?: Partial<NotifyTuning>;
  random?: () => number;
}

interface Configured {
  model: Model;
  channels: Channel[];
  /** Entry id -> whether its factory made its channels. */
  entries: Map<string, { type: ChannelType; ok: boolean }>;
}

export class Notifier {
  readonly #o: NotifierOptions;
  readonly #log: Logger;
  readonly #events: EventBuilder;
  readonly #outbox: Outbox;
  readonly #env: ChannelEnv;
  readonly #keepMs: number;
  #base = 'http://127.0.0.1';
  #configured: Configured | undefined;
  /** Events made before start(), queued then. */
  #early: { event: NotifyEvent; supersedes: readonly string[] }[] = [];
  #started = false;
  #closed = false;
  #flushTimer: NodeJS.Timeout | undefined;
  #flushAt: number | undefined;
  #windowsCheckedAt = -Infinity;
  #windowsSoon: NodeJS.Immediate | undefined;
  #timers: NodeJS.Timeout[] = [];
  /** Lookups under way (an incident for its update), awaited on close. */
  readonly #tasks = new Set<Promise<unknown>>();

  constructor(o: NotifierOptions) {
    this.#o = o;
    this.#log = o.log.child({ component: 'notify' });
    this.#keepMs = o.tuning?.keepMs ?? KEEP_MS;
    this.#env = { model: o.model, store: o.store, log: this.#log, clock: o.clock, baseUrl: () => this.#baseUrl() };
    this.#events = new EventBuilder(
      {
        name: (id) => o.model().systemById.get(id)?.name ?? id,
        systemUrl: (id) => `${this.#baseUrl()}/systems/${encodeURIComponent(id)}`,
        statusPage: () => `${this.#baseUrl()}/`,
        current: o.current,
        order: (id) => this.#orderOf(id),
      },
      {
        ...(o.tuning?.burst === undefined ? {} : { burst: o.tuning.burst }),
        ...(o.tuning?.maintenanceCatchUpMs === undefined ? {} : { maintenanceCatchUpMs: o.tuning.maintenanceCatchUpMs }),
      },
    );
    const metrics = o.metrics;
    this.#outbox = new Outbox({
      store: o.store,
      clock: o.clock,
      log: this.#log,
      channels: () => this.#directory(),
      ...(o.tuning?.outbox === undefined ? {} : { tuning: o.tuning.outbox }),
      ...(o.random === undefined ? {} : { random: o.random }),
      ...(metrics === undefined
        ? {}
        : {
            metrics: {
              sent: (c) => metrics.notificationSent(channelLabel(c)),
              failed: (c) => metrics.notificationFailed(channelLabel(c)),
              retried: (c) => metrics.notificationRetried(channelLabel(c)),
              dropped: (c, n) => metrics.notificationDropped(channelLabel(c), n),
              pending: (backlog) => metrics.notificationPending(this.#pendingByLabel(backlog)),
            },
          }),
    });
  }

  #order: { model: Model; index: Map<string, number> } | undefined;

  #orderOf(id: string): number {
    const model = this.#o.model();
    if (this.#order?.model !== model) this.#order = { model, index: new Map(model.systems.map((s, i) => [s.id, i])) };
    return this.#order.index.get(id) ?? model.systems.length;
  }

  #baseUrl(): string {
    return (this.#o.model().config.collector.public_url ?? this.#base).replace(/\/+$/, '');
  }

  #pendingByLabel(backlog: readonly ChannelBacklog[]): Map<string, number> {
    const out = new Map<string, number>();
    for (const id of this.#configuredNow().entries.keys()) out.set(id, 0);
    for (const b of backlog) out.set(channelLabel(b.channel), (out.get(channelLabel(b.channel)) ?? 0) + b.pending);
    return out;
  }

  /** The configured channels, made again when the configuration changed. */
  #configuredNow(): Configured {
    const model = this.#o.model();
    if (this.#configured?.model === model) return this.#configured;
    const channels: Channel[] = [];
    const entries = new Map<string, { type: ChannelType; ok: boolean }>();
    for (const n of model.config.notifications) {
      const factory = this.#o.factories?.[n.type] ?? registeredFactories.get(n.type) ?? (n.type === 'email' ? undefined : httpChannel);
      let made: Channel | readonly Channel[] | undefined;
      try {
        made = factory?.(n, this.#env);
      } catch (err) {
        this.#log.warn({ channel: n.id, err: errorMessage(err) }, 'the notification channel could not be set up');
      }
      if (made === undefined) {
        if (factory === undefined) this.#log.warn({ channel: n.id, type: n.type }, `no ${n.type} channels in this collector; its messages wait`);
        entries.set(n.id, { type: n.type, ok: false });
        continue;
      }
      entries.set(n.id, { type: n.type, ok: true });
      for (const c of Array.isArray(made) ? (made as readonly Channel[]) : [made as Channel]) channels.push(c);
    }
    this.#configured = { model, channels, entries };
    this.#o.metrics?.notificationPending(new Map([...entries.keys()].map((id) => [id, 0])));
    return this.#configured;
  }

  #directory(): ChannelDirectory & { extrasKnown: boolean } {
    const conf = this.#configuredNow();
    const seen = new Set<string>();
    const channels: Channel[] = [];
    const add = (c: Channel): void => {
      if (seen.has(c.id)) return;
      seen.add(c.id);
      channels.push(c);
    };
    for (const c of conf.channels) add(c);
    let extrasKnown = true;
    const sources: (() => readonly Channel[] | undefined)[] = [];
    if (this.#o.extraChannels !== undefined) sources.push(this.#o.extraChannels);
    for (const s of registeredSources) sources.push(() => s(this.#env));
    for (const source of sources) {
      let list: readonly Channel[] | undefined;
      try {
        list = source();
      } catch (err) {
        this.#log.warn({ err: errorMessage(err) }, 'listing notification channels failed');
      }
      if (list === undefined) extrasKnown = false;
      else for (const c of list) add(c);
    }
    const gone = (id: string): boolean => {
      const exact = conf.entries.get(id);
      if (exact !== undefined) return exact.ok;
      const prefix = id.split(':')[0] ?? id;
      const owner = id.includes(':') ? conf.entries.get(prefix) : undefined;
      if (owner !== undefined && MULTI.has(owner.type)) return owner.ok;
      return extrasKnown;
    };
    return { channels, gone, extrasKnown };
  }

  /** Every channel in force now: the configured ones and those of the sources. */
  channels(): Channel[] {
    return [...this.#directory().channels];
  }

  /**
   * The statuses from before a restart (the last change per system and view), so that restoring
   * them is no news; for a system whose last status was unknown, the last known one before it.
   */
  async restore(changes: readonly StatusChange[]): Promise<void> {
    this.#events.restore(changes);
    for (const system of this.#events.unknownAfterRestore(changes)) {
      const last = changes.find((c) => c.system === system && c.view === 'perceived');
      const from = (last?.at ?? this.#o.clock.now()) - 30 * 86_400_000;
      const history = await this.#o.store.statusChanges({ system, view: 'perceived', from, limit: 100_000 });
      const known = history.filter((c) => c.status !== 'unknown').at(-1);
      if (known !== undefined) this.#events.restore([known]);
    }
  }

  /** Starts dispatching (pending deliveries from before a restart first); `baseUrl` is the collector's own address. */
  async start(baseUrl: string): Promise<void> {
    this.#base = baseUrl;
    await this.#outbox.start();
    this.#started = true;
    const early = this.#early;
    this.#early = [];
    for (const e of early) this.#enqueue(e.event, e.supersedes);
    this.#checkWindows(true);
    this.#scheduleFlush();
    const prune = (): void => {
      if (this.#closed || !this.#o.store.open) return;
      this.#o.store
        .pruneDeliveries(this.#o.clock.now() - this.#keepMs)
        .then((n) => {
          if (n > 0) this.#log.debug({ removed: n }, 'old notification deliveries pruned');
        })
        .catch((err: unknown) => this.#log.warn({ err: errorMessage(err) }, 'pruning notification deliveries failed'));
    };
    prune();
    this.#timers.push(setInterval(prune, PRUNE_EVERY_MS), setInterval(() => this.#checkWindows(false), WINDOWS_EVERY_MS));
    for (const t of this.#timers) t.unref();
  }

  /** What one evaluation of the status engine changed. */
  onEvaluation(ev: Evaluation): void {
    if (this.#closed) return;
    if (ev.changes.length > 0) {
      this.#events.statusChanges(ev.changes);
      this.#scheduleFlush();
    }
    this.#checkWindows(false);
  }

  /** A service window was announced or cancelled: look at the windows now rather than in a second. */
  maintenanceChanged(): void {
    if (this.#closed) return;
    this.#windowsSoon ??= setImmediate(() => {
      this.#windowsSoon = undefined;
      this.#checkWindows(true);
    });
  }

  /** An announced window was cancelled: told unless it is over; what still waits of it is withdrawn. */
  maintenanceCancelled(w: MaintenanceWindow): void {
    if (this.#closed) return;
    const c = this.#events.maintenanceCancelled(w, this.#o.clock.now());
    if (c !== undefined) this.#enqueue(c.event, c.supersedes);
  }

  announcement(a: Announcement): void {
    if (!this.#closed) this.#enqueue(this.#events.announcement(a));
  }

  /** An update was added to incident `id`; operators' updates become events. */
  incidentUpdate(id: number, update: IncidentUpdate): void {
    if (this.#closed || update.operator === undefined) return;
    const task = this.#o.store
      .incidents({ id, limit: 1 })
      .then((found: Incident[]) => {
        const i = found[0];
        const e = i === undefined ? undefined : this.#events.incidentUpdate(i, update);
        if (e !== undefined) this.#enqueue(e);
      })
      .catch((err: unknown) => this.#log.warn({ incident: id, err: errorMessage(err) }, 'notifying an incident update failed'))
      .finally(() => this.#tasks.delete(task));
    this.#tasks.add(task);
  }

  #checkWindows(force: boolean): void {
    if (!this.#started || this.#closed) return;
    const now = this.#o.clock.now();
    if (!force && now - this.#windowsCheckedAt < WINDOWS_EVERY_MS) return;
    this.#windowsCheckedAt = now;
    for (const e of this.#events.maintenance(this.#o.windows(now), now)) this.#enqueue(e);
  }

  #scheduleFlush(): void {
    if (!this.#started || this.#closed) return;
    const at = this.#events.nextDueAt();
    if (at === undefined || (this.#flushAt !== undefined && this.#flushAt <= at)) return;
    if (this.#flushTimer !== undefined) clearTimeout(this.#flushTimer);
    this.#flushAt = at;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      this.#flushAt = undefined;
      this.#flush(false);
    }, Math.max(0, at - this.#o.clock.now()));
    this.#flushTimer.unref();
  }

  #flush(all: boolean): void {
    for (const e of this.#events.due(this.#o.clock.now(), all)) this.#enqueue(e);
    this.#scheduleFlush();
  }

  #enqueue(e: NotifyEvent, supersedes: readonly string[] = []): void {
    if (!this.#started) {
      this.#early.push({ event: e, supersedes });
      return;
    }
    this.#log.info({ event: e.id, kind: e.kind, systems: e.systems.map((s) => s.id) }, 'notification event');
    this.#outbox.enqueue(e, { supersedes }).catch((err: unknown) => this.#log.warn({ event: e.id, err: errorMessage(err) }, 'queueing a notification failed'));
  }

  /** Resolves when nothing is being queued or sent (tests). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.#tasks]);
    await this.#outbox.idle();
  }

  /** Queues what is still gathering, then stops; the store must still be open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#flushTimer !== undefined) clearTimeout(this.#flushTimer);
    if (this.#windowsSoon !== undefined) clearImmediate(this.#windowsSoon);
    for (const t of this.#timers) clearInterval(t);
    await Promise.allSettled([...this.#tasks]);
    if (this.#started) this.#flush(true);
    this.#closed = true;
    await this.#outbox.close();
  }
}

/**
 * The store as the HTTP routes see it: announcing or cancelling a service window, posting an
 * announcement and adding an operator's incident update also tell the notifier, once the write
 * succeeded. (The routes stay unaware of notifications; every write they make goes through the
 * store.)
 */
export function notifyingStore(
  store: Store,
  notifier: Pick<Notifier, 'maintenanceChanged' | 'maintenanceCancelled' | 'announcement' | 'incidentUpdate'>,
): Store {
  const hooks: Partial<Record<keyof Store, unknown>> = {
    insertMaintenance: async (w: MaintenanceWindow) => {
      const ok = await store.insertMaintenance(w);
      if (ok) notifier.maintenanceChanged();
      return ok;
    },
    deleteMaintenance: async (id: string) => {
      // The window as it was, for the message that it is called off.
      const w = (await store.maintenanceWindows()).find((x) => x.id === id);
      const ok = await store.deleteMaintenance(id);
      if (ok && w !== undefined) notifier.maintenanceCancelled(w);
      if (ok) notifier.maintenanceChanged();
      return ok;
    },
    insertAnnouncement: async (a: Announcement) => {
      const ok = await store.insertAnnouncement(a);
      if (ok) notifier.announcement(a);
      return ok;
    },
    addIncidentUpdate: async (incident: number, u: IncidentUpdate) => {
      const ok = await store.addIncidentUpdate(incident, u);
      if (ok) notifier.incidentUpdate(incident, u);
      return ok;
    },
  };
  return new Proxy(store, {
    get(target, prop, _receiver) {
      if (typeof prop === 'string' && prop in hooks) return hooks[prop as keyof Store];
      // The store's own methods run on the store itself (its private fields).
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
    },
  });
}
