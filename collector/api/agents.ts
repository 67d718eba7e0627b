// GET /api/v1/agents: configured agents, whether they are connected, and what they run.
import type { CollectorContext } from '../context.js';
import { iso, sendJson } from '../http.js';
import { LOCAL_AGENT_ID } from '../model.js';
import type { Router } from '../server.js';
import { onlyParams } from './params.js';

export function agentsRoutes(router: Router, ctx: CollectorContext): void {
  router.get('/api/v1/agents', async (_req, res, { url }) => {
    onlyParams(url.searchParams, []);
    const model = ctx.model();
    const seen = new Map((await ctx.store.agents()).map((a) => [a.id, a]));
    const live = new Map(ctx.ingest.connections().map((c) => [c.agent, c]));
    const names = new Map(model.config.agents.map((a) => [a.id, a.name]));
    const agents = model.agentIds.map((id) => {
      const c = live.get(id);
      const s = seen.get(id);
      const a = model.assignment(id);
      return {
        id,
        name: names.get(id) ?? (id === LOCAL_AGENT_ID ? 'Local agent' : null),
        connected: c !== undefined,
        last_seen: iso(c?.last_seen ?? s?.last_seen),
        version: c?.version ?? s?.version ?? null,
        remote_address: c?.remote_address ?? s?.remote_address ?? null,
        connected_since: iso(c?.connected_at),
        revision: a?.revision ?? null,
        // Data, not the socket: an agent may be connected and still send nothing fresh.
        offline: ctx.tracker.alerts.get(`agent_offline:${id}`) !== undefined,
        suspect: ctx.tracker.isSuspect(id),
        probes: (a?.probes ?? []).map((p) => `${p.system}/${p.id}`),
      };
    });
    // Other monitoring systems that report over HTTP: vantage points that run nothing.
    const external = [...model.external.values()].map((e) => ({
      id: e.id,
      name: e.name ?? null,
      systems: e.systems === undefined ? null : [...e.systems],
      stale_after_s: e.staleAfter / 1000,
      last_report: iso(ctx.latest.newest(e.id)),
    }));
    sendJson(res, 200, { agents, external });
  });
}
