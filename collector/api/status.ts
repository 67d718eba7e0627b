// GET /api/v1/status and GET /api/v1/systems/{id}.
import type { CollectorContext } from '../context.js';
import { HttpError, iso, sendJson } from '../http.js';
import type { Router } from '../server.js';
import type { ResponseTimeConfig } from '../../config/schema.js';
import type { SlowState } from '../status/slow.js';
import { badParameter, onlyParams, timeParam } from './params.js';
import { probeTarget, resultJson, statusJson } from './format.js';

/** A long-response-time rule and where its statistic stands. */
function slowJson(rule: ResponseTimeConfig | undefined, state: SlowState | undefined): Record<string, unknown> | null {
  if (rule === undefined) return null;
  return {
    slow_ms: rule.slow,
    for_ms: rule.for,
    percentile: rule.percentile,
    value_ms: state?.value ?? null,
    alert: state?.firing === true ? 'firing' : state?.crossedAt !== undefined ? 'pending' : 'ok',
    since: iso(state?.since),
  };
}

const DAY = 86_400_000;

export function statusRoutes(router: Router, ctx: CollectorContext): void {
  router.get('/api/v1/systems/:id/history', async (_req, res, { url, params }) => {
    const q = url.searchParams;
    onlyParams(q, ['view', 'from', 'to']);
    const id = params.id ?? '';
    if (!ctx.model().systemById.has(id)) throw new HttpError(404, 'not_found', `no system with id "${id}"`);
    const view = q.get('view') ?? 'perceived';
    if (view !== 'perceived' && view !== 'own') throw badParameter('view', 'expected "perceived" or "own"');
    const now = ctx.clock.now();
    const to = timeParam(q, 'to') ?? now;
    const from = timeParam(q, 'from') ?? to - DAY;
    if (from >= to) throw badParameter('from', 'is not before "to"');
    // A range reaching now leaves the current stretch open (to: null).
    const intervals = await ctx.store.statusIntervals({ system: id, view, from, ...(to < now ? { to } : {}) });
    sendJson(res, 200, {
      system: id,
      view,
      from: iso(from),
      to: iso(to),
      intervals: intervals.map((i) => ({
        from: iso(i.from),
        to: iso(i.to),
        status: i.status,
        cause: i.cause,
        duration_s: Math.round(((i.to ?? now) - i.from) / 1000),
      })),
    });
  });

  router.get('/api/v1/dependencies', (_req, res, { url }) => {
    onlyParams(url.searchParams, []);
    const model = ctx.model();
    sendJson(res, 200, {
      systems: model.systems.map((s) => ({
        ...statusJson(s, ctx.tracker.get(s.id)),
        depends_on: Object.entries(s.depends_on).map(([dep, impact]) => ({ id: dep, impact })),
        dependants: model.systems.filter((d) => d.depends_on[s.id] !== undefined).map((d) => ({ id: d.id, impact: d.depends_on[s.id] })),
      })),
    });
  });

  router.get('/api/v1/status', (_req, res, { url }) => {
    onlyParams(url.searchParams, []);
    const model = ctx.model();
    sendJson(res, 200, {
      updated_at: iso(ctx.tracker.updatedAt),
      systems: model.systems.map((s) => statusJson(s, ctx.tracker.get(s.id))),
    });
  });

  router.get('/api/v1/systems/:id', (_req, res, { url, params }) => {
    onlyParams(url.searchParams, []);
    const model = ctx.model();
    const id = params.id ?? '';
    const system = model.systemById.get(id);
    if (system === undefined) throw new HttpError(404, 'not_found', `no system with id "${id}"`);
    const st = ctx.tracker.get(id);
    const probes = (model.probesBySystem.get(id) ?? []).map((p) => ({
      id: p.id,
      name: p.name ?? null,
      type: p.type,
      target: probeTarget(p),
      interval_ms: p.interval,
      timeout_ms: p.timeout,
      agents: p.agents ?? null,
      response_time: slowJson(p.response_time, ctx.tracker.slowState(id, p.id)),
      // A suspect agent's failure is shown, marked, and not counted against the system.
      latest: [...ctx.latest.forProbe(id, p.id)]
        .sort((a, b) => (a.agent < b.agent ? -1 : 1))
        .map((r) => ({ ...resultJson(r), suspect: !r.ok && ctx.tracker.isSuspect(r.agent) })),
    }));
    sendJson(res, 200, {
      ...statusJson(system, st),
      description: system.description ?? null,
      url: system.url ?? null,
      group: system.group ?? null,
      own_since: iso(st?.own_since),
      depends_on: system.depends_on,
      response_time: slowJson(system.response_time, ctx.tracker.slowState(id)),
      updated_at: iso(ctx.tracker.updatedAt),
      probes,
    });
  });
}
