// The flow prober: an end user's scripted path (open the login page, submit the form, follow the
// redirects across NemLog-in and MitID and back). Steps run in order with one cookie jar; every
// request and redirect hop gets a fresh connection and its own timings; the first failed step ends
// the flow and the result names it, with what was expected and what came.
import { CookieJar } from 'tough-cookie';
import type { FlowProbeConfig } from '../config/schema.js';
import type { RequestDetail, StepDetail } from '../protocol/messages.js';
import type { ProbeContext, ProbeReport, Prober } from './types.js';
import { ProbeFailure, addPhase, failureOf, roundPhases, type Phases } from './failure.js';
import { checkResponse, readsBody, type ResponseExpect } from './expect.js';
import { extractAll } from './extract.js';
import { REDIRECTS, exchange, parseUrl, redirected, shown, type Hop, type Redirectable, type Seen } from './http-exchange.js';
import { Secrets } from './secrets.js';
import { fill, fillJson } from './template.js';

type Step = FlowProbeConfig['steps'][number];

interface Run {
  config: FlowProbeConfig;
  ctx: ProbeContext;
  t0: number;
  jar: CookieJar;
  vars: Map<string, string>;
  secrets: Secrets;
  /** Summed over every request of the flow. */
  phases: Phases;
  seen: Seen;
  tlsExpiry: number | undefined;
  bytes: number;
}

export const flowProber: Prober<FlowProbeConfig> = async (config, ctx) => {
  const run: Run = {
    config,
    ctx,
    t0: performance.now(),
    // Cookies as a browser keeps them, public-suffix aware; loopback and IPs are allowed hosts.
    jar: new CookieJar(undefined, { allowSpecialUseDomain: true, rejectPublicSuffixes: false }),
    vars: new Map(),
    secrets: new Secrets(ctx.secret),
    phases: {},
    seen: { status: undefined, tlsExpiry: undefined },
    tlsExpiry: undefined,
    bytes: 0,
  };
  const steps: StepDetail[] = [];
  const detail: Record<string, unknown> = { steps };
  const report: ProbeReport = { ok: true, phases: run.phases, detail };
  for (const [index, step] of config.steps.entries()) {
    const sd: StepDetail = { index, name: step.name, ok: false, duration_ms: 0, requests: [] };
    steps.push(sd);
    const started = performance.now();
    try {
      await runStep(step, sd, run);
      sd.ok = true;
    } catch (err) {
      const f = failureOf(err);
      sd.error = { ...f };
      if (err instanceof ProbeFailure) {
        if (err.expected !== undefined) sd.error.expected = err.expected;
        if (err.got !== undefined) sd.error.got = err.got;
      }
      report.ok = false;
      report.error = { code: f.code, message: `step ${index + 1} "${step.name}": ${f.message}` };
      detail.failed_step = index;
      break;
    } finally {
      sd.duration_ms = ms(performance.now() - started);
      if (run.seen.status !== undefined) sd.status_code = run.seen.status;
    }
  }
  detail.requests = steps.reduce((n, s) => n + s.requests.length, 0);
  detail.bytes = run.bytes;
  if (run.seen.status !== undefined) report.status_code = run.seen.status;
  if (run.tlsExpiry !== undefined) report.tls_expiry = run.tlsExpiry;
  roundPhases(run.phases);
  // Nothing that leaves the agent may carry a secret's value: URLs, messages, excerpts of bodies.
  run.secrets.scrubDeep(detail);
  if (report.error !== undefined) report.error.message = run.secrets.scrub(report.error.message);
  return report;
};

