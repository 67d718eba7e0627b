import { afterEach, describe, expect, it } from 'vitest';
import { runProbe } from '../../probes/run.js';
import { PHASES } from '../../protocol/messages.js';
import { eventually, freePort, httpSpec, startHttp, UA, type Running } from './servers.js';

const open: Running[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function server(...args: Parameters<typeof startHttp>) {
  const s = await startHttp(...args);
  open.push(s);
  return s;
}

const page = '<html><body><h1>Velkommen til MitID</h1></body></html>';
const ok = () =>
  server((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'x-served-by': 'node-7' }).end(page);
  });

describe('http prober: a plain success', () => {
  it('reports status, phases on a monotonic clock, bytes and the final URL', async () => {
    const s = await ok();
    const r = await runProbe(httpSpec({ url: `${s.url}/` }), { userAgent: UA });
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.status_code).toBe(200);
    expect(Object.keys(r.phases).sort()).toEqual(['connect', 'dns', 'transfer', 'ttfb']);
    expect(r.phases.dns).toBe(0); // an IP literal is not looked up
    for (const p of PHASES) if (r.phases[p] !== undefined) expect(r.phases[p]).toBeGreaterThanOrEqual(0);
    const sum = Object.values(r.phases).reduce((a, b) => a + b, 0);
    expect(sum).toBeLessThanOrEqual(r.duration_ms + 0.01);
    expect(r.duration_ms).toBeGreaterThan(0);
    expect(r.detail).toMatchObject({ redirects: 0, final_url: `${s.url}/`, bytes: Buffer.byteLength(page), ip: '127.0.0.1' });
    expect(r.tls_expiry).toBeUndefined();
  });

  it('looks the name up itself and reports the dns phase', async () => {
    const s = await ok();
    const r = await runProbe(httpSpec({ url: `http://localhost:${s.port}/` }), { userAgent: UA });
    expect(r.ok).toBe(true);
    expect(r.phases.dns).toBeGreaterThan(0);
    expect(s.requests[0]?.headers.host).toBe(`localhost:${s.port}`);
  });

  it('opens a fresh connection for every run and asks the server to close it', async () => {
    const s = await ok();
    const spec = httpSpec({ url: s.url });
    for (let i = 0; i < 3; i++) expect((await runProbe(spec, { userAgent: UA })).ok).toBe(true);
    expect(s.connections).toBe(3);
    expect(s.requests).toHaveLength(3);
    for (const r of s.requests) expect(r.headers.connection).toBe('close');
    expect(await eventually(() => s.openSockets === 0)).toBe(true);
  });

  it("sends the contract's User-Agent even when headers name another, plus the configured headers and body", async () => {
    const s = await ok();
    const r = await runProbe(
      httpSpec({ url: `${s.url}/submit?q=1`, method: 'POST', headers: { 'User-Agent': 'curl/8', 'X-Trace': 'abc', 'Content-Type': 'text/plain' }, body: 'hej' }),
      { userAgent: UA },
    );
    expect(r.ok).toBe(true);
    const seen = s.requests[0]!;
    expect(seen.headers['user-agent']).toBe(UA);
    expect(seen.headers['x-trace']).toBe('abc');
    expect(seen).toMatchObject({ method: 'POST', url: '/submit?q=1', body: 'hej' });
  });
});

