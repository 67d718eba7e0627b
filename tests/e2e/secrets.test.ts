// A secret's value never leaves the agent (CONTRACT §3): a real collector with SQLite, a real agent
// and a login target that echoes what it receives. The agent uses the secrets (the target sees
// them), and afterwards nothing the collector stores or serves, and nothing either side logged,
// holds their values: the database file and its WAL byte for byte, every API route, /metrics,
// the status page and the logs at trace level.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../agent/agent.js';
import { startCollector, type Collector } from '../../collector/collector.js';
import { configSchema } from '../../config/schema.js';
import { createLogger } from '../../lib/log.js';
import { PASSWORD, USER, loginSteps, startLoginHosts, type LoginHosts } from '../probes/login-servers.js';

const TOKEN = 'secrets-e2e-token-0123456789';
const WRONG = 'forkert-men-hemmeligt-77';
const logs: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, cb) {
    logs.push(chunk.toString('utf8'));
    cb();
  },
});

let h: LoginHosts;
let collector: Collector;
let agent: Agent;
let dir: string;

beforeAll(async () => {
  process.env.TEST_USER = USER;
  process.env.TEST_PASSWORD = PASSWORD;
  process.env.TEST_WRONG = WRONG;
  dir = mkdtempSync(join(tmpdir(), 'vagt-secrets-'));
  h = await startLoginHosts();
  const failing = loginSteps(h, '${secret:TEST_WRONG}');
  const config = configSchema.parse({
    agents: [{ id: 'kbh-1', token: TOKEN }],
    defaults: { interval: '300ms', timeout: '250ms', retries: 1 },
    systems: [
      { id: 'login', name: 'Login', probes: [{ id: 'flow', type: 'flow', steps: loginSteps(h) }] },
      // The wrong password makes the target echo the user name in an error page and the step fail.
      { id: 'login-wrong', name: 'Login (wrong)', probes: [{ id: 'flow', type: 'flow', steps: failing }] },
      // A secret in a URL and a header of a plain http probe, echoed back in a redirect.
      {
        id: 'api',
        name: 'API',
        probes: [
          {
            id: 'key',
            type: 'http',
            url: `${h.spUrl}/min-side?key=\${secret:TEST_PASSWORD}`,
            headers: { Authorization: 'Bearer ${secret:TEST_PASSWORD}' },
            expect: { status: 200 },
          },
        ],
      },
    ],
  });
  const log = createLogger({ level: 'trace', destination: sink });
  collector = await startCollector({ config, listen: '127.0.0.1:0', dataDir: dir, logger: log.child({ side: 'collector' }) });
  agent = startAgent({
    url: collector.url.replace('http://', 'ws://') + '/agent',
    id: 'kbh-1',
    token: TOKEN,
    logger: log.child({ side: 'agent' }),
    batchMs: 50,
  });
});

afterAll(async () => {
  await agent?.stop();
  await collector?.close();
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function resultsOf(system: string): Promise<{ ok: boolean }[]> {
  const res = await fetch(`${collector.url}/api/v1/results?system=${system}`);
  return ((await res.json()) as { results: { ok: boolean }[] }).results;
}

describe('secrets', () => {
  it('are used on the wire and absent from everything the collector stores or serves, and from the logs', async () => {
    // Wait until each system has results, including a passing login and a failing one.
    for (;;) {
      const [ok, wrong, api] = await Promise.all([resultsOf('login'), resultsOf('login-wrong'), resultsOf('api')]);
      if (ok.some((r) => r.ok) && wrong.length >= 2 && api.length >= 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // The target did receive the secrets: the probes really used them.
    const sent = JSON.stringify(h.idp.requests.map((q) => q.body));
    expect(sent).toContain(encodeURIComponent(PASSWORD));
    expect(sent).toContain(encodeURIComponent(WRONG));
    expect(JSON.stringify(h.sp.requests.map((q) => q.headers.authorization))).toContain(PASSWORD);

    const served: string[] = [];
    for (const path of [
      '/api/v1/status',
      '/api/v1/systems/login',
      '/api/v1/systems/login-wrong',
      '/api/v1/systems/api',
      '/api/v1/results?limit=10000',
      '/api/v1/agents',
      '/metrics',
      '/',
      '/?lang=en',
    ]) {
      const res = await fetch(`${collector.url}${path}`);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      served.push(await res.text());
    }
    const failed = JSON.parse(served[2]!) as unknown;
    // The failure is there and readable, with the placeholder where the echoed user name was.
    expect(JSON.stringify(failed)).toContain('${secret:TEST_USER}');

    await agent.stop();
    await collector.close();
    const stored = readdirSync(dir)
      .filter((f) => f.startsWith('vagt.db'))
      .map((f) => readFileSync(join(dir, f)).toString('latin1'));
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.join('')).toContain('submit credentials'); // the flow's results are in the file

    const everything = [...served, ...stored, ...logs].join('\n');
    for (const value of [USER, PASSWORD, WRONG, encodeURIComponent(PASSWORD), encodeURIComponent(WRONG)]) {
      expect(everything.includes(value), `secret value ${value} leaked`).toBe(false);
    }
    expect(logs.length).toBeGreaterThan(0);
  });
});
