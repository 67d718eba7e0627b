// The agent: receives its probes from the collector, runs them on schedule, and streams every
// result back in small batches, keeping each until the collector acks it (resent after a
// reconnect). Wiring only: the socket is connection.ts, the schedule scheduler.ts, the results
// waiting for an ack outbox.ts.
import type { Logger } from 'pino';
import { errorMessage } from '../lib/errors.js';
import { userAgent } from '../lib/version.js';
import { LIMITS, type ProbeOutcome, type ProbeSpec, type ResultRecord } from '../protocol/messages.js';
import { checkResult } from '../protocol/validate.js';
import { runProbe, type RunOptions } from '../probes/run.js';
import { Connection } from './connection.js';
import { AssignmentCache } from './assignment-cache.js';
import { MemoryOutbox, type Outbox } from './outbox.js';
import { SqliteOutbox } from './outbox-sqlite.js';
import { Scheduler } from './scheduler.js';

export interface AgentOptions {
  /** ws:// or wss://HOST:PORT/agent */
  url: string;
  id: string;
  token: string;
  logger: Logger;
  /**
   * Where results wait durably for their ack (outbox.db) and the last assignment is kept
   * (assignment.json), so neither a collector that is away nor a restart loses anything. Without
   * it, results wait in memory.
   */
  dataDir?: string;
  /** The durable outbox's caps: the oldest pending results beyond them are dropped (and counted). */
  outboxMaxBytes?: number;
  outboxMaxAgeMs?: number;
  /** Probes in flight at most (p-limit); default 32. */
  concurrency?: number;
  /** Runs one probe; default runProbe from probes/run.ts. Injectable for tests. */
  run?: (spec: ProbeSpec, opts: RunOptions) => Promise<ProbeOutcome>;
  /** Reconnect backoff bounds; default 500 ms .. 30 s. */
  reconnect?: { minMs?: number; maxMs?: number };
  /** How long results gather before a batch is sent; default 200 ms. */
  batchMs?: number;
  /** Wall clock for result timestamps; default Date.now. */
  now?: () => number;
  /** Where results wait for their ack; default an in-memory outbox of 100,000 results. */
  outbox?: Outbox;
  /** TLS trust for wss://: CA certificates (`--ca`), or one pinned certificate (the in-process agent). */
  ca?: string | Buffer;
  pinnedCert?: string | Buffer;
}

export interface AgentStats {
  /** Results produced since the start. */
  produced: number;
  /** Results waiting to be sent, and in batches not yet acked. */
  pending: number;
  inFlight: number;
  /** Results the collector acked (accepted or rejected). */
  acked: number;
  /** Results the collector rejected for good (and the agent dropped). */
  rejected: number;
  /** Results dropped because the outbox was full. */
  dropped: number;
  /** Probe turns skipped because the previous run had not finished. */
  skipped: number;
}

export interface Agent {
  readonly connected: boolean;
  /** The current assignment. */
  readonly probes: readonly ProbeSpec[];
  /** Counters, for tests, benchmarks and (later) the agent's own metrics. */
  stats(): AgentStats;
  /**
   * Stops scheduling, waits for probes in flight up to their timeout (aborts them after), tries
   * to flush the outbox for a short while, closes the socket with 1000.
   */
  stop(): Promise<void>;
}

/** Batches sent and not yet acked, at most: backpressure when the collector is slow. */
const MAX_IN_FLIGHT_BATCHES = 4;
/** A batch's JSON at most: well under the collector's frame limit. */
const MAX_BATCH_BYTES = Math.floor(LIMITS.maxFrameBytes / 4);
/** Results kept in memory at most; beyond it the oldest are dropped. */
const OUTBOX_CAPACITY = 100_000;
/** A batch not acked within this is sent again (the collector answers `error` instead of ack when its store fails). */
const ACK_TIMEOUT_MS = 30_000;
const HOUSEKEEPING_MS = 5_000;
/** At most one "results dropped" warning per this period. */
const DROP_LOG_MS = 10_000;
/** At stop, how long the outbox gets to drain. */
const STOP_FLUSH_MS = 2_000;
/** How often results past the durable outbox's age cap are looked for. */
const EXPIRY_CHECK_MS = 60_000;

