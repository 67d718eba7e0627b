// GET /api/v1/incidents and /api/v1/incidents/{id}: incidents the status engine opened, newest
// first, each with its timeline of updates.
import type { CollectorContext } from '../context.js';
import { HttpError, iso, sendJson } from '../http.js';
import type { Router } from '../server.js';
import type { Incident, IncidentUpdate } from '../status/incidents.js';
import type { IncidentQuery } from '../store/types.js';
import { badParameter, idParam, intParam, onlyParams, timeParam } from './params.js';

export function incidentJson(i: Incident, now: number): Record<string, unknown> {
  return {
    id: i.id,
    state: i.resolved_at === null ? 'open' : 'resolved',
    system: i.system,
    cause: [i.system],
    affected: i.affected,
    status: i.status,
    priority: i.priority,
    peak_priority: i.peak_priority,
    started_at: iso(i.started_at),
    resolved_at: iso(i.resolved_at),
    duration_s: Math.round(((i.resolved_at ?? now) - i.started_at) / 1000),
    operator_status: i.updates.findLast((u) => u.operator !== undefined)?.operator?.status ?? null,
    updates: i.updates.map(updateJson),
  };
}

/** An operator's update gives its own state as `status`, its Danish text as `message` and both texts as `text`. */
function updateJson(u: IncidentUpdate): Record<string, unknown> {
  const base = { at: iso(u.at), kind: u.kind, status: u.status, priority: u.priority, affected: u.affected, message: u.message };
  return u.operator === undefined ? base : { ...base, status: u.operator.status, message: u.operator.message.da, text: u.operator.message };
}

export function incidentsRoutes(router: Router, ctx: CollectorContext): void {
  router.get('/api/v1/incidents', async (_req, res, { url }) => {
    const q = url.searchParams;
    onlyParams(q, ['state', 'system', 'from', 'to', 'limit']);
    const state = q.get('state');
    if (state !== null && state !== 'open' && state !== 'resolved') throw badParameter('state', 'expected "open" or "resolved"');
    const query: IncidentQuery = { limit: intParam(q, 'limit', { min: 1, max: 1000, default: 100 }) };
    if (state !== null) query.state = state;
    const system = idParam(q, 'system');
    const from = timeParam(q, 'from');
    const to = timeParam(q, 'to');
    if (from !== undefined && to !== undefined && from > to) throw badParameter('from', 'is after "to"');
    if (system !== undefined) query.system = system;
    if (from !== undefined) query.from = from;
    if (to !== undefined) query.to = to;
    const now = ctx.clock.now();
    const rows = await ctx.store.incidents(query);
    sendJson(res, 200, { incidents: rows.map((i) => incidentJson(i, now)), limit: query.limit, truncated: rows.length === query.limit });
  });

  router.get('/api/v1/incidents/:id', async (_req, res, { url, params }) => {
    onlyParams(url.searchParams, []);
    const raw = params.id ?? '';
    if (!/^\d{1,15}$/.test(raw)) throw new HttpError(404, 'not_found', `no incident with id "${raw}"`);
    const id = Number(raw);
    // Open incidents are in memory before their write lands; closed ones are only in the store.
    const open = ctx.tracker.incidents.open().find((i) => i.id === id);
    const found = open ?? (await ctx.store.incidents({ id, limit: 1 }))[0];
    if (found === undefined) throw new HttpError(404, 'not_found', `no incident with id ${id}`);
    sendJson(res, 200, incidentJson(found, ctx.clock.now()));
  });
}
