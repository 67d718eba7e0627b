// The collector: one port for the agents' WebSocket, the API, /metrics and the status page.
// This module only wires the parts together and owns start, reload and an orderly shutdown.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ROOT_PATH, type Diagnostic } from '../config/diagnostics.js';
import { loadConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { VagtError, errorMessage } from '../lib/errors.js';
import { CLOSE } from '../protocol/messages.js';
import { registerRoutes } from './api/routes.js';
import { TokenRing, type TokenEntry } from './auth.js';
import { CommitQueue } from './commit-queue.js';
import type { CollectorContext, ReloadResult } from './context.js';
import { Backfill } from './backfill.js';
import { ExternalReports } from './external-reports.js';
import { Ingest } from './ingest.js';
import { LatestResults } from './latest.js';
import { CollectorMetrics } from './metrics.js';
import { LOCAL_AGENT_ID, Model } from './model.js';
import { Notifier, notifyingStore, type NotifyTuning } from './notify/notifier.js';
import { Router, createHttpServer } from './server.js';
import { MaintenanceCalendar, configWindows } from './status/maintenance.js';
import { StatusTracker, type Evaluation, type TrackedSystem } from './status/tracker.js';
import { SqliteStore } from './store/sqlite.js';
import { UptimeGauges, uptimeTargets } from './uptime/gauges.js';
import { readTlsFiles } from './tls.js';
import type { StoredResult } from './store/types.js';

export interface CollectorOptions {
  /** Already loaded and validated. */
  config: Config;
  /** Where reload() re-reads the configuration from. */
  configPath?: string;
  /** "HOST:PORT"; overrides config.collector.listen. Tests use "127.0.0.1:0". */
  listen?: string;
  /** Overrides config.collector.data_dir; the SQLite file vagt.db lives here (created if missing). */
  dataDir?: string;
  /** Also run an agent in-process, id "local", with a random token known only in memory. */
  localAgent?: boolean;
  logger: Logger;
  clock?: Clock;
  /** How often vagt_system_uptime_ratio is recomputed; default a minute (tests go faster). */
  uptimeRefreshMs?: number;
  /** Notification timings (bursts, retries); tests make them short. */
  notify?: Partial<NotifyTuning>;
}

export interface Collector {
  /** e.g. "http://127.0.0.1:40123"; https:// with collector.tls */
  readonly url: string;
  readonly port: number;
  /** Re-reads configPath when no config is given; pushes new assignments to connected agents. */
  reload(config?: Config): Promise<ReloadResult>;
  /** Stops accepting, commits pending results, closes agent sockets with 1001, closes the DB. */
  close(): Promise<void>;
}

export type { ReloadResult } from './context.js';

/** Status is re-derived this often, so that silence turns a system unknown. */
const EVALUATE_MS = 1_000;
const AGENTS_SEEN_MS = 30_000;
const PRUNE_MS = 3_600_000;
/** vagt_system_uptime_ratio is recomputed this often. */
const UPTIME_MS = 60_000;

export function parseListen(listen: string): { host: string | undefined; port: number } {
  const i = listen.lastIndexOf(':');
  const port = Number(listen.slice(i + 1));
  if (i < 0 || !/^\d{1,5}$/.test(listen.slice(i + 1)) || port > 65535)
    throw new VagtError('VAGT_ERR_CONFIG', `listen: expected HOST:PORT like 127.0.0.1:9400, got "${listen}"`);
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host: host === '' ? undefined : host, port };
}

function trackedSystems(model: Model): TrackedSystem[] {
  const quorum = model.config.defaults.quorum;
  return model.systems.map((s) => ({
    id: s.id,
    depends_on: s.depends_on,
    response_time: s.response_time,
    quorum: (s.quorum ?? quorum) / 100,
    probes: (model.probesBySystem.get(s.id) ?? []).map((p) => ({
      id: p.id,
      interval: p.interval,
      timeout: p.timeout,
      retries: p.retries,
      agents: p.agents,
      response_time: p.response_time,
    })),
  }));
}

