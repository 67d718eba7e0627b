import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runProbe } from '../../probes/run.js';
import type { StepDetail } from '../../protocol/messages.js';
import { PASSWORD, USER, flowSpec, loginSteps, startLoginHosts, type LoginHosts } from './login-servers.js';
import { startHttp, startTcp, UA, eventually, type Running } from './servers.js';

const secrets: Record<string, string> = { TEST_USER: USER, TEST_PASSWORD: PASSWORD, WRONG: 'forkert-kodeord' };
const secret = (name: string): string | undefined => secrets[name];
const run = (spec: ReturnType<typeof flowSpec>) => runProbe(spec, { userAgent: UA, secret });
const stepsOf = (r: { detail?: Record<string, unknown> }): StepDetail[] => r.detail?.steps as StepDetail[];

let h: LoginHosts;
beforeAll(async () => {
  h = await startLoginHosts();
});
afterAll(async () => {
  await h.close();
});

const open: Running[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

describe('flow prober: a login across two hosts', () => {
  it('logs in with CSRF and cookies through the redirect chain and reads the API', async () => {
    const before = { sp: h.sp.requests.length, idp: h.idp.requests.length };
    const r = await run(flowSpec({ steps: loginSteps(h) }));
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.status_code).toBe(200);
    const steps = stepsOf(r);
    expect(steps.map((s) => [s.index, s.name, s.ok, s.status_code])).toEqual([
      [0, 'open login page', true, 200],
      [1, 'submit credentials', true, 200],
      [2, 'read my page', true, 200],
    ]);
    // Step 1 follows one redirect to the other host; step 2 posts, then follows two redirects back.
    expect(steps[0]!.requests.map((q) => [q.method, new URL(q.url).pathname, q.status])).toEqual([
      ['GET', '/log-ind', 302],
      ['GET', '/login', 200],
    ]);
    expect(steps[1]!.requests.map((q) => [q.method, new URL(q.url).host.split(':')[0], new URL(q.url).pathname, q.status])).toEqual([
      ['POST', 'localhost', '/login', 302],
      ['GET', '127.0.0.1', '/callback', 302],
      ['GET', '127.0.0.1', '/min-side', 200],
    ]);
    expect(r.detail).toMatchObject({ requests: 6 });
    expect(r.detail?.failed_step).toBeUndefined();

    // Each host saw only its own cookies, and every request carried the contract's User-Agent.
    const sp = h.sp.requests.slice(before.sp);
    const idp = h.idp.requests.slice(before.idp);
    expect(idp.every((q) => !(q.headers.cookie ?? '').includes('sp_'))).toBe(true);
    expect(sp.every((q) => !(q.headers.cookie ?? '').includes('idp_'))).toBe(true);
    expect(idp[1]!.headers.cookie).toMatch(/^idp_sid=/);
    expect(sp.find((q) => q.url.startsWith('/api/me'))?.headers.cookie).toMatch(/sp_session=/);
    expect([...sp, ...idp].every((q) => q.headers['user-agent'] === UA)).toBe(true);
    expect(idp[1]!.headers['content-type']).toBe('application/x-www-form-urlencoded');

    // Waterfall: requests start in order, within the flow; phases sum over every request.
    const starts = steps.flatMap((s) => s.requests.map((q) => q.start_ms));
    expect([...starts].sort((a, b) => a - b)).toEqual(starts);
    expect(starts.at(-1)!).toBeLessThan(r.duration_ms);
    expect(r.phases.connect).toBeGreaterThan(0);
    expect(r.phases.ttfb).toBeGreaterThan(0);
    // A fresh connection for every request.
    expect(steps.flatMap((s) => s.requests).every((q) => q.phases.connect !== undefined)).toBe(true);
  });

  it('fails a wrong password at the submit step, naming it with what was expected and what came', async () => {
    const r = await run(flowSpec({ steps: loginSteps(h, '${secret:WRONG}') }));
    expect(r.ok).toBe(false);
    expect(r.error).toEqual({ code: 'http_status', message: 'step 2 "submit credentials": expected status 200, got 401' });
    expect(r.status_code).toBe(401);
    expect(r.detail?.failed_step).toBe(1);
    const steps = stepsOf(r);
    expect(steps).toHaveLength(2);
    expect(steps[0]!.ok).toBe(true);
    expect(steps[1]!.error).toMatchObject({ code: 'http_status', expected: 'status 200', got: '401: <p>Forkert kodeord for ${secret:TEST_USER}</p>' });
  });

  it('refuses a submit without the CSRF token from the page (403)', async () => {
    const steps = loginSteps(h) as { request: { form?: Record<string, string> } }[];
    steps[1]!.request.form!.csrf = 'gættet';
    const r = await run(flowSpec({ steps }));
    expect(r.error?.message).toBe('step 2 "submit credentials": expected status 200, got 403');
  });

  it('fails with a clear error naming a missing secret, before sending anything', async () => {
    const before = h.idp.requests.length;
    const r = await runProbe(flowSpec({ steps: loginSteps(h) }), { userAgent: UA, secret: (n) => (n === 'TEST_USER' ? USER : undefined) });
    expect(r.ok).toBe(false);
    expect(r.error).toEqual({ code: 'secret_missing', message: 'step 2 "submit credentials": secret TEST_PASSWORD is not set on this agent' });
    // Only step 1's GET of the login page reached the idp.
    expect(h.idp.requests.length - before).toBe(1);
    expect(stepsOf(r)[1]!.requests).toEqual([]);
  });

  it('keeps secret values out of the result, even when the target echoes them', async () => {
    const steps = loginSteps(h, '${secret:WRONG}');
    const r = await run(flowSpec({ steps }));
    const text = JSON.stringify(r);
    expect(text).not.toContain(USER);
    expect(text).not.toContain('forkert-kodeord');
    // The 401 page says "Forkert kodeord for demo-bruger": shown with the placeholder instead.
    expect(stepsOf(r)[1]!.error?.got).toContain('${secret:TEST_USER}');
  });
});

