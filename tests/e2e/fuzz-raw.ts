// WebSocket protocol violations that the `ws` client will not send (unmasked frames, reserved
// opcodes, lying lengths), written by hand over a plain TCP socket after a real upgrade.
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';

export interface RawFrame {
  opcode: number;
  payload?: Buffer;
  fin?: boolean;
  /** RSV1..3 as bits 0x40, 0x20, 0x10. */
  rsv?: number;
  mask?: boolean;
  /** A declared payload length other than the payload's (sent as a 64-bit length). */
  declared?: bigint;
}

/** One frame as a client would send it: masked unless told otherwise. */
export function rawFrame(f: RawFrame): Buffer {
  const payload = f.payload ?? Buffer.alloc(0);
  const mask = f.mask ?? true;
  const head: number[] = [((f.fin ?? true) ? 0x80 : 0) | (f.rsv ?? 0) | f.opcode];
  const maskBit = mask ? 0x80 : 0;
  let len: Buffer;
  if (f.declared !== undefined) {
    len = Buffer.alloc(9);
    len[0] = maskBit | 127;
    len.writeBigUInt64BE(f.declared, 1);
  } else if (payload.length < 126) len = Buffer.from([maskBit | payload.length]);
  else if (payload.length < 65536) {
    len = Buffer.alloc(3);
    len[0] = maskBit | 126;
    len.writeUInt16BE(payload.length, 1);
  } else {
    len = Buffer.alloc(9);
    len[0] = maskBit | 127;
    len.writeBigUInt64BE(BigInt(payload.length), 1);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), len, payload]);
  const key = randomBytes(4);
  const masked = Buffer.from(payload.map((b, i) => b ^ key[i % 4]!));
  return Buffer.concat([Buffer.from(head), len, key, masked]);
}

const closePayload = (code: number, extra = ''): Buffer => {
  const b = Buffer.alloc(2 + extra.length);
  b.writeUInt16BE(code, 0);
  b.write(extra, 2);
  return b;
};

export interface Violation {
  label: string;
  bytes: Buffer;
  /** The close code the collector must answer with. */
  code: number;
  reason: 'invalid_frame' | 'too_big';
}

const text = (s: string): Buffer => Buffer.from(s, 'utf8');

export const VIOLATIONS: readonly Violation[] = [
  { label: 'unmasked frame', bytes: rawFrame({ opcode: 1, payload: text('{}'), mask: false }), code: 1002, reason: 'invalid_frame' },
  { label: 'reserved opcode 3', bytes: rawFrame({ opcode: 3, payload: text('{}') }), code: 1002, reason: 'invalid_frame' },
  { label: 'reserved control opcode 0xb', bytes: rawFrame({ opcode: 0xb }), code: 1002, reason: 'invalid_frame' },
  { label: 'RSV1 without an extension', bytes: rawFrame({ opcode: 1, payload: text('{}'), rsv: 0x40 }), code: 1002, reason: 'invalid_frame' },
  { label: 'RSV3', bytes: rawFrame({ opcode: 1, payload: text('{}'), rsv: 0x10 }), code: 1002, reason: 'invalid_frame' },
  { label: 'ping over 125 bytes', bytes: rawFrame({ opcode: 9, payload: Buffer.alloc(126) }), code: 1002, reason: 'invalid_frame' },
  { label: 'fragmented ping', bytes: rawFrame({ opcode: 9, fin: false }), code: 1002, reason: 'invalid_frame' },
  { label: 'continuation without a start', bytes: rawFrame({ opcode: 0, payload: text('{}') }), code: 1002, reason: 'invalid_frame' },
  {
    label: 'new message inside a fragmented one',
    bytes: Buffer.concat([rawFrame({ opcode: 1, payload: text('{"ty'), fin: false }), rawFrame({ opcode: 1, payload: text('pe":1}') })]),
    code: 1002,
    reason: 'invalid_frame',
  },
  { label: 'invalid UTF-8', bytes: rawFrame({ opcode: 1, payload: Buffer.from([0x7b, 0xc3, 0x28, 0x7d]) }), code: 1007, reason: 'invalid_frame' },
  {
    label: 'invalid UTF-8 across fragments',
    bytes: Buffer.concat([rawFrame({ opcode: 1, payload: Buffer.from([0x7b, 0xe2, 0x82]), fin: false }), rawFrame({ opcode: 0, payload: Buffer.from([0x7d]) })]),
    code: 1007,
    reason: 'invalid_frame',
  },
  { label: 'close with code 999', bytes: rawFrame({ opcode: 8, payload: closePayload(999) }), code: 1002, reason: 'invalid_frame' },
  { label: 'close with one byte', bytes: rawFrame({ opcode: 8, payload: Buffer.from([3]) }), code: 1002, reason: 'invalid_frame' },
  { label: 'close with invalid UTF-8 reason', bytes: rawFrame({ opcode: 8, payload: Buffer.concat([closePayload(1000), Buffer.from([0xff])]) }), code: 1007, reason: 'invalid_frame' },
  // Refused on the header alone: the 2 MiB never come.
  { label: 'declared 2 MiB', bytes: rawFrame({ opcode: 1, declared: 2n * 1024n * 1024n }), code: 1009, reason: 'too_big' },
  { label: 'declared 2^63', bytes: rawFrame({ opcode: 2, declared: 2n ** 63n }), code: 1009, reason: 'too_big' },
  { label: 'declared 2^53', bytes: rawFrame({ opcode: 1, declared: 2n ** 53n }), code: 1009, reason: 'too_big' },
  {
    label: 'fragments adding up to over 1 MiB',
    bytes: Buffer.concat([
      rawFrame({ opcode: 1, payload: Buffer.alloc(600_000, 0x20), fin: false }),
      rawFrame({ opcode: 0, payload: Buffer.alloc(600_000, 0x20) }),
    ]),
    code: 1009,
    reason: 'too_big',
  },
];

/**
 * Upgrades with the token, writes the bytes, and returns the code of the collector's close frame
 * (or of the HTTP status when the upgrade was refused).
 */
export function sendRaw(port: number, token: string, bytes: Buffer): Promise<{ status: number; code: number | undefined }> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    let status: number | undefined;
    let code: number | undefined;
    const guard = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no close frame from the collector (status ${status}, ${buf.length} bytes unread)`));
    }, 10_000);
    sock.on('error', () => {});
    sock.on('close', () => {
      clearTimeout(guard);
      resolve({ status: status ?? 0, code });
    });
    sock.on('connect', () =>
      sock.write(
        'GET /agent HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nAuthorization: Bearer ${token}\r\n\r\n`,
      ),
    );
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (status === undefined) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        status = Number(/^HTTP\/1\.1 (\d{3})/.exec(buf.subarray(0, end).toString('latin1'))?.[1] ?? 0);
        buf = buf.subarray(end + 4);
        if (status !== 101) return;
        sock.write(bytes);
      }
      // Server frames are unmasked; only the close frame matters here.
      while (buf.length >= 2 && code === undefined) {
        let len = buf[1]! & 0x7f;
        let off = 2;
        if (len === 126) {
          if (buf.length < 4) return;
          len = buf.readUInt16BE(2);
          off = 4;
        } else if (len === 127) {
          if (buf.length < 10) return;
          len = Number(buf.readBigUInt64BE(2));
          off = 10;
        }
        if (buf.length < off + len) return;
        if ((buf[0]! & 0x0f) === 8) {
          code = len >= 2 ? buf.readUInt16BE(off) : 1005;
          sock.end();
        }
        buf = buf.subarray(off + len);
      }
    });
  });
}
