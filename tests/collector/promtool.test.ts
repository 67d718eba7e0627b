// promtool must accept the real /metrics exposition (issue 2). In CI (CI set) promtool is
// required; elsewhere the test is skipped when promtool is not installed.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestAgent, metricsText, res, startHarness, type Harness } from './helpers.js';

const hasPromtool = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;
const run = hasPromtool || process.env.CI !== undefined;

let h: Harness;
beforeAll(async () => {
  if (!run) return;
  h = await startHarness();
  const a = await TestAgent.ready(h.wsUrl, 'kbh-1');
  const b = await TestAgent.ready(h.wsUrl, 'aar-1');
  await a.batch(1, [res({ seq: 1, tls_expiry: 1_900_000_000 }), res({ seq: 2, system: 'virk', ok: false, phases: { dns: 1 } })]);
  await b.batch(1, [res({ seq: 1, system: 'virk', probe: 'port', phases: { connect: 0.4 } })]);
  b.send('not json');
  await b.next('error');
  await a.close();
});
afterAll(async () => {
  await h?.close();
});

describe.runIf(run)('promtool check metrics', () => {
  it('accepts the exposition after results have arrived', async () => {
    const text = await metricsText(h);
    expect(text).toContain('vagt_probe_phase_duration_seconds{');
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.error).toBeUndefined();
    expect({ status: check.status, output: check.stdout + check.stderr }).toEqual({ status: 0, output: '' });
  });
});
