// The tls prober against real local TLS servers with the fixtures in tests/fixtures/tls/: a leaf
// signed by a test CA (valid until 2125), an expired leaf of the same CA (January 2020) and a
// self-signed certificate; see tests/fixtures/tls/README.md. Longer chains (root, intermediate,
// leaf) are made at the start with the openssl CLI, as `openssl ca` can date a certificate in the past.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server, type TlsOptions } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tlsProbe } from '../../config/schema.js';
import type { ProbeSpec } from '../../protocol/messages.js';
import { runProbe } from '../../probes/run.js';
import { eventually, freePort, startTcp, UA, type Running } from './servers.js';

const dir = fileURLToPath(new URL('../fixtures/tls/', import.meta.url));
const pem = (f: string): Buffer => readFileSync(`${dir}${f}`);
const CA_FILE = `${dir}ca.crt`;

const servers: Server[] = [];
const open: Running[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function tlsServer(cert: string, opts: TlsOptions = {}): Promise<number> {
  return listenTls({ key: pem(`${cert}.key`), cert: pem(`${cert}.crt`), ...opts });
}

async function listenTls(opts: TlsOptions): Promise<number> {
  const server = createServer(opts, (s) => s.end());
  server.on('tlsClientError', () => {});
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}

function spec(input: Record<string, unknown>, timeout = 2000): ProbeSpec {
  return { ...tlsProbe.parse({ id: 'tls', type: 'tls', host: 'localhost', ...input }), system: 't', interval: 60_000, retries: 0, timeout };
}
const run = (input: Record<string, unknown>, timeout?: number) => runProbe(spec(input, timeout), { userAgent: UA });

describe('tls prober', () => {
  it('passes a chain it trusts, reporting protocol, certificate, chain, days left and phases', async () => {
    const port = await tlsServer('valid');
    const r = await run({ port, ca_file: CA_FILE });
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.tls_expiry).toBe(Date.parse('2125-12-31T00:00:00Z') / 1000);
    expect(r.detail).toMatchObject({
      protocol: 'TLSv1.3',
      subject: 'localhost',
      issuer: 'vagt test CA',
      san: 'DNS:localhost, IP Address:127.0.0.1',
      not_after: '2125-12-31T00:00:00.000Z',
      authorized: true,
    });
    expect(r.detail?.days_left).toBeGreaterThan(30_000);
    expect(r.detail?.warning).toBeUndefined();
    expect((r.detail?.chain as { subject: string }[])[0]?.subject).toBe('localhost');
    expect(Object.keys(r.phases).sort()).toEqual(['connect', 'dns', 'tls']);
  });

  it('fails a self-signed certificate with code certificate, still reporting its expiry', async () => {
    const port = await tlsServer('localhost');
    const r = await run({ port });
    expect(r.error).toEqual({ code: 'certificate', message: 'self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)' });
    expect(r.tls_expiry).toBeGreaterThan(Date.now() / 1000);
    expect(r.detail).toMatchObject({ authorized: false, authorization_error: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    // Told to skip verification, it watches the expiry alone.
    expect((await run({ port, insecure_skip_verify: true })).ok).toBe(true);
  });

  it('fails an expired certificate, naming the date', async () => {
    const port = await tlsServer('expired');
    const r = await run({ port, ca_file: CA_FILE });
    expect(r.error).toEqual({ code: 'certificate', message: 'certificate expired on 2020-02-01T00:00:00.000Z (CERT_HAS_EXPIRED)' });
    expect(r.detail?.days_left).toBeLessThan(0);
    // Skipping verification passes it, with a warning that says it expired (not "in -2000 days")...
    const skipped = await run({ port, insecure_skip_verify: true });
    expect(skipped.ok).toBe(true);
    expect(skipped.detail?.warning).toMatch(/^certificate expired on 2020-02-01T00:00:00\.000Z, \d+(\.\d)? days ago \(warn_days 21\)$/);
    // ...but does not hide an expiry that min_days asks about.
    const min = await run({ port, insecure_skip_verify: true, expect: { min_days: 7 } });
    expect(min.error?.code).toBe('certificate');
    expect(min.error?.message).toMatch(/^certificate expired on 2020-02-01T00:00:00\.000Z, \d+(\.\d)? days ago \(min_days 7\)$/);
  });

  it('fails a certificate for another name', async () => {
    const port = await tlsServer('valid');
    const r = await run({ port, host: '127.0.0.1', server_name: 'mitid.dk', ca_file: CA_FILE });
    expect(r.error?.code).toBe('certificate');
    expect(r.error?.message).toBe('certificate is not valid for mitid.dk (it names DNS:localhost, IP Address:127.0.0.1) (ERR_TLS_CERT_ALTNAME_INVALID)');
  });

  it('fails a chain from an unknown authority without the CA', async () => {
    const port = await tlsServer('valid');
    const r = await run({ port });
    expect(r.error?.code).toBe('certificate');
    expect(r.error?.message).toMatch(/^certificate issued by an unknown authority \(vagt test CA\)/);
  });

  it('warns below warn_days and fails below min_days', async () => {
    const port = await tlsServer('valid');
    const warn = await run({ port, ca_file: CA_FILE, warn_days: 100_000 });
    expect(warn.ok).toBe(true);
    expect(warn.detail?.warning).toMatch(/^certificate expires in \d+(\.\d)? days \(warn_days 100000\)$/);
    const fail = await run({ port, ca_file: CA_FILE, expect: { min_days: 100_000 } });
    expect(fail.error?.code).toBe('certificate');
  });

  it('checks the negotiated protocol against expect.protocols', async () => {
    const port = await tlsServer('valid', { maxVersion: 'TLSv1.2' });
    const r = await run({ port, ca_file: CA_FILE, expect: { protocols: ['TLSv1.3'] } });
    expect(r.error).toEqual({ code: 'tls', message: 'negotiated TLSv1.2, expected TLSv1.3' });
    expect((await run({ port, ca_file: CA_FILE, expect: { protocols: ['TLSv1.2', 'TLSv1.3'] } })).ok).toBe(true);
  });

  it('times out against a server that accepts TCP but never speaks TLS, leaving no socket open', async () => {
    const silent = await startTcp(() => {});
    open.push(silent);
    const r = await run({ port: silent.port }, 300);
    expect(r.error?.code).toBe('timeout');
    expect(r.phases.connect).toBeGreaterThan(0);
    expect(await eventually(() => silent.openSockets === 0)).toBe(true);
  });

  it('reports a refused connection and an unreadable ca_file as data', async () => {
    expect((await run({ port: await freePort() })).error?.code).toBe('connect');
    const r = await run({ port: 443, ca_file: '/nonexistent/ca.pem' });
    expect(r.error).toEqual({ code: 'tls', message: 'cannot use ca_file /nonexistent/ca.pem: ENOENT' });
  });
});

describe('tls prober with a chain through an intermediate', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vagt-tls-'));
    makeChain(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (f: string): Buffer => readFileSync(join(dir, f));
  /** A server that sends its leaf and the intermediate, as a real one should. */
  const chainServer = (leaf: string, intermediate: string): Promise<number> =>
    listenTls({ key: file(`${leaf}.key`), cert: Buffer.concat([file(`${leaf}.crt`), file(`${intermediate}.crt`)]) });

  it('passes and reports every certificate of a valid chain', async () => {
    const port = await chainServer('leaf', 'int');
    const r = await run({ port, ca_file: join(dir, 'root.crt') });
    expect(r.error).toBeUndefined();
    expect(r.detail).toMatchObject({ authorized: true, subject: 'localhost', issuer: 'vagt test intermediate' });
    expect((r.detail?.chain as { subject: string; issuer: string }[]).map((c) => `${c.subject} <- ${c.issuer}`)).toEqual([
      'localhost <- vagt test intermediate',
      'vagt test intermediate <- vagt test root',
      'vagt test root <- vagt test root',
    ]);
  });

  it('names an expired intermediate, not the leaf, and its date', async () => {
    const port = await chainServer('leaf-old', 'int-old');
    const r = await run({ port, ca_file: join(dir, 'root.crt') });
    expect(r.error).toEqual({
      code: 'certificate',
      message: 'certificate "vagt old intermediate" in the chain expired on 2020-02-01T00:00:00.000Z (CERT_HAS_EXPIRED)',
    });
    // The leaf itself is fine, and its expiry is what is reported.
    expect(r.tls_expiry).toBe(Date.parse('2125-12-31T00:00:00Z') / 1000);
  });
});

const OPENSSL_CA = `[ca]
default_ca = d
[d]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
[leaf_ext]
basicConstraints = CA:FALSE
subjectAltName = DNS:localhost, IP:127.0.0.1
`;

/**
 * root.crt (valid), int.crt (valid, by root), int-old.crt (by root, expired in 2020), leaf.crt and
 * leaf-old.crt (localhost, valid 2020 to 2125, by int and int-old), each with its .key, in `dir`.
 */
function makeChain(dir: string): void {
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  writeFileSync(join(dir, 'ca.cnf'), OPENSSL_CA);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '01\n');
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl('req', '-x509', ...key, '-keyout', 'root.key', '-out', 'root.crt', '-subj', '/CN=vagt test root', '-days', '36500',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  const sign = (name: string, subject: string, by: string, from: string, to: string, ext: string): void => {
    openssl('req', '-new', ...key, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    openssl('ca', '-batch', '-notext', '-config', 'ca.cnf', '-cert', `${by}.crt`, '-keyfile', `${by}.key`, '-in', `${name}.csr`,
      '-out', `${name}.crt`, '-startdate', from, '-enddate', to, '-extensions', ext);
  };
  sign('int', '/CN=vagt test intermediate', 'root', '20200101000000Z', '21251231000000Z', 'ca_ext');
  sign('int-old', '/CN=vagt old intermediate', 'root', '20200101000000Z', '20200201000000Z', 'ca_ext');
  sign('leaf', '/CN=localhost', 'int', '20200101000000Z', '21251231000000Z', 'leaf_ext');
  sign('leaf-old', '/CN=localhost', 'int-old', '20200101000000Z', '21251231000000Z', 'leaf_ext');
}
