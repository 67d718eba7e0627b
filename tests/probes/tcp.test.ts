import { X509Certificate } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { runProbe } from '../../probes/run.js';
import { eventually, freePort, startTcp, tcpSpec, TLS_CERT, UA, type Running } from './servers.js';

const open: Running[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function server(...args: Parameters<typeof startTcp>) {
  const s = await startTcp(...args);
  open.push(s);
  return s;
}

const smtpLike = () =>
  server((sock) => {
    sock.write('220 mail.example.dk ESMTP ready\r\n');
    sock.on('data', (d: Buffer) => {
      if (d.toString().startsWith('EHLO')) sock.write('250-mail.example.dk\r\n250 OK\r\n');
    });
  });

describe('tcp prober', () => {
  it('connects and reports dns and connect times', async () => {
    const s = await server(() => {});
    const r = await runProbe(tcpSpec({ port: s.port }), { userAgent: UA });
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(Object.keys(r.phases).sort()).toEqual(['connect', 'dns']);
    expect(r.phases.connect).toBeGreaterThanOrEqual(0);
    expect(r.detail).toMatchObject({ ip: '127.0.0.1' });
    expect(s.connections).toBe(1);
    expect(await eventually(() => s.openSockets === 0)).toBe(true); // and closed again
  });

  it('waits for a banner that matches', async () => {
    const s = await smtpLike();
    const r = await runProbe(tcpSpec({ port: s.port, expect: { contains: '220', regex: '^220 .*ESMTP' } }), { userAgent: UA });
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.detail?.bytes).toBeGreaterThan(0);
  });

  it('sends a line and matches the reply', async () => {
    const s = await smtpLike();
    const r = await runProbe(tcpSpec({ port: s.port, send: 'EHLO vagt\r\n', expect: { regex: '250 OK' } }), { userAgent: UA });
    expect(r.ok).toBe(true);
    expect(s.received.join('')).toBe('EHLO vagt\r\n');
  });

  it('sends without expecting anything, and the server gets the bytes', async () => {
    let got = '';
    const done = new Promise<void>((resolve) => {
      void server((sock) => {
        sock.on('data', (d: Buffer) => (got += d.toString()));
        sock.on('end', () => {
          sock.end();
          resolve();
        });
      }).then(async (s) => {
        const r = await runProbe(tcpSpec({ port: s.port, send: 'PING\n' }), { userAgent: UA });
        expect(r.ok).toBe(true);
      });
    });
    await done;
    expect(got).toBe('PING\n');
  });

  it('fails when the server closes without the expected reply, quoting what it said', async () => {
    const s = await server((sock) => sock.end('554 go away\r\n'));
    const r = await runProbe(tcpSpec({ port: s.port, expect: { contains: '220' } }), { userAgent: UA });
    expect(r.ok).toBe(false);
    expect(r.error).toEqual({ code: 'expect_failed', message: 'connection closed before "220" was received; got "554 go away\\r\\n"' });
    expect(r.phases.connect).toBeGreaterThanOrEqual(0);
  });

  it('times out waiting for a reply that never comes', async () => {
    const s = await server(() => {});
    const r = await runProbe(tcpSpec({ port: s.port, expect: { contains: '220' } }, 300), { userAgent: UA });
    expect(r.ok).toBe(false);
    expect(r.error).toEqual({ code: 'timeout', message: 'timed out after 300ms waiting for "220"; got nothing' });
    expect(r.phases.connect).toBeGreaterThanOrEqual(0);
  });

  it('reports a refused connection', async () => {
    const port = await freePort();
    const r = await runProbe(tcpSpec({ port }), { userAgent: UA });
    expect(r).toMatchObject({ ok: false, error: { code: 'connect', message: `connect ECONNREFUSED 127.0.0.1:${port}` } });
  });

  it('reports a name that does not resolve', async () => {
    const r = await runProbe(tcpSpec({ host: 'vagt-probe-test.invalid', port: 25 }, 15_000), { userAgent: UA });
    expect(r.error?.code).toBe('dns');
  }, 20_000);

  it('does a TLS handshake with tls: true, verifying unless told not to', async () => {
    const s = await server((sock) => sock.write('* OK IMAP4rev1 ready\r\n'), { tls: true });
    const insecure = await runProbe(tcpSpec({ port: s.port, tls: true, insecure_skip_verify: true, expect: { contains: '* OK' } }), {
      userAgent: UA,
    });
    expect(insecure.error).toBeUndefined();
    expect(insecure.ok).toBe(true);
    expect(insecure.phases.tls).toBeGreaterThan(0);
    expect(insecure.tls_expiry).toBe(Date.parse(new X509Certificate(TLS_CERT).validTo) / 1000);
    expect(insecure.detail?.tls_version).toBe('TLSv1.3');

    const verified = await runProbe(tcpSpec({ port: s.port, tls: true }), { userAgent: UA });
    expect(verified.ok).toBe(false);
    expect(verified.error?.code).toBe('tls');
  });

  it('resolves ${secret:NAME} in what it sends', async () => {
    const s = await smtpLike();
    const r = await runProbe(tcpSpec({ port: s.port, send: 'EHLO ${secret:HELO_NAME}\r\n', expect: { contains: '250 OK' } }), {
      userAgent: UA,
      secret: (n) => (n === 'HELO_NAME' ? 'hidden.example' : undefined),
    });
    expect(r.ok).toBe(true);
    expect(s.received.join('')).toBe('EHLO hidden.example\r\n');
  });
});
