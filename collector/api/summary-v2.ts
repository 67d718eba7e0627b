// GET /api/v2/summary.json in the shape of Atlassian Statuspage's public summary, so that tools
// written for Statuspage (dashboards, chat bots, status aggregators) read vagt as they read any
// status page. Systems are components, groups are group components, open incidents are unresolved
// incidents, and service windows to come or in progress are scheduled maintenances.
import { createHash } from 'node:crypto';
import type { CollectorContext } from '../context.js';
import { iso, sendJson } from '../http.js';
import { FEED_TEXT, incidentTitle, langParam, publicBase, systemLink, updateText } from '../portal/feed.js';
import { TEXT, type Lang } from '../portal/labels.js';
import type { Router } from '../server.js';
import type { Incident, OperatorStatus, Priority } from '../status/incidents.js';
import type { Status } from '../status/types.js';
import type { SystemConfig } from '../../config/schema.js';
import { onlyParams } from './params.js';

export type ComponentStatus = 'operational' | 'degraded_performance' | 'partial_outage' | 'major_outage' | 'under_maintenance';
export type Indicator = 'none' | 'minor' | 'major' | 'critical' | 'maintenance';
export type Impact = 'none' | 'minor' | 'major' | 'critical';

/**
 * `unknown` has no Statuspage equivalent, and "operational" would claim a health vagt has not
 * seen: such a system is left out of `components` (and of the indicator) until it is known.
 */
export function componentStatus(s: Status): ComponentStatus | undefined {
  return s === 'unknown' ? undefined : s;
}

/** Priority 1 critical, 2 major, 3 and 4 (slow only: users still wait) minor. */
export function impactOf(p: Priority): Impact {
  return p === 1 ? 'critical' : p === 2 ? 'major' : 'minor';
}

/** The worst component decides, as on Statuspage: a service window shows when nothing is worse. */
export function indicatorOf(statuses: readonly ComponentStatus[]): Indicator {
  if (statuses.includes('major_outage')) return 'critical';
  if (statuses.includes('partial_outage')) return 'major';
  if (statuses.includes('degraded_performance')) return 'minor';
  return statuses.includes('under_maintenance') ? 'maintenance' : 'none';
}

const DESCRIPTION: Record<Lang, Record<Indicator, string> & { unknown: string }> = {
  da: {
    none: 'Alle systemer kører',
    minor: 'Nedsat ydeevne',
    major: 'Delvist nedbrud',
    critical: 'Større nedbrud',
    maintenance: 'Planlagt vedligeholdelse',
    unknown: 'Status er ukendt for nogle systemer',
  },
  en: {
    none: 'All Systems Operational',
    minor: 'Minor Service Outage',
    major: 'Partial System Outage',
    critical: 'Major Service Outage',
    maintenance: 'Service Under Maintenance',
    unknown: 'The status of some systems is unknown',
  },
};

const WORST: readonly ComponentStatus[] = ['major_outage', 'partial_outage', 'degraded_performance', 'under_maintenance', 'operational'];

/** Opaque, stable ids in Statuspage's style for things vagt has no id for (the page, groups). */
const shortId = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 12);

/**
 * The incident's state as Statuspage names it: what an operator last said (POST
 * /api/v1/incidents/{id}/updates), else `investigating` while open. An operator's `resolved` while
 * the probes still fail is `monitoring`: the incident stays among the unresolved until they pass.
 */
export function incidentStatus(i: Incident): OperatorStatus {
  const op = i.updates.findLast((u) => u.operator !== undefined)?.operator;
  if (op !== undefined) return op.status === 'resolved' && i.resolved_at === null ? 'monitoring' : op.status;
  return i.resolved_at === null ? 'investigating' : 'resolved';
}

