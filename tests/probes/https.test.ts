import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { afterEach, describe, expect, it } from 'vitest';
import { runProbe } from '../../probes/run.js';
import { httpSpec, startHttp, TLS_CERT, UA, type Running } from './servers.js';

// The fixture is self-signed, valid for 100 years, for localhost and 127.0.0.1.
const fixtureExpiry = Date.parse(new X509Certificate(TLS_CERT).validTo) / 1000;

const open: Running[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function server(...args: Parameters<typeof startHttp>) {
  const s = await startHttp(...args);
  open.push(s);
  return s;
}

const secure = () => server((_req, res) => res.end('sikker side'), { tls: true });

describe('http prober over TLS', () => {
  it('fails with code tls when the certificate cannot be verified', async () => {
    const s = await secure();
    const r = await runProbe(httpSpec({ url: `${s.url}/` }), { userAgent: UA });
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('tls');
    expect(r.error?.message).toMatch(/^tls handshake with 127\.0\.0\.1:\d+: self[- ]signed certificate/);
    expect(r.phases.connect).toBeGreaterThanOrEqual(0);
    expect(r.phases.tls).toBeGreaterThanOrEqual(0);
    expect(s.requests).toHaveLength(0);
  });

  it('fails an expired certificate with a message that says so, and reports its expiry when told to accept it', async () => {
    const dir = new URL('../fixtures/tls/', import.meta.url);
    const server = createHttpsServer({ key: readFileSync(new URL('expired.key', dir)), cert: readFileSync(new URL('expired.crt', dir)) }, (_q, res) =>
      res.end('udløbet'),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `https://localhost:${(server.address() as { port: number }).port}/`;
      const strict = await runProbe(httpSpec({ url }), { userAgent: UA });
      expect(strict.error?.code).toBe('tls');
      expect(strict.error?.message).toMatch(/^tls handshake with 127\.0\.0\.1:\d+: certificate has expired \(CERT_HAS_EXPIRED\)$/);
      const lax = await runProbe(httpSpec({ url, insecure_skip_verify: true }), { userAgent: UA });
      expect(lax.ok).toBe(true);
      expect(lax.tls_expiry).toBe(Date.parse('2020-02-01T00:00:00Z') / 1000);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('passes with insecure_skip_verify and reports the handshake, protocol and certificate expiry', async () => {
    const s = await secure();
    const r = await runProbe(httpSpec({ url: `${s.url}/`, insecure_skip_verify: true, expect: { body_contains: 'sikker' } }), {
      userAgent: UA,
    });
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(Object.keys(r.phases).sort()).toEqual(['connect', 'dns', 'tls', 'transfer', 'ttfb']);
    expect(r.phases.tls).toBeGreaterThan(0);
    expect(r.tls_expiry).toBe(fixtureExpiry);
    expect(r.tls_expiry).toBeGreaterThan(Date.now() / 1000 + 50 * 365 * 86_400);
    expect(r.detail).toMatchObject({ tls_version: 'TLSv1.3', redirects: 0 });
  });

  it('sends SNI for a name, and measures a full handshake on every run', async () => {
    const s = await secure();
    const spec = httpSpec({ url: `https://localhost:${s.port}/`, insecure_skip_verify: true });
    const a = await runProbe(spec, { userAgent: UA });
    const b = await runProbe(spec, { userAgent: UA });
    expect(a.ok && b.ok).toBe(true);
    expect(a.phases.dns).toBeGreaterThan(0);
    expect(b.phases.tls).toBeGreaterThan(0);
    expect(s.connections).toBe(2);
    expect(s.requests[0]?.headers.host).toBe(`localhost:${s.port}`);
  });

  it('follows a redirect from http to https, summing the phases of both hops', async () => {
    const target = await secure();
    const s = await server((_req, res) => res.writeHead(301, { location: `${target.url}/secure` }).end());
    const r = await runProbe(httpSpec({ url: s.url, insecure_skip_verify: true }), { userAgent: UA });
    expect(r.ok).toBe(true);
    expect(r.detail).toMatchObject({ redirects: 1, final_url: `${target.url}/secure`, tls_version: 'TLSv1.3' });
    expect(r.phases.tls).toBeGreaterThan(0);
    expect(r.tls_expiry).toBe(fixtureExpiry);
  });

  it('reports a TLS client talking to a plain server as a tls failure', async () => {
    const plain = await server((_req, res) => res.end('plain'));
    const r = await runProbe(httpSpec({ url: `https://127.0.0.1:${plain.port}/`, insecure_skip_verify: true }), { userAgent: UA });
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('tls');
  });
});
