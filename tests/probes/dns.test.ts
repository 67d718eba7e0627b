import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsProbe } from '../../config/schema.js';
import type { ProbeSpec } from '../../protocol/messages.js';
import { runProbe } from '../../probes/run.js';
import { startDns, type DnsServer } from './dns-server.js';
import { UA } from './servers.js';

let dns: DnsServer;
beforeAll(async () => {
  dns = await startDns({
    'mitid.dk': [
      { type: 'A', name: 'mitid.dk', ttl: 60, data: '192.0.2.10' },
      { type: 'A', name: 'mitid.dk', ttl: 60, data: '192.0.2.11' },
      { type: 'AAAA', name: 'mitid.dk', ttl: 60, data: '2001:db8::10' },
      { type: 'MX', name: 'mitid.dk', ttl: 60, data: { preference: 20, exchange: 'mx2.mitid.dk' } },
      { type: 'MX', name: 'mitid.dk', ttl: 60, data: { preference: 10, exchange: 'mx1.mitid.dk' } },
      { type: 'TXT', name: 'mitid.dk', ttl: 60, data: ['v=spf1 ', '-all'] },
    ],
    'www.borger.dk': [{ type: 'CNAME', name: 'www.borger.dk', ttl: 60, data: 'borger.edgekey.net' }],
  });
});
afterAll(async () => {
  await dns.close();
});

function spec(input: Record<string, unknown>, timeout = 2000): ProbeSpec {
  return { ...dnsProbe.parse({ id: 'dns', type: 'dns', server: dns.address, ...input }), system: 't', interval: 60_000, retries: 0, timeout };
}
const run = (input: Record<string, unknown>, timeout?: number) => runProbe(spec(input, timeout), { userAgent: UA });

describe('dns prober against a real local DNS server', () => {
  it('resolves A records and reports the answers and the dns phase', async () => {
    const r = await run({ name: 'mitid.dk', expect: { contains: ['192.0.2.11'], min_answers: 2 } });
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.detail).toMatchObject({ record_type: 'A', server: dns.address });
    expect((r.detail?.answers as string[]).sort()).toEqual(['192.0.2.10', '192.0.2.11']);
    expect(r.phases.dns).toBeGreaterThan(0);
    expect(dns.queries).toContain('A mitid.dk');
  });

  it('normalises AAAA, MX (by priority), TXT and CNAME answers', async () => {
    expect((await run({ name: 'mitid.dk', record_type: 'AAAA' })).detail?.answers).toEqual(['2001:db8::10']);
    expect((await run({ name: 'mitid.dk', record_type: 'MX' })).detail?.answers).toEqual(['10 mx1.mitid.dk', '20 mx2.mitid.dk']);
    expect((await run({ name: 'mitid.dk', record_type: 'TXT' })).detail?.answers).toEqual(['v=spf1 -all']);
    // Names compare without case or trailing dot.
    const cname = await run({ name: 'www.borger.dk', record_type: 'CNAME', expect: { contains: ['Borger.EdgeKey.net.'] } });
    expect(cname.error).toBeUndefined();
    expect(cname.detail?.answers).toEqual(['borger.edgekey.net']);
  });

  it('fails a name that does not exist (NXDOMAIN) with code dns, naming the query', async () => {
    const r = await run({ name: 'nemlog-in.invalid' });
    expect(r.error).toEqual({ code: 'dns', message: `A nemlog-in.invalid at ${dns.address}: the name does not exist (NXDOMAIN)` });
  });

  it('fails SERVFAIL and REFUSED with the reason', async () => {
    dns.mode = 'servfail';
    try {
      expect((await run({ name: 'mitid.dk' })).error?.message).toMatch(/SERVFAIL/);
      dns.mode = 'refused';
      expect((await run({ name: 'mitid.dk' })).error?.message).toMatch(/REFUSED/);
    } finally {
      dns.mode = 'answer';
    }
  });

  it('treats no records of the type as a failed expectation, unless min_answers is 0', async () => {
    const r = await run({ name: 'www.borger.dk', record_type: 'MX' });
    expect(r.error).toEqual({ code: 'expect_failed', message: 'MX www.borger.dk: no records, expected at least 1' });
    expect((await run({ name: 'www.borger.dk', record_type: 'MX', expect: { min_answers: 0 } })).ok).toBe(true);
  });

  it('fails when an expected value is missing, listing what came', async () => {
    const r = await run({ name: 'mitid.dk', expect: { contains: ['192.0.2.99'] } });
    expect(r.error).toEqual({ code: 'expect_failed', message: expect.stringMatching(/^A mitid\.dk lacks 192\.0\.2\.99; got 192\.0\.2\.1[01], 192\.0\.2\.1[01]$/) });
  });

  it('times out against a server that never answers', async () => {
    dns.mode = 'silent';
    try {
      const r = await run({ name: 'mitid.dk' }, 300);
      expect(r.ok).toBe(false);
      expect(r.error?.code).toBe('timeout');
      expect(r.duration_ms).toBeLessThan(2000);
    } finally {
      dns.mode = 'answer';
    }
  });

  it('refuses an invalid server address as a probe failure, not a crash', async () => {
    const r = await run({ name: 'mitid.dk', server: 'not a server' });
    expect(r.error?.code).toBe('dns');
    expect(r.error?.message).toMatch(/^invalid server not a server/);
  });
});
