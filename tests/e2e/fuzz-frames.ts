// Random and malicious agent frames for fuzz.test.ts. Each frame carries the answer the collector
// owes it (an error, an ack listing exactly the refused seqs, or a close), so the test can check
// that every frame was handled and counted, not merely that nothing crashed.
import { LIMITS } from '../../protocol/messages.js';

/** mulberry32: small, fast, and the same sequence for the same seed. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  /** Printable junk; long strings repeat a random chunk, which is as bad for us and much cheaper. */
  junk(n: number): string {
    const chars = 'abcXYZ019 _-{}[]":,\\/\n\tæøå\u2028';
    let chunk = '';
    for (let i = 0; i < Math.min(n, 64); i++) chunk += this.pick([...chars]);
    return chunk.repeat(Math.ceil(n / Math.max(chunk.length, 1))).slice(0, n);
  }
}

/** JSON text that JSON.stringify cannot produce (1e999, 100 000 levels deep): spliced in after. */
class Raw {
  constructor(readonly text: string) {}
}
const raw = (text: string): Raw => new Raw(text);

export function serialize(v: unknown): string {
  const raws: string[] = [];
  const text = JSON.stringify(v, (_k, x: unknown) => (x instanceof Raw ? `\u0000raw${raws.push(x.text) - 1}\u0000` : x));
  return text.replace(/"\\u0000raw(\d+)\\u0000"/g, (_m, i: string) => raws[Number(i)]!);
}

/** An object with these own keys, `__proto__` included (a literal would set the prototype instead). */
export function own(entries: [string, unknown][]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [key, value] of entries) Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  return o;
}

export type ErrorReason = 'invalid_frame' | 'invalid_message';

export interface AckExpect {
  kind: 'ack';
  batch: number;
  /** Results in the frame. */
  sent: number;
  /** Stored or already stored: the smuggled valid ones. */
  accepted: number;
  /** Seqs the ack must list, sorted. */
  rejected: number[];
  invalid: number;
  unknown: number;
  /** Seqs of the accepted results. */
  stored: number[];
  /** What each result was, for the failure message. */
  what: string[];
}

export interface Frame {
  label: string;
  data: string | Buffer;
  binary: boolean;
  expect: { kind: 'error'; reason: ErrorReason } | AckExpect;
}

/** A frame after which the collector closes the connection; later frames are ignored. */
export interface Closer {
  label: string;
  data: string | Buffer;
  binary: boolean;
  code: number;
  reason: 'too_big' | 'invalid_frame' | 'unauthorized' | 'unsupported_version';
}

const POLLUTE = { vagtPolluted: true };
const ASSIGNED: readonly (readonly [string, string])[] = [
  ['mitid', 'front'],
  ['virk', 'front'],
];
// virk/port is aar-1's only; the others are ids no configuration has, some named like JS internals.
const UNASSIGNED: readonly (readonly [string, string])[] = [
  ['virk', 'port'],
  ['nope', 'front'],
  ['mitid', 'nope'],
  ['constructor', 'prototype'],
  ['tostring', 'valueof'],
  ['hasownproperty', 'front'],
];

type Corruption = [label: string, apply: (r: Record<string, unknown>, rng: Rng) => unknown];

const set =
  (key: string, value: unknown) =>
  (r: Record<string, unknown>): Record<string, unknown> =>
    own([...Object.entries(r).filter(([k]) => k !== key), [key, value]]);
const del =
  (key: string) =>
  (r: Record<string, unknown>): Record<string, unknown> => {
    const c = { ...r };
    delete c[key];
    return c;
  };
/** Mostly a kilobyte or two; one in eight is 100 KB. */
const long = (rng: Rng): string => rng.junk(rng.chance(0.125) ? 100_000 : rng.int(1000, 2000));
const deep = (n: number): Raw => raw('['.repeat(n) + ']'.repeat(n));

