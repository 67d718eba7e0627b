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
    'borger.dk': [
      { type: 'NS', name: 'borger.dk', ttl: 60, data: 'ns1.borger.dk' },
      { type: 'NS', name: 'borger.dk', ttl: 60, data: 'ns2.borger.dk' },
      {
        type: 'SOA',
        name: 'borger.dk',
        ttl: 60,
        data: { mname: 'ns1.borger.dk', rname: 'hostmaster.borger.dk', serial: 2026112301, refresh: 3600, retry: 600, expire: 86400, minimum: 60 },
      },
    ],
    '_ldaps._tcp.borger.dk': [{ type: 'SRV', name: '_ldaps._tcp.borger.dk', ttl: 60, data: { priority: 10, weight: 5, port: 636, target: 'ldap.borger.dk' } }],
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

  it('normalises NS, SOA and SRV answers', async () => {
    const ns = await run({ name: 'borger.dk', record_type: 'NS', expect: { contains: ['NS2.borger.dk.'], min_answers: 2 } });
    expect(ns.error).toBeUndefined();
    expect((ns.detail?.answers as string[]).sort()).toEqual(['ns1.borger.dk', 'ns2.borger.dk']);
    const soa = await run({ name: 'borger.dk', record_type: 'SOA', expect: { contains: ['ns1.borger.dk. hostmaster.borger.dk. 2026112301'] } });
    expect(soa.error).toBeUndefined();
    expect(soa.detail?.answers).toEqual(['ns1.borger.dk hostmaster.borger.dk 2026112301']);
    const srv = await run({ name: '_ldaps._tcp.borger.dk', record_type: 'SRV', expect: { contains: ['10 5 636 LDAP.borger.dk.'] } });
    expect(srv.error).toBeUndefined();
    expect(srv.detail?.answers).toEqual(['10 5 636 ldap.borger.dk']);
  });

  it('compares TXT exactly and IPv6 addresses in their canonical form', async () => {
    const txt = await run({ name: 'mitid.dk', record_type: 'TXT', expect: { contains: ['V=SPF1 -ALL'] } });
    expect(txt.error).toEqual({ code: 'expect_failed', message: 'TXT mitid.dk lacks V=SPF1 -ALL; got v=spf1 -all' });
    expect((await run({ name: 'mitid.dk', record_type: 'MX', expect: { contains: ['10 MX1.mitid.dk.'] } })).ok).toBe(true);
    const aaaa = await run({ name: 'mitid.dk', record_type: 'AAAA', expect: { contains: ['2001:0DB8:0:0::10'] } });
    expect(aaaa.error).toBeUndefined();
  });

  it('asks again over TCP when the UDP answer is truncated', async () => {
    dns.mode = 'truncate';
    const before = dns.tcpQueries.length;
    try {
      const r = await run({ name: 'mitid.dk', expect: { min_answers: 2 } });
      expect(r.error).toBeUndefined();
      expect((r.detail?.answers as string[]).sort()).toEqual(['192.0.2.10', '192.0.2.11']);
      expect(dns.tcpQueries.slice(before)).toEqual(['A mitid.dk']);
    } finally {
      dns.mode = 'answer';
    }
  });

  it('asks a server given as [IPv6]:PORT', async () => {
    const v6 = await startDns({ 'mitid.dk': [{ type: 'A', name: 'mitid.dk', ttl: 60, data: '192.0.2.10' }] }, '::1');
    try {
      const r = await run({ name: 'mitid.dk', server: v6.address });
      expect(r.error).toBeUndefined();
      expect(r.detail).toMatchObject({ server: v6.address, answers: ['192.0.2.10'] });
      expect(v6.address).toMatch(/^\[::1\]:\d+$/);
    } finally {
      await v6.close();
    }
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

  it('fails with fewer answers than min_answers, listing what came', async () => {
    const r = await run({ name: 'mitid.dk', record_type: 'AAAA', expect: { min_answers: 2 } });
    expect(r.error).toEqual({ code: 'expect_failed', message: 'AAAA mitid.dk: 1 answer (2001:db8::10), expected at least 2' });
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

  it('refuses a server that is not an address: in the schema, and as data in a spec that slipped past it', async () => {
    for (const server of ['ns1.borger.dk', 'ns1.borger.dk:53', '10.0.0.53:99999', '[::1]', '[10.0.0.53]:53', 'not a server']) {
      const parsed = dnsProbe.safeParse({ id: 'dns', type: 'dns', name: 'mitid.dk', server });
      expect(parsed.error?.issues[0]?.message, server).toBe('expected an IP address with an optional port, like 10.0.0.53, 10.0.0.53:5353 or [::1]:53');
    }
    for (const server of ['10.0.0.53', '10.0.0.53:5353', '::1', '[::1]:53', '[2001:db8::53]:5353']) {
      expect(dnsProbe.safeParse({ id: 'dns', type: 'dns', name: 'mitid.dk', server }).success, server).toBe(true);
    }
    const r = await runProbe({ ...spec({ name: 'mitid.dk' }), server: 'ns1.borger.dk' } as ProbeSpec, { userAgent: UA });
    expect(r.error).toEqual({
      code: 'dns',
      message: 'invalid server ns1.borger.dk: expected an IP address with an optional port, like 10.0.0.53, 10.0.0.53:5353 or [::1]:53',
    });
  });
});
