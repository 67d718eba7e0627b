// GET /api/v1/systems/{id}/uptime?from&to&view: uptime per service window (CONTRACT §4).
import type { CollectorContext } from '../context.js';
import { HttpError, iso, sendJson } from '../http.js';
import type { Router } from '../server.js';
import { systemUptime } from '../uptime/system-uptime.js';
import { badParameter, onlyParams, timeParam } from './params.js';

const DAY = 86_400_000;
/** Longer spans than this are refused: the timeline is kept for 13 months anyway. */
const MAX_SPAN = 3 * 366 * DAY;

export function uptimeRoutes(router: Router, ctx: CollectorContext): void {
  router.get('/api/v1/systems/:id/uptime', async (_req, res, { url, params }) => {
    const q = url.searchParams;
    onlyParams(q, ['from', 'to', 'view']);
    const id = params.id ?? '';
    const model = ctx.model();
    const system = model.systemById.get(id);
    if (system === undefined) throw new HttpError(404, 'not_found', `no system with id "${id}"`);
    const view = q.get('view') ?? 'perceived';
    if (view !== 'perceived' && view !== 'own') throw badParameter('view', 'expected "perceived" or "own"');
    const now = ctx.clock.now();
    const to = timeParam(q, 'to') ?? now;
    const from = timeParam(q, 'from') ?? to - 30 * DAY;
    if (from >= to) throw badParameter('from', 'is not before "to"');
    if (to - from > MAX_SPAN) throw badParameter('from', 'the span is longer than three years');
    const timezone = model.config.collector.timezone;
    const windows = await systemUptime(ctx.store, system, { from, to, view, now, timezone });
    sendJson(res, 200, { system: id, from: iso(from), to: iso(to), view, timezone, windows });
  });
}
