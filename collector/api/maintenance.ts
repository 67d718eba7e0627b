// Service windows: GET /api/v1/maintenance lists them, POST announces one and DELETE cancels an
// announced one (both with the admin token). Windows from the configuration are listed too, but
// change only with the file.
import { randomBytes } from 'node:crypto';
import { maintenance as maintenanceSchema } from '../../config/schema.js';
import type { CollectorContext } from '../context.js';
import { HttpError, iso, readJson, sendJson } from '../http.js';
import type { Router } from '../server.js';
import { WINDOW_STATES, localized, stateAt, type MaintenanceWindow, type WindowState } from '../status/maintenance.js';
import { badParameter, idParam, onlyParams } from './params.js';
import { requireAdmin } from './admin.js';
import { parseBody } from './body.js';

const BODY_LIMIT = 64 * 1024;

export function windowJson(w: MaintenanceWindow, now: number): Record<string, unknown> {
  return {
    id: w.id,
    systems: w.systems,
    start: iso(w.start),
    end: iso(w.end),
    title: w.title,
    description: w.description ?? null,
    source: w.source,
    state: stateAt(w, now),
    created_at: iso(w.created_at),
  };
}

/** In progress first, then coming ones soonest first, then past ones newest first. */
const ORDER: Record<WindowState, number> = { in_progress: 0, scheduled: 1, completed: 2 };

export function maintenanceRoutes(router: Router, ctx: CollectorContext): void {
  router.get('/api/v1/maintenance', (_req, res, { url }) => {
    const q = url.searchParams;
    onlyParams(q, ['state', 'system']);
    const state = q.get('state');
    if (state !== null && !WINDOW_STATES.includes(state as WindowState))
      throw badParameter('state', 'expected "scheduled", "in_progress" or "completed"');
    const system = idParam(q, 'system');
    const now = ctx.clock.now();
    const windows = ctx.maintenance
      .list(now)
      .filter((w) => (state === null || w.state === state) && (system === undefined || w.systems.includes(system)))
      .sort((a, b) => ORDER[a.state] - ORDER[b.state] || (a.state === 'completed' ? b.end - a.end : a.start - b.start));
    sendJson(res, 200, { maintenance: windows.map((w) => windowJson(w, now)) });
  });

  router.post('/api/v1/maintenance', async (req, res, { url }) => {
    onlyParams(url.searchParams, []);
    requireAdmin(req, ctx);
    const m = parseBody(maintenanceSchema, await readJson(req, BODY_LIMIT), 'the window');
    const model = ctx.model();
    const unknown = m.systems.filter((s) => !model.systemById.has(s));
    if (unknown.length > 0) throw new HttpError(422, 'unknown_system', `no system with id ${unknown.map((s) => `"${s}"`).join(', ')}`);
    const start = Date.parse(m.start);
    const end = Date.parse(m.end);
    const now = ctx.clock.now();
    if (end <= start) throw new HttpError(400, 'invalid_window', 'end must be after start');
    if (end <= now) throw new HttpError(400, 'invalid_window', 'the window has already ended');
    const id = m.id ?? `mw-${randomBytes(5).toString('hex')}`;
    if (ctx.maintenance.get(id) !== undefined) throw new HttpError(409, 'conflict', `a window with id "${id}" exists`);
    const w: MaintenanceWindow = { id, systems: [...new Set(m.systems)], start, end, title: localized(m.title), source: 'api', created_at: now };
    if (m.description !== undefined) w.description = localized(m.description);
    if (!(await ctx.store.insertMaintenance(w))) throw new HttpError(409, 'conflict', `a window with id "${id}" exists`);
    ctx.maintenance.add(w);
    ctx.log.info({ window: id, systems: w.systems, start: iso(start), end: iso(end) }, 'service window announced');
    // A window that starts now takes effect now, not at the next tick.
    ctx.evaluate();
    sendJson(res, 201, windowJson(w, now), { Location: `/api/v1/maintenance/${id}` });
  });

  router.get('/api/v1/maintenance/:id', (_req, res, { url, params }) => {
    onlyParams(url.searchParams, []);
    const w = ctx.maintenance.get(params.id ?? '');
    if (w === undefined) throw new HttpError(404, 'not_found', `no service window with id "${params.id ?? ''}"`);
    sendJson(res, 200, windowJson(w, ctx.clock.now()));
  });

  router.delete('/api/v1/maintenance/:id', async (req, res, { url, params }) => {
    onlyParams(url.searchParams, []);
    requireAdmin(req, ctx);
    const id = params.id ?? '';
    const w = ctx.maintenance.get(id);
    if (w === undefined) throw new HttpError(404, 'not_found', `no service window with id "${id}"`);
    if (w.source === 'config') throw new HttpError(409, 'defined_in_config', `the window "${id}" is defined in the configuration; remove it there`);
    await ctx.store.deleteMaintenance(id);
    ctx.maintenance.remove(id);
    ctx.log.info({ window: id, systems: w.systems }, 'service window cancelled');
    ctx.evaluate();
    res.writeHead(204, { 'Cache-Control': 'no-store' }).end();
  });
}
