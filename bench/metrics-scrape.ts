// Benchmark: the size and cost of a /metrics scrape for a real deployment (docs/metrics.md).
// A collector with SQLite runs in this process with --systems × --probes, every probe on each of
// --agents agents, every system with a response_time rule and an uptime target (no named service
// windows, so uptime has the window `all` only), and two notification channels. Each agent connects
// over WebSocket and sends one result per probe, with all five phases and a certificate expiry,
// so every per-probe series exists. Then Prometheus' part: --scrapes sequential GET /metrics with
// `Accept-Encoding: gzip` (as Prometheus sends it), and as many without. Per scrape: the wall time
// to the last byte, the process's CPU time (this process is the collector and the client; the
// thread pool's gzip included), and the longest the event loop was blocked while the scrapes ran
// (perf_hooks.monitorEventLoopDelay; ingest would wait that long). Then the exposition alone, in
// one CollectorMetrics with the same series: the direct text (collector/histogram.ts) against
// prom-client's registry.metrics() of the same metrics (the text before), CPU time each.
// Checks the series count of every vagt_* family against the formula in docs/metrics.md (exit 1
// when one differs) and prints the counts, the size and the scrape times, and `RESULT {json}`.
//
//   node dist/bench/metrics-scrape.js [--systems 100] [--probes 5] [--agents 10] [--scrapes 20]
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import WebSocket from 'ws';
import { startCollector } from '../collector/collector.js';
import { CollectorMetrics, DURATION_BUCKETS, REJECT_REASONS } from '../collector/metrics.js';
import type { StoredResult } from '../collector/store/types.js';
import { STATUSES, VIEWS } from '../collector/status/types.js';
import { configSchema } from '../config/schema.js';
import { PHASES, type CollectorMessage, type ResultRecord } from '../protocol/messages.js';
import { numberArg } from './harness.js';

/** A tenth of Prometheus' default scrape_timeout (10 s). */
const GOAL_P50_MS = 1000;
/** CPU time of a gzipped scrape at 100 × 5 × 10, collector and client together. */
const GOAL_CPU_MS = 150;
/** The longest the event loop may be blocked while a scrape runs. */
const GOAL_BLOCK_MS = 50;
const CHANNELS = ['ops-webhook', 'ops-teams'];
/** `all` only: no system declares named windows (each would add itself and `secondary`). */
const WINDOWS = 1;
const PERIODS = 2;
const DAY_S = 86_400;

const token = (id: string): string => `bench-token-${id}-0123456789abcdef`;

/** Series per vagt_* family, and the total, in a Prometheus text exposition. */
export function countSeries(text: string): { families: Map<string, number>; total: number } {
  const types = new Map<string, string>();
  const families = new Map<string, number>();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      types.set(name!, type!);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    total++;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0];
    const base = name.replace(/_(bucket|sum|count)$/, '');
    const family = types.get(name) === undefined && types.get(base) === 'histogram' ? base : name;
    if (family.startsWith('vagt_')) families.set(family, (families.get(family) ?? 0) + 1);
  }
  return { families, total };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const cpuMs = (since: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
};

interface Scrape {
  body: Buffer;
  gzipped: boolean;
  ms: number;
  cpuMs: number;
}

