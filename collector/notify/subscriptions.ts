// People who subscribed by e-mail, as notification channels: one Channel per confirmed
// subscription (`subscription:<id>`, with its systems, events and language). The confirmed ones
// are kept in memory, loaded from the store at start and updated by the subscription routes, so
// the dispatcher can ask for the channels on every round without a query.
//
// Tokens. The confirmation link carries a random token; the table keeps only its SHA-256. Every
// later link is derived from that hash with HMAC-SHA256 (the server must be able to make them for
// each message, and keeps no other secret): the unsubscribe link `<id>.<mac>`, and the link that
// confirms a change to a confirmed subscription `<id>.<change>.<mac>` (the change travels in the
// link, signed, so the subscription stays as it is until the link is opened). A copy of the table
// is thus enough to unsubscribe people, never to subscribe or confirm anyone.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../../lib/clock.js';
import { errorMessage } from '../../lib/errors.js';
import type { Model } from '../model.js';
import type { Store, Subscription } from '../store/types.js';
import { sendEventMail } from './email.js';
import { registerChannelSource } from './notifier.js';
import type { Channel, NotifyEvent, NotifyEventKind } from './types.js';

/** What subscriptions need of the collector; a CollectorContext has all of it. */
export interface SubscriptionDeps {
  store: Store;
  model(): Model;
  log: Logger;
  clock: Clock;
  /** The collector's own address, for links when collector.public_url is not set (the notifier's ChannelEnv has it). */
  baseUrl?: () => string;
}

/** A confirmation link works this long; unconfirmed subscriptions are deleted after it. */
export const CONFIRM_VALID_MS = 7 * 86_400_000;

export interface SubscriptionChange {
  systems: string[] | null;
  events: NotifyEventKind[] | null;
  lang: 'da' | 'en';
}

const b64 = (b: Buffer): string => b.toString('base64url');

export const sha256hex = (s: string): string => createHash('sha256').update(s).digest('hex');

/** A random token for a confirmation link, and the hash the table keeps. */
export function newToken(): { token: string; sha256: string } {
  const token = b64(randomBytes(32));
  return { token, sha256: sha256hex(token) };
}

function mac(sub: Subscription, purpose: string, data: string): string {
  return b64(createHmac('sha256', Buffer.from(sub.token_sha256, 'hex')).update(`${purpose}\n${sub.id}\n${sub.email}\n${data}`).digest());
}

function sameMac(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const TOKEN_PART = /^[A-Za-z0-9_-]{1,2000}$/;

export function unsubscribeToken(sub: Subscription): string {
  return `${sub.id}.${mac(sub, 'unsubscribe', '')}`;
}

/** The subscription id an unsubscribe token names; check it with verifyUnsubscribe. */
export function unsubscribeTokenId(token: string): string | undefined {
  const parts = token.split('.');
  return parts.length === 2 && parts.every((p) => TOKEN_PART.test(p)) ? parts[0] : undefined;
}

export function verifyUnsubscribe(sub: Subscription, token: string): boolean {
  return sameMac(token, unsubscribeToken(sub));
}

export function changeToken(sub: Subscription, change: SubscriptionChange, expires: number): string {
  const payload = b64(Buffer.from(JSON.stringify({ s: change.systems, e: change.events, l: change.lang, x: expires })));
  return `${sub.id}.${payload}.${mac(sub, 'change', payload)}`;
}

/** The id and change a change token carries, unverified; undefined when it is not one. */
export function readChangeToken(token: string): { id: string; change: SubscriptionChange; expires: number; verify(sub: Subscription): boolean } | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => TOKEN_PART.test(p))) return undefined;
  const [id, payload, sig] = parts as [string, string, string];
  let v: { s?: unknown; e?: unknown; l?: unknown; x?: unknown };
  try {
    v = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof v;
  } catch {
    return undefined;
  }
  const strings = (a: unknown): a is string[] => Array.isArray(a) && a.every((x) => typeof x === 'string');
  if (!(v.s === null || strings(v.s)) || !(v.e === null || strings(v.e)) || (v.l !== 'da' && v.l !== 'en') || typeof v.x !== 'number')
    return undefined;
  return {
    id,
    change: { systems: v.s, events: v.e as NotifyEventKind[] | null, lang: v.l },
    expires: v.x,
    verify: (sub) => sameMac(sig, mac(sub, 'change', payload)),
  };
}

/**
 * Where links in messages point: collector.public_url, else where the event's own links point
 * (the collector's address). Never an address a request named (its Host header is the client's
 * word, and one subscriber's request must not steer the links in others' mail).
 */