/** Systems, agents and incident priorities into the status engine. */
function track(tracker: StatusTracker, model: Model): void {
  const { critical, high } = model.config.defaults.priorities;
  const external = new Map([...model.external.values()].map((e) => [e.id, e.staleAfter]));
  tracker.setSystems(trackedSystems(model), model.agentIds, { critical: critical / 100, high: high / 100 }, external);
}

/** Tokens of the agents that connect over the WebSocket, or (`external`) of the sources that report over HTTP. */
function tokenRing(config: Config, localToken: string | undefined, external = false): TokenRing {
  // The loader guarantees one of token and token_sha256.
  const entries = config.agents.filter((a) => (a.external !== undefined) === external).flatMap((a): TokenEntry[] =>
    a.token !== undefined ? [{ id: a.id, token: a.token }] : a.token_sha256 !== undefined ? [{ id: a.id, sha256: a.token_sha256 }] : [],
  );
  if (localToken !== undefined && !external) entries.push({ id: LOCAL_AGENT_ID, token: localToken });
  return new TokenRing(entries);
}

export async function startCollector(opts: CollectorOptions): Promise<Collector> {
  const log = opts.logger;
  const clock = opts.clock ?? systemClock;
  const localAgent = opts.localAgent === true;
  const localToken = localAgent ? randomBytes(24).toString('base64url') : undefined;
  const listen = parseListen(opts.listen ?? opts.config.collector.listen);
  const dataDir = opts.dataDir ?? opts.config.collector.data_dir;
  // Before anything opens: an unreadable certificate is a configuration error.
  const tls = opts.config.collector.tls === undefined ? undefined : readTlsFiles(opts.config.collector.tls);

  let model = new Model(opts.config, { localAgent });
  let tokens = tokenRing(opts.config, localToken);
  let sources = tokenRing(opts.config, undefined, true);
  const store = SqliteStore.open(join(dataDir, 'vagt.db'));
  const latest = new LatestResults();
  const maintenance = new MaintenanceCalendar();
  maintenance.setConfigWindows(configWindows(opts.config.maintenance, clock.now()));
  const tracker = new StatusTracker({ clock, latest, maintenance });
  const uptimeGauges = new UptimeGauges();
  const metrics = new CollectorMetrics({
    latest: () => latest.all(),
    alerts: () => tracker.alertSeries(),
    uptime: () => uptimeGauges.series(),
    targets: () => uptimeTargets(model.systems, model.config.collector.timezone),
  });
  let closing = false;

  const notifier = new Notifier({
    store,
    clock,
    log,
    model: () => model,
    current: (id) => tracker.get(id),
    windows: (now) => maintenance.list(now),
    metrics,
    ...(opts.notify === undefined ? {} : { tuning: opts.notify }),
  });

  let tracked = new Map(trackedSystems(model).map((t) => [t.id, t]));
  const backfill = new Backfill({ store, clock, logger: log, maintenance, systems: () => tracked });

  const stored = (what: string) => (err: unknown) => log.warn({ err: errorMessage(err) }, `storing ${what} failed`);
  const applyChanges = (ev: Evaluation): void => {
    const { changes, alerts, incidents } = ev;
    for (const c of changes) {
      metrics.systemStatus(c.system, c.view, c.status);
      if (c.view === 'perceived') log.info({ system: c.system, status: c.status, cause: c.cause }, 'system status changed');
    }
    for (const e of alerts) log.info({ alert: e.alert.key, since: new Date(e.alert.since).toISOString() }, `alert ${e.type}`);
    for (const { incident: i, added } of incidents)
      for (const u of added) log.info({ incident: i.id, system: i.system, priority: u.priority, affected: u.affected }, `incident ${u.kind}`);
    if (changes.length > 0) store.recordStatusChanges(changes).catch(stored('status changes'));
    if (alerts.length > 0) store.recordAlertEvents(alerts).catch(stored('alerts'));
    if (incidents.length > 0) store.saveIncidents(incidents).catch(stored('incidents'));
    notifier.onEvaluation(ev);
  };
  /** Gauges for every system, including those whose restored status did not change. */
  const syncStatusMetrics = (): void => {
    for (const s of model.systems) {
      const st = tracker.get(s.id);
      if (st === undefined) continue;
      metrics.systemStatus(s.id, 'perceived', st.status);
      metrics.systemStatus(s.id, 'own', st.own_status);
    }
  };

  const onCommitted = (rows: readonly StoredResult[], inserted: readonly boolean[]): void => {
    let accepted = 0;
    const touched = new Set<string>();
    for (let i = 0; i < rows.length; i++) {
      if (inserted[i] !== true) continue;
      const r = rows[i]!;
      accepted++;
      // A reporter's duration is its own measurement: kept with the result, not in our histograms.
      if (!model.external.has(r.agent)) metrics.observe(r);
      backfill.note(r);
      if (latest.update(r)) {
        metrics.latest(r);
        touched.add(r.system);
      }
    }
    metrics.accepted(accepted);
    metrics.rejected('duplicate', rows.length - accepted);
    if (touched.size > 0) applyChanges(tracker.evaluate(touched));
  };

  const queue = new CommitQueue({ store, logger: log, onCommitted });
  const reports = new ExternalReports({ clock, queue, maxSeq: (agent) => store.maxSeq(agent) });
  const recordSeen = (seen: Parameters<typeof store.recordAgentsSeen>[0]): void => {
    if (!store.open) return;
    store.recordAgentsSeen(seen).catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'storing agents seen failed'));
  };
  // Warm start: the latest results and the statuses from before a restart.
  try {
    for (const r of await store.latestResults()) {
      if (!model.accepts(r.system, r.probe, r.agent)) continue;
      latest.update(r);
      metrics.latest(r);
    }
    for (const w of await store.maintenanceWindows()) maintenance.add(w);
    const restored = await store.latestStatuses();
    tracker.restore(restored);
    await notifier.restore(restored);
    const open = await store.incidents({ state: 'open', limit: 100_000 });
    tracker.restoreOpen(await store.alerts({ active: true, limit: 100_000 }), open, await store.maxIncidentId());
  } catch (err) {
    await store.close();
    throw err;
  }
  track(tracker, model);
  applyChanges(tracker.evaluate());
  syncStatusMetrics();
  for (const id of model.agentIds) metrics.agentConnected(id, false);

  const ingest = new Ingest({
    logger: log,
    clock,
    metrics,
    queue,
    identify: (token) => tokens.identify(token),
    assignment: (agent) => model.assignment(agent),
    onSeen: (seen) => recordSeen([seen]),
    maxSeq: (agent) => store.maxSeq(agent),
  });

  const router = new Router();
  const server = createHttpServer({
    router,
    logger: log,
    upgrades: { '/agent': (req, socket, head) => ingest.handleUpgrade(req, socket, head) },
    ...(tls === undefined ? {} : { tls }),
  });

  let reloading: Promise<ReloadResult> = Promise.resolve({ ok: true, revision: model.revision, changed: false });
  const doReload = (config?: Config): Promise<ReloadResult> => {
    // A SIGHUP during shutdown must not push assignments over closing sockets.
    if (closing) return Promise.resolve({ ok: false, problems: [{ path: ROOT_PATH, message: 'the collector is shutting down' }] });
    let next: Config;
    if (config !== undefined) next = config;
    else {
      if (opts.configPath === undefined)
        return Promise.resolve({
          ok: false,
          problems: [{ path: ROOT_PATH, message: 'the collector was started without a configuration file; nothing to reload' }],
        });
      const loaded = loadConfigFile(opts.configPath);
      if (!loaded.ok) return Promise.resolve({ ok: false, problems: loaded.problems });
      next = loaded.config;
    }
    let nextModel: Model;
    try {
      nextModel = new Model(next, { localAgent });
    } catch (err) {
      const problems: Diagnostic[] = [{ path: ROOT_PATH, message: errorMessage(err) }];
      return Promise.resolve({ ok: false, problems });
    }
    const prev = model;
    const changed = nextModel.revision !== prev.revision;
    for (const key of ['listen', 'data_dir'] as const)
      if (next.collector[key] !== prev.config.collector[key])
        log.warn({ key: `collector.${key}` }, 'this setting changes only when the collector restarts');
    if (JSON.stringify(next.collector.tls) !== JSON.stringify(prev.config.collector.tls))
      log.warn({ key: 'collector.tls' }, 'this setting changes only when the collector restarts');
    const nextTokens = tokenRing(next, localToken);
    for (const c of ingest.connections())
      if (!nextTokens.sameToken(tokens, c.agent)) ingest.disconnect(c.agent, CLOSE.policy, 'agent token changed or agent removed');
    model = nextModel;
    tokens = nextTokens;
    sources = tokenRing(next, undefined, true);
    const assigned = (system: string, probe: string, agent: string): boolean => nextModel.accepts(system, probe, agent);
    latest.retain(assigned);
    metrics.retain({ systems: new Set(nextModel.systems.map((s) => s.id)), agents: new Set(nextModel.agentIds), probe: assigned });
    for (const id of nextModel.agentIds) metrics.agentConnected(id, ingest.isConnected(id));
    maintenance.setConfigWindows(configWindows(next.maintenance, clock.now()));
    tracked = new Map(trackedSystems(nextModel).map((t) => [t.id, t]));
    track(tracker, nextModel);
    applyChanges(tracker.evaluate());
    syncStatusMetrics();
    ingest.pushAssignments();
    log.info({ revision: nextModel.revision, changed, systems: nextModel.systems.length }, 'configuration reloaded');
    return Promise.resolve({ ok: true, revision: nextModel.revision, changed });
  };
  const reload = (config?: Config): Promise<ReloadResult> => {
    // One reload at a time, in the order asked.
    reloading = reloading.then(
      () => doReload(config),
      () => doReload(config),
    );
    return reloading;
  };

  const ctx: CollectorContext = {
    log,
    clock,
    // Announcing a window, an announcement or an operator's update also notifies.
    store: notifyingStore(store, notifier),
    latest,
    tracker,
    maintenance,
    metrics,
    ingest,
    evaluate: () => applyChanges(tracker.evaluate()),
    model: () => model,
    ready: () => !closing && store.open && server.listening,
    canReload: () => opts.configPath !== undefined,
    reload: () => reload(),
    external: { reports, identify: (token) => sources.identify(token) },
  };
  registerRoutes(router, ctx);

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.port, listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await ingest.close();
    await store.close();
    throw new VagtError('VAGT_ERR_CONFIG', `cannot listen on ${opts.listen ?? opts.config.collector.listen}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  server.on('error', (err) => log.warn({ err: errorMessage(err) }, 'http server error'));
  const address = server.address() as AddressInfo;
  const port = address.port;
  const unspecified = address.address === '0.0.0.0' || address.address === '::';
  const host = unspecified ? '127.0.0.1' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${tls === undefined ? 'http' : 'https'}://${host}:${port}`;
  await notifier.start(url);

  const refreshUptime = (): Promise<void> =>
    closing || !store.open
      ? Promise.resolve()
      : uptimeGauges
          .refresh(store, model.systems, model.config.collector.timezone, clock.now())
          .catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'computing the uptime gauges failed'));
  await refreshUptime();

  // Retention: raw results for collector.retention, hourly aggregates and the status timeline for
  // collector.history_retention. The roll-up runs first, so no hour loses its raw results unaggregated;
  // one pass at a time (a pass still busy with a backlog makes the next one unnecessary).
  let housekeeping: Promise<unknown> | undefined;
  const housekeep = (pass: () => Promise<unknown>): void => {
    if (housekeeping !== undefined || closing) return;
    housekeeping = pass().finally(() => (housekeeping = undefined));
  };
  const rollUp = (): Promise<boolean> =>
    store.rollupHours().then(
      (hours) => {
        if (hours > 0) log.debug({ hours }, 'results rolled up into hourly aggregates');
        return true;
      },
      (err: unknown) => {
        log.warn({ err: errorMessage(err) }, 'rolling up results failed; pruning waits for the next pass');
        return false;
      },
    );
  const pruneOld = async (): Promise<void> => {
    if (!(await rollUp()) || closing || !store.open) return;
    const now = clock.now();
    try {
      const removed = await store.pruneResults(now - model.config.collector.retention);
      if (removed > 0) log.info({ removed }, 'old results pruned');
      const keep = model.config.collector.history_retention;
      const aggregates = await store.pruneAggregates(now - keep);
      const history = await store.pruneStatusHistory(now - keep);
      if (aggregates + history.status_changes + history.incidents + history.alerts > 0)
        log.info({ aggregates, ...history }, 'old history pruned');
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'pruning failed');
    }
  };
  // At start: what arrived since the last roll-up (after a crash, or in a database from before
  // the aggregates), in steps, while the collector serves.
  housekeep(rollUp);

  const timers = [
    setInterval(() => void refreshUptime(), opts.uptimeRefreshMs ?? UPTIME_MS),
    setInterval(() => {
      try {
        applyChanges(tracker.evaluate());
      } catch (err) {
        log.warn({ err: errorMessage(err) }, 'status evaluation failed');
      }
    }, EVALUATE_MS),
    setInterval(() => {
      recordSeen(
        ingest
          .connections()
          .map((c) => ({ id: c.agent, last_seen: c.last_seen, version: c.version, remote_address: c.remote_address })),
      );
    }, AGENTS_SEEN_MS),
    setInterval(() => housekeep(pruneOld), PRUNE_MS),
  ];
  for (const t of timers) t.unref();

  let agent: { stop(): Promise<void> } | undefined;
  if (localToken !== undefined) {
    try {
      const { startAgent } = await import('../agent/agent.js');
      agent = startAgent({
        url: `${tls === undefined ? 'ws' : 'wss'}://${host}:${port}/agent`,
        id: LOCAL_AGENT_ID,
        token: localToken,
        ...(tls === undefined ? {} : { pinnedCert: tls.cert }),
        logger: log.child({ component: 'local-agent' }),
        // The agent keeps its sequence here, so its results stay unique across restarts.
        dataDir: join(dataDir, 'local-agent'),
      });
    } catch (err) {
      log.error({ err: errorMessage(err) }, 'the local agent did not start');
    }
  }
  log.info({ url, store: store.path, systems: model.systems.length, agents: model.agentIds.length }, 'collector started');

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      for (const t of timers) clearInterval(t);
      if (agent !== undefined) await agent.stop().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'stopping the local agent failed'));
      ingest.stopAccepting();
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Results already received are committed and acked before the sockets close.
      await queue.drain();
      await ingest.close();
      await queue.drain();
      // Late results already stored are replayed now rather than on the next start.
      await backfill.flush();
      await backfill.close();
      server.closeAllConnections();
      await serverClosed;
      await uptimeGauges.settled();
      // What is still gathering into a burst is queued; the rest is sent after the next start.
      await notifier.close();
      // The last results into their hours now; a pass still under way (a long backlog) stops at
      // its next step when the store closes, and the next start finishes it.
      if (housekeeping === undefined) await rollUp();
      await store.close();
      await housekeeping;
      log.info('collector stopped');
    })();
    return closed;
  };

  return { url, port, reload, close };
}
