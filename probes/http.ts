// The http prober. Every hop gets a fresh connection (our own DNS lookup, connect and TLS, handed
// to a one-shot undici Client), so each run measures what a first-time visitor pays; phases are
// summed over redirect hops, as blackbox_exporter does.
import type { HttpProbeConfig } from '../config/schema.js';
import type { ProbeReport, Prober } from './types.js';
import { ProbeFailure, failureOf, roundPhases, type Phases } from './failure.js';
import { checkResponse, readsBody } from './expect.js';
import { REDIRECTS, exchange, parseUrl, redirected, shown, type Hop, type HopRequest, type Seen } from './http-exchange.js';
import { Secrets } from './secrets.js';


export const httpProber: Prober<HttpProbeConfig> = async (config, ctx) => {
  const start = performance.now();
  const phases: Phases = {};
  const detail: Record<string, unknown> = {};
  const secrets = new Secrets(ctx.secret);
  // Filled in as soon as response headers arrive, so a failure while reading the body keeps them.
  const seen: Seen = { status: undefined, tlsExpiry: undefined };
  try {
    let url = parseUrl(secrets.resolve(config.url));
    let method: string = config.method;
    let body = config.body === undefined ? undefined : secrets.resolve(config.body);
    const headers = requestHeaders(config.headers, ctx.userAgent, secrets);
    // Credentials in the URL (https://user:pass@host/) become Basic auth, as browsers and curl do.
    if ((url.username !== '' || url.password !== '') && headers.authorization === undefined) {
      const user = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
      headers.authorization = `Basic ${Buffer.from(user).toString('base64')}`;
    }
    const ex = config.expect;
    const keepBody = readsBody(ex);
    let redirects = 0;
    let hop: Hop;
    for (;;) {
      const req: HopRequest = {
        url,
        method,
        headers,
        body,
        follow: config.follow_redirects,
        keepBody,
        maxBytes: config.max_body_bytes,
        insecure: config.insecure_skip_verify,
      };
      hop = await exchange(req, phases, ctx, seen);
      const location = hop.headers.location;
      if (!config.follow_redirects || !REDIRECTS.has(hop.status) || typeof location !== 'string') break;
      if (redirects >= config.max_redirects) {
        detail.redirects = redirects;
        const why = `stopped after ${redirects} redirects (max_redirects ${config.max_redirects}) at ${shown(url)}`;
        throw new ProbeFailure('too_many_redirects', why);
      }
      const next = redirected({ url, method, headers, body }, hop.status, location);
      ({ url, method, body } = next);
      redirects++;
    }
    detail.redirects = redirects;
    detail.final_url = shown(url);
    detail.bytes = hop.bytes;
    if (hop.truncated) detail.truncated = true;
    if (hop.conn.tlsVersion !== undefined) detail.tls_version = hop.conn.tlsVersion;
    checkResponse(config.expect, hop, performance.now() - start);
    return finish({ ok: true, phases, detail }, seen, secrets);
  } catch (err) {
    return finish({ ok: false, phases, detail, error: failureOf(err) }, seen, secrets);
  }
};

function finish(r: ProbeReport, seen: Seen, secrets: Secrets): ProbeReport {
  roundPhases(r.phases);
  if (seen.status !== undefined) r.status_code = seen.status;
  if (seen.tlsExpiry !== undefined) r.tls_expiry = seen.tlsExpiry;
  if (seen.ip !== undefined) (r.detail ??= {}).ip = seen.ip;
  if (secrets.any) {
    if (typeof r.detail?.final_url === 'string') r.detail.final_url = secrets.scrub(r.detail.final_url);
    if (r.error !== undefined) r.error.message = secrets.scrub(r.error.message);
  }
  return r;
}

/** Configured headers, lowercased; the User-Agent is always the contract's. */
function requestHeaders(
  configured: Record<string, string> | undefined,
  userAgent: string,
  secrets: Secrets,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (configured !== undefined)
    for (const [k, v] of Object.entries(configured)) out[k.toLowerCase()] = secrets.resolve(v);
  out['user-agent'] = userAgent;
  return out;
}
