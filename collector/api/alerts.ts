// GET /api/v1/alerts: the active alerts (long response time, agent offline, agent suspect) and,
// with ?state=resolved or all, those that ended.
import type { CollectorContext } from '../context.js';
import { iso, sendJson } from '../http.js';
import type { Router } from '../server.js';
import type { Alert } from '../status/alerts.js';
import type { StoredAlert } from '../store/types.js';
import { badParameter, idParam, intParam, onlyParams } from './params.js';

function alertJson(a: Alert | StoredAlert): Record<string, unknown> {
  return {
    key: a.key,
    alert: a.kind,
    state: 'resolved_at' in a && a.resolved_at !== null ? 'resolved' : 'active',
    system: a.system ?? null,
    probe: a.probe ?? null,
    agent: a.agent ?? null,
    since: iso(a.since),
    resolved_at: 'resolved_at' in a ? iso(a.resolved_at) : null,
    ...(a.kind === 'long_response_time'
      ? { value_ms: a.value_ms ?? null, percentile: a.percentile ?? null, threshold_ms: a.threshold_ms ?? null }
      : {}),
    ...(a.kind === 'agent_suspect' ? { systems: a.systems ?? [] } : {}),
    ...(a.kind === 'agent_offline' ? { last_result: iso(a.last_result) } : {}),
  };
}

export function alertsRoutes(router: Router, ctx: CollectorContext): void {
  router.get('/api/v1/alerts', async (_req, res, { url }) => {
    const q = url.searchParams;
    onlyParams(q, ['state', 'system', 'limit']);
    const state = q.get('state') ?? 'active';
    if (state !== 'active' && state !== 'resolved' && state !== 'all') throw badParameter('state', 'expected "active", "resolved" or "all"');
    const system = idParam(q, 'system');
    const limit = intParam(q, 'limit', { min: 1, max: 1000, default: 100 });
    if (state === 'active') {
      // The live view: what fires now, straight from the engine.
      const active = ctx.tracker.alerts
        .active()
        .filter((a) => system === undefined || a.system === system)
        .sort((a, b) => b.since - a.since || (a.key < b.key ? -1 : 1))
        .slice(0, limit);
      sendJson(res, 200, { alerts: active.map(alertJson) });
      return;
    }
    const rows = await ctx.store.alerts({ limit, ...(state === 'resolved' ? { active: false } : {}), ...(system === undefined ? {} : { system }) });
    sendJson(res, 200, { alerts: rows.map(alertJson), limit, truncated: rows.length === limit });
  });
}
