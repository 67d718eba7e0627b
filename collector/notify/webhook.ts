// HTTP channels: `webhook` (vagt's own JSON, signed with HMAC-SHA256 when a secret is set), `slack`
// (an incoming webhook's text and blocks) and `teams` (an incoming webhook's Adaptive Card). One
// POST per message through undici with a timeout; any 2xx is success. A 4xx other than 408, 425
// and 429 is permanent (the receiver will not take that message however often it is sent: a
// wrong URL, a revoked Slack hook), so it is dropped at once; anything else is retried, at the
// time a 429 or 503 names in Retry-After when it does.
import { createHmac } from 'node:crypto';
import { request } from 'undici';
import type { NotificationConfig } from '../../config/schema.js';
import { errorMessage } from '../../lib/errors.js';
import { version } from '../../lib/version.js';
import { FEED_TEXT, timeFormatter } from '../portal/feed.js';
import { OPERATOR_LABEL, STATUS_LABEL, STATUS_SYMBOL, TEXT, type Lang } from '../portal/labels.js';
import { maintenancePhase } from './events.js';
import type { ChannelEnv } from './notifier.js';
import { PermanentError, RetryLaterError } from './outbox.js';
import type { Channel, Localized, NotifyEvent, NotifyMaintenance, NotifySystem } from './types.js';
import { MAINTENANCE_TITLES_DA } from './maintenance-words.js';

export const USER_AGENT = `vagt/${version}`;
export const REQUEST_TIMEOUT_MS = 10_000;
/** Of an answer, only this much is read (for the reason of a failure). */
const MAX_ANSWER = 64 * 1024;

const iso = (ms: number): string => new Date(ms).toISOString();

/** The `webhook` payload (docs/notifications.md): the event with times in ISO 8601. */
export function webhookPayload(e: NotifyEvent): Record<string, unknown> {
  return {
    event: e.kind,
    id: e.id,
    at: iso(e.at),
    systems: e.systems.map((s) => ({ id: s.id, name: s.name, status: s.status, own_status: s.own_status, cause: s.cause, since: iso(s.since), url: s.url })),
    cause: e.cause,
    incident:
      e.incident === undefined
        ? null
        : {
            id: e.incident.id,
            priority: e.incident.priority,
            operator_status: e.incident.operator_status,
            message: e.incident.message ?? null,
            url: e.incident.url,
          },
    maintenance: e.maintenance === undefined ? null : maintenanceJson(e.maintenance),
    announcement: e.announcement === undefined ? null : { ...e.announcement, at: iso(e.announcement.at), link: e.announcement.link ?? null },
    links: e.links,
  };
}

function maintenanceJson(m: NotifyMaintenance): Record<string, unknown> {
  return { id: m.id, phase: m.phase, title: m.title, start: iso(m.start), end: iso(m.end), ended_early: m.ended_early === true };
}

