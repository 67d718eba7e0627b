// Benchmark (issue 8): from a status change to the webhook's arrival. A collector with SQLite and
// a webhook channel, a local HTTP receiver and an agent speaking the protocol over a real
// WebSocket, all in this process. Systems flip between ok and failing, each as soon as its last
// message arrived; measured from sending the result that flips a system to the receiver getting
// its outage or recovery. Once with the default burst gathering (a burst is over after 500 ms of
// quiet: the price of one message per root cause) and once without it (the pipeline alone).
// Goal: p99 < 1 s.
//
//   node dist/bench/notify.js [--systems 20] [--flips 15]
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import WebSocket from 'ws';
import { startCollector } from '../collector/collector.js';
import { DEFAULT_BURST } from '../collector/notify/events.js';
import { configSchema } from '../config/schema.js';
import type { CollectorMessage, ResultRecord } from '../protocol/messages.js';
import { numberArg } from './harness.js';

const GOAL_P99_MS = 1000;
const TOKEN = 'bench-notify-token-0123456789abcdef';
const log = pino({ level: 'silent' });

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

interface Run {
  quietMs: number;
  latencies: number[];
}

async function run(systems: number, flips: number, quietMs: number): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'vagt-bench-notify-'));
  const waiting = new Map<string, { kind: string; resolve: () => void }>();
  const receiver = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      res.writeHead(204).end();
      const body = JSON.parse(raw) as { event: string; systems: { id: string }[] };
      const id = body.systems[0]?.id ?? '';
      const w = waiting.get(id);
      if (w !== undefined && w.kind === body.event) {
        waiting.delete(id);
        w.resolve();
      }
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const port = (receiver.address() as AddressInfo).port;
  const ids = Array.from({ length: systems }, (_, i) => `sys-${i}`);
  const config = configSchema.parse({
    collector: { listen: '127.0.0.1:0', data_dir: dir },
    agents: [{ id: 'bench', token: TOKEN }],
    defaults: { interval: '30s', timeout: '5s', retries: 1 },
    systems: ids.map((id) => ({ id, name: id, probes: [{ id: 'front', type: 'http', url: 'https://example.invalid/' }] })),
    notifications: [{ id: 'hook', type: 'webhook', url: `http://127.0.0.1:${port}/hook`, secret: 'bench-secret' }],
  });
  const collector = await startCollector({ config, listen: '127.0.0.1:0', dataDir: dir, logger: log, notify: { burst: { quietMs } } });
  const ws = new WebSocket(collector.url.replace('http', 'ws') + '/agent', { headers: { authorization: `Bearer ${TOKEN}` }, perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => ws.send(JSON.stringify({ type: 'hello', protocol: 1, agent: 'bench', version: 'bench' })));
    ws.on('message', (data) => {
      if ((JSON.parse((data as Buffer).toString('utf8')) as CollectorMessage).type === 'assignment') resolve();
    });
  });
  let seq = 0;
  let batch = 0;
  const send = (system: string, ok: boolean): void => {
    const r: ResultRecord = {
      seq: ++seq,
      system,
      probe: 'front',
      ts: Date.now(),
      ok,
      duration_ms: 40,
      phases: { dns: 1, connect: 2, ttfb: 30 },
      status_code: ok ? 200 : 503,
      ...(ok ? {} : { error: { code: 'http_status' as const, message: 'status 503, expected 200' } }),
    };
    ws.send(JSON.stringify({ type: 'results', batch: ++batch, results: [r] }));
  };
  try {
    // The first status after start is no news.
    for (const id of ids) send(id, true);
    await new Promise((r) => setTimeout(r, 1000));
    const latencies: number[] = [];
    await Promise.all(
      ids.map(async (id) => {
        for (let f = 0; f < flips; f++) {
          const down = f % 2 === 0;
          const arrived = new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`no ${down ? 'outage' : 'recovery'} of ${id} within 10 s`)), 10_000);
            waiting.set(id, { kind: down ? 'outage' : 'recovery', resolve: () => (clearTimeout(timer), resolve()) });
          });
          const t0 = performance.now();
          send(id, !down);
          await arrived;
          latencies.push(performance.now() - t0);
        }
      }),
    );
    return { quietMs, latencies: latencies.sort((a, b) => a - b) };
  } finally {
    ws.close();
    await collector.close();
    await new Promise<void>((r) => receiver.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const systems = numberArg('systems', 20);
  const flips = numberArg('flips', 15);
  const summary = (r: Run) => ({
    burst_quiet_ms: r.quietMs,
    flips: r.latencies.length,
    p50_ms: Math.round(percentile(r.latencies, 50)),
    p99_ms: Math.round(percentile(r.latencies, 99)),
    max_ms: Math.round(r.latencies.at(-1) ?? NaN),
  });
  const gathered = summary(await run(systems, flips, DEFAULT_BURST.quietMs));
  const direct = summary(await run(systems, flips, 0));
  const result = { ...gathered, without_gathering: direct, goal_p99_ms: GOAL_P99_MS, met: gathered.p99_ms < GOAL_P99_MS };
  process.stdout.write(
    [
      `status change -> webhook arrival, ${systems} systems flipping at once, ${gathered.flips} flips:`,
      `  default (burst over after ${gathered.burst_quiet_ms} ms of quiet): p50 ${gathered.p50_ms} ms, p99 ${gathered.p99_ms} ms, max ${gathered.max_ms} ms (goal p99 < ${GOAL_P99_MS} ms: ${result.met ? 'met' : 'NOT met'})`,
      `  without gathering (the pipeline alone):      p50 ${direct.p50_ms} ms, p99 ${direct.p99_ms} ms, max ${direct.max_ms} ms`,
      `RESULT ${JSON.stringify(result)}`,
      '',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`notify: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
