// TLS to the collector beyond the system's CAs: a pinned certificate for the in-process agent, and
// a plain-words reading of the errors an operator fixes with `--ca` or a new certificate.
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';

/** What node:http calls to open a socket; the request is written only once `done` has a socket. */
export type Connector = (options: ConnectionOptions, done: (err: Error | null, socket?: TLSSocket) => void) => undefined;

/**
 * Trusts exactly one certificate (the first in `pem`), whatever its names and issuer: the
 * in-process agent reaches its own collector at 127.0.0.1 with a certificate issued for a public
 * name, perhaps by a CA this process does not know. Nothing (not the token) is written before the
 * check, because the socket is handed to the request only after it.
 */
export function pinnedConnect(pem: string | Buffer): Connector {
  const want = new X509Certificate(pem).fingerprint256;
  return (options, done) => {
    const host = options.host ?? 'localhost';
    // `path` is the HTTP request's; for tls.connect it would mean a Unix socket.
    const socket = connect({ ...options, path: undefined, servername: isIP(host) ? '' : host, rejectUnauthorized: false });
    const onError = (err: Error): void => done(err);
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      socket.off('error', onError);
      if (socket.getPeerX509Certificate()?.fingerprint256 === want) {
        done(null, socket);
        return;
      }
      socket.destroy();
      done(new Error('the collector presented another certificate than its collector.tls.cert_file'));
    });
    return undefined;
  };
}

// OpenSSL's verification results (X509_V_ERR_*) as Node names them, and Node's own name check.
const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);
const DATES = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/** Advice for an error that is about the collector's certificate, or undefined for any other. */
export function tlsAdvice(err: Error): string | undefined {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (UNTRUSTED.has(code)) return 'the collector\'s TLS certificate is not trusted; give the CA that signed it with --ca (or VAGT_CA)';
  if (DATES.has(code)) return 'the collector\'s TLS certificate is outside its validity dates; renew it (or check this machine\'s clock)';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return 'the collector\'s TLS certificate does not name the host in --collector; connect by a name the certificate carries';
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number/i.test(err.message))
    return 'no TLS at the collector\'s port; use ws:// or set collector.tls on the collector';
  return undefined;
}