/** `X-Vagt-Signature`: the HMAC-SHA256 of the exact body with the channel's secret, in hex. */
export function signature(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

// ---- words ------------------------------------------------------------------------------------

const WORDS = {
  da: {
    outage: (names: string) => `Nedbrud: ${names}`,
    degraded: (names: string) => `Nedsat ydeevne: ${names}`,
    recovery: (names: string) => `Kører igen: ${names}`,
    maintenance: MAINTENANCE_TITLES_DA,
    maintenanceNote: { endedEarly: 'Servicevinduet sluttede før planlagt.', cancelled: 'Det planlagte servicevindue bliver ikke gennemført.' },
    incident: (name: string, state: string) => `Hændelse i ${name}: ${state}`,
    incidentUpdated: (name: string) => `Hændelse i ${name} er opdateret`,
    more: 'Læs mere',
  },
  en: {
    outage: (names: string) => `Outage: ${names}`,
    degraded: (names: string) => `Degraded performance: ${names}`,
    recovery: (names: string) => `Operational again: ${names}`,
    maintenance: {
      announced: 'Maintenance scheduled',
      started: 'Maintenance in progress',
      ended: 'Maintenance completed',
      endedEarly: 'Maintenance completed early',
      cancelled: 'Maintenance cancelled',
    },
    maintenanceNote: { endedEarly: 'The maintenance ended earlier than planned.', cancelled: 'The planned maintenance will not take place.' },
    incident: (name: string, state: string) => `Incident in ${name}: ${state}`,
    incidentUpdated: (name: string) => `Incident in ${name} updated`,
    more: 'Read more',
  },
} as const;

export interface Summary {
  title: string;
  /** One line per system: symbol, name, status in words, and what it is affected by. */
  systems: { name: string; status: string; affectedBy?: string }[];
  /** Further lines: an operator's message, a window's times, an announcement's text. */
  details: string[];
  /** When it happened, in words. */
  time: string;
  link: string;
  linkText: string;
}

const text = (l: Localized, lang: Lang): string => (lang === 'en' ? (l.en ?? l.da) : l.da);

/** The portal's link in the channel's language. */
function inLang(url: string, lang: Lang): string {
  if (lang === 'da' || url === '') return url;
  return url + (url.includes('?') ? '&' : '?') + 'lang=en';
}

/**
 * An event in words, for chat messages (and any channel that wants them): the same status words
 * and symbols as the status page (portal/labels.ts).
 */
export function summarize(e: NotifyEvent, lang: Lang, timeZone: string): Summary {
  const w = WORDS[lang];
  const name = new Map(e.systems.map((s) => [s.id, s.name]));
  const nameOf = (id: string): string => name.get(id) ?? id;
  const systemLine = (s: NotifySystem): Summary['systems'][number] => {
    const line: Summary['systems'][number] = { name: s.name, status: `${STATUS_SYMBOL[s.status]} ${STATUS_LABEL[lang][s.status]}` };
    if (s.cause.length > 0) line.affectedBy = TEXT[lang].affectedBy(s.cause.map(nameOf).join(', '));
    return line;
  };
  const at = timeFormatter(lang, timeZone);
  const first = e.systems[0];
  const heads = (e.cause.length > 0 ? e.cause.map(nameOf) : first === undefined ? [] : [first.name]).join(', ');
  let title: string;
  const details: string[] = [];
  switch (e.kind) {
    case 'outage':
    case 'degraded':
    case 'recovery':
      title = w[e.kind](heads);
      break;
    case 'maintenance': {
      const m = e.maintenance;
      const phase = m === undefined ? 'announced' : maintenancePhase(m);
      title = m === undefined ? w.maintenance.announced : `${w.maintenance[phase]}: ${text(m.title, lang)}`;
      if (phase === 'cancelled' || phase === 'endedEarly') details.push(w.maintenanceNote[phase]);
      if (m !== undefined) details.push(FEED_TEXT[lang].window(at(m.start), at(m.end)));
      break;
    }
    case 'incident': {
      const i = e.incident;
      const state = i?.operator_status ?? null;
      title = state === null ? w.incidentUpdated(heads) : w.incident(heads, OPERATOR_LABEL[lang][state]);
      if (i?.message !== undefined) details.push(text(i.message, lang));
      break;
    }
    case 'announcement': {
      const a = e.announcement;
      title = a === undefined ? FEED_TEXT[lang].announcement.info : `${FEED_TEXT[lang].announcement[a.kind]}: ${text(a.title, lang)}`;
      if (a !== undefined) {
        details.push(text(a.body, lang));
        if (a.link !== undefined) details.push(`${w.more}: ${a.link}`);
      }
      break;
    }
  }
  const one = e.systems.length === 1 && first !== undefined && (e.kind === 'outage' || e.kind === 'degraded' || e.kind === 'recovery');
  return {
    title,
    systems: e.systems.map(systemLine),
    details,
    time: FEED_TEXT[lang].at(at(e.kind === 'announcement' && e.announcement !== undefined ? e.announcement.at : e.at)),
    link: inLang(one ? first.url : e.links.status_page, lang),
    linkText: TEXT[lang].title,
  };
}

const clip = (s: string, max: number): string => (s.length <= max ? s : s.slice(0, max - 1) + '…');
/** Slack's mrkdwn: &, < and > are its markup. */
const slackEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A Slack incoming-webhook message: `text` (the notification) and blocks (header, systems, details, link). */
export function slackPayload(e: NotifyEvent, lang: Lang, timeZone: string): Record<string, unknown> {
  const s = summarize(e, lang, timeZone);
  const systems = s.systems.map((x) => `${slackEscape(x.status)} *${slackEscape(x.name)}*${x.affectedBy === undefined ? '' : ` · ${slackEscape(x.affectedBy)}`}`);
  const blocks: Record<string, unknown>[] = [{ type: 'header', text: { type: 'plain_text', text: clip(s.title, 150), emoji: true } }];
  if (systems.length > 0) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(systems.join('\n'), 3000) } });
  for (const d of s.details) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(slackEscape(d), 3000) } });
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: clip(`${slackEscape(s.time)} · <${s.link}|${slackEscape(s.linkText)}>`, 3000) }] });
  return { text: clip(s.title, 3000), blocks };
}

