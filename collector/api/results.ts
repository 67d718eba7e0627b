// GET /api/v1/results: raw probe results, oldest first.
import type { CollectorContext } from '../context.js';
import { sendJson } from '../http.js';
import type { Router } from '../server.js';
import type { ResultQuery } from '../store/types.js';
import { resultJson } from './format.js';
import { badParameter, idParam, intParam, onlyParams, timeParam } from './params.js';

export const RESULTS_DEFAULT_LIMIT = 1000;
export const RESULTS_MAX_LIMIT = 10_000;

export function resultsRoutes(router: Router, ctx: CollectorContext): void {
  router.get('/api/v1/results', async (_req, res, { url }) => {
    const q = url.searchParams;
    onlyParams(q, ['system', 'probe', 'agent', 'from', 'to', 'limit']);
    const query: ResultQuery = {
      limit: intParam(q, 'limit', { min: 1, max: RESULTS_MAX_LIMIT, default: RESULTS_DEFAULT_LIMIT }),
    };
    const system = idParam(q, 'system');
    const probe = idParam(q, 'probe');
    const agent = idParam(q, 'agent');
    const from = timeParam(q, 'from');
    const to = timeParam(q, 'to');
    if (from !== undefined && to !== undefined && from > to) throw badParameter('from', 'is after "to"');
    if (system !== undefined) query.system = system;
    if (probe !== undefined) query.probe = probe;
    if (agent !== undefined) query.agent = agent;
    if (from !== undefined) query.from = from;
    if (to !== undefined) query.to = to;
    const rows = await ctx.store.queryResults(query);
    sendJson(res, 200, { results: rows.map(resultJson), limit: query.limit, truncated: rows.length === query.limit });
  });
}