function badIds(field: string): Corruption[] {
  return [
    [`${field} missing`, del(field)],
    [`${field} empty`, set(field, '')],
    [`${field} upper case`, set(field, 'MitID')],
    [`${field} 64 chars`, set(field, 'a'.repeat(64))],
    [`${field} long`, (r, rng) => set(field, long(rng))(r)],
    [`${field} number`, set(field, 5)],
    [`${field} null`, set(field, null)],
    [`${field} __proto__`, set(field, '__proto__')],
    [`${field} leading dash`, set(field, '-x')],
    [`${field} space`, set(field, 'a b')],
    [`${field} non-ascii`, set(field, 'ø')],
    [`${field} object`, set(field, POLLUTE)],
  ];
}

/** Each makes a valid result invalid, whatever else the result holds. */
const CORRUPTIONS: Corruption[] = [
  ['seq missing', del('seq')],
  ['seq negative', set('seq', -1)],
  ['seq fraction', set('seq', 1.5)],
  ['seq string', set('seq', '7')],
  ['seq null', set('seq', null)],
  ['seq 2^53', set('seq', 2 ** 53)],
  ['seq 1e300', set('seq', 1e300)],
  ['seq 1e999', set('seq', raw('1e999'))],
  ['seq object', set('seq', {})],
  ['seq array', set('seq', [1])],
  ...badIds('system'),
  ...badIds('probe'),
  ['ts missing', del('ts')],
  ['ts negative', set('ts', -1)],
  ['ts string', set('ts', 'now')],
  ['ts null', set('ts', null)],
  ['ts 1e999', set('ts', raw('1e999'))],
  ['ts -1e999', set('ts', raw('-1e999'))],
  ['ts object', set('ts', {})],
  ['ok missing', del('ok')],
  ['ok string', set('ok', 'true')],
  ['ok number', set('ok', 1)],
  ['ok null', set('ok', null)],
  ['duration missing', del('duration_ms')],
  ['duration negative', set('duration_ms', -0.001)],
  ['duration string', set('duration_ms', '5')],
  ['duration 1e999', set('duration_ms', raw('1e999'))],
  ['duration 1e308', set('duration_ms', 1e308)],
  ['duration over a day', set('duration_ms', 86_400_001)],
  ['phases missing', del('phases')],
  ['phases null', set('phases', null)],
  ['phases array', set('phases', [1])],
  ['phases unknown', set('phases', { warp: 1 })],
  ['phases negative', set('phases', { dns: -1 })],
  ['phases string', set('phases', { dns: '1' })],
  ['phases null value', set('phases', { dns: null })],
  ['phases __proto__', set('phases', own([['__proto__', { dns: 1, ...POLLUTE }]]))],
  ['phases constructor', set('phases', { constructor: { prototype: POLLUTE } })],
  ['phases 1e308', set('phases', { dns: 1e308 })],
  ['phases long key', (r, rng) => set('phases', { [long(rng)]: 1 })(r)],
  ['status_code string', set('status_code', '200')],
  ['status_code fraction', set('status_code', 200.5)],
  ['status_code negative', set('status_code', -1)],
  ['status_code 1e300', set('status_code', 1e300)],
  ['status_code 99', set('status_code', 99)],
  ['status_code 1000', set('status_code', 1000)],
  ['error string', set('error', 'boom')],
  ['error null', set('error', null)],
  ['error array', set('error', [])],
  ['error code number', set('error', { code: 1, message: '' })],
  ['error no message', set('error', { code: 'timeout' })],
  ['error message too long', set('error', { code: 'timeout', message: 'm'.repeat(LIMITS.maxErrorMessageChars + 1) })],
  ['error code long', (r, rng) => set('error', { code: long(rng), message: 'x' })(r)],
  ['error code empty', set('error', { code: '', message: 'x' })],
  ['error code not a code', set('error', { code: 'Not A Code!', message: 'x' })],
  ['tls_expiry string', set('tls_expiry', 'soon')],
  ['tls_expiry null', set('tls_expiry', null)],
  ['tls_expiry 1e999', set('tls_expiry', raw('1e999'))],
  ['tls_expiry 1e300', set('tls_expiry', 1e300)],
  ['tls_expiry negative', set('tls_expiry', -1)],
  ['detail string', set('detail', 'x')],
  ['detail array', set('detail', [])],
  ['detail null', set('detail', null)],
  ['detail 100 000 deep', set('detail', { x: deep(100_000) })],
  ['detail 1000 deep', set('detail', { x: deep(1000) })],
  ['detail __proto__', set('detail', own([['__proto__', POLLUTE]]))],
  ['detail nested __proto__', set('detail', { steps: [own([['__proto__', POLLUTE]])] })],
  ['detail constructor.prototype', set('detail', { a: { constructor: { prototype: POLLUTE } } })],
];

