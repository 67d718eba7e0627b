// The collector terminating TLS itself (`collector.tls`) with the fixture certificates: HTTPS for
// the API, wss:// for real agents that trust the test CA (`ca`), a clear TLS error for one that
// does not, and agents whose token is configured as its SHA-256 (`token_sha256`).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { get } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent } from '../../agent/agent.js';
import { startCollector } from '../../collector/collector.js';
import { configSchema, type Config } from '../../config/schema.js';
import { LEVEL, captureLogger, okRun, waitFor } from '../agent/helpers.js';
import { TOKENS, TestAgent, eventually, silent, startHarness, type ApiBody, type Harness } from './helpers.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'tls');
const CA = readFileSync(join(FIXTURES, 'ca.crt'));
const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

function tlsConfig(dir: string, over: { cert?: string; key?: string } = {}): Config {
  return configSchema.parse({
    collector: {
      listen: '127.0.0.1:0',
      data_dir: dir,
      tls: { cert_file: join(FIXTURES, over.cert ?? 'valid.crt'), key_file: join(FIXTURES, over.key ?? 'valid.key') },
    },
    agents: [
      { id: 'kbh-1', token: TOKENS['kbh-1'] },
      // Upper case, as some tools print it: the comparison reads hex, not text.
      { id: 'aar-1', token_sha256: sha256(TOKENS['aar-1']).toUpperCase() },
    ],
    defaults: { interval: '200ms', timeout: '100ms' },
    systems: [{ id: 'web', name: 'Web', probes: [{ id: 'front', type: 'http', url: 'http://127.0.0.1:1/' }] }],
  });
}

/** GET over HTTPS trusting the test CA (fetch cannot be given a CA without a dispatcher). */
function httpsGet(url: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    get(url, { ca: CA }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    }).on('error', reject);
  });
}

async function httpsJson(url: string): Promise<{ status: number; body: ApiBody }> {
  const r = await httpsGet(url);
  return { status: r.status, body: JSON.parse(r.text) as ApiBody };
}

let h: Harness;
const stops: (() => Promise<void>)[] = [];

beforeAll(async () => {
  h = await startHarness({ config: tlsConfig });
});
afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await h?.close();
});

function agent(id: 'kbh-1' | 'aar-1', opts: { ca?: Buffer; token?: string; logger?: ReturnType<typeof captureLogger>['logger'] } = {}) {
  const a = startAgent({
    url: h.wsUrl,
    id,
    token: opts.token ?? TOKENS[id],
    logger: opts.logger ?? silent,
    run: okRun(),
    batchMs: 20,
    reconnect: { minMs: 20, maxMs: 100 },
    ...(opts.ca === undefined ? {} : { ca: opts.ca }),
  });
  stops.push(() => a.stop());
  return a;
}

async function results(agentId: string): Promise<number> {
  const r = await httpsJson(`${h.collector.url}/api/v1/results?agent=${agentId}&limit=10`);
  return r.body.results.length;
}

describe('collector.tls', () => {
  it('serves HTTPS on its one port', async () => {
    expect(h.collector.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(h.wsUrl).toMatch(/^wss:\/\//);
    const r = await httpsGet(`${h.collector.url}/healthz`);
    expect(r.status).toBe(200);
  });

  it('takes results from a real agent over wss:// that trusts the CA', async () => {
    agent('kbh-1', { ca: CA });
    await eventually(async () => (await results('kbh-1')) > 0);
    const agents = await httpsJson(`${h.collector.url}/api/v1/agents`);
    expect(agents.body.agents.find((a) => a.id === 'kbh-1')).toMatchObject({ connected: true });
  });

  it('an agent without the CA logs a clear TLS error and keeps retrying, without crashing', async () => {
    const { logger, lines } = captureLogger('debug');
    agent('kbh-1', { logger });
    const tlsErrors = () => lines.filter((l) => l.level === LEVEL.error && /TLS certificate is not trusted.*--ca/.test(l.msg));
    await waitFor(() => tlsErrors().length >= 2, 'two refused attempts');
    expect(tlsErrors()[0]).toMatchObject({ url: h.wsUrl, err: expect.stringMatching(/certificate/) });
    expect(lines.some((l) => l.msg === 'connected to the collector')).toBe(false);
    expect(JSON.stringify(lines)).not.toContain(TOKENS['kbh-1']);
  });

  it('accepts the agent whose token is configured as token_sha256', async () => {
    agent('aar-1', { ca: CA });
    await eventually(async () => (await results('aar-1')) > 0);
  });

  it('refuses a wrong token with 401 when the agent has a token_sha256', async () => {
    await expect(TestAgent.connect(h.wsUrl, `${TOKENS['aar-1']}x`, { ca: CA })).rejects.toMatchObject({
      status: 401,
      body: expect.stringContaining('invalid agent token'),
    });
    // The hash itself is not a token.
    await expect(TestAgent.connect(h.wsUrl, sha256(TOKENS['aar-1']), { ca: CA })).rejects.toMatchObject({ status: 401 });
  });

  it('keeps a hashed token to its own agent: hello with another id is refused', async () => {
    const a = await TestAgent.connect(h.wsUrl, TOKENS['aar-1'], { ca: CA });
    a.send({ type: 'hello', protocol: 1, agent: 'kbh-1', version: 'test' });
    expect((await a.next('error')).message).toMatch(/not the agent this token belongs to/);
    expect((await a.closed).code).toBe(1008);
  });
});

describe('collector.tls at start', () => {
  it('runs the local agent over wss:// pinned to the collector\'s own certificate', async () => {
    const local = await startHarness({ config: tlsConfig, localAgent: true });
    try {
      await eventually(async () => {
        const r = await httpsJson(`${local.collector.url}/api/v1/agents`);
        return r.body.agents.find((a) => a.id === 'local')?.connected === true;
      });
    } finally {
      await local.close();
    }
  });

  it('names the file it cannot read, as a configuration error', async () => {
    const config = tlsConfig(h.dir, { cert: 'missing.crt' });
    await expect(startCollector({ config, logger: silent, listen: '127.0.0.1:0' })).rejects.toMatchObject({
      code: 'VAGT_ERR_CONFIG',
      message: `collector.tls.cert_file: cannot read ${join(FIXTURES, 'missing.crt')}: no such file`,
    });
  });

  it('refuses a key that does not belong to the certificate', async () => {
    const config = tlsConfig(h.dir, { key: 'localhost.key' });
    await expect(startCollector({ config, logger: silent, listen: '127.0.0.1:0' })).rejects.toMatchObject({
      code: 'VAGT_ERR_CONFIG',
      message: expect.stringMatching(/^collector\.tls: cannot use the certificate .*valid\.crt with the key .*localhost\.key: /),
    });
  });
});
