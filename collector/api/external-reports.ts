// Other monitoring systems as vantage points: POST /api/v1/systems/{id}/reports takes one result or
// status from an external source (an `agents` entry with `external`), and POST /api/v1/alertmanager
// takes Prometheus Alertmanager's webhook. Both authenticate with the source's own token.
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { id as idSchema } from '../../config/schema.js';
import { LIMITS } from '../../protocol/messages.js';
import type { CollectorContext } from '../context.js';
import { DEFAULT_RATE } from '../external-reports.js';
import { HttpError, iso, readJson, sendJson } from '../http.js';
import type { Router } from '../server.js';
import { requireBearer } from './admin.js';
import { parseBody } from './body.js';
import { onlyParams } from './params.js';

const BODY_LIMIT = 16 * 1024;
/** A reporter's clock may run a little ahead of ours. */
export const MAX_FUTURE_MS = 5 * 60_000;

/** Statuses a reporter may send, and whether each counts as up. Maintenance is announced, not reported. */
const REPORTED: Record<string, boolean> = {
  operational: true,
  degraded_performance: true,
  partial_outage: false,
  major_outage: false,
};

const reportBody = z
  .strictObject({
    probe: idSchema.optional(),
    success: z.boolean({ error: 'expected true or false' }).optional(),
    status: z
      .enum(['operational', 'degraded_performance', 'partial_outage', 'major_outage'], {
        error: 'expected operational, degraded_performance, partial_outage or major_outage',
      })
      .optional(),
    duration_ms: z.number().min(0).max(LIMITS.maxDurationMs).optional(),
    message: z.string().max(LIMITS.maxErrorMessageChars).optional(),
    at: z.iso.datetime({ offset: true, error: 'expected a time like 2026-12-02T08:15:00+01:00' }).optional(),
  })
  .refine((b) => (b.success === undefined) !== (b.status === undefined), { message: 'give either "success" or "status"' });

/** The external source a request's bearer token belongs to: 401 without a token, 403 with another, 429 over its rate. */
export function requireSource(req: IncomingMessage, ctx: CollectorContext): string {
  const source = ctx.external.identify(requireBearer(req, "the external source's token"));
  if (source === undefined) throw new HttpError(403, 'forbidden', 'not the token of an external source (an agents entry with "external")');
  const wait = ctx.external.reports.admit(source);
  if (wait !== undefined)
    throw new HttpError(429, 'rate_limited', `source "${source}" sends more than ${DEFAULT_RATE.perSecond} requests a second; try again later`, {
      headers: { 'Retry-After': String(Math.max(1, Math.ceil(wait / 1000))) },
    });
  return source;
}

/** The probes of `system` that `source` may report on, or the reason it may not (403/404/422). */
export function reportTargets(ctx: CollectorContext, source: string, system: string, probe?: string): string[] {
  const model = ctx.model();
  if (!model.systemById.has(system)) throw new HttpError(404, 'not_found', `no system with id "${system}"`);
  const ext = model.external.get(source);
  if (ext?.systems !== undefined && !ext.systems.has(system))
    throw new HttpError(403, 'forbidden', `source "${source}" may not report on system "${system}" (see its external.systems)`);
  const probes = model.reportable(source, system).map((p) => p.id);
  if (probe !== undefined) {
    if (!(model.probesBySystem.get(system) ?? []).some((p) => p.id === probe))
      throw new HttpError(404, 'not_found', `system "${system}" has no probe "${probe}"`);
    if (!probes.includes(probe))
      throw new HttpError(422, 'not_reportable', `probe "${probe}" lists its agents, and "${source}" is not one of them`);
    return [probe];
  }
  if (probes.length === 0)
    throw new HttpError(422, 'not_reportable', `every probe of "${system}" lists its agents, and "${source}" is in none of them`);
  return probes;
}

export function externalReportRoutes(router: Router, ctx: CollectorContext): void {
  router.post('/api/v1/systems/:id/reports', async (req, res, { url, params }) => {
    onlyParams(url.searchParams, []);
    const source = requireSource(req, ctx);
    const b = parseBody(reportBody, await readJson(req, BODY_LIMIT), 'the report');
    const system = params.id ?? '';
    const probes = reportTargets(ctx, source, system, b.probe);
    const now = ctx.clock.now();
    const ts = b.at === undefined ? now : Date.parse(b.at);
    if (ts > now + MAX_FUTURE_MS) throw new HttpError(400, 'invalid_body', '"at" is more than 5 minutes ahead of the collector\'s clock');
    if (ts < now - ctx.model().config.collector.retention)
      throw new HttpError(400, 'invalid_body', '"at" is older than collector.retention: the result would be pruned at once');
    const ok = b.success ?? REPORTED[b.status ?? ''] === true;
    const detail: Record<string, unknown> = { external: { via: 'report', ...(b.status === undefined ? {} : { status: b.status }) } };
    const stored = await ctx.external.reports.record(source, system, probes, {
      ok,
      ts,
      detail,
      ...(b.duration_ms === undefined ? {} : { duration_ms: b.duration_ms }),
      ...(b.message === undefined ? {} : { message: b.message }),
    });
    ctx.log.debug({ source, system, probes, ok }, 'external report');
    sendJson(res, 202, { source, system, probes, ok, at: iso(ts), seq: stored.map((r) => r.seq) });
  });
}