/** Not objects at all: counted, but there is no seq to list. */
const NOT_OBJECTS: unknown[] = [5, 'result', null, [], true, [{ seq: 1 }]];

export interface GenOptions {
  rng: Rng;
  /** The attacker's seqs start here, far from the good agent's. */
  firstSeq: number;
}

/** Frames for an authenticated attacker (kbh-1). Stateful: seqs and batch ids never repeat by accident. */
export class FrameGen {
  readonly #rng: Rng;
  #seq: number;
  #batch = 0;
  /** Valid results sent so far, so some can be sent again (duplicates). */
  readonly #smuggled: number[] = [];

  constructor(opts: GenOptions) {
    this.#rng = opts.rng;
    this.#seq = opts.firstSeq;
  }

  #nextBatch(): number {
    this.#batch++;
    // Unique, so each ack maps to its frame; some at the edges of what a batch id may be.
    switch (this.#rng.int(0, 5)) {
      case 0:
        return -this.#batch;
      case 1:
        return Number.MAX_SAFE_INTEGER - this.#batch;
      case 2:
        return -Number.MAX_SAFE_INTEGER + this.#batch;
      default:
        return this.#batch;
    }
  }

  #valid(probe: readonly [string, string]): Record<string, unknown> {
    const rng = this.#rng;
    const r: Record<string, unknown> = {
      seq: ++this.#seq,
      system: probe[0],
      probe: probe[1],
      ts: Date.now() - rng.int(0, 30_000),
      ok: rng.chance(0.8),
      duration_ms: rng.int(0, 100_000) / 10,
      phases: rng.chance(0.2) ? {} : { dns: 1.5, connect: 2, tls: 3, ttfb: 10, transfer: 1 },
    };
    if (rng.chance(0.5)) r.status_code = rng.pick([200, 301, 503]);
    if (r.ok === false && rng.chance(0.7)) r.error = { code: 'http_status', message: 'status 503' };
    if (rng.chance(0.3)) r.tls_expiry = 1_900_000_000;
    if (rng.chance(0.3)) r.detail = { redirects: 1, steps: [{ requests: [{ phases: { dns: 1 } }] }] };
    return r;
  }

  /** One result and what the collector must do with it. */
  #result(): { value: unknown; kind: 'invalid' | 'unknown' | 'smuggled'; listed: number | undefined; what: string } {
    const rng = this.#rng;
    const roll = rng.next();
    if (roll < 0.05) return { value: rng.pick(NOT_OBJECTS), kind: 'invalid', listed: undefined, what: 'not an object' };
    if (roll < 0.6) {
      const [what, apply] = rng.pick(CORRUPTIONS);
      const value = apply(this.#valid(rng.pick(ASSIGNED)), rng);
      const seq = (value as Record<string, unknown>).seq;
      return { value, kind: 'invalid', listed: Number.isSafeInteger(seq) ? (seq as number) : undefined, what };
    }
    if (roll < 0.72) {
      // Dated in the future (over the collector's 10 minutes): refused as invalid, with its seq.
      const r = this.#valid(rng.pick(ASSIGNED));
      r.ts = rng.pick([Date.now() + 3_600_000, 1e15, 8.64e15, 1e300]);
      return { value: r, kind: 'invalid', listed: r.seq as number, what: `ts ${r.ts as number}` };
    }
    if (roll < 0.9) {
      const r = this.#valid(rng.pick(UNASSIGNED));
      if (rng.chance(0.3)) r.agent = 'aar-1';
      return { value: r, kind: 'unknown', listed: r.seq as number, what: `unassigned ${r.system as string}/${r.probe as string}` };
    }
    return { value: this.#smuggle(), kind: 'smuggled', listed: undefined, what: 'smuggled' };
  }

  /** A valid result for kbh-1 with hostile extras: accepted, stored as kbh-1's, extras dropped. */
  #smuggle(): Record<string, unknown> {
    const rng = this.#rng;
    const r = this.#valid(rng.pick(ASSIGNED));
    const again = this.#smuggled.length > 0 && rng.chance(0.2);
    if (again) r.seq = rng.pick(this.#smuggled);
    else if (rng.chance(0.05)) r.seq = rng.pick([0, Number.MAX_SAFE_INTEGER - rng.int(0, 1000)]);
    const extras: [string, unknown][] = [
      ['agent', 'aar-1'],
      ['received_at', 0],
      ['id', 1],
      ['__proto__', POLLUTE],
      ['constructor', { prototype: POLLUTE }],
      ['prototype', POLLUTE],
      ['note', long(rng)],
    ];
    const out = own([...Object.entries(r), ...extras.filter(() => rng.chance(0.5))]);
    if (rng.chance(0.2)) out.error = own([['code', 'timeout'], ['message', 'm'], ['stack', 'at x'], ['__proto__', POLLUTE]]);
    // Inert as data: only `__proto__` and `constructor.prototype` are how merges get polluted.
    if (rng.chance(0.2)) out.detail = { constructor: 'Object', prototype: POLLUTE, toString: 'x' };
    this.#smuggled.push(out.seq as number);
    return out;
  }

  /** A results frame that must be acked, with at least one refused result. */
  resultsFrame(): Frame {
    const rng = this.#rng;
    const size = rng.chance(0.01) ? LIMITS.maxBatchResults : rng.chance(0.05) ? rng.int(50, 200) : rng.int(1, 8);
    const results: unknown[] = [];
    const rejected: number[] = [];
    const stored: number[] = [];
    const what: string[] = [];
    let invalid = 0;
    let unknown = 0;
    let bytes = 0;
    while (results.length < size || invalid + unknown === 0) {
      const r = this.#result();
      const len = Buffer.byteLength(serialize(r.value)) + 1;
      // Stay under the frame limit: over it is a different test (a close, not an ack).
      if (bytes + len > LIMITS.maxFrameBytes - 4096 || results.length >= LIMITS.maxBatchResults) {
        if (invalid + unknown > 0) break;
        results.length = 0;
        rejected.length = 0;
        stored.length = 0;
        what.length = 0;
        bytes = 0;
        continue;
      }
      bytes += len;
      results.push(r.value);
      what.push(r.what);
      if (r.kind === 'smuggled') stored.push((r.value as { seq: number }).seq);
      else {
        if (r.kind === 'invalid') invalid++;
        else unknown++;
        if (r.listed !== undefined) rejected.push(r.listed);
      }
    }
    const batch = this.#nextBatch();
    const frame: Record<string, unknown> = { type: 'results', batch, results };
    let msg: Record<string, unknown> = frame;
    // Extras at the top: ignored.
    if (rng.chance(0.1)) msg = own([...Object.entries(frame), ['agent', 'aar-1'], ['__proto__', POLLUTE], ['constructor', { prototype: POLLUTE }]]);
    return {
      label: `results ${results.length}`,
      data: serialize(msg),
      binary: false,
      expect: {
        kind: 'ack',
        batch,
        sent: results.length,
        accepted: stored.length,
        rejected: rejected.sort((a, b) => a - b),
        invalid,
        unknown,
        stored,
        what,
      },
    };
  }

  /** A frame the collector answers with an error and keeps the connection for. */
  errorFrame(helloDone: boolean): Frame {
    const rng = this.#rng;
    const e = (label: string, data: string | Buffer, reason: ErrorReason, binary = false): Frame => ({
      label,
      data,
      binary,
      expect: { kind: 'error', reason },
    });
    const valid = (): Record<string, unknown> => ({ type: 'results', batch: 1, results: [this.#valid(ASSIGNED[0]!)] });
    const text = (): string => serialize(valid());
    // [weight, frame]: the expensive ones (a mebibyte to parse) are rarer.
    const cases: [number, () => Frame][] = [
      [4, () => e('not JSON', rng.pick(['garbage', 'undefined', 'NaN', "{'a': 1}", '{"a":1,}', '', ' ', '\u0000', '{"type":"results",}']), 'invalid_frame')],
      [4, () => {
        const t = text();
        return e('truncated JSON', t.slice(0, rng.int(1, t.length - 1)), 'invalid_frame');
      }],
      [3, () => e('random text', '#' + rng.junk(rng.int(1, 2000)), 'invalid_frame')],
      [3, () => e('JSON not an object', serialize(rng.pick<unknown>([1, -0.5, 'results', null, true, false, [], [valid()], raw('1e999')])), 'invalid_frame')],
      [3, () => e('binary', Buffer.from(rng.chance(0.5) ? text() : rng.junk(200)), 'invalid_frame', true)],
      [1, () => e('deep array', serialize(deep(rng.int(1000, 200_000))), 'invalid_frame')],
      // A whole frame's worth, but not more.
      [0.5, () => e('1 MiB of junk', 'x'.repeat(LIMITS.maxFrameBytes), 'invalid_frame')],
      [3, () => e('no type', serialize(rng.pick<unknown>([{}, { TYPE: 'results' }, { type: 5 }, { type: null }, { type: ['results'] }, own([['__proto__', { type: 'results' }]])])), 'invalid_message')],
      [3, () => e(
        'unknown type',
        serialize({ type: rng.pick(['teleport', 'ack', 'welcome', 'assignment', 'error', 'RESULTS', 'results ', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '']) }),
        'invalid_message',
      )],
      [1, () => e('long type', serialize({ type: long(rng) }), 'invalid_message')],
      [3, () => e('batch wrong', serialize({ ...valid(), batch: rng.pick<unknown>(['1', 1.5, null, 2 ** 53, -(2 ** 60), [], {}, raw('1e999')]) }), 'invalid_message')],
      [2, () => e('batch missing', serialize({ type: 'results', results: [] }), 'invalid_message')],
      [3, () => e('results wrong', serialize({ type: 'results', batch: 1, results: rng.pick<unknown>([null, {}, 'x', 5, own([['__proto__', []]])]) }), 'invalid_message')],
      [2, () => e('results missing', serialize({ type: 'results', batch: 1 }), 'invalid_message')],
      [1, () => e('batch over the limit', serialize({ type: 'results', batch: 1, results: new Array(LIMITS.maxBatchResults + rng.int(1, 500)).fill(0) }), 'invalid_message')],
      [0.5, () => {
        const r = this.#valid(ASSIGNED[0]!);
        return e('batch over the limit, real results', serialize({ type: 'results', batch: 1, results: new Array(LIMITS.maxBatchResults + 1).fill(r) }), 'invalid_message');
      }],
      [3, () => e('malformed hello', serialize(rng.pick<unknown>([
        { type: 'hello' },
        { type: 'hello', protocol: '1', agent: 'kbh-1', version: 'x' },
        { type: 'hello', protocol: 1.5, agent: 'kbh-1', version: 'x' },
        { type: 'hello', protocol: 1, agent: 'KBH-1', version: 'x' },
        { type: 'hello', protocol: 1, agent: long(rng), version: 'x' },
        { type: 'hello', protocol: 1, agent: 'kbh-1' },
        { type: 'hello', protocol: 1, agent: 'kbh-1', version: 5 },
        { type: 'hello', protocol: 1, agent: '__proto__', version: 'x' },
      ])), 'invalid_message')],
      // After hello a second one is refused whatever it says; before, it would be the hello.
      [helloDone ? 3 : 0, () => e('second hello', serialize(rng.pick<unknown>([
        { type: 'hello', protocol: 1, agent: 'kbh-1', version: 'again' },
        { type: 'hello', protocol: 1, agent: 'aar-1', version: 'impostor' },
        { type: 'hello', protocol: 2, agent: 'kbh-1', version: 'future', last_seq: raw('1e999') },
      ])), 'invalid_message')],
      [0.5, () => e('1 MiB message of an unknown type', serialize({ type: 'x', pad: 'p'.repeat(LIMITS.maxFrameBytes - 40) }), 'invalid_message')],
      [2, () => e('JSON with a BOM', '\ufeff' + text(), 'invalid_frame')],
      [2, () => e('two messages in one frame', text() + text(), 'invalid_frame')],
      [2, () => e('__proto__ type', '{"__proto__":{"type":"results"},"batch":1,"results":[]}', 'invalid_message')],
    ];
    let roll = rng.next() * cases.reduce((sum, [w]) => sum + w, 0);
    for (const [w, make] of cases) {
      roll -= w;
      if (roll < 0) return make();
    }
    return this.garbage();
  }

  /** Garbage: the cheapest bad frame, for running into the rate limit. */
  garbage(): Frame {
    return { label: 'garbage', data: '#' + this.#rng.junk(this.#rng.int(0, 40)), binary: false, expect: { kind: 'error', reason: 'invalid_frame' } };
  }

  /** A frame that makes the collector close the connection once it holds an authenticated hello. */
  closer(): Closer {
    const rng = this.#rng;
    switch (rng.int(0, 2)) {
      case 0:
        return { label: 'over the frame limit', data: 'x'.repeat(LIMITS.maxFrameBytes + rng.int(1, 4096)), binary: false, code: 1009, reason: 'too_big' };
      case 1: {
        const results = new Array(40).fill({ ...this.#valid(ASSIGNED[0]!), note: 'n'.repeat(30_000) });
        return { label: 'results over the frame limit', data: serialize({ type: 'results', batch: 1, results }), binary: rng.chance(0.2), code: 1009, reason: 'too_big' };
      }
      default: {
        const bytes = Buffer.from(`{"type":"results","batch":1,"results":[],"x":"..."}`);
        bytes[bytes.length - 4] = rng.pick([0xff, 0xc0, 0xed]);
        return { label: 'invalid UTF-8', data: bytes, binary: false, code: 1007, reason: 'invalid_frame' };
      }
    }
  }

  /** A first hello the collector refuses by closing: another agent's id, or a protocol it does not speak. */
  badHello(): Closer {
    const rng = this.#rng;
    if (rng.chance(0.5)) {
      const agent = rng.pick(['aar-1', 'zzz-9', 'local', 'constructor']);
      return { label: `hello as ${agent}`, data: serialize({ type: 'hello', protocol: 1, agent, version: 'x' }), binary: false, code: 1008, reason: 'unauthorized' };
    }
    const protocol = rng.pick([0, 2, -1, 99_999, Number.MAX_SAFE_INTEGER]);
    return { label: `hello protocol ${protocol}`, data: serialize({ type: 'hello', protocol, agent: 'kbh-1', version: 'x' }), binary: false, code: 4000, reason: 'unsupported_version' };
  }
}
