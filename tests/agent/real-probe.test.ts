// The agent with the real runProbe (the default `run`) against a real local HTTP server.
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startAgent } from '../../agent/agent.js';
import { version } from '../../lib/version.js';
import { FakeCollector, TOKEN, captureLogger, httpSpec, waitFor } from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function target(): Promise<{ server: Server; port: number; agents: string[] }> {
  const agents: string[] = [];
  const server = createServer((req, res) => {
    agents.push(req.headers['user-agent'] ?? '');
    if (req.url === '/down') {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('Vi har driftsforstyrrelser');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<h1>Velkommen til MitID</h1>');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { server, port: (server.address() as { port: number }).port, agents };
}

describe('agent with the real probes', () => {
  it('probes a local HTTP server and streams real results, with the contract\'s User-Agent', async () => {
    const t = await target();
    const probes = [
      httpSpec('mitid', 'front', { url: `http://127.0.0.1:${t.port}/`, interval: 100, expect: { body_contains: 'MitID' } }),
      httpSpec('virk', 'front', { url: `http://127.0.0.1:${t.port}/down`, interval: 100, expect: { status: [200] } }),
    ];
    const fc = await FakeCollector.start({ probes });
    cleanups.push(() => fc.close());
    const { logger, lines } = captureLogger();
    const a = startAgent({ url: fc.url, id: 'kbh-1', token: TOKEN, logger, batchMs: 30 });
    cleanups.push(() => a.stop());

    await waitFor(() => fc.results.filter((r) => r.system === 'mitid').length >= 2 && fc.results.some((r) => r.system === 'virk'), 'real results', 10_000);
    const ok = fc.results.find((r) => r.system === 'mitid')!;
    expect(ok).toMatchObject({ probe: 'front', ok: true, status_code: 200 });
    expect(ok.duration_ms).toBeGreaterThan(0);
    expect(ok.phases.connect).toBeGreaterThanOrEqual(0);
    expect(ok.phases.ttfb).toBeGreaterThanOrEqual(0);
    const bad = fc.results.find((r) => r.system === 'virk')!;
    expect(bad).toMatchObject({ ok: false, status_code: 503, error: { code: 'http_status' } });
    // Failures are data: logged at debug, not as warnings.
    expect(lines.some((l) => l.msg === 'probe failed' && l.level === 20 && l.system === 'virk')).toBe(true);
    expect(new Set(t.agents)).toEqual(new Set([`vagt-agent/${version} (+agent=kbh-1)`]));
    expect(fc.problems).toEqual([]);
  });
});
