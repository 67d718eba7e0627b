// The Grafana dashboard is importable and asks only for what a real collector exposes: every
// metric (and label) its queries use is checked against /metrics of a running collector, and
// every query is parsed by promtool, so a renamed metric or a typo fails here, not on a wall screen.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notification } from '../../config/schema.js';
import { STATUSES } from '../../collector/status/types.js';
import { TestAgent, res, startHarness, testConfig, type Harness } from '../collector/helpers.js';

interface Target {
  expr: string;
  refId: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource: { type: string; uid: string };
  targets: Target[];
}
interface Dashboard {
  __inputs: { name: string; type: string; pluginId: string }[];
  schemaVersion: number;
  uid: string;
  templating: { list: { name: string; type: string; query: unknown; definition?: string }[] };
  panels: Panel[];
}

const file = join(import.meta.dirname, '..', '..', 'deploy', 'grafana', 'vagt-dashboard.json');
const dashboard = JSON.parse(readFileSync(file, 'utf8')) as Dashboard;
const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
const variableExprs = dashboard.templating.list.flatMap((v) => (v.definition === undefined ? [] : [v.definition]));

/** Grafana's variables replaced by values Prometheus accepts, as Grafana does before querying. */
const concrete = (expr: string): string =>
  expr.replaceAll('$__rate_interval', '5m').replaceAll('$system', '.*').replaceAll('$agent', '.*').replaceAll('$target', '99.7');

describe('deploy/grafana/vagt-dashboard.json', () => {
  it('is an importable dashboard with a Prometheus input and the system and agent variables', () => {
    expect(dashboard.schemaVersion).toBe(39);
    expect(dashboard.uid).toBe('vagt-overview');
    expect(dashboard.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' })]);
    const vars = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    expect(vars.get('system')?.definition).toBe('label_values(vagt_probe_success, system)');
    expect(vars.get('agent')?.definition).toBe('label_values(vagt_probe_success, agent)');
    expect(vars.get('system')?.type).toBe('query');
  });

  it('has panels with unique ids, a place on the grid and the Prometheus input as data source', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) {
      expect(p.gridPos, p.title).toEqual({ x: expect.any(Number), y: expect.any(Number), w: expect.any(Number), h: expect.any(Number) });
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      expect(p.datasource.uid, p.title).toBe('${DS_PROMETHEUS}');
      expect(p.targets.length, p.title).toBeGreaterThan(0);
    }
    const titles = dashboard.panels.map((p) => p.title);
    for (const t of ['Status per system', 'Uptime, last 24h', 'Uptime, last 30d', 'Response time p95 per probe', 'Agents connected', 'Alerts active', 'Ingest rejections by reason', 'Notifications sent and failed'])
      expect(titles).toContain(t);
  });

  it('maps every status to words', () => {
    const status = dashboard.panels.find((p) => p.title === 'Status per system');
    const text = JSON.stringify(status);
    for (const s of STATUSES) expect(text).toContain(`status=\\"${s}\\"`);
    expect(text).toContain('✕ Major outage');
    expect(text).toContain('? Unknown');
  });

  it('has queries promtool parses', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vagt-grafana-'));
    try {
      const rules = [...exprs, ...variableExprs.map((d) => d.replace(/^label_values\((\w+), \w+\)$/, '$1'))].map(
        (expr, i) => `      - record: vagt:dashboard_query_${i}\n        expr: ${JSON.stringify(concrete(expr))}\n`,
      );
      const rulesFile = join(dir, 'rules.yaml');
      writeFileSync(rulesFile, `groups:\n  - name: dashboard\n    rules:\n${rules.join('')}`);
      expect(execFileSync('promtool', ['check', 'rules', rulesFile], { encoding: 'utf8' })).toContain('SUCCESS');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('against a running collector', () => {
    let h: Harness;
    let metrics: string;

    beforeAll(async () => {
      h = await startHarness({
        config: (dir) => ({ ...testConfig(dir), notifications: [notification.parse({ id: 'ops', type: 'webhook', url: 'http://127.0.0.1:9/hook' })] }),
      });
      const agent = await TestAgent.ready(h.wsUrl, 'kbh-1');
      await agent.batch(1, [res({ seq: 1 }), res({ seq: 2, system: 'virk', probe: 'front', tls_expiry: Math.floor(Date.now() / 1000) + 86_400 * 30 })]);
      metrics = await (await fetch(`${h.collector.url}/metrics`)).text();
      await agent.close();
    });
    afterAll(() => h.close());

    /** Sample lines by metric name (a histogram's as _bucket, _sum and _count). */
    const samples = (name: string): string[] => metrics.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));

    it('exposes every metric the dashboard queries', () => {
      const names = new Set([...exprs, ...variableExprs].flatMap((e) => [...e.matchAll(/\bvagt_[a-z_]+/g)].map((m) => m[0])));
      expect(names.size).toBeGreaterThan(10);
      for (const name of names) {
        const family = name.replace(/_(bucket|sum|count)$/, '');
        expect(metrics, name).toMatch(new RegExp(`^# TYPE (${name}|${family}) `, 'm'));
      }
      for (const name of ['vagt_probe_success', 'vagt_probe_duration_seconds_bucket', 'vagt_probe_phase_duration_seconds', 'vagt_system_status', 'vagt_agent_connected', 'vagt_alert_active', 'vagt_tls_certificate_expiry_timestamp_seconds', 'vagt_ingest_rejected_total', 'vagt_notifications_pending'])
        expect(samples(name).length, name).toBeGreaterThan(0);
    });

    it('uses only labels those metrics have', () => {
      for (const expr of exprs)
        for (const m of expr.matchAll(/\b(vagt_[a-z_]+)\{([^}]*)\}/g)) {
          const [, name = '', selector = ''] = m;
          const lines = samples(name);
          if (lines.length === 0) continue;
          for (const l of selector.matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)) expect(lines.some((s) => s.includes(`${l[1]}="`)), `${name} ${l[1]}`).toBe(true);
        }
      expect(samples('vagt_system_status').some((l) => l.includes('view="perceived"') && l.includes('status="operational"'))).toBe(true);
    });
  });
});