/** One GET /metrics, read to the last byte (not decoded: that is the client's business). */
function scrapeOnce(url: string, gzip: boolean): Promise<Scrape> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  return new Promise((resolve, reject) => {
    request(url, { headers: gzip ? { 'Accept-Encoding': 'gzip' } : {} }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () =>
        resolve({ body: Buffer.concat(chunks), gzipped: r.headers['content-encoding'] === 'gzip', ms: performance.now() - t0, cpuMs: cpuMs(c0) }),
      );
      r.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

const text = (s: Scrape): string => (s.gzipped ? gunzipSync(s.body) : s.body).toString('utf8');

interface Series {
  p50: number;
  max: number;
}

function stats(values: number[]): Series {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: +percentile(sorted, 50).toFixed(1), max: +sorted.at(-1)!.toFixed(1) };
}

/** Sequential scrapes: wall and CPU time each, and the longest event-loop block among them. */
async function scrapeRun(url: string, n: number, gzip: boolean): Promise<{ last: Scrape; ms: Series; cpu: Series; blockedMaxMs: number }> {
  const ms: number[] = [];
  const cpu: number[] = [];
  let last: Scrape | undefined;
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  for (let i = 0; i < n; i++) {
    last = await scrapeOnce(url, gzip);
    ms.push(last.ms);
    cpu.push(last.cpuMs);
  }
  loop.disable();
  return { last: last!, ms: stats(ms), cpu: stats(cpu), blockedMaxMs: +(loop.max / 1e6).toFixed(1) };
}

/** The exposition alone, in this process: the direct text and prom-client's, for the same series. */
async function expositionCost(nSystems: number, nProbes: number, agents: string[], rounds: number): Promise<{ direct: Series; promClient: Series; same: boolean }> {
  const latest: StoredResult[] = [];
  const m = new CollectorMetrics({ latest: () => latest, defaultMetrics: false });
  const ts = Date.now();
  for (let s = 0; s < nSystems; s++)
    for (let p = 0; p < nProbes; p++)
      for (const agent of agents) {
        const r: StoredResult = {
          seq: 1,
          system: `system-${s}`,
          probe: `probe-${p}`,
          agent,
          ts,
          received_at: ts,
          ok: true,
          duration_ms: 20 + ((s * 37 + p) % 900),
          phases: { dns: 1.2, connect: 8.5, tls: 22.1, ttfb: 40 + (p % 100), transfer: 6.3 },
          status_code: 200,
          tls_expiry: Math.round(ts / 1000) + 60 * DAY_S,
        };
        m.observe(r);
        m.latest(r);
        latest.push(r);
      }
  const direct: number[] = [];
  const promClient: number[] = [];
  let same = true;
  for (let i = 0; i < rounds; i++) {
    let c0 = process.cpuUsage();
    const a = await m.exposition();
    direct.push(cpuMs(c0));
    c0 = process.cpuUsage();
    const b = await m.registry.metrics();
    promClient.push(cpuMs(c0));
    same &&= a === b;
  }
  return { direct: stats(direct), promClient: stats(promClient), same };
}

async function sendResults(wsUrl: string, agent: string, tlsExpiry: number): Promise<number> {
  const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${token(agent)}` }, perMessageDeflate: false });
  const messages: CollectorMessage[] = [];
  const waiters: ((m: CollectorMessage) => boolean)[] = [];
  ws.on('message', (data) => {
    const m = JSON.parse((data as Buffer).toString('utf8')) as CollectorMessage;
    messages.push(m);
    for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i]!(m)) waiters.splice(i, 1);
  });
  const next = <T extends CollectorMessage['type']>(type: T): Promise<Extract<CollectorMessage, { type: T }>> =>
    new Promise((resolve, reject) => {
      const seen = messages.find((m) => m.type === type);
      if (seen !== undefined) return resolve(seen as Extract<CollectorMessage, { type: T }>);
      const timer = setTimeout(() => reject(new Error(`${agent}: no ${type} within 10 s`)), 10_000);
      waiters.push((m) => {
        if (m.type !== type) return false;
        clearTimeout(timer);
        resolve(m as Extract<CollectorMessage, { type: T }>);
        return true;
      });
    });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'hello', protocol: 1, agent, version: 'bench' }));
  const assignment = await next('assignment');
  const ts = Date.now();
  const results: ResultRecord[] = assignment.probes.map((p, i) => ({
    seq: i + 1,
    system: p.system,
    probe: p.id,
    ts,
    ok: true,
    duration_ms: 20 + ((i * 37) % 900),
    phases: { dns: 1.2, connect: 8.5, tls: 22.1, ttfb: 40 + (i % 100), transfer: 6.3 },
    status_code: 200,
    tls_expiry: tlsExpiry,
  }));
  ws.send(JSON.stringify({ type: 'results', batch: 1, results }));
  const ack = await next('ack');
  // Stays connected: vagt_agent_connected is 1 while the scrapes run.
  return ack.accepted;
}

async function main(): Promise<void> {
  const nSystems = Math.round(numberArg('systems', 100));
  const nProbes = Math.round(numberArg('probes', 5));
  const nAgents = Math.round(numberArg('agents', 10));
  const scrapes = Math.round(numberArg('scrapes', 20));
  const dir = mkdtempSync(join(tmpdir(), 'vagt-bench-metrics-'));
  const agents = Array.from({ length: nAgents }, (_, i) => `agent-${i}`);
  const config = configSchema.parse({
    collector: { listen: '127.0.0.1:0', data_dir: dir },
    agents: agents.map((id) => ({ id, token: token(id) })),
    defaults: { interval: '30s', timeout: '10s' },
    // Only announcements: no status change sends anything to the (closed) port.
    notifications: CHANNELS.map((id) => ({ id, type: 'webhook', url: 'http://127.0.0.1:9/hook', events: ['announcement'] })),
    systems: Array.from({ length: nSystems }, (_, s) => ({
      id: `system-${s}`,
      name: `System ${s}`,
      response_time: { slow: '2s' },
      sla: { uptime: 99.7 },
      probes: Array.from({ length: nProbes }, (_, p) => ({ id: `probe-${p}`, type: 'http', url: `https://127.0.0.1:9/${s}/${p}` })),
    })),
  });
  const collector = await startCollector({ config, logger: pino({ level: 'warn' }), listen: '127.0.0.1:0', dataDir: dir, uptimeRefreshMs: 200 });
  try {
    const wsUrl = collector.url.replace('http://', 'ws://') + '/agent';
    const tlsExpiry = Math.round(Date.now() / 1000) + 60 * DAY_S;
    const accepted = (await Promise.all(agents.map((a) => sendResults(wsUrl, a, tlsExpiry)))).reduce((a, b) => a + b, 0);
    const vantage = nSystems * nProbes * nAgents;
    if (accepted !== vantage) throw new Error(`${accepted} results accepted, expected ${vantage}`);

    const S = nSystems;
    const SPA = vantage;
    const expected: Record<string, number> = {
      vagt_probe_success: SPA,
      vagt_probe_duration_seconds: SPA * (DURATION_BUCKETS.length + 1 + 2),
      vagt_probe_phase_duration_seconds: SPA * PHASES.length,
      vagt_tls_certificate_expiry_timestamp_seconds: SPA,
      vagt_system_status: S * VIEWS.length * STATUSES.length,
      vagt_system_uptime_ratio: S * WINDOWS * PERIODS,
      vagt_system_uptime_target_ratio: S * WINDOWS,
      vagt_alert_active: S + 2 * nAgents,
      vagt_agent_connected: nAgents,
      vagt_ingest_results_total: 1,
      vagt_ingest_rejected_total: REJECT_REASONS.length,
      vagt_notifications_sent_total: CHANNELS.length,
      vagt_notifications_failed_total: CHANNELS.length,
      vagt_notifications_retried_total: CHANNELS.length,
      vagt_notifications_dropped_total: CHANNELS.length,
      vagt_notifications_pending: CHANNELS.length,
      // Registered at the start, with one series per result (accepted, invalid, rate_limited, failed).
      vagt_subscription_requests_total: 4,
      vagt_subscriptions_confirmed: 1,
    };

    const url = `${collector.url}/metrics`;
    // The uptime gauges are recomputed on a timer: wait for the first round that saw the statuses.
    const waitUntil = Date.now() + 10_000;
    for (;;) {
      const { families } = countSeries(text(await scrapeOnce(url, true)));
      if ((families.get('vagt_system_uptime_ratio') ?? 0) >= expected.vagt_system_uptime_ratio! || Date.now() > waitUntil) break;
      await new Promise((r) => setTimeout(r, 200));
    }

    const zipped = await scrapeRun(url, scrapes, true);
    const plain = await scrapeRun(url, scrapes, false);
    if (!zipped.last.gzipped) throw new Error('Accept-Encoding: gzip was answered without Content-Encoding: gzip');
    const lastText = text(plain.last);
    const { families, total } = countSeries(lastText);
    const vagt = [...families.values()].reduce((a, b) => a + b, 0);
    const bytes = Buffer.byteLength(lastText);
    const gzipBytes = zipped.last.body.length;
    const exposition = await expositionCost(nSystems, nProbes, agents, Math.min(5, scrapes));

    process.stdout.write(`metrics scrape: ${nSystems} systems × ${nProbes} probes × ${nAgents} agents, ${CHANNELS.length} channels, ${scrapes} scrapes each with and without gzip\n`);
    const wrong: string[] = [];
    for (const [family, n] of [...families].sort((a, b) => b[1] - a[1])) {
      const want = expected[family];
      process.stdout.write(`  ${family.padEnd(48)} ${String(n).padStart(7)}${want === n ? '' : `  (formula: ${want ?? 'none'})`}\n`);
      if (want !== n) wrong.push(family);
    }
    for (const family of Object.keys(expected)) if (!families.has(family)) wrong.push(`${family} (missing)`);
    process.stdout.write(`  vagt_* series ${vagt}, all series ${total}; ${(bytes / 1e6).toFixed(2)} MB (${(gzipBytes / 1e6).toFixed(2)} MB gzipped)\n`);
    const line = (name: string, r: typeof zipped): string =>
      `  ${name}: p50 ${r.ms.p50} ms (max ${r.ms.max}), CPU p50 ${r.cpu.p50} ms (max ${r.cpu.max}), event loop blocked at most ${r.blockedMaxMs} ms\n`;
    process.stdout.write(line('scrape, gzip    ', zipped));
    process.stdout.write(line('scrape, identity', plain));
    process.stdout.write(
      `  exposition alone: direct CPU p50 ${exposition.direct.p50} ms, prom-client registry.metrics() p50 ${exposition.promClient.p50} ms, same text: ${exposition.same}\n`,
    );
    process.stdout.write(`  goals: scrape p50 <= ${GOAL_P50_MS} ms, gzipped scrape CPU p50 <= ${GOAL_CPU_MS} ms, event loop blocked <= ${GOAL_BLOCK_MS} ms\n`);
    const met =
      zipped.ms.p50 <= GOAL_P50_MS &&
      zipped.cpu.p50 <= GOAL_CPU_MS &&
      Math.max(zipped.blockedMaxMs, plain.blockedMaxMs) <= GOAL_BLOCK_MS &&
      exposition.same &&
      wrong.length === 0;
    const result = {
      systems: nSystems,
      probes: nProbes,
      agents: nAgents,
      vagt_series: vagt,
      series: total,
      bytes,
      gzip_bytes: gzipBytes,
      bytes_per_series: +(bytes / total).toFixed(1),
      scrapes,
      gzip: { scrape_ms: zipped.ms, cpu_ms: zipped.cpu, blocked_max_ms: zipped.blockedMaxMs },
      identity: { scrape_ms: plain.ms, cpu_ms: plain.cpu, blocked_max_ms: plain.blockedMaxMs },
      exposition_cpu_ms: { direct: exposition.direct, prom_client: exposition.promClient, same_text: exposition.same },
      goal_p50_ms: GOAL_P50_MS,
      goal_cpu_ms: GOAL_CPU_MS,
      goal_blocked_ms: GOAL_BLOCK_MS,
      met,
    };
    process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
    if (wrong.length > 0) throw new Error(`series counts differ from the formula: ${wrong.join(', ')}`);
  } finally {
    await collector.close();
    rmSync(dir, { recursive: true, force: true });
  }
  // The agents' sockets were closed with the collector.
  process.exit(process.exitCode ?? 0);
}

main().catch((err: unknown) => {
  process.stderr.write(`metrics-scrape: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
