// POST /api/v1/incidents/{id}/updates (admin token): what an operator tells users about an
// incident, in Statuspage's words (investigating, identified, monitoring, resolved) and in Danish,
// optionally English. It is communication only: the incident opens and resolves with the measured
// status, so an operator's "resolved" while vagt still measures an outage shows both.
import { z } from 'zod';
import type { CollectorContext } from '../context.js';
import { HttpError, readJson, sendJson } from '../http.js';
import type { Router } from '../server.js';
import { OPERATOR_STATUSES, type Incident, type IncidentUpdate, type OperatorStatus } from '../status/incidents.js';
import { requireAdmin } from './admin.js';
import { localizedText } from './announcements.js';
import { parseBody } from './body.js';
import { incidentJson } from './incidents.js';
import { onlyParams } from './params.js';

const BODY_LIMIT = 64 * 1024;
export const MAX_MESSAGE = 5000;

const updateBody = z.strictObject({
  status: z.enum(OPERATOR_STATUSES, { error: 'expected investigating, identified, monitoring or resolved' }),
  message: localizedText(MAX_MESSAGE),
});

/** An operator's update as an incident update: status, priority and affected as the engine last said. */
export function operatorUpdate(i: Incident, status: OperatorStatus, message: { da: string; en?: string }, at: number): IncidentUpdate {
  let last: IncidentUpdate | undefined;
  for (let k = i.updates.length - 1; k >= 0 && last === undefined; k--) if (i.updates[k]?.kind !== 'operator') last = i.updates[k];
  return {
    at,
    kind: 'operator',
    status: last?.status ?? i.status,
    priority: last?.priority ?? i.priority,
    affected: [...(last?.affected ?? i.affected)],
    message: message.da,
    operator: { status, message },
  };
}

export function operatorUpdatesRoutes(router: Router, ctx: CollectorContext): void {
  router.post('/api/v1/incidents/:id/updates', async (req, res, { url, params }) => {
    onlyParams(url.searchParams, []);
    requireAdmin(req, ctx);
    const raw = params.id ?? '';
    if (!/^\d{1,15}$/.test(raw)) throw new HttpError(404, 'not_found', `no incident with id "${raw}"`);
    const id = Number(raw);
    const body = parseBody(updateBody, await readJson(req, BODY_LIMIT), 'the update');
    const message = body.message.en === undefined ? { da: body.message.da } : { da: body.message.da, en: body.message.en };
    // The engine's own copy of an open incident, which it saves again as it changes; a resolved
    // one is only in the store.
    const open = ctx.tracker.incidents.open().find((i) => i.id === id);
    const found = open ?? (await ctx.store.incidents({ id, limit: 1 }))[0];
    if (found === undefined) throw new HttpError(404, 'not_found', `no incident with id ${id}`);
    const update = operatorUpdate(found, body.status, message, ctx.clock.now());
    if (!(await ctx.store.addIncidentUpdate(id, update))) throw new HttpError(404, 'not_found', `no incident with id ${id}`);
    // The engine's open incident carries it too (`found` is that object while open), so that what
    // reads open incidents from memory sees it; the engine stores only the updates it adds itself.
    found.updates.push(update);
    ctx.log.info({ incident: id, status: body.status }, 'operator updated an incident');
    sendJson(res, 201, incidentJson(found, ctx.clock.now()), { Location: `/api/v1/incidents/${id}` });
  });
}