describe('http prober: expectations', () => {
  const failing = () => server((_req, res) => res.writeHead(503, { 'retry-after': '60' }).end('Ikke tilgængelig'));

  it('fails any non-2xx by default, with a clear message', async () => {
    const s = await failing();
    const r = await runProbe(httpSpec({ url: s.url }), { userAgent: UA });
    expect(r).toMatchObject({ ok: false, status_code: 503, error: { code: 'http_status', message: 'expected a 2xx status, got 503' } });
    expect(r.phases.ttfb).toBeGreaterThanOrEqual(0); // phases are reported on failure too
  });

  it('accepts the listed statuses only', async () => {
    const s = await failing();
    expect((await runProbe(httpSpec({ url: s.url, expect: { status: [503] } }), { userAgent: UA })).ok).toBe(true);
    const r = await runProbe(httpSpec({ url: s.url, expect: { status: [200, 204] } }), { userAgent: UA });
    expect(r.error).toEqual({ code: 'http_status', message: 'expected status 200 or 204, got 503' });
  });

  it('checks body_contains, body_not_contains and body_regex', async () => {
    const s = await ok();
    const run = (expectation: Record<string, unknown>) => runProbe(httpSpec({ url: s.url, expect: expectation }), { userAgent: UA });
    expect((await run({ body_contains: 'MitID', body_not_contains: 'Fejl', body_regex: '<h1>Velkommen' })).ok).toBe(true);
    expect((await run({ body_contains: 'NemLog-in' })).error).toEqual({ code: 'body_mismatch', message: 'body does not contain "NemLog-in"' });
    expect((await run({ body_not_contains: 'Velkommen' })).error).toEqual({ code: 'body_mismatch', message: 'body contains "Velkommen"' });
    expect((await run({ body_regex: '^<h1>' })).error).toEqual({ code: 'body_mismatch', message: 'body does not match /^<h1>/' });
  });

  it('checks headers by regex, and a missing header fails', async () => {
    const s = await ok();
    const run = (header: Record<string, string>) => runProbe(httpSpec({ url: s.url, expect: { header } }), { userAgent: UA });
    expect((await run({ 'Content-Type': '^text/html', 'X-Served-By': 'node-\\d' })).ok).toBe(true);
    expect((await run({ 'content-type': '^application/json' })).error).toEqual({
      code: 'header_mismatch',
      message: 'header content-type: "text/html; charset=utf-8" does not match /^application/json/',
    });
    expect((await run({ 'Strict-Transport-Security': '.' })).error).toEqual({
      code: 'header_mismatch',
      message: 'header Strict-Transport-Security is missing',
    });
  });

  it('fails a response slower than max_duration as too_slow', async () => {
    const s = await server((_req, res) => setTimeout(() => res.end('late'), 150));
    const r = await runProbe(httpSpec({ url: s.url, expect: { max_duration: '20ms' } }), { userAgent: UA });
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('too_slow');
    expect(r.error?.message).toMatch(/^took \d+ms, more than max_duration 20ms$/);
    expect(r.status_code).toBe(200);
  });
});

