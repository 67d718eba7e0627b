// The /metrics text that CollectorMetrics writes directly (collector/histogram.ts) against
// prom-client's own formatting of the same metrics (registry.metrics(), which goes through every
// metric's get()): byte for byte, with label values that need escaping, values that are not
// plain numbers, more series than one chunk, and prom-client metrics around the direct ones.
// Then a real scrape with Accept-Encoding: gzip.
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { Counter, Gauge } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CollectorMetrics, type AlertSeries, type UptimeSeries } from '../../collector/metrics.js';
import type { StoredResult } from '../../collector/store/types.js';
import { TestAgent, res, startHarness, type Harness } from './helpers.js';

const hasPromtool = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;

function result(over: Partial<StoredResult> & { system: string; probe: string; agent: string }): StoredResult {
  return {
    seq: 1,
    ts: 1_700_000_000_000,
    ok: true,
    duration_ms: 42,
    phases: { dns: 1, connect: 2.5, tls: 5, ttfb: 20, transfer: 3 },
    status_code: 200,
    received_at: 1_700_000_000_100,
    ...over,
  };
}

/** A CollectorMetrics fed like the collector feeds it: every result observed, the last ones latest. */
function metricsWith(results: StoredResult[], extra: { alerts?: AlertSeries[]; uptime?: UptimeSeries[] } = {}): CollectorMetrics {
  const latest = new Map<string, StoredResult>();
  const m = new CollectorMetrics({
    latest: () => latest.values(),
    alerts: () => extra.alerts ?? [],
    uptime: () => extra.uptime ?? [],
    defaultMetrics: false,
  });
  for (const r of results) {
    m.observe(r);
    latest.set(`${r.system}/${r.probe}/${r.agent}`, r);
    m.latest(r);
  }
  return m;
}

const AWKWARD = [
  'plain',
  'quote"inside',
  'back\\slash',
  'new\nline',
  'all \\" \n three',
  'trailing\\',
  'ünïcødé – 测试',
  '',
];

describe('the direct exposition', () => {
  it('is what prom-client writes for a collector without series', async () => {
    const m = metricsWith([]);
    expect(await m.exposition()).toBe(await m.registry.metrics());
  });

  it('is byte for byte what prom-client writes, awkward label values and odd values included', async () => {
    const results: StoredResult[] = [];
    let seq = 0;
    for (const system of AWKWARD)
      for (const probe of ['p"1', 'p\\2'])
        for (const agent of ['a\n1', 'kbh-1']) {
          seq++;
          results.push(
            result({
              system,
              probe,
              agent,
              seq,
              ok: seq % 3 !== 0,
              // Every bucket, above the last bound (+Inf only), 0, and fractions that print long.
              duration_ms: [0, 3, 7, 30, 99.9, 250, 400, 999, 2400, 4000, 9000, 19_000, 29_999, 45_000, 0.1 + 0.2][seq % 15]!,
              phases: seq % 4 === 0 ? { dns: 1.234 } : { dns: 0.1, connect: 1e-7, tls: 123456789.125, ttfb: 20, transfer: 3 },
              ...(seq % 2 === 0 ? { tls_expiry: 1_900_000_000 } : {}),
            }),
          );
        }
    // More results for the same series: cumulative buckets, sums of many values.
    for (const r of results.slice(0, 10)) results.push({ ...r, seq: r.seq + 1000, duration_ms: r.duration_ms + 1.5 });
    // Values that are not finite numbers.
    results.push(result({ system: 'odd', probe: 'nan', agent: 'x', duration_ms: NaN, phases: { dns: NaN, connect: Infinity, tls: -Infinity } }));
    results.push(result({ system: 'odd', probe: 'inf', agent: 'x', duration_ms: Infinity, phases: {}, tls_expiry: -0 }));
    const m = metricsWith(results, {
      alerts: [{ kind: 'long_response_time', system: 'quote"inside', active: true }],
      uptime: [{ system: 'new\nline', window: 'all', period: '30d', ratio: 0.9973 }],
    });
    m.systemStatus('back\\slash', 'perceived', 'operational');
    m.agentConnected('a\n1', true);
    m.rejected('duplicate', 3);
    const text = await m.exposition();
    expect(text).toBe(await m.registry.metrics());
    expect(text).toContain('vagt_probe_success{system="all \\\\\\" \\n three",probe="p\\"1",agent="a\\n1"} 1');
    expect(text).toContain('vagt_probe_duration_seconds_bucket{system="plain",probe="p\\"1",agent="kbh-1",le="+Inf"} ');
    expect(text).toContain('vagt_probe_duration_seconds_sum{system="odd",probe="nan",agent="x"} Nan');
    expect(text).toContain('vagt_probe_duration_seconds_sum{system="odd",probe="inf",agent="x"} +Inf');
    expect(text).toContain('vagt_probe_phase_duration_seconds{system="odd",probe="nan",agent="x",phase="tls"} -Inf');
    expect(text).toMatch(/\n\n# HELP vagt_probe_duration_seconds /);
    expect(text).toMatch(/[^\n]\n$/);
    if (hasPromtool) {
      const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect({ status: check.status, output: check.stdout + check.stderr }).toEqual({ status: 0, output: '' });
    }
  });

  it('is the same over many chunks, with prom-client metrics registered after it, and after a retain()', async () => {
    const results: StoredResult[] = [];
    for (let s = 0; s < 30; s++)
      for (let p = 0; p < 5; p++)
        for (let a = 0; a < 7; a++)
          results.push(result({ system: `system-${s}`, probe: `probe-${p}`, agent: `agent-${a}`, duration_ms: (s * 37 + p * 11 + a) % 3000, tls_expiry: 1_900_000_000 + s }));
    const m = metricsWith(results);
    // Registered later, as the subscription metrics are: they come last, as in registry.metrics().
    const later = new Counter({ name: 'vagt_test_later_total', help: 'A help text with a back\\slash\nand a newline.', labelNames: ['result'], registers: [m.registry] });
    later.inc({ result: 'a"b' });
    new Gauge({ name: 'vagt_test_empty', help: 'No series.', labelNames: ['x'], registers: [m.registry] });
    const text = await m.exposition();
    expect(text.length).toBeGreaterThan(1_000_000);
    expect(text).toBe(await m.registry.metrics());
    expect(text.split('\n').filter((l) => l.startsWith('vagt_probe_duration_seconds_')).length).toBe(30 * 5 * 7 * 16);
    expect(text.indexOf('# HELP vagt_test_later_total')).toBeGreaterThan(text.indexOf('# HELP vagt_notifications_pending'));

    m.retain({ systems: new Set(['system-1']), agents: new Set(['agent-1']), probe: (s, _p, a) => s === 'system-1' && a === 'agent-1' });
    const after = await m.exposition();
    expect(after).toBe(await m.registry.metrics());
    expect(after.split('\n').filter((l) => l.startsWith('vagt_probe_duration_seconds_count')).length).toBe(5);
  });

  it('lets the event loop run while a large exposition is built', async () => {
    const results: StoredResult[] = [];
    for (let s = 0; s < 100; s++)
      for (let p = 0; p < 5; p++)
        for (let a = 0; a < 10; a++) results.push(result({ system: `system-${s}`, probe: `probe-${p}`, agent: `agent-${a}`, tls_expiry: 1_900_000_000 }));
    const m = metricsWith(results);
    let turns = 0;
    const tick = (): void => {
      turns++;
      if (!done) setImmediate(tick);
    };
    let done = false;
    setImmediate(tick);
    const text = await m.exposition();
    done = true;
    expect(text.split('\n').filter((l) => l.startsWith('vagt_probe_duration_seconds_bucket')).length).toBe(5000 * 14);
    // Not a timing assertion: only that other work got turns in between, not none.
    expect(turns).toBeGreaterThan(1);
  });
});

function get(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, headers: r.headers, body: Buffer.concat(chunks) }));
      r.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