describe('flow prober: extraction and expectations', () => {
  it('extracts with regex, css text, json and header, and uses them in url, query, headers and json body', async () => {
    const api = await startHttp((req, res, body) => {
      if (req.url === '/start') {
        res.writeHead(200, { 'content-type': 'text/html', 'x-trace': 'abc-123' }).end('<p class="who"> Jens </p><script>var token = "t0k3n";</script>');
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ url: req.url, auth: req.headers.authorization, body: JSON.parse(body || 'null') as unknown }));
      }
    });
    open.push(api);
    const r = await run(
      flowSpec({
        steps: [
          {
            name: 'start',
            request: { url: `${api.url}/start` },
            extract: { token: { regex: 'token = "([^"]+)"' }, who: { css: 'p.who' }, trace: { header: 'x-trace' } },
          },
          {
            name: 'call',
            request: {
              method: 'POST',
              url: `${api.url}/items/{{trace}}`,
              query: { who: '{{who}}' },
              headers: { Authorization: 'Bearer {{token}}' },
              json: { who: '{{who}}', n: 2, tags: ['{{trace}}'] },
            },
            expect: {
              json: { '$.url': '/items/abc-123?who=Jens', '$.auth': 'Bearer t0k3n', '$.body': { who: 'Jens', n: 2, tags: ['abc-123'] } },
              body_contains: '{{who}}',
            },
          },
        ],
      }),
    );
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(api.requests[1]!.headers['content-type']).toBe('application/json');
  });

  it('fails an extraction that finds nothing, with the rule and an excerpt of the body', async () => {
    const s = await startHttp((_q, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>Ingen formular her</h1>'));
    open.push(s);
    const r = await run(flowSpec({ steps: [{ name: 'page', request: { url: `${s.url}/` }, extract: { csrf: { css: 'input[name=csrf]', attr: 'value' } } }] }));
    expect(r.error).toEqual({ code: 'extract_failed', message: 'step 1 "page": extract csrf: no element matching "input[name=csrf]" in the response' });
    expect(stepsOf(r)[0]!.error).toMatchObject({ expected: 'element matching "input[name=csrf]"', got: '<h1>Ingen formular her</h1>' });
  });

  it('fails a JSON expectation with the path, the wanted and the actual value', async () => {
    const s = await startHttp((_q, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"degraded"}'));
    open.push(s);
    const r = await run(flowSpec({ steps: [{ name: 'health', request: { url: `${s.url}/` }, expect: { json: { '$.status': 'ok' } } }] }));
    expect(r.error).toEqual({ code: 'expect_failed', message: 'step 1 "health": json $.status: expected "\\"ok\\"", got "\\"degraded\\""' });
  });

  it('does not follow a redirect when told not to, and then accepts a 3xx by default', async () => {
    const s = await startHttp((_q, res) => res.writeHead(302, { location: '/elsewhere' }).end());
    open.push(s);
    const r = await run(
      flowSpec({ steps: [{ name: 'sso', request: { url: `${s.url}/`, follow_redirects: false }, expect: { header: { location: '^/elsewhere$' } } }] }),
    );
    expect(r.error).toBeUndefined();
    expect(r.status_code).toBe(302);
    expect(s.requests).toHaveLength(1);
  });
});

describe('flow prober: hostile and broken targets', () => {
  it('stops a redirect loop at max_redirects', async () => {
    const s = await startHttp((req, res) => res.writeHead(302, { location: req.url === '/a' ? '/b' : '/a' }).end());
    open.push(s);
    const r = await run(flowSpec({ max_redirects: 5, steps: [{ name: 'loop', request: { url: `${s.url}/a` } }] }));
    expect(r.error?.code).toBe('too_many_redirects');
    expect(r.error?.message).toMatch(/^step 1 "loop": stopped after 5 redirects \(max_redirects 5\)/);
    expect(s.requests).toHaveLength(6);
  });

  it('reads a huge body only up to max_body_bytes and still checks what it read', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const s = await startHttp((_q, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('Velkommen ');
      // 64 MB on offer; the prober must stop long before.
      let sent = 0;
      const pump = (): void => {
        while (sent < 1024 && res.write(chunk)) sent++;
        if (sent < 1024) res.once('drain', pump);
        else res.end();
      };
      pump();
    });
    open.push(s);
    const r = await run(flowSpec({ max_body_bytes: 100_000, steps: [{ name: 'big', request: { url: `${s.url}/` }, expect: { body_contains: 'Velkommen' } }] }));
    expect(r.error).toBeUndefined();
    expect(stepsOf(r)[0]!.requests[0]!.bytes).toBe(100_000);
    expect(await eventually(() => s.openSockets === 0)).toBe(true);
  });

  it('times out the whole flow against a server that never answers, keeping the steps so far', async () => {
    const silent = await startTcp(() => {});
    open.push(silent);
    const ok = await startHttp((_q, res) => res.writeHead(200).end('ok'));
    open.push(ok);
    const r = await run(
      flowSpec(
        {
          steps: [
            { name: 'first', request: { url: `${ok.url}/` } },
            { name: 'hangs', request: { url: `http://127.0.0.1:${silent.port}/` } },
          ],
        },
        300,
      ),
    );
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('timeout');
    expect(r.duration_ms).toBeLessThan(2000);
    expect(await eventually(() => silent.openSockets === 0)).toBe(true);
  });

  it('refuses a self-signed certificate over https unless told to accept any, and reports its expiry', async () => {
    const s = await startHttp((_q, res) => res.writeHead(200).end('Velkommen'), { tls: true });
    open.push(s);
    const steps = [{ name: 'secure', request: { url: `https://localhost:${s.port}/` }, expect: { body_contains: 'Velkommen' } }];
    const strict = await run(flowSpec({ steps }));
    expect(strict.error?.code).toBe('tls');
    expect(strict.error?.message).toMatch(/^step 1 "secure": tls handshake with .*self[- ]signed/i);
    const lax = await run(flowSpec({ insecure_skip_verify: true, steps }));
    expect(lax.error).toBeUndefined();
    expect(lax.tls_expiry).toBeGreaterThan(Date.now() / 1000);
    expect(lax.phases.tls).toBeGreaterThan(0);
  });

  it('reports a connection refused at the step that met it', async () => {
    const r = await run(flowSpec({ steps: [{ name: 'gone', request: { url: 'http://127.0.0.1:1/' } }] }));
    expect(r.error?.code).toBe('connect');
    expect(r.error?.message).toMatch(/^step 1 "gone": connect ECONNREFUSED/);
    expect(stepsOf(r)[0]!.requests[0]!.status).toBeUndefined();
  });

  it('never sends a secret that a server slips into an extracted value', async () => {
    const s = await startHttp((req, res) => {
      if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end('<input name=t value="${secret:TEST_PASSWORD}">');
      else res.writeHead(200).end('ok');
    });
    open.push(s);
    const r = await run(
      flowSpec({
        steps: [
          { name: 'bait', request: { url: `${s.url}/` }, extract: { t: { css: 'input[name=t]', attr: 'value' } } },
          { name: 'use', request: { method: 'POST', url: `${s.url}/use`, body: 'token={{t}}' } },
        ],
      }),
    );
    expect(r.ok).toBe(true);
    expect(s.requests[1]!.body).toBe('token=${secret:TEST_PASSWORD}');
  });
});
