// A real SMTP server for tests (smtp-server on 127.0.0.1, port 0) that keeps every message it
// accepts, parsed: with mailparser when it is installed, else by the small MIME reader below
// (headers with RFC 2047 words, multipart bodies, quoted-printable and base64), which is enough
// for what nodemailer sends. Recipients can be refused, and the whole server taken "down"
// (every transaction refused with 421), to test retries.
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  /** Envelope sender and recipients. */
  mailFrom: string;
  rcptTo: string[];
  /** Header names in lower case, values decoded and unfolded. */
  headers: Map<string, string>;
  subject: string;
  messageId: string;
  text: string;
  html: string;
  raw: string;
}

type Parse = (raw: string) => Promise<Pick<ReceivedMail, 'headers' | 'subject' | 'messageId' | 'text' | 'html'>>;

/** mailparser's simpleParser, when a project has it; undefined here (it is not a dependency). */
async function mailparser(): Promise<Parse | undefined> {
  const name = 'mailparser';
  try {
    const mod = (await import(name)) as {
      simpleParser(raw: string): Promise<{ headerLines: { key: string; line: string }[]; subject?: string; messageId?: string; text?: string; html?: string | false }>;
    };
    return async (raw) => {
      const m = await mod.simpleParser(raw);
      const headers = new Map<string, string>();
      for (const h of m.headerLines) headers.set(h.key.toLowerCase(), decodeWords(h.line.slice(h.line.indexOf(':') + 1).replace(/\r?\n[ \t]+/g, ' ').trim()));
      return { headers, subject: m.subject ?? '', messageId: m.messageId ?? '', text: m.text ?? '', html: m.html === false ? '' : (m.html ?? '') };
    };
  } catch {
    return undefined;
  }
}

// ---- the small MIME reader ----------------------------------------------------------------------

/** =?UTF-8?Q?...?= and =?UTF-8?B?...?= words; adjacent words join without the space between. */
export function decodeWords(v: string): string {
  return v
    .replace(/(=\?[^?]+\?[QqBb]\?[^?]*\?=)\s+(?==\?)/g, '$1')
    .replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_m, _charset: string, enc: string, data: string) =>
      enc.toUpperCase() === 'B'
        ? Buffer.from(data, 'base64').toString('utf8')
        : Buffer.from(qpBytes(data.replace(/_/g, ' '))).toString('utf8'),
    );
}

function qpBytes(s: string): number[] {
  const out: number[] = [];
  const bytes = Buffer.from(s, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c === 0x3d /* = */) {
      const hex = String.fromCharCode(bytes[i + 1] ?? 0, bytes[i + 2] ?? 0);
      if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
        out.push(parseInt(hex, 16));
        i += 2;
        continue;
      }
    }
    out.push(c);
  }
  return out;
}

function quotedPrintable(body: string): string {
  // Soft line breaks ("=" at a line's end) join lines.
  return Buffer.from(qpBytes(body.replace(/=\r?\n/g, ''))).toString('utf8');
}

function splitHeaders(part: string): { headers: Map<string, string>; body: string } {
  const i = part.search(/\r?\n\r?\n/);
  const head = i < 0 ? part : part.slice(0, i);
  const body = i < 0 ? '' : part.slice(i).replace(/^\r?\n\r?\n/, '');
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const c = line.indexOf(':');
    if (c > 0) headers.set(line.slice(0, c).trim().toLowerCase(), decodeWords(line.slice(c + 1).trim()));
  }
  return { headers, body };
}

function param(value: string, name: string): string | undefined {
  const m = new RegExp(`${name}="?([^";]+)"?`, 'i').exec(value);
  return m?.[1];
}

