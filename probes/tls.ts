// The tls prober: a handshake on a fresh connection and a look at the certificate chain. The
// handshake always completes, and the chain is judged here, so that an expired, self-signed or
// misnamed certificate is reported as such (code `certificate`, with its dates) rather than as a
// bare handshake error, and its expiry is reported either way.
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { createSecureContext, type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import type { TlsProbeConfig } from '../config/schema.js';
import type { Prober, ProbeReport } from './types.js';
import { ProbeFailure, failureOf, quote, roundPhases, type Phases } from './failure.js';
import { dial } from './net.js';

const DAY_MS = 86_400_000;

export const tlsProber: Prober<TlsProbeConfig> = async (config, ctx) => {
  const phases: Phases = {};
  const detail: Record<string, unknown> = {};
  const report: ProbeReport = { ok: true, phases, detail };
  try {
    const ca = config.ca_file === undefined ? undefined : await readCa(config.ca_file);
    const servername = config.server_name ?? (isIP(config.host) === 0 ? config.host : undefined);
    const conn = await dial(
      {
        host: config.host,
        port: config.port,
        tls: true,
        // Judged below, after the handshake, so that a bad certificate is still seen and described.
        insecure: true,
        alpn: ['h2', 'http/1.1'],
        ...(servername === undefined ? {} : { servername }),
        ...(ca === undefined ? {} : { ca }),
      },
      phases,
      ctx.signal,
      ctx.timeoutMs,
    );
    const socket = conn.socket as TLSSocket;
    try {
      detail.ip = conn.address;
      const leaf = socket.getPeerCertificate(true);
      if (Object.keys(leaf).length === 0) throw new ProbeFailure('certificate', 'the server sent no certificate');
      describe(socket, leaf, detail);
      const notAfter = Date.parse(leaf.valid_to);
      report.tls_expiry = notAfter / 1000;
      const daysLeft = (notAfter - Date.now()) / DAY_MS;
      detail.days_left = Math.floor(daysLeft * 10) / 10;
      if (!config.insecure_skip_verify && !socket.authorized) throw chainFailure(socket, leaf, servername ?? config.host);
      const protocols = config.expect?.protocols;
      const protocol = socket.getProtocol();
      if (protocols !== undefined && (protocol === null || !(protocols as readonly string[]).includes(protocol)))
        throw new ProbeFailure('tls', `negotiated ${protocol ?? 'no protocol'}, expected ${protocols.join(' or ')}`, {
          expected: protocols.join(' or '),
          got: protocol ?? 'none',
        });
      const min = config.expect?.min_days;
      if (min !== undefined && daysLeft < min)
        throw new ProbeFailure(
          'certificate',
          daysLeft < 0 ? `${expiry(daysLeft, leaf)} (min_days ${min})` : `${expiry(daysLeft, leaf)}, fewer than min_days ${min}`,
          { expected: `at least ${min} days left`, got: days(daysLeft) },
        );
      if (daysLeft < config.warn_days) detail.warning = `${expiry(daysLeft, leaf)} (warn_days ${config.warn_days})`;
    } finally {
      socket.destroy();
    }
  } catch (err) {
    report.ok = false;
    report.error = failureOf(err);
  }
  roundPhases(phases);
  return report;
};

async function readCa(path: string): Promise<string> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
    createSecureContext({ ca: pem });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const why = typeof code === 'string' ? code : err instanceof Error ? err.message : String(err);
    throw new ProbeFailure('tls', `cannot use ca_file ${path}: ${why}`);
  }
  return pem;
}

function describe(socket: TLSSocket, leaf: DetailedPeerCertificate, detail: Record<string, unknown>): void {
  detail.protocol = socket.getProtocol();
  detail.cipher = socket.getCipher().name;
  if (typeof socket.alpnProtocol === 'string') detail.alpn = socket.alpnProtocol;
  detail.subject = name(leaf.subject);
  detail.issuer = name(leaf.issuer);
  if (leaf.subjectaltname !== undefined) detail.san = leaf.subjectaltname;
  detail.not_before = new Date(leaf.valid_from).toISOString();
  detail.not_after = new Date(leaf.valid_to).toISOString();
  detail.chain = chainOf(leaf).map((c) => ({ subject: name(c.subject), issuer: name(c.issuer), not_after: new Date(c.valid_to).toISOString() }));
  detail.authorized = socket.authorized;
  if (!socket.authorized) detail.authorization_error = String(socket.authorizationError);
}

/** The certificates the server sent, leaf first; a self-signed root points at itself. */
function chainOf(leaf: DetailedPeerCertificate): DetailedPeerCertificate[] {
  const out: DetailedPeerCertificate[] = [];
  let c: DetailedPeerCertificate | undefined = leaf;
  while (c !== undefined && !out.includes(c) && out.length < 10) {
    out.push(c);
    c = c.issuerCertificate === c ? undefined : c.issuerCertificate;
  }
  return out;
}

function name(n: { CN?: string | string[]; O?: string | string[] } | undefined): string {
  const v = n?.CN ?? n?.O ?? '';
  return Array.isArray(v) ? v.join(', ') : v;
}

/** "certificate expires in 12.5 days", or, past it (seen only with insecure_skip_verify), when it expired. */
function expiry(daysLeft: number, leaf: DetailedPeerCertificate): string {
  if (daysLeft >= 0) return `certificate expires in ${days(daysLeft)}`;
  return `certificate expired on ${new Date(leaf.valid_to).toISOString()}, ${days(-daysLeft)} ago`;
}

function days(d: number): string {
  const v = Math.floor(d * 10) / 10;
  return `${v} ${v === 1 ? 'day' : 'days'}`;
}

/** Why the chain is not trusted, in words, with the dates that matter. */
function chainFailure(socket: TLSSocket, leaf: DetailedPeerCertificate, host: string): ProbeFailure {
  const code = String(socket.authorizationError);
  // OpenSSL says that a certificate in the chain is out of its dates, not which: an expired
  // intermediate (AddTrust, 2020) must not be reported with the leaf's date.
  const now = Date.now();
  const chain = chainOf(leaf);
  const expired = chain.find((c) => Date.parse(c.valid_to) < now) ?? leaf;
  const early = chain.find((c) => Date.parse(c.valid_from) > now) ?? leaf;
  const which = (c: DetailedPeerCertificate): string => (c === leaf ? 'certificate' : `certificate ${quote(name(c.subject))} in the chain`);
  const why: Record<string, string> = {
    CERT_HAS_EXPIRED: `${which(expired)} expired on ${new Date(expired.valid_to).toISOString()}`,
    CERT_NOT_YET_VALID: `${which(early)} is not valid before ${new Date(early.valid_from).toISOString()}`,
    DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
    SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in the chain',
    UNABLE_TO_VERIFY_LEAF_SIGNATURE: `certificate issued by an unknown authority (${name(leaf.issuer)})`,
    UNABLE_TO_GET_ISSUER_CERT_LOCALLY: `certificate issued by an unknown authority (${name(leaf.issuer)})`,
    ERR_TLS_CERT_ALTNAME_INVALID: `certificate is not valid for ${host} (it names ${leaf.subjectaltname ?? name(leaf.subject)})`,
  };
  return new ProbeFailure('certificate', `${why[code] ?? 'certificate not trusted'} (${code})`, {
    expected: `a trusted certificate for ${host}`,
    got: why[code] ?? code,
  });
}
