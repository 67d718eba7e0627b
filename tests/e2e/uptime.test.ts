// A known timeline end to end: a real target is up, down for a measured time, and up again while a
// real agent probes it every 250 ms. The uptime from the API, from /metrics and from `vagt report`
// (the real CLI, reading the same SQLite file) must match the truth within one probe interval.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DateTime } from 'luxon';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startAgent, type Agent } from '../../agent/agent.js';
import { startCollector, type Collector } from '../../collector/collector.js';
import { loadConfigFile } from '../../config/load.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '../../dist/cli/main.js');
const TOKEN = 'uptime-e2e-token-0123456789';
const INTERVAL_MS = 250;
const TZ = 'Europe/Copenhagen';
const log = pino({ level: 'silent' });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let dir: string;
let configPath: string;
let target: Server;
let healthy = true;
let collector: Collector;
let agent: Agent;

interface Window {
  uptime: number | null;
  target: number | null;
  met: boolean | null;
  window_s: number;
  up_s: number;
  downtime_s: number;
  maintenance_s: number;
  unknown_s: number;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vagt-uptime-'));
  target = createServer((_req, res) => {
    if (healthy) res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>Selvbetjening</h1>');
    else res.writeHead(503).end('nede');
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  const port = (target.address() as { port: number }).port;
  configPath = join(dir, 'vagt.yaml');
  writeFileSync(
    configPath,
    stringify({
      collector: { listen: '127.0.0.1:0', data_dir: dir, timezone: TZ },
      agents: [{ id: 'e2e-1', token: TOKEN }],
      defaults: { interval: `${INTERVAL_MS}ms`, timeout: '200ms', retries: 0 },
      systems: [
        {
          id: 'selvbetjening',
          name: 'Selvbetjening',
          sla: { uptime: 99.7, windows: { primary: 'mon-fri 08:30-16:30' } },
          probes: [{ id: 'front', type: 'http', url: `http://127.0.0.1:${port}/`, expect: { body_contains: 'Selvbetjening' } }],
        },
      ],
    }),
  );
  const loaded = loadConfigFile(configPath);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  collector = await startCollector({ config: loaded.config, configPath, logger: log, uptimeRefreshMs: 100 });
  agent = startAgent({ url: collector.url.replace('http://', 'ws://') + '/agent', id: 'e2e-1', token: TOKEN, logger: log, batchMs: 20 });
});

afterAll(async () => {
  await agent?.stop();
  await collector?.close();
  await new Promise((r) => target?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

async function status(): Promise<string | undefined> {
  const body = (await (await fetch(`${collector.url}/api/v1/status`)).json()) as { systems: { id: string; status: string }[] };
  return body.systems[0]?.status;
}

async function until(want: string): Promise<void> {
  for (let i = 0; i < 200 && (await status()) !== want; i++) await sleep(25);
  expect(await status()).toBe(want);
}

it('reports a known outage within one probe interval, from the API, /metrics and vagt report', async () => {
  await until('operational');
  const t0 = Date.now();
  await sleep(1500);
  const down = Date.now();
  healthy = false;
  await sleep(2000);
  healthy = true;
  const up = Date.now();
  await until('operational');
  await sleep(1000);
  const t1 = Date.now();
  const truthDown = (up - down) / 1000;
  const span = (t1 - t0) / 1000;

  // The API, for the span of the test.
  const res = await fetch(
    `${collector.url}/api/v1/systems/selvbetjening/uptime?from=${new Date(t0).toISOString()}&to=${new Date(t1).toISOString()}`,
  );
  expect(res.status).toBe(200);
  const body = (await res.json()) as { system: string; view: string; from: string; windows: Record<string, Window> };
  expect(body).toMatchObject({ system: 'selvbetjening', view: 'perceived', from: new Date(t0).toISOString() });
  const all = body.windows.all!;
  expect(all.window_s).toBeCloseTo(span, 3);
  expect(Math.abs(all.downtime_s - truthDown)).toBeLessThanOrEqual(INTERVAL_MS / 1000);
  expect(all.unknown_s).toBe(0);
  expect(all.maintenance_s).toBe(0);
  expect(Math.abs(all.uptime! - ((span - truthDown) / span) * 100)).toBeLessThanOrEqual((INTERVAL_MS / 1000 / span) * 100);
  expect(all).toMatchObject({ target: 99.7, met: false });
  // Primary and secondary split the span between them, whatever the hour the test runs at.
  expect(body.windows.primary!.window_s + body.windows.secondary!.window_s).toBeCloseTo(span, 3);
  expect(body.windows.primary!.downtime_s + body.windows.secondary!.downtime_s).toBeCloseTo(all.downtime_s, 3);

  // /metrics: the 24h ratio covers the whole life of this system, so the same outage over a
  // slightly longer span.
  await sleep(300);
  const metrics = await (await fetch(`${collector.url}/metrics`)).text();
  const m = /vagt_system_uptime_ratio\{system="selvbetjening",window="all",period="24h"\} ([\d.e-]+)/.exec(metrics);
  expect(m, metrics.split('\n').filter((l) => l.includes('uptime')).join('\n')).not.toBeNull();
  const ratio = Number(m![1]);
  expect(ratio).toBeGreaterThan(0);
  expect(ratio).toBeLessThan(1);
  expect(metrics).toMatch(/vagt_system_uptime_ratio\{system="selvbetjening",window="all",period="30d"\} /);

  // vagt report, the real CLI on the same database while the collector runs: the month holds
  // nothing but this test, so its downtime is the outage and its uptime the ratio of the rest.
  const month = DateTime.fromMillis(down, { zone: TZ }).toFormat('yyyy-MM');
  const json = await run(process.execPath, [CLI, 'report', '--config', configPath, '--month', month, '--format', 'json']);
  const report = JSON.parse(json.stdout) as { month: string; timezone: string; systems: { id: string; windows: Record<string, Window> }[] };
  expect(report).toMatchObject({ month, timezone: TZ });
  const monthAll = report.systems[0]!.windows.all!;
  expect(Math.abs(monthAll.downtime_s - truthDown)).toBeLessThanOrEqual(INTERVAL_MS / 1000);
  const judged = monthAll.up_s + monthAll.downtime_s;
  expect(Math.abs(monthAll.uptime! - ((judged - truthDown) / judged) * 100)).toBeLessThanOrEqual((INTERVAL_MS / 1000 / judged) * 100);
  expect(monthAll.unknown_s).toBeGreaterThan(0);

  const table = await run(process.execPath, [CLI, 'report', '--config', configPath, '--month', month]);
  expect(table.stdout).toContain(`Uptime ${month} (${TZ}, perceived view)`);
  expect(table.stdout).toMatch(/Selvbetjening\s+all\s+\d+\.\d{3} %\s+99\.7 %\s+NO/);
  const csv = await run(process.execPath, [CLI, 'report', '--config', configPath, '--month', month, '--format', 'csv', '--view', 'own']);
  const [header, ...rows] = csv.stdout.trimEnd().split('\r\n');
  expect(header).toBe('system,name,window,uptime,target,met,window_s,up_s,degraded_s,downtime_s,partial_outage_s,maintenance_s,unknown_s,top_incidents');
  expect(rows.map((r) => r.split(',')[2])).toEqual(['all', 'primary', 'secondary']);
  const ownDown = Number(rows[0]!.split(',')[9]);
  expect(Math.abs(ownDown - truthDown)).toBeLessThanOrEqual(1);
}, 30_000);

it('refuses a bad month or a missing database with one line and exit code 2', async () => {
  const bad = await run(process.execPath, [CLI, 'report', '--config', configPath, '--month', '2026-13']).catch((e: unknown) => e as { code: number; stderr: string });
  expect(bad).toMatchObject({ code: 2, stderr: 'vagt: --month: expected a month like 2026-11, got "2026-13"\n' });
  const empty = mkdtempSync(join(tmpdir(), 'vagt-uptime-empty-'));
  try {
    const missing = await run(process.execPath, [CLI, 'report', '--config', configPath, '--month', '2026-11', '--data-dir', empty]).catch(
      (e: unknown) => e as { code: number; stderr: string },
    );
    expect(missing).toMatchObject({ code: 2 });
    expect(missing.stderr).toMatch(/^vagt: no database at .*vagt\.db; point --data-dir/);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});