async function runStep(step: Step, sd: StepDetail, run: Run): Promise<void> {
  const { config, ctx, vars, secrets } = run;
  const r = step.request;
  run.seen.status = undefined;
  const url = parseUrl(fill(r.url, vars, secrets));
  for (const [k, v] of Object.entries(r.query ?? {})) url.searchParams.append(k, fill(v, vars, secrets));
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = fill(v, vars, secrets);
  headers['user-agent'] = ctx.userAgent;
  let body: string | undefined;
  const contentType = (type: string): void => {
    headers['content-type'] ??= type;
  };
  if (r.form !== undefined) {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(r.form)) form.append(k, fill(v, vars, secrets));
    body = form.toString();
    contentType('application/x-www-form-urlencoded');
  } else if (r.json !== undefined) {
    body = JSON.stringify(fillJson(r.json, vars, secrets));
    contentType('application/json');
  } else if (r.body !== undefined) {
    body = fill(r.body, vars, secrets);
  }
  const ex = expectation(step, vars, secrets);
  const keepBody = readsBody(ex) || step.extract !== undefined;
  const started = performance.now();
  // A Cookie header of the step's own goes with the jar's cookies, to its own origin only.
  const own = { origin: url.origin, cookie: headers.cookie };
  let req: Redirectable = { url, method: r.method, headers, body };
  let hop: Hop;
  for (let redirects = 0; ; redirects++) {
    const cookies = [req.url.origin === own.origin ? own.cookie : undefined, run.jar.getCookieStringSync(req.url.href)];
    const cookie = cookies.filter((c) => c !== undefined && c !== '').join('; ');
    if (cookie === '') delete req.headers.cookie;
    else req.headers.cookie = cookie;
    hop = await send(req, { keepBody, follow: r.follow_redirects }, sd, run);
    const location = hop.headers.location;
    if (!r.follow_redirects || !REDIRECTS.has(hop.status) || typeof location !== 'string') break;
    if (redirects >= config.max_redirects)
      throw new ProbeFailure('too_many_redirects', `stopped after ${redirects} redirects (max_redirects ${config.max_redirects}) at ${shown(req.url)}`);
    req = redirected(req, hop.status, location);
  }
  checkResponse(ex, hop, performance.now() - started, { redirectsOk: !r.follow_redirects });
  if (step.extract !== undefined) extractAll(step.extract, hop, vars);
}

/** One request on the wire: cookies in and out, timed into the step's requests. */
async function send(req: Redirectable, opts: { keepBody: boolean; follow: boolean }, sd: StepDetail, run: Run): Promise<Hop> {
  const href = req.url.href;
  const phases: Phases = {};
  const start = performance.now();
  const rd: RequestDetail = { method: req.method, url: shown(req.url), duration_ms: 0, phases, start_ms: ms(start - run.t0) };
  sd.requests.push(rd);
  try {
    const hop = await exchange(
      {
        url: req.url,
        method: req.method,
        headers: req.headers,
        body: req.body,
        follow: opts.follow,
        keepBody: opts.keepBody,
        maxBytes: run.config.max_body_bytes,
        insecure: run.config.insecure_skip_verify,
      },
      phases,
      run.ctx,
      run.seen,
    );
    rd.status = hop.status;
    rd.bytes = hop.bytes;
    run.bytes += hop.bytes;
    if (hop.conn.tlsExpiry !== undefined) run.tlsExpiry = Math.min(run.tlsExpiry ?? Infinity, hop.conn.tlsExpiry);
    const set = hop.headers['set-cookie'];
    for (const c of set === undefined ? [] : Array.isArray(set) ? set : [set]) run.jar.setCookieSync(c, href, { ignoreError: true });
    return hop;
  } finally {
    if (rd.status === undefined && run.seen.status !== undefined) rd.status = run.seen.status;
    rd.duration_ms = ms(performance.now() - start);
    roundPhases(phases);
    for (const [k, v] of Object.entries(phases)) addPhase(run.phases, k as keyof Phases, v);
  }
}

/** The step's expectations with variables and secrets filled in. */
function expectation(step: Step, vars: ReadonlyMap<string, string>, secrets: Secrets): ResponseExpect {
  const ex = step.expect;
  if (ex === undefined) return {};
  const f = (s: string | undefined): string | undefined => (s === undefined ? undefined : fill(s, vars, secrets));
  return {
    status: ex.status,
    body_contains: f(ex.body_contains),
    body_not_contains: f(ex.body_not_contains),
    body_regex: ex.body_regex,
    header: ex.header,
    json: ex.json === undefined ? undefined : (fillJson(ex.json, vars, secrets) as Record<string, unknown>),
    max_duration: ex.max_duration,
  };
}

function ms(v: number): number {
  return Math.round(v * 1000) / 1000;
}
