// Benchmark (issue 3): what a 3-step login flow costs the agent in CPU, and what the flow adds
// over the HTTP requests it is made of. The login target runs in a child process (its CPU is not
// counted) and answers deterministically, so that each of the flow's 6 requests can also be sent
// on its own as a plain http probe:
//
//   step 1  GET  sp/log-ind        302 -> idp/login          sets sp_state
//           GET  idp/login         200 form, hidden csrf     sets idp_sid
//   step 2  POST idp/login         302 -> sp/callback        (form: user, password, csrf)
//           GET  sp/callback       302 -> sp/min-side        sets sp_session
//           GET  sp/min-side       200 "Velkommen"
//   step 3  GET  sp/api/me         200 JSON
//
// overhead = CPU per flow - the sum of CPU per http probe of those 6 requests (fresh connections
// both ways). Prints a summary and `RESULT {json}`.
//
//   node dist/bench/flow-cost.js [--flows 1000] [--concurrency 10]
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { flowProbe, httpProbe } from '../config/schema.js';
import { userAgent } from '../lib/version.js';
import type { ProbeSpec } from '../protocol/messages.js';
import { runProbe } from '../probes/run.js';
import { benchMain, numberArg, startTarget } from './harness.js';

const CSRF = 'f3a9c2d17b6e4a0c9e8d';
const FORM = `<!doctype html><html lang="da"><head><meta charset="utf-8"><title>Log på</title></head><body>
<h1>Log på med MitID</h1><form method="post" action="/login"><input type="hidden" name="csrf" value="${CSRF}">
<label>Bruger-ID <input name="user"></label><label>Adgangskode <input name="password" type="password"></label></form>
${'<p>Du er ved at logge på en offentlig selvbetjening via NemLog-in.</p>\n'.repeat(20)}</body></html>`;
const WELCOME = `<!doctype html><html lang="da"><body><h1>Velkommen, Demo Jensen</h1>${'<li>Sag under behandling</li>\n'.repeat(30)}</body></html>`;
const ME = JSON.stringify({ user: { name: 'Demo Jensen', roles: ['borger'] }, messages: 3 });

async function serveTarget(): Promise<void> {
  const ports = { sp: 0, idp: 0 };
  const send = (res: ServerResponse, status: number, headers: Record<string, string>, body = ''): void => {
    res.writeHead(status, { 'content-length': String(Buffer.byteLength(body)), ...headers }).end(body);
  };
  const sp = createServer((req: IncomingMessage, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/log-ind') return send(res, 302, { location: `http://localhost:${ports.idp}/login`, 'set-cookie': 'sp_state=s1; Path=/' });
    if (path === '/callback') return send(res, 302, { location: '/min-side', 'set-cookie': 'sp_session=x1; Path=/' });
    if (path === '/min-side') return send(res, 200, { 'content-type': 'text/html; charset=utf-8' }, WELCOME);
    if (path === '/api/me') return send(res, 200, { 'content-type': 'application/json' }, ME);
    send(res, 404, {});
  });
  const idp = createServer((req, res) => {
    if (req.method === 'GET') return send(res, 200, { 'content-type': 'text/html; charset=utf-8', 'set-cookie': 'idp_sid=i1; Path=/' }, FORM);
    req.resume();
    req.on('end', () => send(res, 302, { location: `http://127.0.0.1:${ports.sp}/callback?code=c1` }));
  });
  for (const [name, server] of [['sp', sp], ['idp', idp]] as const) {
    await new Promise<void>((r) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, r));
    ports[name] = (server.address() as { port: number }).port;
  }
  process.send?.(ports);
  process.on('disconnect', () => process.exit(0));
}

const runtime = { system: 'bench', interval: 60_000, timeout: 10_000, retries: 0 };

function specs(sp: string, idp: string): { flow: ProbeSpec; requests: ProbeSpec[] } {
  const flow: ProbeSpec = {
    ...flowProbe.parse({
      id: 'login',
      type: 'flow',
      steps: [
        {
          name: 'open login page',
          request: { url: `${sp}/log-ind` },
          expect: { status: 200, body_contains: 'Log på med MitID' },
          extract: { csrf: { css: 'input[name="csrf"]', attr: 'value' } },
        },
        {
          name: 'submit credentials',
          request: { method: 'POST', url: `${idp}/login`, form: { user: '${secret:USER}', password: '${secret:PASSWORD}', csrf: '{{csrf}}' } },
          expect: { status: 200, body_contains: 'Velkommen' },
        },
        { name: 'read my page', request: { url: `${sp}/api/me` }, expect: { json: { '$.messages': 3 } }, extract: { name: { json: '$.user.name' } } },
      ],
    }),
    ...runtime,
  };
  const form = `user=demo&password=demo1234&csrf=${CSRF}`;
  const one = (url: string, extra: Record<string, unknown> = {}): ProbeSpec => ({
    ...httpProbe.parse({ id: 'req', type: 'http', url, follow_redirects: false, expect: { status: [200, 302] }, ...extra }),
    ...runtime,
  });
  const requests = [
    one(`${sp}/log-ind`),
    one(`${idp}/login`, { headers: { cookie: 'idp_sid=i1' }, expect: { body_contains: 'Log på med MitID' } }),
    one(`${idp}/login`, { method: 'POST', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: 'idp_sid=i1' } }),
    one(`${sp}/callback?code=c1`, { headers: { cookie: 'sp_state=s1' } }),
    one(`${sp}/min-side`, { headers: { cookie: 'sp_state=s1; sp_session=x1' }, expect: { body_contains: 'Velkommen' } }),
    one(`${sp}/api/me`, { headers: { cookie: 'sp_state=s1; sp_session=x1' }, expect: { body_contains: 'messages' } }),
  ];
  return { flow, requests };
}

