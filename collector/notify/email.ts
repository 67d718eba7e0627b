// E-mail over SMTP (nodemailer) through collector.smtp: the channels of `notifications` entries of
// type `email`, and the sending that subscriptions share. One message per event per address, so
// that one bad address does not hold up the others: each address is its own Channel
// (`<id>:<address>`), whose delivery the outbox retries on its own. A message's Message-ID is
// derived from the event and the address, so a retry after an unclear failure (the server took
// the message but the connection broke before its answer) is recognisable as the same message.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import nodemailer, { type Transporter } from 'nodemailer';
import type { NotificationConfig } from '../../config/schema.js';
import { errorMessage } from '../../lib/errors.js';
import type { Model } from '../model.js';
import { eventMail, type Mail } from './email-templates.js';
import { registerChannelType } from './notifier.js';
import type { Channel, NotifyEvent } from './types.js';

export interface SmtpSettings {
  /** smtp://[user:pass@]host[:port] (STARTTLS when offered) or smtps:// (TLS from the start). */
  url: string;
  /** The sender, e.g. "Driftsstatus <drift@example.dk>". */
  from: string;
}

export interface OutgoingMail extends Mail {
  to: string;
  messageId: string;
  headers?: Record<string, string>;
}

/** What the e-mail channels need of the collector: its configuration now (it changes on reload). */
export interface EmailDeps {
  model(): Model;
  log: Logger;
}

// A connection per message, no pool: nothing to close on shutdown or reload, and messages are few.
const TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };
const transports = new Map<string, Transporter>();

function transport(url: string): Transporter {
  let t = transports.get(url);
  if (t === undefined) {
    t = nodemailer.createTransport({ url, ...TIMEOUTS });
    // A reload may name another relay; the old ones are dropped, not kept for ever.
    if (transports.size >= 8) transports.clear();
    transports.set(url, t);
  }
  return t;
}

/** The domain of the sender's address, for Message-IDs. */
function senderDomain(from: string): string {
  const m = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from);
  return m?.[1] ?? 'vagt.invalid';
}

/** The same for the same event and recipient, also across restarts. */
export function messageId(eventId: string, recipient: string, from: string): string {
  const h = createHash('sha256').update(`${eventId}\n${recipient.toLowerCase()}`).digest('hex').slice(0, 32);
  return `<${h}.vagt@${senderDomain(from)}>`;
}

/** An SMTP error in a few words, for the outbox's last_error (never the URL: it may hold a password). */
function reason(err: unknown): string {
  const e = err as { responseCode?: number; response?: string; code?: string };
  const text = e.response ?? errorMessage(err);
  const short = text.replace(/\s+/g, ' ').slice(0, 200);
  return e.responseCode !== undefined ? `smtp ${e.responseCode}: ${short}` : `smtp: ${e.code ?? ''}${e.code === undefined ? '' : ' '}${short}`.trim();
}

/** Resolves when the server accepted the message for its recipient; rejects otherwise. */
export async function sendMail(smtp: SmtpSettings, m: OutgoingMail): Promise<void> {
  let info: { accepted?: unknown[]; rejected?: unknown[] };
  try {
    info = (await transport(smtp.url).sendMail({
      from: smtp.from,
      to: m.to,
      subject: m.subject,
      text: m.text,
      html: m.html,
      messageId: m.messageId,
      headers: { 'Auto-Submitted': 'auto-generated', ...m.headers },
    })) as { accepted?: unknown[]; rejected?: unknown[] };
  } catch (err) {
    throw new Error(reason(err), { cause: err });
  }
  if ((info.rejected?.length ?? 0) > 0 || (info.accepted?.length ?? 0) === 0) throw new Error('smtp: the server did not accept the recipient');
}

/** collector.smtp, or a rejection the outbox retries (the configuration may gain it on reload). */
export function smtpSettings(model: Model): SmtpSettings {
  const smtp = model.config.collector.smtp;
  if (smtp === undefined) throw new Error('collector.smtp is not configured');
  return smtp;
}

/** The system names of the configuration, for causes an event names by id only. */
export const systemNames = (model: Model) => (id: string): string | undefined => model.systemById.get(id)?.name;

/** Sends the message about `event` to one address. */
export async function sendEventMail(
  deps: EmailDeps,
  event: NotifyEvent,
  to: string,
  opts: { lang: 'da' | 'en'; unsubscribeUrl?: string },
): Promise<void> {
  const model = deps.model();
  const smtp = smtpSettings(model);
  const mail = eventMail(event, {
    lang: opts.lang,
    timeZone: model.config.collector.timezone,
    names: systemNames(model),
    ...(opts.unsubscribeUrl === undefined ? {} : { unsubscribeUrl: opts.unsubscribeUrl }),
  });
  const headers: Record<string, string> = {};
  if (opts.unsubscribeUrl !== undefined) {
    // RFC 8058: mail clients offer "unsubscribe", and post this form to the URL to do it.
    headers['List-Unsubscribe'] = `<${opts.unsubscribeUrl}>`;
    headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
  }
  await sendMail(smtp, { ...mail, to, messageId: messageId(event.id, to, smtp.from), headers });
  deps.log.debug({ event: event.id, kind: event.kind }, 'e-mail sent');
}

/**
 * One Channel per address of a configured `email` notification, id `<notification id>:<address>`:
 * the outbox keeps and retries each address's delivery on its own, so a retry never sends again
 * to those who already got the message.
 */
export function emailChannels(n: NotificationConfig, deps: EmailDeps): Channel[] {
  if (n.type !== 'email') return [];
  return (n.to ?? []).map((address) => ({
    id: `${n.id}:${address.toLowerCase()}`,
    type: 'email' as const,
    systems: n.systems,
    events: n.events,
    holdMs: n.hold ?? 0,
    lang: n.lang,
    send: (event: NotifyEvent) => sendEventMail(deps, event, address, { lang: n.lang }),
  }));
}

/**
 * The same notification as one Channel (id `<notification id>`), for a dispatcher that wants one
 * channel per configured entry. It sends to every address; the addresses that accepted an event
 * are remembered (in memory, for the last 1000 events), so a retry after a partial failure goes
 * only to the rest. Prefer emailChannels: its per-address deliveries survive a restart too.
 */
export function emailChannel(n: NotificationConfig, deps: EmailDeps): Channel {
  const done = new Map<string, Set<string>>();
  const perAddress = emailChannels(n, deps);
  return {
    id: n.id,
    type: 'email',
    systems: n.systems,
    events: n.events,
    holdMs: n.hold ?? 0,
    lang: n.lang,
    async send(event: NotifyEvent): Promise<void> {
      let sent = done.get(event.id);
      if (sent === undefined) {
        sent = new Set();
        done.set(event.id, sent);
        if (done.size > 1000) done.delete(done.keys().next().value!);
      }
      const failures: string[] = [];
      for (const c of perAddress) {
        if (sent.has(c.id)) continue;
        try {
          await c.send(event);
          sent.add(c.id);
        } catch (err) {
          failures.push(`${c.id.slice(n.id.length + 1)}: ${errorMessage(err)}`);
        }
      }
      if (failures.length > 0) throw new Error(failures.join('; '));
      done.delete(event.id);
    },
  };
}

// Every notifier makes the channels of `email` entries here (notifier.ts: registerChannelType).
registerChannelType('email', (n, env) => emailChannels(n, env));
