// The page prober: an HTML page and the sub-resources a browser loads with it (scripts, style
// sheets, icons, preloads, images, posters), same-site only unless cross_site. The document comes
// over a fresh connection, as in the http prober, so its phases are a first visit's; resources
// share keep-alive connections, at most 6 per origin, as in a browser. detail.waterfall shows each.
import type { PageProbeConfig } from '../config/schema.js';
import { formatDuration } from '../lib/duration.js';
import type { Phase, RequestDetail } from '../protocol/messages.js';
import type { ProbeContext, ProbeReport, Prober } from './types.js';
import { ProbeFailure, addPhase, failureOf, roundPhases, type Phases } from './failure.js';
import { checkResponse } from './expect.js';
import { CREDENTIAL_HEADERS, REDIRECTS, exchange, parseUrl, redirected, shown, type Hop, type Redirectable, type Seen } from './http-exchange.js';
import { pageResources, siteOf } from './html-resources.js';
import { ConnectionPool, type Fetched, type Timing } from './page-pool.js';
import { Secrets } from './secrets.js';

/** Redirects followed per request, the document's and each resource's, as a browser bounds them. */
const MAX_REDIRECTS = 10;
/** Body bytes read per response; a longer body is counted up to here and marked truncated. */
export const MAX_BODY_BYTES = 10 * 1_048_576;
/** Results stay small on the wire: so many failed resources and requests are listed, the rest counted. */
const MAX_FAILED_LISTED = 20;
const MAX_WATERFALL = 50;
/** Failed resources named in the error message. */
const MAX_FAILED_NAMED = 5;

interface Resource {
  url: URL;
  /** The request and each redirect hop it followed. */
  hops: RequestDetail[];
  status?: number;
  /** Set when it failed: a network error (with its code) or a status >= 400. */
  error?: string;
  code?: string;
}

interface Load {
  ctx: ProbeContext;
  t0: number;
  secrets: Secrets;
  /** The document's phases, summed over its redirect hops. */
  phases: Phases;
  seen: Seen;
  url: URL | undefined;
  tlsExpiry: number | undefined;
  document: RequestDetail[];
  resources: Resource[];
  skipped: number;
  bytes: number;
  truncated: number;
  /** When the last request ended. */
  end: number;
}

export const pageProber: Prober<PageProbeConfig> = async (config, ctx) => {
  const t0 = performance.now();
  const run: Load = {
    ctx,
    t0,
    secrets: new Secrets(ctx.secret),
    phases: {},
    seen: { status: undefined, tlsExpiry: undefined },
    url: undefined,
    tlsExpiry: undefined,
    document: [],
    resources: [],
    skipped: 0,
    bytes: 0,
    truncated: 0,
    end: t0,
  };
  const report: ProbeReport = { ok: true, phases: run.phases };
  let pool: ConnectionPool | undefined;
  try {
    const headers = requestHeaders(config.headers, ctx.userAgent, run.secrets);
    const url = parseUrl(run.secrets.resolve(config.url));
    // Credentials in the URL become Basic auth, as in the http prober.
    if ((url.username !== '' || url.password !== '') && headers.authorization === undefined) {
      const user = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
      headers.authorization = `Basic ${Buffer.from(user).toString('base64')}`;
    }
    const doc = await loadDocument({ url, method: 'GET', headers, body: undefined }, config, run);
    const ex = config.expect;
    checkResponse({ status: ex?.status, body_contains: ex?.body_contains }, doc.hop, 0);

    const found = pageResources(doc.hop.body?.toString('utf8') ?? '', doc.url);
    const site = siteOf(doc.url.hostname);
    const wanted = config.cross_site ? found : found.filter((u) => siteOf(u.hostname) === site);
    const chosen = wanted.slice(0, config.max_resources);
    run.skipped = found.length - chosen.length;
    run.resources = chosen.map((u) => ({ url: u, hops: [] }));
    const p = new ConnectionPool({ insecure: config.insecure_skip_verify, maxBytes: MAX_BODY_BYTES, signal: ctx.signal, timeoutMs: ctx.timeoutMs });
    pool = p;
    await Promise.all(run.resources.map((r) => loadResource(r, resourceHeaders(headers, r.url, doc.url), p, run)));

    const failed = run.resources.filter((r) => r.error !== undefined);
    const allowed = ex?.max_failed_resources ?? 0;
    if (failed.length > allowed) throw resourcesFailed(failed, run.resources.length, allowed, doc.url);
    const took = run.end - t0;
    if (ex?.max_duration !== undefined && took > ex.max_duration)
      throw new ProbeFailure('too_slow', `loading the page took ${formatDuration(took)}, more than max_duration ${formatDuration(ex.max_duration)}`);
  } catch (err) {
    report.ok = false;
    report.error = failureOf(err);
  } finally {
    pool?.close();
  }
  return finish(report, run);
};