function linkBase(model: Model, event: NotifyEvent | undefined, fallback: (() => string) | undefined): string {
  const configured = model.config.collector.public_url;
  if (configured !== undefined) return configured.replace(/\/+$/, '');
  if (event !== undefined) return event.links.status_page.replace(/\/+$/, '');
  return fallback?.().replace(/\/+$/, '') ?? '';
}

export class Subscribers {
  readonly #deps: SubscriptionDeps;
  readonly #confirmed = new Map<string, { sub: Subscription; channel: Channel }>();
  #loading: Promise<void> | undefined;
  #loaded = false;
  /** The collector's own address (from the notifier), for links when collector.public_url is not set. */
  baseUrl: (() => string) | undefined;

  constructor(deps: SubscriptionDeps) {
    this.#deps = deps;
    this.baseUrl = deps.baseUrl;
  }

  /**
   * Loads the confirmed subscriptions once; later calls wait for the same load. The routes await
   * it before they change anything, so a change never races the first load.
   */
  load(): Promise<void> {
    this.#loading ??= this.#deps.store.subscriptions({ state: 'confirmed' }).then(
      (subs) => {
        for (const s of subs) this.#set(s);
        this.#loaded = true;
      },
      (err: unknown) => {
        this.#loading = undefined;
        this.#deps.log.warn({ err: errorMessage(err) }, 'loading e-mail subscriptions failed');
        throw err;
      },
    );
    return this.#loading;
  }

  /** One Channel per confirmed subscription; the same object until the subscription changes. */
  channels(): Channel[] {
    if (this.#loading === undefined) this.load().catch(() => undefined);
    return [...this.#confirmed.values()].map((e) => e.channel);
  }

  /** The channels once loaded; undefined (and loading starts) before: the dispatcher then drops none. */
  known(): Channel[] | undefined {
    const list = this.channels();
    return this.#loaded ? list : undefined;
  }

  get size(): number {
    return this.#confirmed.size;
  }

  /** After a subscription was stored: confirmed ones become (or stay) channels, others are dropped. */
  update(sub: Subscription): void {
    for (const [id, e] of this.#confirmed) if (e.sub.email === sub.email && id !== sub.id) this.#confirmed.delete(id);
    if (sub.state === 'confirmed') this.#set(sub);
    else this.#confirmed.delete(sub.id);
  }

  remove(id: string): void {
    this.#confirmed.delete(id);
  }

  unsubscribeUrl(sub: Subscription, event?: NotifyEvent): string {
    const base = linkBase(this.#deps.model(), event, this.baseUrl);
    return `${base}/subscriptions/unsubscribe?token=${unsubscribeToken(sub)}${sub.lang === 'en' ? '&lang=en' : ''}`;
  }

  #set(sub: Subscription): void {
    const id = sub.id;
    const channel: Channel = {
      id: `subscription:${id}`,
      type: 'email',
      systems: sub.systems ?? undefined,
      events: sub.events ?? undefined,
      holdMs: 0,
      lang: sub.lang,
      send: async (event) => {
        // Unsubscribed since the event was queued: there is no one to tell, and that is success.
        const current = this.#confirmed.get(id)?.sub;
        if (current === undefined) return;
        await sendEventMail(this.#deps, event, current.email, { lang: current.lang, unsubscribeUrl: this.unsubscribeUrl(current, event) });
      },
    };
    this.#confirmed.set(id, { sub: structuredClone(sub), channel });
  }
}

// One list per store, so that the routes (which see the collector's context) and the notifier
// share it without either owning the other. It hangs on the store object itself, under a symbol
// (not enumerable): the context's store is a Proxy of the notifier's (notifyingStore), which
// forwards symbol reads and definitions to the store it wraps, so both find the same list.
const LIST = Symbol('vagt.subscribers');

export function subscribers(deps: SubscriptionDeps): Subscribers {
  const carrier = deps.store as Store & { [LIST]?: Subscribers };
  let s = carrier[LIST];
  if (s === undefined) {
    s = new Subscribers(deps);
    Object.defineProperty(carrier, LIST, { value: s, enumerable: false, configurable: true });
  }
  if (deps.baseUrl !== undefined) s.baseUrl ??= deps.baseUrl;
  return s;
}

/** Loads the confirmed subscriptions; await it at start before the first dispatch round. */
export function loadSubscribers(deps: SubscriptionDeps): Promise<void> {
  return subscribers(deps).load();
}

/** One Channel per confirmed subscription, from memory: cheap enough to call every round. */
export function subscriberChannels(deps: SubscriptionDeps): Channel[] {
  return subscribers(deps).channels();
}

// Every notifier asks for the subscribers' channels on each round (notifier.ts:
// registerChannelSource); undefined until they are loaded, so none of their deliveries is dropped.
registerChannelSource((env) => subscribers(env).known());
