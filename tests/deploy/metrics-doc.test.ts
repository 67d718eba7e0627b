// docs/metrics.md against the real exposition: a collector (the test harness) scraped right after
// its start and again after agents have sent results, a notification channel is configured, a
// subscription request came in and the uptime gauges ran. Every vagt_* family the collector
// exports must be a row of the doc's metric table with the same type and label names, and every
// row must be exported. The table is read from the doc: adding a metric is adding a row (and, if
// the metric has labels, making it have a series in the activity below). promtool must accept the
// scrape, and a reload must drop every series of a removed system, probe and agent.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, type Config } from '../../config/schema.js';
import { ADMIN_TOKEN, TOKENS, TestAgent, eventually, metricsText, res, startHarness, type Harness } from '../collector/helpers.js';

const DOC = 'docs/metrics.md';

interface DocRow {
  name: string;
  type: string;
  labels: string[];
  /** `start`: exported (HELP and TYPE) from the collector's start; otherwise after an event. */
  appears: string;
}

/** The rows of the table under "## The metrics": `| \`vagt_…\` | type | unit | labels | appears | … |`. */
function docRows(): DocRow[] {
  const rows: DocRow[] = [];
  const lines = readFileSync(DOC, 'utf8').split('\n');
  const from = lines.indexOf('## The metrics');
  if (from === -1) throw new Error(`${DOC}: no "## The metrics" section`);
  const to = lines.findIndex((l, i) => i > from && l.startsWith('## '));
  for (const line of lines.slice(from, to === -1 ? undefined : to)) {
    if (!line.startsWith('| `vagt_')) continue;
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    const name = /^`(vagt_[a-z0-9_]+)`$/.exec(cells[0]!)?.[1];
    if (name === undefined || cells.length < 6) throw new Error(`${DOC}: a metric row with 6 cells expected: ${line}`);
    const labels = cells[3] === '—' ? [] : cells[3]!.split(',').map((l) => /^`([a-z_]+)`$/.exec(l.trim())?.[1] ?? `bad label cell: ${l}`);
    rows.push({ name, type: cells[1]!, labels: labels.sort(), appears: cells[4]! });
  }
  return rows;
}

interface Family {
  type: string;
  help: string;
  samples: number;
  labels: Set<string>;
}

/** The vagt_* families of an exposition, with the label names of their samples (`le` left out). */
function families(text: string): Map<string, Family> {
  const out = new Map<string, Family>();
  const family = (name: string): Family => {
    let f = out.get(name);
    if (f === undefined) out.set(name, (f = { type: '', help: '', samples: 0, labels: new Set() }));
    return f;
  };
  for (const line of text.split('\n')) {
    const meta = /^# (HELP|TYPE) (vagt_\w+) (.*)$/.exec(line);
    if (meta !== null) {
      family(meta[2]!)[meta[1] === 'HELP' ? 'help' : 'type'] = meta[3]!;
      continue;
    }
    const m = /^(vagt_\w+?)(_bucket|_sum|_count)?(?:\{(.*)\})? \S+$/.exec(line);
    if (m === null) continue;
    // A histogram's _bucket, _sum and _count samples belong to it; a family's own name wins.
    const name = m[2] !== undefined && out.get(m[1]!)?.type === 'histogram' ? m[1]! : m[1]! + (m[2] ?? '');
    const f = family(name);
    f.samples++;
    for (const l of (m[3] ?? '').matchAll(/(\w+)="(?:[^"\\]|\\.)*"/g)) if (!(f.type === 'histogram' && l[1] === 'le')) f.labels.add(l[1]!);
  }
  return out;
}

function config(dir: string, systems: unknown[], agents: (keyof typeof TOKENS)[] = ['kbh-1', 'aar-1']): Config {
  return configSchema.parse({
    collector: { listen: '127.0.0.1:0', data_dir: dir, admin_token: ADMIN_TOKEN },
    agents: agents.map((id) => ({ id, token: TOKENS[id] })),
    defaults: { interval: '30s', timeout: '5s', retries: 1 },
    // Only announcements: nothing is sent to the closed port, but the channel has its series.
    notifications: [{ id: 'ops', type: 'webhook', url: 'http://127.0.0.1:9/hook', events: ['announcement'] }],
    systems,
  });
}

const MITID = {
  id: 'mitid',
  name: 'MitID',
  response_time: { slow: '2s' },
  probes: [
    { id: 'front', type: 'http', url: 'https://www.mitid.dk/' },
    { id: 'login', type: 'http', url: 'https://www.mitid.dk/login' },
  ],
};
const VIRK = {
  id: 'virk',
  name: 'Virk',
  depends_on: { mitid: 'critical' },
  // A declared target: vagt_system_uptime_target_ratio gets its series.
  sla: { uptime: 99.7, windows: { primary: 'mon-fri 08:30-16:30' } },
  probes: [
    // A probe's own rule: vagt_alert_active gets its `probe` label.
    { id: 'front', type: 'http', url: 'https://virk.dk/', response_time: { slow: '3s' } },
    { id: 'port', type: 'tcp', host: '127.0.0.1', port: 443, agents: ['aar-1'] },
  ],
};