/** The vagt_* lines: process_* and nodejs_* change from one scrape to the next. */
const vagtLines = (text: string): string[] => text.split('\n').filter((l) => l.includes('vagt_'));

describe('GET /metrics with Accept-Encoding: gzip', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    const a = await TestAgent.ready(h.wsUrl, 'kbh-1');
    await a.batch(1, [res({ seq: 1, tls_expiry: 1_900_000_000 }), res({ seq: 2, system: 'virk', ok: false, phases: { dns: 1 } })]);
    await a.close();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers gzipped, as Prometheus asks, with the same text as without', async () => {
    const url = `${h.collector.url}/metrics`;
    const zipped = await get(url, { 'Accept-Encoding': 'gzip' });
    const plain = await get(url, {});
    expect(zipped.status).toBe(200);
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers.vary).toBe('Accept-Encoding');
    expect(zipped.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(Number(zipped.headers['content-length'])).toBe(zipped.body.length);
    const text = gunzipSync(zipped.body).toString('utf8');
    expect(text).toContain('vagt_probe_duration_seconds_bucket{system="mitid",probe="front",agent="kbh-1",le="0.05"} 1');
    expect(text).toContain('# TYPE vagt_subscription_requests_total counter');
    expect(vagtLines(text)).toEqual(vagtLines(plain.body.toString('utf8')));
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toBe('Accept-Encoding');
    if (hasPromtool) {
      const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect({ status: check.status, output: check.stdout + check.stderr }).toEqual({ status: 0, output: '' });
    }
  });

  it('follows the q values of Accept-Encoding', async () => {
    const url = `${h.collector.url}/metrics`;
    for (const [accept, gzipped] of [
      ['gzip, deflate, br', true],
      ['deflate;q=1.0, GZIP;q=0.5', true],
      ['*', true],
      ['gzip;q=0', false],
      ['gzip;q=0, *', false],
      ['identity', false],
      ['br', false],
    ] as const) {
      const r = await get(url, { 'Accept-Encoding': accept });
      expect([accept, r.headers['content-encoding']]).toEqual([accept, gzipped ? 'gzip' : undefined]);
      const text = gzipped ? gunzipSync(r.body).toString('utf8') : r.body.toString('utf8');
      expect(text).toContain('# TYPE vagt_probe_duration_seconds histogram');
    }
  });
});
