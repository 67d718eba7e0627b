// Small HTTP helpers for the simulator: handlers return a Reply, and the server decides when
// (latency, faults) and whether to send it.
import type { IncomingMessage } from 'node:http';
import type { Clock } from '../lib/clock.js';

export interface Reply {
  status: number;
  headers: Record<string, string | string[]>;
  body: string | Buffer;
  /** Extra delay before sending, ms: a slow dependency makes its dependants slow too. */
  delayMs?: number;
}

const HTML = 'text/html; charset=utf-8';

export function html(status: number, body: string | Buffer, headers: Record<string, string | string[]> = {}): Reply {
  return { status, headers: { 'content-type': HTML, 'cache-control': 'no-store', ...headers }, body };
}

export function json(status: number, value: unknown): Reply {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
    body: JSON.stringify(value) + '\n',
  };
}

export function redirect(location: string, headers: Record<string, string | string[]> = {}): Reply {
  return { status: 302, headers: { location, 'cache-control': 'no-store', ...headers }, body: '' };
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (header === undefined) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (!out.has(name)) out.set(name, part.slice(eq + 1).trim());
  }
  return out;
}

export function sessionCookie(name: string, value: string): string {
  return `${name}=${value}; Path=/; HttpOnly; SameSite=Lax`;
}

export function clearCookie(name: string): string {
  return `${name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`;
}

export class BodyTooLarge extends Error {}

/** Reads a request body up to `limit` bytes; rejects with BodyTooLarge beyond it. */
export function readBody(req: IncomingMessage, limit = 16_384): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new BodyTooLarge(`body larger than ${limit} bytes`));
        req.pause();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * A map whose entries expire and whose size is capped (oldest dropped first): sessions and codes
 * of a demo that runs for days under a probe every few seconds must not grow without bound.
 */
export class ExpiringMap<V> {
  private readonly m = new Map<string, { v: V; exp: number }>();
  constructor(
    private readonly max: number,
    private readonly ttlMs: number,
    private readonly clock: Clock,
  ) {}

  set(k: string, v: V): void {
    this.m.delete(k);
    if (this.m.size >= this.max) {
      const oldest = this.m.keys().next();
      if (oldest.done !== true) this.m.delete(oldest.value);
    }
    this.m.set(k, { v, exp: this.clock.now() + this.ttlMs });
  }

  get(k: string): V | undefined {
    const e = this.m.get(k);
    if (e === undefined) return undefined;
    if (e.exp <= this.clock.now()) {
      this.m.delete(k);
      return undefined;
    }
    return e.v;
  }

  /** Gets and removes: authorization codes are good for one use. */
  take(k: string): V | undefined {
    const v = this.get(k);
    this.m.delete(k);
    return v;
  }

  delete(k: string): void {
    this.m.delete(k);
  }

  get size(): number {
    return this.m.size;
  }
}