export function startAgent(opts: AgentOptions): Agent {
  const log = opts.logger.child({ agent: opts.id });
  const now = opts.now ?? Date.now;
  const mono = (): number => performance.now();
  const minMs = Math.max(1, opts.reconnect?.minMs ?? 500);
  const maxMs = Math.max(minMs, opts.reconnect?.maxMs ?? 30_000);
  const batchMs = Math.max(0, opts.batchMs ?? 200);
  const run = opts.run ?? runProbe;
  const ua = userAgent(opts.id);
  const secret = (name: string): string | undefined => process.env[name];

  // Strictly increasing within the process, and (microseconds since the epoch at start) above
  // any seq an earlier run of this agent produced, unless it averaged over 1000 results per ms.
  const outbox: Outbox =
    opts.outbox ??
    (opts.dataDir === undefined
      ? new MemoryOutbox({ capacity: OUTBOX_CAPACITY })
      : SqliteOutbox.open(opts.dataDir, {
          ...(opts.outboxMaxBytes === undefined ? {} : { maxBytes: opts.outboxMaxBytes }),
          ...(opts.outboxMaxAgeMs === undefined ? {} : { maxAgeMs: opts.outboxMaxAgeMs }),
          now,
        }));
  // A durable outbox remembers the highest seq: continue above it whatever the clock says.
  const firstSeq = Math.max(Date.now() * 1000, (outbox.maxSeq ?? 0) + 1);
  let seq = firstSeq;
  if (outbox.pending > 0) log.info({ results: outbox.pending }, 'results from an earlier run wait in the outbox; they go out first');
  const cache = opts.dataDir === undefined ? undefined : new AssignmentCache(opts.dataDir);
  const stats = { produced: 0, acked: 0, rejected: 0 };
  let batchTimer: NodeJS.Timeout | undefined;
  let batchDue = false;
  let dropsUnlogged = 0;
  let lastDropLog = -Infinity;
  let stopping: Promise<void> | undefined;
  let onProgress: (() => void) | undefined;

  const scheduler = new Scheduler({
    agentId: opts.id,
    logger: log,
    concurrency: opts.concurrency ?? 32,
    wall: now,
    run: (spec, signal) => run(spec, { userAgent: ua, signal, secret }),
    onResult: (spec, outcome, ts) => addResult(spec, outcome, ts),
  });

  const conn = new Connection({
    url: opts.url,
    id: opts.id,
    token: opts.token,
    logger: log,
    reconnect: { minMs, maxMs },
    ...(opts.ca === undefined ? {} : { ca: opts.ca }),
    ...(opts.pinnedCert === undefined ? {} : { pinnedCert: opts.pinnedCert }),
    lastSeq: () => (seq > firstSeq ? seq : undefined),
    onReady: () => {
      // Whatever waited through the outage goes out at once, oldest first, with new results
      // alongside rather than behind it.
      outbox.markLive?.();
      batchDue = true;
      pump();
    },
    onLost: () => {
      const back = outbox.requeue();
      if (back > 0) log.debug({ results: back }, 'unacked results will be sent again after the reconnect');
      batchDue = true;
      onProgress?.();
    },
    onAssignment: (m) => {
      const out = scheduler.assign(m.probes);
      log.info({ revision: m.revision, probes: scheduler.probes.length, ...out }, 'assignment received');
      cache?.save(m, log);
    },
    onAck: (m) => {
      const r = outbox.ack(m.batch, m.rejected);
      if (r === undefined) {
        log.debug({ batch: m.batch }, 'ack for a batch not in flight (already resent); ignored');
        return;
      }
      stats.acked += r.removed;
      if (r.rejected.length > 0) {
        stats.rejected += r.rejected.length;
        log.warn(
          { batch: m.batch, count: r.rejected.length, seqs: r.rejected.slice(0, 10) },
          'the collector rejected results for good; dropped (its log names the reason)',
        );
      }
      pump();
      onProgress?.();
    },
  });

  function addResult(spec: ProbeSpec, outcome: ProbeOutcome, ts: number): void {
    seq++;
    // The agent's own fields last: a runner cannot overwrite the identity of a result.
    let record: ResultRecord = { ...outcome, seq, system: spec.system, probe: spec.id, ts };
    if (record.error !== undefined && record.error.message.length > LIMITS.maxErrorMessageChars)
      record.error = { code: record.error.code, message: record.error.message.slice(0, LIMITS.maxErrorMessageChars - 1) + '…' };
    const problem = checkResult(record);
    if (problem !== undefined) {
      // A runner bug must not cost the result: send it as a failure the collector accepts.
      log.warn({ system: spec.system, probe: spec.id, problem }, 'probe produced an invalid result; reported as a failure');
      record = {
        seq,
        system: spec.system,
        probe: spec.id,
        ts: Number.isFinite(ts) && ts >= 0 ? ts : now(),
        ok: false,
        duration_ms: 0,
        phases: {},
        error: { code: 'internal', message: `the agent produced an invalid result (${problem})`.slice(0, LIMITS.maxErrorMessageChars) },
      };
    }
    stats.produced++;
    const dropped = outbox.add(record);
    if (dropped > 0) noteDrops(dropped);
    if (outbox.pending >= LIMITS.maxBatchResults) pump();
    else if (batchTimer === undefined && !batchDue) {
      batchTimer = setTimeout(() => {
        batchTimer = undefined;
        batchDue = true;
        pump();
      }, batchMs);
      batchTimer.unref();
    }
  }

  /** Sends what is due, within the in-flight cap; a partial batch only once it has waited batchMs. */
  function pump(): void {
    while (conn.ready && outbox.inFlightBatches < MAX_IN_FLIGHT_BATCHES && outbox.pending > 0) {
      if (!batchDue && outbox.pending < LIMITS.maxBatchResults) break;
      const batch = outbox.nextBatch(LIMITS.maxBatchResults, MAX_BATCH_BYTES, mono());
      if (batch === undefined) break;
      let frame = `{"type":"results","batch":${batch.id},"results":[`;
      for (let i = 0; i < batch.entries.length; i++) frame += (i === 0 ? '' : ',') + batch.entries[i]!.json;
      frame += ']}';
      conn.send(frame);
    }
    if (outbox.pending === 0) batchDue = false;
  }

  function noteDrops(n: number): void {
    dropsUnlogged += n;
    if (mono() - lastDropLog < DROP_LOG_MS) return;
    lastDropLog = mono();
    log.warn(
      { dropped: dropsUnlogged, total: outbox.dropped },
      'outbox full (the collector has not acked for a long time): oldest results dropped',
    );
    dropsUnlogged = 0;
  }

  let lastExpiryCheck = mono();
  const housekeeping = setInterval(() => {
    if (outbox.dropExpired !== undefined && mono() - lastExpiryCheck >= EXPIRY_CHECK_MS) {
      lastExpiryCheck = mono();
      const expired = outbox.dropExpired();
      if (expired > 0) log.warn({ dropped: expired, total: outbox.dropped }, 'results older than the outbox keeps were dropped unsent');
    }
    const back = outbox.requeue(mono() - ACK_TIMEOUT_MS);
    if (back > 0) {
      log.warn({ results: back }, 'no ack from the collector in time; sending the results again');
      batchDue = true;
      pump();
    }
    if (dropsUnlogged > 0) noteDrops(0);
  }, HOUSEKEEPING_MS);
  housekeeping.unref();

  log.info({ url: opts.url, concurrency: opts.concurrency ?? 32, outbox: opts.dataDir === undefined ? 'memory' : 'sqlite' }, 'agent starting');
  // Offline operation: probe on the last assignment until the collector sends a new one.
  const cached = cache?.load(log);
  if (cached !== undefined) {
    scheduler.assign(cached.probes);
    log.info({ revision: cached.revision, probes: scheduler.probes.length }, 'probing on the cached assignment until the collector is reached');
  }
  conn.start();

  return {
    get connected() {
      return conn.ready;
    },
    get probes() {
      return scheduler.probes;
    },
    stats: () => ({
      produced: stats.produced,
      pending: outbox.pending,
      inFlight: outbox.inFlightResults,
      acked: stats.acked,
      rejected: stats.rejected,
      dropped: outbox.dropped,
      skipped: scheduler.skipped,
    }),
    stop: () => {
      stopping ??= (async () => {
        try {
          await scheduler.stop();
          await flush();
        } catch (err) {
          log.warn({ err: errorMessage(err) }, 'stopping the agent: flushing failed');
        }
        clearInterval(housekeeping);
        clearTimeout(batchTimer);
        await conn.close(1000, 'agent stopping');
        const unsent = outbox.pending + outbox.inFlightResults;
        outbox.close?.();
        if (unsent > 0 && opts.dataDir !== undefined) log.info({ unsent }, 'agent stopped; unacked results stay in the outbox for the next run');
        else if (unsent > 0) log.warn({ unsent }, 'agent stopped with results the collector did not ack');
        else log.info('agent stopped');
      })();
      return stopping;
    },
  };

  /** Sends everything left and waits a short while for the acks. */
  async function flush(): Promise<void> {
    const deadline = mono() + STOP_FLUSH_MS;
    batchDue = true;
    pump();
    while (conn.ready && outbox.pending + outbox.inFlightResults > 0 && mono() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - mono()));
        onProgress = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      onProgress = undefined;
      batchDue = true;
      pump();
    }
  }
}
