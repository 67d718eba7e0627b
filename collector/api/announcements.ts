// Announcements: what operators tell users besides incidents, such as a release, a change of an
// interface or information. GET /api/v1/announcements lists them (public), POST announces one and
// DELETE removes one (admin token). Stored, so they survive restarts and reloads.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { id as idSchema } from '../../config/schema.js';
import type { CollectorContext } from '../context.js';
import { HttpError, iso, readJson, sendJson } from '../http.js';
import type { Router } from '../server.js';
import type { Announcement, AnnouncementKind, Store } from '../store/types.js';
import { requireAdmin } from './admin.js';
import { parseBody } from './body.js';
import { badParameter, idParam, intParam, onlyParams, timeParam } from './params.js';

const BODY_LIMIT = 64 * 1024;
export const ANNOUNCEMENT_KINDS = ['release', 'interface_change', 'info'] as const satisfies readonly AnnouncementKind[];

const text = (max: number) =>
  z
    .string({ error: 'expected a text' })
    .max(max, `expected at most ${max} characters`)
    .refine((s) => s.trim() !== '', 'must not be empty');

/** A text, or { da, en }: Danish is required, English optional. */
export const localizedText = (max: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' ? { da: v } : v),
    z.strictObject({ da: text(max), en: text(max).optional() }, { error: 'expected a text or { da, en }' }),
  );

const announcementBody = z.strictObject({
  id: idSchema.optional(),
  systems: z.array(idSchema).min(1).max(1000),
  kind: z.enum(ANNOUNCEMENT_KINDS, { error: 'expected release, interface_change or info' }),
  title: localizedText(200),
  body: localizedText(5000),
  at: z.iso.datetime({ offset: true, error: 'expected a time like 2026-12-06T00:00:00+01:00' }).optional(),
  link: z
    .string({ error: 'expected an http:// or https:// URL' })
    .max(2000, 'expected at most 2000 characters')
    .regex(/^https?:\/\/[^\s<>"]+$/i, 'expected an http:// or https:// URL')
    .optional(),
});

export function announcementJson(a: Announcement, now: number): Record<string, unknown> {
  return {
    id: a.id,
    systems: a.systems,
    kind: a.kind,
    title: a.title,
    body: a.body,
    at: iso(a.at),
    upcoming: a.at > now,
    link: a.link ?? null,
    created_at: iso(a.created_at),
  };
}

/**
 * The newest announcements (upcoming ones first, then the most recent), of one system or of all:
 * for the status page, the feed and notifications.
 */
export function recentAnnouncements(store: Store, opts: { system?: string; from?: number; to?: number; limit?: number } = {}): Promise<Announcement[]> {
  const q: Parameters<Store['announcements']>[0] = { limit: opts.limit ?? 20 };
  if (opts.system !== undefined) q.system = opts.system;
  if (opts.from !== undefined) q.from = opts.from;
  if (opts.to !== undefined) q.to = opts.to;
  return store.announcements(q);
}

export function announcementsRoutes(router: Router, ctx: CollectorContext): void {
  router.get('/api/v1/announcements', async (_req, res, { url }) => {
    const q = url.searchParams;
    onlyParams(q, ['system', 'from', 'to', 'limit']);
    const system = idParam(q, 'system');
    const from = timeParam(q, 'from');
    const to = timeParam(q, 'to');
    if (from !== undefined && to !== undefined && from > to) throw badParameter('from', 'is after "to"');
    const limit = intParam(q, 'limit', { min: 1, max: 1000, default: 100 });
    const rows = await recentAnnouncements(ctx.store, {
      limit,
      ...(system === undefined ? {} : { system }),
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
    });
    const now = ctx.clock.now();
    sendJson(res, 200, { announcements: rows.map((a) => announcementJson(a, now)), limit, truncated: rows.length === limit });
  });

  router.post('/api/v1/announcements', async (req, res, { url }) => {
    onlyParams(url.searchParams, []);
    requireAdmin(req, ctx);
    const b = parseBody(announcementBody, await readJson(req, BODY_LIMIT), 'the announcement');
    const model = ctx.model();
    const unknown = b.systems.map((s, i) => ({ s, i })).filter(({ s }) => !model.systemById.has(s));
    if (unknown.length > 0)
      throw new HttpError(422, 'unknown_system', `no system with id ${unknown.map(({ s }) => `"${s}"`).join(', ')}`, {
        extra: { problems: unknown.map(({ s, i }) => ({ path: `systems[${i}]`, message: `no system with id "${s}"` })) },
      });
    const now = ctx.clock.now();
    const a: Announcement = {
      id: b.id ?? `an-${randomBytes(5).toString('hex')}`,
      systems: [...new Set(b.systems)],
      kind: b.kind,
      title: b.title.en === undefined ? { da: b.title.da } : { da: b.title.da, en: b.title.en },
      body: b.body.en === undefined ? { da: b.body.da } : { da: b.body.da, en: b.body.en },
      at: b.at === undefined ? now : Date.parse(b.at),
      created_at: now,
    };
    if (b.link !== undefined) a.link = b.link;
    if (!(await ctx.store.insertAnnouncement(a))) throw new HttpError(409, 'conflict', `an announcement with id "${a.id}" exists`);
    ctx.log.info({ announcement: a.id, systems: a.systems, kind: a.kind, at: iso(a.at) }, 'announcement posted');
    sendJson(res, 201, announcementJson(a, now), { Location: `/api/v1/announcements/${a.id}` });
  });

  router.get('/api/v1/announcements/:id', async (_req, res, { url, params }) => {
    onlyParams(url.searchParams, []);
    const id = params.id ?? '';
    const [a] = await ctx.store.announcements({ id, limit: 1 });
    if (a === undefined) throw new HttpError(404, 'not_found', `no announcement with id "${id}"`);
    sendJson(res, 200, announcementJson(a, ctx.clock.now()));
  });

  router.delete('/api/v1/announcements/:id', async (req, res, { url, params }) => {
    onlyParams(url.searchParams, []);
    requireAdmin(req, ctx);
    const id = params.id ?? '';
    if (!(await ctx.store.deleteAnnouncement(id))) throw new HttpError(404, 'not_found', `no announcement with id "${id}"`);
    ctx.log.info({ announcement: id }, 'announcement deleted');
    res.writeHead(204, { 'Cache-Control': 'no-store' }).end();
  });
}