/** The document, following redirects, each hop on a fresh connection (timed into the probe's phases). */
async function loadDocument(first: Redirectable, config: PageProbeConfig, run: Load): Promise<{ url: URL; hop: Hop }> {
  let req = first;
  for (let redirects = 0; ; redirects++) {
    run.url = req.url;
    run.seen.status = undefined;
    const phases: Phases = {};
    const start = performance.now();
    const rd: RequestDetail = { method: 'GET', url: shown(req.url), duration_ms: 0, phases, start_ms: ms(start - run.t0) };
    run.document.push(rd);
    let hop: Hop;
    try {
      hop = await exchange(
        {
          url: req.url,
          method: 'GET',
          headers: req.headers,
          body: undefined,
          follow: true,
          keepBody: true,
          maxBytes: MAX_BODY_BYTES,
          insecure: config.insecure_skip_verify,
        },
        phases,
        run.ctx,
        run.seen,
      );
    } finally {
      run.end = performance.now();
      rd.duration_ms = ms(run.end - start);
      if (run.seen.status !== undefined) rd.status = run.seen.status;
      roundPhases(phases);
      for (const [k, v] of Object.entries(phases)) addPhase(run.phases, k as Phase, v);
    }
    rd.bytes = hop.bytes;
    run.bytes += hop.bytes;
    if (hop.truncated) run.truncated++;
    run.tlsExpiry = hop.conn.tlsExpiry;
    const location = hop.headers.location;
    if (!REDIRECTS.has(hop.status) || typeof location !== 'string') return { url: req.url, hop };
    if (redirects >= MAX_REDIRECTS)
      throw new ProbeFailure('too_many_redirects', `stopped after ${redirects} redirects (at most ${MAX_REDIRECTS}) at ${shown(req.url)}`);
    req = redirected(req, hop.status, location);
  }
}

/** One sub-resource, following its redirects. Failing is data on the resource; only an abort throws. */
async function loadResource(res: Resource, headers: Record<string, string>, pool: ConnectionPool, run: Load): Promise<void> {
  let req: Redirectable = { url: res.url, method: 'GET', headers, body: undefined };
  const fail = (err: unknown): void => {
    const f = failureOf(err);
    res.code = f.code;
    res.error = f.message;
  };
  for (let redirects = 0; ; redirects++) {
    const timing: Timing = { start: 0, phases: {} };
    const rd: RequestDetail = { method: 'GET', url: shown(req.url), duration_ms: 0, phases: timing.phases, start_ms: 0 };
    res.hops.push(rd);
    let got: Fetched;
    try {
      got = await pool.get(req.url, req.headers, timing);
    } catch (err) {
      if (run.ctx.signal.aborted) throw err;
      fail(err);
      return;
    } finally {
      const end = performance.now();
      // One that never got a connection (the probe ended while it queued) was never made.
      if (timing.start === 0) res.hops.pop();
      rd.start_ms = ms(timing.start - run.t0);
      rd.duration_ms = ms(end - timing.start);
      roundPhases(timing.phases);
      run.end = Math.max(run.end, end);
    }
    rd.status = got.status;
    rd.bytes = got.bytes;
    res.status = got.status;
    run.bytes += got.bytes;
    if (got.truncated) run.truncated++;
    const location = got.headers.location;
    if (REDIRECTS.has(got.status) && typeof location === 'string') {
      if (redirects >= MAX_REDIRECTS) {
        fail(new ProbeFailure('too_many_redirects', `stopped after ${redirects} redirects at ${shown(req.url)}`));
        return;
      }
      try {
        req = redirected(req, got.status, location);
      } catch (err) {
        fail(err);
        return;
      }
      continue;
    }
    if (got.status >= 400) res.error = `status ${got.status}`;
    return;
  }
}