describe('http prober: redirects', () => {
  it('follows a relative Location and sums the phases over hops', async () => {
    const s = await server((req, res) => {
      if (req.url === '/old') res.writeHead(302, { location: '/new?x=1' }).end();
      else res.end('here');
    });
    const r = await runProbe(httpSpec({ url: `${s.url}/old` }), { userAgent: UA });
    expect(r.ok).toBe(true);
    expect(r.detail).toMatchObject({ redirects: 1, final_url: `${s.url}/new?x=1`, bytes: 4 });
    expect(s.requests.map((q) => q.url)).toEqual(['/old', '/new?x=1']);
    expect(s.connections).toBe(2); // a fresh connection per hop too
    expect(await eventually(() => s.openSockets === 0)).toBe(true);
  });

  it('follows a redirect to another port, and turns POST into GET on 303', async () => {
    const target = await server((_req, res) => res.end('landed'));
    const s = await server((_req, res) => res.writeHead(303, { location: `${target.url}/landing` }).end());
    const r = await runProbe(httpSpec({ url: `${s.url}/form`, method: 'POST', body: 'a=1', expect: { body_contains: 'landed' } }), {
      userAgent: UA,
    });
    expect(r.ok).toBe(true);
    expect(r.detail).toMatchObject({ redirects: 1, final_url: `${target.url}/landing` });
    expect(target.requests[0]).toMatchObject({ method: 'GET', url: '/landing', body: '' });
    expect(target.requests[0]?.headers['user-agent']).toBe(UA);
  });

  it('keeps the method on 307', async () => {
    const s = await server((req, res) => {
      if (req.url === '/a') res.writeHead(307, { location: '/b' }).end();
      else res.end('ok');
    });
    const r = await runProbe(httpSpec({ url: `${s.url}/a`, method: 'PUT', body: 'x' }), { userAgent: UA });
    expect(r.ok).toBe(true);
    expect(s.requests[1]).toMatchObject({ method: 'PUT', url: '/b', body: 'x' });
  });

  it('stops after max_redirects with too_many_redirects', async () => {
    let n = 0;
    const s = await server((_req, res) => res.writeHead(301, { location: `/loop${++n}` }).end());
    const r = await runProbe(httpSpec({ url: `${s.url}/start`, max_redirects: 3 }), { userAgent: UA });
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('too_many_redirects');
    expect(r.error?.message).toContain('stopped after 3 redirects');
    expect(r.status_code).toBe(301);
    expect(s.requests).toHaveLength(4);
  });

  it('treats a 3xx as the final response when follow_redirects is false', async () => {
    const s = await server((_req, res) => res.writeHead(302, { location: '/elsewhere' }).end());
    const run = (expectation: Record<string, unknown>) =>
      runProbe(httpSpec({ url: s.url, follow_redirects: false, expect: expectation }), { userAgent: UA });
    const r = await run({ status: 302, header: { location: '^/elsewhere$' } });
    expect(r.ok).toBe(true);
    expect(r.detail).toMatchObject({ redirects: 0, final_url: `${s.url}/` });
    expect((await run({})).error).toEqual({ code: 'http_status', message: 'expected a 2xx status, got 302' });
    expect(s.requests).toHaveLength(2);
  });
});

