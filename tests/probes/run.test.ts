import { describe, expect, it } from 'vitest';
import { probers } from '../../probes/index.js';
import { runProbe } from '../../probes/run.js';
import type { ProbeSpec } from '../../protocol/messages.js';
import { httpSpec, startHttp, UA } from './servers.js';

describe('runProbe', () => {
  it('answers an unsupported type with code unsupported', async () => {
    const spec = { id: 'gopher', type: 'gopher', system: 's', interval: 60_000, timeout: 1000, retries: 0 } as unknown as ProbeSpec;
    const r = await runProbe(spec, { userAgent: UA });
    expect(r).toMatchObject({
      ok: false,
      phases: {},
      error: { code: 'unsupported', message: 'probe type "gopher" is not supported by this agent yet' },
    });
    expect(r.duration_ms).toBeGreaterThanOrEqual(0);
  });

  it('turns anything thrown into code internal and never throws', async () => {
    // A malformed spec (a number for a URL) makes the prober trip over itself.
    const spec = { ...httpSpec({ url: 'http://127.0.0.1:1/' }), url: 42 } as unknown as ProbeSpec;
    const r = await runProbe(spec, { userAgent: UA });
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('internal');
    expect(r.error?.message.length).toBeGreaterThan(0);
  });

  it('measures duration_ms on the injected monotonic clock', async () => {
    const s = await startHttp((_req, res) => res.end('ok'));
    try {
      let t = 1000;
      const r = await runProbe(httpSpec({ url: s.url }), { userAgent: UA, now: () => (t += 250) });
      expect(r.ok).toBe(true);
      expect(r.duration_ms).toBe(250);
    } finally {
      await s.close();
    }
  });

  it('returns soon after the timeout even when a prober ignores its signal', async () => {
    // A stand-in prober in the registry's free slot, hanging forever.
    probers.dns = () => new Promise(() => {});
    try {
      const spec = { id: 'd', type: 'dns', name: 'example.dk', record_type: 'A', system: 's', interval: 60_000, timeout: 100, retries: 0 } as ProbeSpec;
      const r = await runProbe(spec, { userAgent: UA });
      expect(r).toMatchObject({ ok: false, phases: {}, error: { code: 'timeout', message: 'timed out after 100ms' } });
      expect(r.duration_ms).toBeGreaterThanOrEqual(95);
      expect(r.duration_ms).toBeLessThan(3000);
    } finally {
      delete probers.dns;
    }
  });

  it('turns a prober that rejects into code internal', async () => {
    probers.dns = () => Promise.reject(new Error('resolver exploded'));
    try {
      const spec = { id: 'd', type: 'dns', name: 'example.dk', record_type: 'A', system: 's', interval: 60_000, timeout: 1000, retries: 0 } as ProbeSpec;
      const r = await runProbe(spec, { userAgent: UA });
      expect(r).toMatchObject({ ok: false, error: { code: 'internal', message: 'resolver exploded' } });
    } finally {
      delete probers.dns;
    }
  });

  it('does not start a probe whose caller has already cancelled', async () => {
    const s = await startHttp((_req, res) => res.end('ok'));
    try {
      const r = await runProbe(httpSpec({ url: s.url }), { userAgent: UA, signal: AbortSignal.abort() });
      expect(r.ok).toBe(false);
      expect(r.error?.code).toBe('internal');
      expect(s.connections).toBe(0);
    } finally {
      await s.close();
    }
  });
});
