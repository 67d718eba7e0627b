// POST /api/v1/reload, guarded by the admin token (compared in constant time).
import type { IncomingMessage } from 'node:http';
import type { CollectorContext } from '../context.js';
import { bearerToken, tokenEquals } from '../auth.js';
import { HttpError, sendJson } from '../http.js';
import type { Router } from '../server.js';
import { onlyParams } from './params.js';

/** The request's bearer token, or 401 (with WWW-Authenticate) asking for `whose` token. */
export function requireBearer(req: IncomingMessage, whose: string): string {
  const token = bearerToken(req.headers.authorization);
  if (token === undefined)
    throw new HttpError(401, 'unauthorized', `send ${whose} as "Authorization: Bearer <token>"`, {
      headers: { 'WWW-Authenticate': 'Bearer realm="vagt"' },
    });
  return token;
}

/** Throws 404 when no admin token is configured, 401 without a token, 403 with a wrong one. */
export function requireAdmin(req: IncomingMessage, ctx: CollectorContext): void {
  const expected = ctx.model().config.collector.admin_token;
  if (expected === undefined)
    throw new HttpError(404, 'admin_disabled', 'administration over HTTP is disabled: set collector.admin_token in the configuration');
  const token = requireBearer(req, 'the admin token');
  if (!tokenEquals(token, expected)) throw new HttpError(403, 'forbidden', 'the admin token is wrong');
}

export function adminRoutes(router: Router, ctx: CollectorContext): void {
  router.post('/api/v1/reload', async (req, res, { url }) => {
    onlyParams(url.searchParams, []);
    requireAdmin(req, ctx);
    if (!ctx.canReload())
      throw new HttpError(409, 'no_config_file', 'the collector was started without a configuration file to reload from');
    const r = await ctx.reload();
    if (!r.ok)
      throw new HttpError(422, 'invalid_config', `the configuration has ${r.problems.length} problem(s); the running one is kept`, {
        extra: { problems: r.problems },
      });
    sendJson(res, 200, { ok: true, revision: r.revision, changed: r.changed });
  });
}