/** A Microsoft Teams incoming-webhook message: one Adaptive Card. */
export function teamsPayload(e: NotifyEvent, lang: Lang, timeZone: string): Record<string, unknown> {
  const s = summarize(e, lang, timeZone);
  const body: Record<string, unknown>[] = [{ type: 'TextBlock', text: s.title, weight: 'Bolder', size: 'Medium', wrap: true }];
  if (s.systems.length > 0)
    body.push({
      type: 'FactSet',
      facts: s.systems.map((x) => ({ title: x.name, value: x.affectedBy === undefined ? x.status : `${x.status} · ${x.affectedBy}` })),
    });
  for (const d of s.details) body.push({ type: 'TextBlock', text: d, wrap: true });
  body.push({ type: 'TextBlock', text: s.time, isSubtle: true, size: 'Small', wrap: true });
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body,
          actions: [{ type: 'Action.OpenUrl', title: s.linkText, url: s.link }],
        },
      },
    ],
  };
}

// ---- sending ----------------------------------------------------------------------------------

/**
 * A Retry-After value (RFC 9110: delay-seconds or an HTTP-date) as epoch ms from `now`;
 * undefined when absent or unreadable.
 */
export function retryAfterAt(value: string | string[] | undefined, now: number): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (v === undefined || v === '') return undefined;
  if (/^\d+$/.test(v)) return now + Math.min(Number(v), 1e9) * 1000;
  // An HTTP-date names its zone ("GMT"); a bare number or a date without one is no Retry-After.
  if (!/[a-z]/i.test(v)) return undefined;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : at;
}

/**
 * POSTs a body; resolves on 2xx, rejects with the status (PermanentError for a lasting 4xx;
 * RetryLaterError for a 429 or 503 with Retry-After, by `now`) or the network error.
 */
export async function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  opts: { timeoutMs?: number; now?: () => number } = {},
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? REQUEST_TIMEOUT_MS;
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT, ...headers },
      body,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    // Never the URL: a Slack or Teams hook's URL is its secret.
    const code = (err as { code?: unknown }).code;
    throw new Error(typeof code === 'string' ? `${code}: ${errorMessage(err).replace(/https?:\/\/\S+/g, '<url>')}` : errorMessage(err).replace(/https?:\/\/\S+/g, '<url>'), {
      cause: err,
    });
  }
  let answer = '';
  try {
    for await (const chunk of res.body) {
      if (answer.length < MAX_ANSWER) answer += (chunk as Buffer).toString('utf8');
      else {
        res.body.destroy();
        break;
      }
    }
  } catch {
    // The status is what counts.
  }
  const code = res.statusCode;
  if (code >= 200 && code < 300) return;
  const reason = `status ${code}${answer.trim() === '' ? '' : `: ${answer.replace(/\s+/g, ' ').trim().slice(0, 200)}`}`;
  if (code >= 400 && code < 500 && code !== 408 && code !== 425 && code !== 429) throw new PermanentError(reason);
  const retryAt = code === 429 || code === 503 ? retryAfterAt(res.headers['retry-after'], (opts.now ?? Date.now)()) : undefined;
  if (retryAt !== undefined) throw new RetryLaterError(reason, retryAt);
  throw new Error(reason);
}

/** A channel of type webhook, slack or teams; undefined without a url. */
export function httpChannel(n: NotificationConfig, env: ChannelEnv): Channel | undefined {
  const url = n.url;
  if (url === undefined || (n.type !== 'webhook' && n.type !== 'slack' && n.type !== 'teams')) return undefined;
  const type = n.type;
  const lang = n.lang;
  const secret = n.secret;
  return {
    id: n.id,
    type,
    systems: n.systems,
    events: n.events,
    holdMs: n.hold ?? 0,
    lang,
    send: (event: NotifyEvent): Promise<void> => {
      const timeZone = env.model().config.collector.timezone;
      const payload = type === 'webhook' ? webhookPayload(event) : type === 'slack' ? slackPayload(event, lang, timeZone) : teamsPayload(event, lang, timeZone);
      const body = JSON.stringify(payload);
      const headers: Record<string, string> = { 'x-vagt-event': event.kind, 'x-vagt-delivery': event.id };
      if (secret !== undefined && secret !== '') headers['x-vagt-signature'] = signature(body, secret);
      return postJson(url, body, headers, { now: () => env.clock.now() });
    },
  };
}