let h: Harness;
let atStart: string;
let afterActivity: string;
let rows: DocRow[];

beforeAll(async () => {
  rows = docRows();
  h = await startHarness({ config: (dir) => config(dir, [MITID, VIRK]), uptimeRefreshMs: 100 });
  atStart = await metricsText(h);
  const a = await TestAgent.ready(h.wsUrl, 'kbh-1');
  const b = await TestAgent.ready(h.wsUrl, 'aar-1');
  await a.batch(1, [
    res({ seq: 1, tls_expiry: 1_900_000_000 }),
    res({ seq: 2, probe: 'login', tls_expiry: 1_900_000_000 }),
    res({ seq: 3, system: 'virk', tls_expiry: 1_900_000_000 }),
  ]);
  await b.batch(1, [res({ seq: 1 }), res({ seq: 2, system: 'virk' }), res({ seq: 3, system: 'virk', probe: 'port', ok: false, phases: { connect: 0.4 } })]);
  b.send('not json');
  await b.next('error');
  // A subscription request (refused: no smtp configured) makes the subscription metrics.
  await fetch(`${h.collector.url}/api/v1/subscriptions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  // The uptime gauges run on their timer.
  afterActivity = await eventually(async () => {
    const text = await metricsText(h);
    return text.includes('vagt_system_uptime_ratio{') ? text : undefined;
  });
  await a.close();
  await b.close();
});
afterAll(async () => {
  await h?.close();
});

describe(`${DOC} and /metrics`, () => {
  it('has a metric table', () => {
    expect(rows.length).toBeGreaterThanOrEqual(15);
    expect(new Set(rows.map((r) => r.name)).size).toBe(rows.length);
    for (const r of rows) {
      expect(['counter', 'gauge', 'histogram'], r.name).toContain(r.type);
      expect(r.labels.filter((l) => l.startsWith('bad label')), r.name).toEqual([]);
    }
  });

  it('documents every family exported at the start, and the start ones are exported', () => {
    const got = families(atStart);
    const documented = new Map(rows.map((r) => [r.name, r.type]));
    expect([...got].map(([name, f]) => [name, f.type])).toEqual([...got.keys()].map((name) => [name, documented.get(name) ?? 'undocumented']));
    const missing = rows.filter((r) => r.appears === 'start' && !got.has(r.name)).map((r) => r.name);
    expect(missing, 'rows marked `start` that a fresh collector does not export').toEqual([]);
    expect(rows.filter((r) => r.appears !== 'start' && got.has(r.name)).map((r) => r.name), 'exported from the start: mark them `start`').toEqual([]);
  });

  it('after results, a channel and a subscription request: every row exported with the documented type and labels', () => {
    const got = families(afterActivity);
    const exported = [...got].map(([name, f]) => ({ name, type: f.type, labels: [...f.labels].sort() })).sort((x, y) => x.name.localeCompare(y.name));
    const documented = rows.map((r) => ({ name: r.name, type: r.type, labels: r.labels })).sort((x, y) => x.name.localeCompare(y.name));
    expect(exported).toEqual(documented);
    for (const [name, f] of got) {
      expect(f.samples, `${name} has no series; make the activity in this test give it one`).toBeGreaterThan(0);
      expect(f.help, `${name}: a HELP text`).toMatch(/^[A-Z].{20,}/);
    }
  });

  it('passes promtool check metrics', () => {
    expect(afterActivity).toContain('vagt_probe_phase_duration_seconds{');
    expect(afterActivity).toContain('vagt_subscription_requests_total{');
    const check = spawnSync('promtool', ['check', 'metrics'], { input: afterActivity, encoding: 'utf8' });
    expect(check.error, 'promtool is not installed: apt-get install prometheus').toBeUndefined();
    expect({ status: check.status, output: check.stdout + check.stderr }).toEqual({ status: 0, output: '' });
  });

  it('drops every series of a system, probe and agent removed by a reload', async () => {
    // virk goes (its probes with it), mitid loses its probe login, aar-1 goes.
    const gone = (text: string): string[] => text.split('\n').filter((l) => l.startsWith('vagt_') && /system="virk"|probe="login"|agent="aar-1"/.test(l));
    expect(gone(afterActivity).length).toBeGreaterThan(20);
    const mitid = { ...MITID, probes: MITID.probes.filter((p) => p.id !== 'login') };
    const r = await h.collector.reload(config(h.dir, [mitid, { ...VIRK, id: 'skat', name: 'Skat', depends_on: {}, probes: [] }], ['kbh-1']));
    expect(r).toMatchObject({ ok: true, changed: true });
    // The uptime gauges follow on their next round.
    const left = await eventually(async () => {
      const text = await metricsText(h);
      return gone(text).length === 0 ? text : undefined;
    }).catch(async () => metricsText(h));
    expect(gone(left)).toEqual([]);
    expect(left).toContain('vagt_probe_success{system="mitid",probe="front",agent="kbh-1"} 1');
    expect(left).toMatch(/vagt_system_status\{system="skat",view="perceived",status="unknown"\} 1/);
  });
});