describe('http prober: body cap', () => {
  it('reads at most max_body_bytes of an endless body and notes the truncation', async () => {
    const s = await server((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('MARKER ');
      const chunk = 'x'.repeat(16_384);
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    const r = await runProbe(httpSpec({ url: s.url, max_body_bytes: 10_000, expect: { body_contains: 'MARKER' } }, 3000), { userAgent: UA });
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.detail).toMatchObject({ bytes: 10_000, truncated: true });
    expect(await eventually(() => s.openSockets === 0)).toBe(true); // the rest is not downloaded
  });

  it('tells that a body expectation was checked against the truncated part', async () => {
    const s = await server((_req, res) => res.end(`${'a'.repeat(5000)}NEEDLE`));
    const r = await runProbe(httpSpec({ url: s.url, max_body_bytes: 1000, expect: { body_contains: 'NEEDLE' } }), { userAgent: UA });
    expect(r.error).toEqual({ code: 'body_mismatch', message: 'body does not contain "NEEDLE" (in the first 1000 bytes)' });
  });
});

describe('http prober: failures are data', () => {
  it('times out against a server that never answers, with the phases measured so far', async () => {
    const s = await server(() => {
      /* never answers */
    });
    const r = await runProbe(httpSpec({ url: s.url }, 300), { userAgent: UA });
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('timeout');
    expect(r.error?.message).toBe(`timed out after 300ms waiting for the response from 127.0.0.1:${s.port}`);
    expect(r.phases.connect).toBeGreaterThanOrEqual(0);
    expect(r.phases.ttfb).toBeGreaterThan(200);
    expect(r.duration_ms).toBeGreaterThanOrEqual(290);
    expect(r.duration_ms).toBeLessThan(5000);
    expect(await eventually(() => s.openSockets === 0)).toBe(true);
  });

  it('reports a refused connection', async () => {
    const port = await freePort();
    const r = await runProbe(httpSpec({ url: `http://127.0.0.1:${port}/` }), { userAgent: UA });
    expect(r).toMatchObject({ ok: false, error: { code: 'connect', message: `connect ECONNREFUSED 127.0.0.1:${port}` } });
    expect(r.phases.connect).toBeGreaterThanOrEqual(0);
    expect(r.status_code).toBeUndefined();
  });

  it('reports a name that does not resolve', async () => {
    const r = await runProbe(httpSpec({ url: 'http://vagt-probe-test.invalid/' }, 15_000), { userAgent: UA });
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('dns');
    expect(r.error?.message).toMatch(/^dns lookup of vagt-probe-test\.invalid failed: E[A-Z_]+$/);
    expect(r.phases.dns).toBeGreaterThanOrEqual(0);
  }, 20_000);

  it('reports a response that is not HTTP as a protocol error', async () => {
    const { startTcp } = await import('./servers.js');
    const raw = await startTcp((sock) => sock.end('SSH-2.0-OpenSSH_9.6\r\n\r\n'));
    open.push(raw);
    const r = await runProbe(httpSpec({ url: `http://127.0.0.1:${raw.port}/` }), { userAgent: UA });
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('protocol');
    expect(r.error?.message).toContain(`no response from 127.0.0.1:${raw.port}`);
  });

  it('reports a connection closed mid-body as a protocol error', async () => {
    const s = await server((_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('partial');
      setTimeout(() => res.destroy(), 20);
    });
    const r = await runProbe(httpSpec({ url: s.url }), { userAgent: UA });
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('protocol');
    expect(r.error?.message).toContain('reading the body from');
    expect(r.status_code).toBe(200);
  });

  it('stops when the caller cancels', async () => {
    const s = await server(() => {
      /* never answers */
    });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const r = await runProbe(httpSpec({ url: s.url }), { userAgent: UA, signal: ac.signal });
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('internal');
    expect(r.error?.message).toMatch(/^probe cancelled/);
    expect(r.duration_ms).toBeLessThan(4000);
  });
});

describe('http prober: secrets', () => {
  it('resolves ${secret:NAME} in the URL and headers, and never reports the value', async () => {
    const s = await server((req, res) => {
      if (req.url?.startsWith('/start')) res.writeHead(302, { location: `/done${req.url.slice('/start'.length)}` }).end();
      else res.end('ok');
    });
    const secret = (name: string) => ({ API_KEY: 's3cr3t-value', TOKEN: 'tok-123' })[name];
    const r = await runProbe(
      httpSpec({ url: `${s.url}/start?key=\${secret:API_KEY}`, headers: { Authorization: 'Bearer ${secret:TOKEN}' } }),
      { userAgent: UA, secret },
    );
    expect(r.ok).toBe(true);
    expect(s.requests[0]?.url).toBe('/start?key=s3cr3t-value');
    expect(s.requests[0]?.headers.authorization).toBe('Bearer tok-123');
    expect(r.detail?.final_url).toBe(`${s.url}/done?key=\${secret:API_KEY}`);
    expect(JSON.stringify(r)).not.toContain('s3cr3t-value');
  });

  it('sends credentials in the URL as Basic auth and keeps them out of the result', async () => {
    const s = await ok();
    const r = await runProbe(httpSpec({ url: `http://probe:pa%24%24@127.0.0.1:${s.port}/x` }), { userAgent: UA });
    expect(r.ok).toBe(true);
    expect(s.requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from('probe:pa$$').toString('base64')}`);
    expect(r.detail?.final_url).toBe(`${s.url}/x`);
  });

  it('fails with secret_missing when the agent does not have the secret', async () => {
    const s = await ok();
    const r = await runProbe(httpSpec({ url: s.url, headers: { Authorization: 'Bearer ${secret:NOPE_NOT_SET}' } }), {
      userAgent: UA,
      secret: () => undefined,
    });
    expect(r.error).toEqual({ code: 'secret_missing', message: 'secret NOPE_NOT_SET is not set on this agent' });
    expect(s.requests).toHaveLength(0);
  });
});