/** The text/plain and text/html bodies of a (possibly multipart) entity. */
function bodies(headers: Map<string, string>, body: string, into: { text: string; html: string }): void {
  const type = headers.get('content-type') ?? 'text/plain';
  if (/^multipart\//i.test(type)) {
    const boundary = param(type, 'boundary');
    if (boundary === undefined) return;
    const parts = body.split(`--${boundary}`).slice(1);
    for (const p of parts) {
      if (p.startsWith('--')) break;
      // The line break before a boundary belongs to the boundary (RFC 2046).
      const sub = splitHeaders(p.replace(/^\r?\n/, '').replace(/\r?\n$/, ''));
      bodies(sub.headers, sub.body, into);
    }
    return;
  }
  const enc = (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  const decoded =
    enc === 'base64' ? Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8') : enc === 'quoted-printable' ? quotedPrintable(body) : body;
  const text = decoded.replace(/\r\n/g, '\n');
  if (/^text\/html/i.test(type)) into.html ||= text;
  else if (/^text\/plain/i.test(type)) into.text ||= text;
}

export const simpleParse: Parse = (raw) => {
  const { headers, body } = splitHeaders(raw);
  const into = { text: '', html: '' };
  bodies(headers, body, into);
  return Promise.resolve({ headers, subject: headers.get('subject') ?? '', messageId: headers.get('message-id') ?? '', ...into });
};

// ---- the server ---------------------------------------------------------------------------------

export class TestSmtpServer {
  readonly messages: ReceivedMail[] = [];
  /** Recipients to refuse with 550 (lower case). */
  readonly refuse = new Set<string>();
  /** While true, every transaction is refused with 421 (a relay that is down). */
  down = false;
  /** Transactions refused so far (down, or a refused recipient). */
  refused = 0;
  readonly #server: SMTPServer;
  readonly #parse: Parse;
  #waiters: { pred: (m: ReceivedMail) => boolean; resolve: (m: ReceivedMail) => void }[] = [];
  port = 0;

  private constructor(parse: Parse) {
    this.#parse = parse;
    this.#server = new SMTPServer({
      authOptional: true,
      // Plain SMTP on loopback: nodemailer would otherwise upgrade to the server's self-signed TLS.
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onMailFrom: (_address, _session, cb) => {
        if (!this.down) return cb();
        this.refused++;
        cb(Object.assign(new Error('service not available'), { responseCode: 421 }));
      },
      onRcptTo: (address, _session, cb) => {
        if (!this.refuse.has(address.address.toLowerCase())) return cb();
        this.refused++;
        cb(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          this.#parse(raw).then(
            (parsed) => {
              const from = session.envelope.mailFrom;
              const m: ReceivedMail = {
                mailFrom: from === false ? '' : from.address,
                rcptTo: session.envelope.rcptTo.map((r) => r.address),
                raw,
                ...parsed,
              };
              this.messages.push(m);
              this.#waiters = this.#waiters.filter((w) => {
                if (!w.pred(m)) return true;
                w.resolve(m);
                return false;
              });
              cb();
            },
            (err: Error) => cb(err),
          );
        });
      },
    });
  }

  static async start(): Promise<TestSmtpServer> {
    const s = new TestSmtpServer((await mailparser()) ?? simpleParse);
    await new Promise<void>((resolve, reject) => {
      s.#server.once('error', reject);
      s.#server.listen(0, '127.0.0.1', () => resolve());
    });
    s.#server.on('error', () => {});
    s.port = (s.#server.server.address() as AddressInfo).port;
    return s;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  /** Messages to an address (envelope recipient). */
  to(address: string): ReceivedMail[] {
    return this.messages.filter((m) => m.rcptTo.includes(address.toLowerCase()) || m.rcptTo.includes(address));
  }

  /** The first message (received already or later) that matches, or a rejection after ms. */
  waitFor(pred: (m: ReceivedMail) => boolean, ms = 5_000): Promise<ReceivedMail> {
    const have = this.messages.find(pred);
    if (have !== undefined) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching e-mail within ${ms} ms; got ${this.messages.length}: ${this.messages.map((m) => m.subject).join(' | ')}`)), ms);
      this.#waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