/** "2 of 14 resources failed: /app.js 404, https://cdn.example/x.js connect". */
function resourcesFailed(failed: Resource[], total: number, allowed: number, page: URL): ProbeFailure {
  const named = failed.slice(0, MAX_FAILED_NAMED).map((r) => `${label(r.url, page)} ${r.code ?? r.status ?? ''}`.trim());
  const more = failed.length > MAX_FAILED_NAMED ? ', …' : '';
  const max = allowed > 0 ? ` (max_failed_resources ${allowed})` : '';
  return new ProbeFailure('resources_failed', `${failed.length} of ${total} resources failed${max}: ${named.join(', ')}${more}`);
}

/** A resource of the page's own origin by its path, others by their whole URL. */
function label(url: URL, page: URL): string {
  return url.origin === page.origin ? `${url.pathname}${url.search}` : shown(url);
}

function finish(report: ProbeReport, run: Load): ProbeReport {
  roundPhases(run.phases);
  if (run.seen.status !== undefined) report.status_code = run.seen.status;
  if (run.tlsExpiry !== undefined) report.tls_expiry = run.tlsExpiry;
  const requests = [...run.document, ...run.resources.flatMap((r) => r.hops)];
  const failed = run.resources.filter((r) => r.error !== undefined);
  const detail: Record<string, unknown> = {
    ...(run.url === undefined ? {} : { url: shown(run.url) }),
    bytes: run.bytes,
    requests: requests.length,
    resources: run.resources.length,
    failed: failed.slice(0, MAX_FAILED_LISTED).map((r) => ({
      url: shown(r.url),
      ...(r.status === undefined ? {} : { status: r.status }),
      error: r.error ?? '',
    })),
    failed_count: failed.length,
    skipped: run.skipped,
    load_ms: ms(run.end - run.t0),
    waterfall: requests.slice(0, MAX_WATERFALL),
  };
  if (requests.length > MAX_WATERFALL) detail.waterfall_omitted = requests.length - MAX_WATERFALL;
  if (run.truncated > 0) detail.truncated = run.truncated;
  report.detail = run.secrets.scrubDeep(detail);
  if (report.error !== undefined) report.error.message = run.secrets.scrub(report.error.message);
  return report;
}

/** Configured headers, lowercased and resolved; the User-Agent is always the contract's. */
function requestHeaders(configured: Record<string, string> | undefined, userAgent: string, secrets: Secrets): Record<string, string> {
  const out: Record<string, string> = {};
  if (configured !== undefined) for (const [k, v] of Object.entries(configured)) out[k.toLowerCase()] = secrets.resolve(v);
  out['user-agent'] = userAgent;
  return out;
}

/** A resource's own copy of the page's headers; credentials only to the page's origin. */
function resourceHeaders(page: Record<string, string>, url: URL, pageUrl: URL): Record<string, string> {
  const out = { ...page };
  if (url.origin !== pageUrl.origin) for (const h of CREDENTIAL_HEADERS) delete out[h];
  return out;
}

function ms(v: number): number {
  return Math.round(v * 1000) / 1000;
}
