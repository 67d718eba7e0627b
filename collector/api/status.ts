// GET /api/v1/status and GET /api/v1/systems/{id}.
import type { CollectorContext } from '../context.js';
import { HttpError, iso, sendJson } from '../http.js';
import type { Router } from '../server.js';
import { onlyParams } from './params.js';
import { probeTarget, resultJson, statusJson } from './format.js';

export function statusRoutes(router: Router, ctx: CollectorContext): void {
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
      latest: [...ctx.latest.forProbe(id, p.id)].sort((a, b) => (a.agent < b.agent ? -1 : 1)).map(resultJson),
    }));
    sendJson(res, 200, {
      ...statusJson(system, st),
      description: system.description ?? null,
      url: system.url ?? null,
      group: system.group ?? null,
      own_since: iso(st?.own_since),
      depends_on: system.depends_on,
      updated_at: iso(ctx.tracker.updatedAt),
      probes,
    });
  });
}