/** Heap in use after a full collection: what a leak would leave behind. */
function settledHeap(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Runs `count` units of work, `concurrency` at a time; returns CPU ms per unit and failures. */
async function measure(count: number, concurrency: number, unit: () => Promise<boolean>): Promise<{ cpuMs: number; wallMs: number; failed: number }> {
  let next = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      if (!(await unit())) failed++;
    }
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const cpu = process.cpuUsage(cpu0);
  return { cpuMs: (cpu.user + cpu.system) / 1000 / count, wallMs: performance.now() - t0, failed };
}

async function main(): Promise<void> {
  const flows = Math.round(numberArg('flows', 1000));
  const concurrency = Math.round(numberArg('concurrency', 10));
  setTimeout(() => {
    process.stderr.write('flow-cost: gave up after 55 s\n');
    process.exit(1);
  }, 55_000).unref();
  const target = await startTarget<{ sp: number; idp: number }>(import.meta.url);
  try {
    const { flow, requests } = specs(`http://127.0.0.1:${target.sp}`, `http://localhost:${target.idp}`);
    const secrets: Record<string, string> = { USER: 'demo', PASSWORD: 'demo1234' };
    const opts = { userAgent: userAgent('bench'), secret: (n: string) => secrets[n] };
    let firstError: string | undefined;
    const flowOnce = async (): Promise<boolean> => {
      const r = await runProbe(flow, opts);
      if (!r.ok) firstError ??= `${r.error?.code}: ${r.error?.message}`;
      return r.ok;
    };
    const requestsOnce = async (): Promise<boolean> => {
      let ok = true;
      for (const spec of requests) {
        const r = await runProbe(spec, opts);
        if (!r.ok) {
          ok = false;
          firstError ??= `request ${requests.indexOf(spec) + 1}: ${r.error?.code}: ${r.error?.message}`;
        }
      }
      return ok;
    };
    await measure(Math.min(200, flows), concurrency, flowOnce); // warm-up
    await measure(Math.min(200, flows), concurrency, requestsOnce);
    const heap0 = settledHeap();
    const f = await measure(flows, concurrency, flowOnce);
    const heapGrowthKb = Math.round((settledHeap() - heap0) / 1024);
    const r = await measure(flows, concurrency, requestsOnce);
    const round = (v: number): number => Math.round(v * 1000) / 1000;
    const overhead = f.cpuMs - r.cpuMs;
    process.stdout.write(
      `3-step login flow (6 requests over 2 hosts, fresh connection each), ${flows} runs, ${concurrency} at a time\n` +
        `  flow:                      ${round(f.cpuMs)} ms CPU per flow, ${Math.round((flows / f.wallMs) * 1000)} flows/s, ${f.failed} failed\n` +
        `  its 6 requests as probes:  ${round(r.cpuMs)} ms CPU per set (${round(r.cpuMs / requests.length)} per request), ${r.failed} failed\n` +
        `  added by the flow:         ${round(overhead)} ms CPU per flow (${Math.round((overhead / r.cpuMs) * 100)} %): cookie jar, templates, HTML parse, JSONPath\n` +
        `  heap after ${flows} flows:   ${heapGrowthKb >= 0 ? '+' : ''}${heapGrowthKb} KB (after a full GC; a leak would grow with the runs)\n`,
    );
    if (firstError !== undefined) process.stdout.write(`  first failure: ${firstError}\n`);
    process.stdout.write(
      `RESULT ${JSON.stringify({
        flows,
        concurrency,
        requests_per_flow: requests.length,
        cpu_ms_per_flow: round(f.cpuMs),
        cpu_ms_requests_alone: round(r.cpuMs),
        overhead_cpu_ms: round(overhead),
        overhead_percent: Math.round((overhead / r.cpuMs) * 100),
        flows_per_s: Math.round((flows / f.wallMs) * 1000),
        heap_growth_kb: heapGrowthKb,
        failed: f.failed + r.failed,
      })}\n`,
    );
    if (f.failed + r.failed > 0) process.exitCode = 1;
  } finally {
    target.child.disconnect();
  }
}

benchMain('flow-cost', main, serveTarget);