export async function summaryV2(ctx: CollectorContext, opts: { lang: Lang; base: string }): Promise<Record<string, unknown>> {
  const { lang, base } = opts;
  const model = ctx.model();
  const now = ctx.clock.now();
  // From the configured address only, so the id does not change with the Host a client used.
  const pageId = shortId(`page|${model.config.collector.public_url ?? ''}`);
  const names = (id: string): string => model.systemById.get(id)?.name ?? id;

  // When vagt first recorded each system: the component's created_at.
  const firstSeen = new Map<string, number>();
  for (const s of model.systems) {
    const [first] = await ctx.store.statusChanges({ system: s.id, view: 'perceived', limit: 1 });
    if (first !== undefined) firstSeen.set(s.id, first.at);
  }

  const groupIds = new Map<string, string>();
  for (const s of model.systems) if (s.group !== undefined && !groupIds.has(s.group)) groupIds.set(s.group, `grp-${shortId(`group|${s.group}`)}`);

  const components: Record<string, unknown>[] = [];
  const byId = new Map<string, Record<string, unknown>>();
  const known: ComponentStatus[] = [];
  let unknown = 0;
  model.systems.forEach((s: SystemConfig, index) => {
    const st = ctx.tracker.get(s.id);
    const status = componentStatus(st?.status ?? 'unknown');
    if (status === undefined) {
      unknown++;
      return;
    }
    known.push(status);
    const since = st?.since ?? now;
    const c = {
      id: s.id,
      name: s.name,
      status,
      created_at: iso(firstSeen.get(s.id) ?? since),
      updated_at: iso(since),
      position: index + 1,
      description: s.description ?? null,
      showcase: false,
      start_date: null,
      group_id: s.group === undefined ? null : (groupIds.get(s.group) ?? null),
      page_id: pageId,
      group: false,
      only_show_if_degraded: false,
    };
    components.push(c);
    byId.set(s.id, c);
  });
  // A group is a component too, with its members' ids and their worst status.
  let position = model.systems.length;
  for (const [group, id] of groupIds) {
    const members = components.filter((c) => c.group_id === id);
    if (members.length === 0) continue;
    const statuses = members.map((c) => c.status as ComponentStatus);
    const times = members.map((c) => Date.parse(c.updated_at as string));
    components.push({
      id,
      name: group,
      status: WORST.find((w) => statuses.includes(w)) ?? 'operational',
      created_at: iso(Math.min(...members.map((c) => Date.parse(c.created_at as string)))),
      updated_at: iso(Math.max(...times)),
      position: ++position,
      description: null,
      showcase: false,
      start_date: null,
      group_id: null,
      page_id: pageId,
      group: true,
      only_show_if_degraded: false,
      components: members.map((c) => c.id),
    });
  }
  const componentsOf = (systems: readonly string[]): Record<string, unknown>[] =>
    systems.map((id) => byId.get(id)).filter((c): c is Record<string, unknown> => c !== undefined);

  const incidents = ctx.tracker.incidents
    .open()
    .sort((a, b) => b.started_at - a.started_at)
    .map((i) => {
      const id = String(i.id);
      const status = incidentStatus(i);
      const monitoring = i.updates.findLast((u) => u.operator?.status === 'monitoring');
      const last = i.updates[i.updates.length - 1];
      // Each update carries the state in force then: the operator's last word, else investigating.
      let state: OperatorStatus = 'investigating';
      const updates = i.updates.map((u, k) => {
        state = u.operator?.status ?? (u.kind === 'resolved' ? 'resolved' : state);
        const at = iso(u.at);
        return {
          id: `${id}-${k + 1}`,
          status: state,
          body: updateText(u, lang, names),
          incident_id: id,
          created_at: at,
          updated_at: at,
          display_at: at,
          affected_components: null,
          deliver_notifications: true,
          custom_tweet: null,
          tweet_id: null,
        };
      });
      return {
        id,
        name: incidentTitle(i, lang, names),
        status,
        created_at: iso(i.started_at),
        updated_at: iso(last?.at ?? i.started_at),
        monitoring_at: iso(monitoring?.at),
        resolved_at: iso(i.resolved_at),
        impact: impactOf(i.priority),
        shortlink: systemLink(base, i.system, lang),
        started_at: iso(i.started_at),
        page_id: pageId,
        // Newest first, as Statuspage lists them.
        incident_updates: updates.reverse(),
        components: componentsOf(i.affected),
      };
    });

  const windows = ctx.maintenance
    .list(now)
    .filter((w) => w.state !== 'completed')
    .map((w) => {
      const created = iso(w.created_at);
      const title = (lang === 'en' ? w.title.en : undefined) ?? w.title.da;
      const description = w.description === undefined ? undefined : ((lang === 'en' ? w.description.en : undefined) ?? w.description.da);
      const update = {
        id: `${w.id}-1`,
        status: 'scheduled',
        body: description ?? FEED_TEXT[lang].windowTitle(title, w.systems.map(names).join(', ')),
        incident_id: w.id,
        created_at: created,
        updated_at: created,
        display_at: created,
        affected_components: w.systems.map((s) => ({ code: s, name: names(s), old_status: 'operational', new_status: 'under_maintenance' })),
        deliver_notifications: true,
        custom_tweet: null,
        tweet_id: null,
      };
      return {
        id: w.id,
        name: title,
        status: w.state,
        created_at: created,
        updated_at: created,
        monitoring_at: null,
        resolved_at: null,
        impact: 'maintenance',
        shortlink: w.systems[0] === undefined ? `${base}/` : systemLink(base, w.systems[0], lang),
        started_at: created,
        page_id: pageId,
        incident_updates: [update],
        components: componentsOf(w.systems),
        scheduled_for: iso(w.start),
        scheduled_until: iso(w.end),
      };
    });

  const indicator = indicatorOf(known);
  return {
    page: {
      id: pageId,
      name: TEXT[lang].title,
      url: `${base}/${lang === 'en' ? '?lang=en' : ''}`,
      time_zone: model.config.collector.timezone,
      updated_at: iso(ctx.tracker.updatedAt),
    },
    components,
    incidents,
    scheduled_maintenances: windows,
    status: {
      indicator,
      // Nothing wrong among the known systems, but some are unknown: say so in words.
      description: indicator === 'none' && unknown > 0 ? DESCRIPTION[lang].unknown : DESCRIPTION[lang][indicator],
    },
  };
}

export function summaryV2Routes(router: Router, ctx: CollectorContext): void {
  router.get('/api/v2/summary.json', async (req, res, { url }) => {
    onlyParams(url.searchParams, ['lang']);
    const lang = langParam(url);
    sendJson(res, 200, await summaryV2(ctx, { lang, base: publicBase(req, ctx) }));
  });
}
