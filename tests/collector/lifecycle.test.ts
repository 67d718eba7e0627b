// Reload, restart and shutdown of a collector with a real SQLite file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startCollector } from '../../collector/collector.js';
import { configSchema } from '../../config/schema.js';
import { ADMIN_TOKEN, TOKENS, TestAgent, getJson, metricsText, res, sample, silent, startHarness, testConfig, type Harness } from './helpers.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vagt-lifecycle-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function harness(opts: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
  const h = await startHarness(opts);
  cleanup.push(() => h.close());
  return h;
}

const YAML = (dir: string, extraProbe: string) => `
collector:
  listen: 127.0.0.1:0
  data_dir: ${JSON.stringify(dir)}
  admin_token: ${ADMIN_TOKEN}
agents:
  - { id: kbh-1, token: ${TOKENS['kbh-1']} }
  - { id: aar-1, token: ${TOKENS['aar-1']} }
systems:
  - id: mitid
    name: MitID
    probes:
      - { id: front, type: http, url: "https://www.mitid.dk/" }
${extraProbe}
`;

describe('reload', () => {
  it('pushes a new assignment to connected agents when their probes change, and drops gone series', async () => {
    const dir = tempDir();
    const h = await harness({ dir });
    const a = await TestAgent.ready(h.wsUrl, 'kbh-1');
    const first = a.messages.find((m) => m.type === 'assignment');
    const b = await TestAgent.ready(h.wsUrl, 'aar-1');
    await a.batch(1, [res({ seq: 1, system: 'virk', probe: 'front' })]);
    expect(sample(await metricsText(h), 'vagt_probe_success', { system: 'virk', probe: 'front', agent: 'kbh-1' })).toBe(1);

    // virk goes, skat comes; only for kbh-1 via agents: [kbh-1].
    const next = testConfig(dir, {
      systems: [
        { id: 'mitid', name: 'MitID', probes: [{ id: 'front', type: 'http', url: 'https://www.mitid.dk/' }] },
        { id: 'virk', name: 'Virk', probes: [{ id: 'port', type: 'tcp', host: '127.0.0.1', port: 443, agents: ['aar-1'] }] },
        { id: 'skat', name: 'Skat', probes: [{ id: 'front', type: 'http', url: 'https://skat.dk/', agents: ['kbh-1'] }] },
      ],
    });
    const r = await h.collector.reload(next);
    expect(r).toMatchObject({ ok: true, changed: true });

    const assignment = await a.next('assignment');
    expect(assignment.revision).not.toBe(first?.type === 'assignment' ? first.revision : undefined);
    expect(assignment.probes.map((p) => `${p.system}/${p.id}`).sort()).toEqual(['mitid/front', 'skat/front']);
    const ack = await a.batch(2, [res({ seq: 2, system: 'skat' }), res({ seq: 3, system: 'virk', probe: 'front' })]);
    expect(ack).toMatchObject({ accepted: 1, rejected: [3] });

    const status = await getJson(`${h.collector.url}/api/v1/status`);
    expect(status.body.systems.map((s) => s.id)).toEqual(['mitid', 'virk', 'skat']);
    const m = await metricsText(h);
    expect(m).not.toMatch(/vagt_probe_success\{system="virk",probe="front"/);
    expect(sample(m, 'vagt_probe_success', { system: 'skat', probe: 'front', agent: 'kbh-1' })).toBe(1);

    // aar-1's probes did not change (mitid/front, virk/port... virk/port was already there): no new assignment.
    await a.close();
    const same = await h.collector.reload(next);
    expect(same).toMatchObject({ ok: true, changed: false });
    expect(b.messages.filter((x) => x.type === 'assignment').length).toBeGreaterThanOrEqual(1);
    await b.close();
  });

  it('closes the connection of an agent removed from the configuration', async () => {
    const dir = tempDir();
    const h = await harness({ dir });
    const b = await TestAgent.ready(h.wsUrl, 'aar-1');
    const cfg = testConfig(dir);
    const r = await h.collector.reload({ ...cfg, agents: cfg.agents.filter((x) => x.id !== 'aar-1') });
    expect(r.ok).toBe(true);
    expect((await b.closed).code).toBe(1008);
    await expect(TestAgent.connect(h.wsUrl, TOKENS['aar-1'])).rejects.toMatchObject({ status: 401 });
  });

  it('reloads from the file over HTTP with the admin token, and reports problems with 422', async () => {
    const dir = tempDir();
    const file = join(dir, 'vagt.yaml');
    writeFileSync(file, YAML(dir, ''));
    const h = await harness({ dir, configPath: file });
    const a = await TestAgent.ready(h.wsUrl, 'kbh-1');

    writeFileSync(file, YAML(dir, '      - { id: login, type: tcp, host: 127.0.0.1, port: 443 }'));
    const ok = await getJson(`${h.collector.url}/api/v1/reload`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ ok: true, changed: true, revision: expect.any(String) });
    const pushed = await a.next('assignment', (m) => m.probes.length === 2);
    expect(pushed.probes.map((p) => p.id).sort()).toEqual(['front', 'login']);

    writeFileSync(file, YAML(dir, '      - { id: login, type: tcp, host: 127.0.0.1, port: 443, interval: soon }'));
    const bad = await getJson(`${h.collector.url}/api/v1/reload`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe('invalid_config');
    expect(bad.body.error.problems?.[0]).toMatchObject({ path: expect.stringContaining('interval'), message: expect.any(String) });
    // The running configuration stays.
    expect((await a.batch(1, [res({ seq: 1, probe: 'login' })])).accepted).toBe(1);
    await a.close();
  });

  it('answers 404 on reload when no admin token is configured', async () => {
    const h = await harness({ config: (dir) => testConfig(dir, { collector: { admin_token: undefined } }) });
    const r = await getJson(`${h.collector.url}/api/v1/reload`, { method: 'POST', headers: { authorization: 'Bearer whatever-token-here' } });
    expect(r.status).toBe(404);
    expect(r.body.error.message).toMatch(/admin_token/);
  });
});

describe('restart and shutdown', () => {
  it('keeps results, latest results and since across a restart', async () => {
    const dir = tempDir();
    const h1 = await startHarness({ dir });
    const a = await TestAgent.ready(h1.wsUrl, 'kbh-1');
    await a.batch(1, [res({ seq: 1 }), res({ seq: 2, system: 'virk' })]);
    const before = await getJson(`${h1.collector.url}/api/v1/status`);
    const closed = a.closed;
    await h1.close();
    // The agent's socket was closed with 1001 (going away).
    expect((await closed).code).toBe(1001);

    const h2 = await harness({ dir });
    const after = await getJson(`${h2.collector.url}/api/v1/status`);
    expect(after.body.systems).toEqual(before.body.systems);
    const results = await getJson(`${h2.collector.url}/api/v1/results?agent=kbh-1`);
    expect(results.body.results).toHaveLength(2);
    // Resending after a restart is safe.
    const again = await TestAgent.ready(h2.wsUrl, 'kbh-1');
    expect(await again.batch(2, [res({ seq: 1 }), res({ seq: 3 })])).toMatchObject({ accepted: 2, rejected: [] });
    expect((await getJson(`${h2.collector.url}/api/v1/results?agent=kbh-1`)).body.results).toHaveLength(3);
    await again.close();
  });

  it('carries an open incident across a restart, resolves it there, and never reuses its id', async () => {
    const dir = tempDir();
    const h1 = await startHarness({ dir });
    const a = await TestAgent.ready(h1.wsUrl, 'kbh-1');
    await a.batch(1, [res({ seq: 1, ok: false, status_code: 503 })]);
    const open1 = await getJson(`${h1.collector.url}/api/v1/incidents?state=open`);
    expect(open1.body.incidents).toMatchObject([{ id: 1, system: 'mitid', affected: ['mitid', 'virk'] }]);
    await a.close();
    await h1.close();

    const h2 = await harness({ dir });
    const open2 = await getJson(`${h2.collector.url}/api/v1/incidents?state=open`);
    const list = (body: Record<string, unknown>) => body.incidents as Record<string, unknown>[];
    expect(list(open2.body)).toEqual(list(open1.body).map((i) => ({ ...i, duration_s: expect.any(Number) })));
    const b = await TestAgent.ready(h2.wsUrl, 'kbh-1');
    await b.batch(1, [res({ seq: 2 })]);
    const done = await getJson(`${h2.collector.url}/api/v1/incidents/1`);
    expect(done.body).toMatchObject({ id: 1, state: 'resolved' });
    await b.batch(2, [res({ seq: 3, ok: false, status_code: 503 })]);
    expect((await getJson(`${h2.collector.url}/api/v1/incidents?state=open`)).body.incidents).toMatchObject([{ id: 2 }]);
    await b.close();
  });

  it('is not ready while closing, and close is idempotent', async () => {
    const h = await startHarness();
    expect((await fetch(`${h.collector.url}/readyz`)).status).toBe(200);
    const p1 = h.collector.close();
    const p2 = h.collector.close();
    await Promise.all([p1, p2]);
    await h.close();
    await expect(fetch(`${h.collector.url}/readyz`)).rejects.toThrow();
  });

  it('fails to start with a clear message when the port is taken', async () => {
    const dir = tempDir();
    const h = await harness({ dir });
    const config = configSchema.parse({ collector: { data_dir: dir } });
    await expect(
      startCollector({ config, listen: `127.0.0.1:${h.collector.port}`, dataDir: join(dir, 'other'), logger: silent }),
    ).rejects.toThrow(/cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
  });
});
