// Bearer tokens compared in constant time: both sides are hashed to sha256 first, so
// timingSafeEqual sees equal lengths and the comparison leaks neither content nor length.
// A token configured as its hash (`token_sha256`) is already the digest and is compared the same way.
import { createHash, timingSafeEqual } from 'node:crypto';
import { VagtError } from '../lib/errors.js';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** The 32 bytes of a hex SHA-256; anything else would make timingSafeEqual throw later. */
function hexDigest(id: string, hex: string): Buffer {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new VagtError('VAGT_ERR_CONFIG', `agent ${id}: token_sha256 is not 64 hex digits`);
  return Buffer.from(hex, 'hex');
}

/** An agent's token, or its SHA-256 in hex. */
export type TokenEntry = { id: string; token: string } | { id: string; sha256: string };

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m?.[1];
}

export function tokenEquals(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/** Agents' tokens; identifies the agent a presented token belongs to. */
export class TokenRing {
  readonly #entries: { id: string; digest: Buffer }[];

  constructor(entries: Iterable<TokenEntry>) {
    this.#entries = [...entries].map((e) => ({ id: e.id, digest: 'token' in e ? digest(e.token) : hexDigest(e.id, e.sha256) }));
  }

  /** The agent id whose token this is. Every entry is compared, so the time does not tell which matched. */
  identify(token: string): string | undefined {
    const d = digest(token);
    let found: string | undefined;
    for (const e of this.#entries) if (timingSafeEqual(d, e.digest) && found === undefined) found = e.id;
    return found;
  }

  /** Whether the agent's token is the same in both rings (false when it is gone from either). */
  sameToken(other: TokenRing, id: string): boolean {
    const a = this.#entries.find((e) => e.id === id);
    const b = other.#entries.find((e) => e.id === id);
    return a !== undefined && b !== undefined && a.digest.equals(b.digest);
  }
}
