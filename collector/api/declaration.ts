// GET /api/v1/systems/{id}/declaration?from&to: what the system's service declaration promises
// beside what vagt measured over the span (default the last 30 days), for the system page's
// "Declared | Measured" table. The figures come from collector/status/declaration.ts.
import type { SystemConfig } from '../../config/schema.js';
import type { CollectorContext } from '../context.js';
import { HttpError, iso, sendJson } from '../http.js';
import type { Router } from '../server.js';
import { incidentHandling, responseTimeRows } from '../status/declaration.js';
import { hourOf } from '../store/aggregates.js';
import { systemUptime } from '../uptime/system-uptime.js';
import { badParameter, onlyParams, timeParam } from './params.js';

const DAY = 86_400_000;
/** As the uptime route: the timeline and the aggregates are kept for 13 months anyway. */
const MAX_SPAN = 3 * 366 * DAY;
/** Incidents of one system over a span; far more than 13 months of a real system has. */
const MAX_INCIDENTS = 10_000;

/** The declaration beside the measurements over [from, to): the route's body, and the system page's table. */
export async function readDeclaration(ctx: CollectorContext, system: SystemConfig, from: number, to: number, now: number) {
  const id = system.id;
  const timezone = ctx.model().config.collector.timezone;
  const [uptime, aggregates, incidents] = await Promise.all([
    systemUptime(ctx.store, system, { from, to, view: 'perceived', now, timezone }),
    // Every hour that overlaps the span.
    ctx.store.hourlyAggregates({ system: id, from: hourOf(from), to }),
    ctx.store.incidents({ system: id, from, to, limit: MAX_INCIDENTS }),
  ]);
  // Open incidents as the engine holds them now (the store may lag a write behind).
  const open = new Map(ctx.tracker.incidents.open().map((i) => [i.id, i]));
  const current = incidents.map((i) => open.get(i.id) ?? i);
  return {
    system: id,
    from: iso(from),
    to: iso(to),
    timezone,
    windows: system.sla?.windows ?? {},
    uptime,
    // Response times are our agents' own measurements; a reporter's are not comparable.
    response_time: responseTimeRows(
      { response_time: system.response_time, probes: system.probes },
      aggregates.filter((a) => !ctx.model().external.has(a.agent)),
    ),
    incidents: incidentHandling(current, { system: id, from, to, now }),
  };
}

export function declarationRoutes(router: Router, ctx: CollectorContext): void {
  router.get('/api/v1/systems/:id/declaration', async (_req, res, { url, params }) => {
    const q = url.searchParams;
    onlyParams(q, ['from', 'to']);
    const id = params.id ?? '';
    const model = ctx.model();
    const system = model.systemById.get(id);
    if (system === undefined) throw new HttpError(404, 'not_found', `no system with id "${id}"`);
    const now = ctx.clock.now();
    const to = timeParam(q, 'to') ?? now;
    const from = timeParam(q, 'from') ?? to - 30 * DAY;
    if (from >= to) throw badParameter('from', 'is not before "to"');
    if (to - from > MAX_SPAN) throw badParameter('from', 'the span is longer than three years');
    sendJson(res, 200, await readDeclaration(ctx, system, from, to, now));
  });
}
