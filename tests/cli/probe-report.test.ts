import { describe, expect, it } from 'vitest';
import { formatOutcome, requestRow, summaryLine, wantColour } from '../../cli/probe-report.js';
import { flowProbe, httpProbe, pageProbe, tlsProbe } from '../../config/schema.js';
import type { ProbeOutcome, ProbeSpec, RequestDetail } from '../../protocol/messages.js';

const runtime = { system: 'borger-dk', interval: 60_000, timeout: 10_000, retries: 0 };
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[`);

const flow: ProbeSpec = {
  ...flowProbe.parse({
    id: 'login',
    type: 'flow',
    steps: [
      { name: 'open login', request: { url: 'http://sp/log-ind' } },
      { name: 'submit', request: { url: 'http://idp/login', method: 'POST' } },
      { name: 'my page', request: { url: 'http://sp/min-side' } },
    ],
  }),
  ...runtime,
};

const req = (start_ms: number, duration_ms: number, status?: number, url = 'http://sp/x'): RequestDetail => ({
  method: 'GET',
  url,
  duration_ms,
  phases: {},
  start_ms,
  ...(status === undefined ? {} : { status }),
});

const failedFlow: ProbeOutcome = {
  ok: false,
  duration_ms: 100,
  phases: { connect: 1 },
  status_code: 401,
  error: { code: 'http_status', message: 'step 2 "submit": expected status 200, got 401' },
  detail: {
    failed_step: 1,
    steps: [
      { index: 0, name: 'open login', ok: true, duration_ms: 50, status_code: 200, requests: [req(0, 25, 302), req(25, 25, 200, 'http://idp/login')] },
      {
        index: 1,
        name: 'submit',
        ok: false,
        duration_ms: 50,
        status_code: 401,
        requests: [req(50, 50, 401, 'http://idp/login')],
        error: { code: 'http_status', message: 'expected status 200, got 401', expected: 'status 200', got: '401: Forkert kodeord' },
      },
    ],
  },
};

describe('vagt probe report', () => {
  it('shows a failed flow step by step, the failure with expected and got, and the steps not run', () => {
    const text = formatOutcome(flow, failedFlow);
    const lines = text.split('\n');
    expect(lines[0]).toBe('FAIL borger-dk/login (flow)  100.0 ms  status 401');
    expect(lines[1]).toBe('  1. ok   open login  50.0 ms  status 200');
    expect(text).toContain('  2. FAIL submit  50.0 ms  status 401');
    expect(text).toContain('       http_status: expected status 200, got 401');
    expect(text).toContain('       expected: status 200');
    expect(text).toContain('       got:      401: Forkert kodeord');
    expect(lines.at(-1)).toBe('  3. --   my page  not run');
    expect(text).not.toMatch(ANSI);
  });

  it('draws each request as a bar whose offset and length follow its start and duration', () => {
    const plain = (_t: unknown, s: string): string => s;
    expect(requestRow(req(0, 25, 302), 100, 20, plain)).toBe('|█████               | 302 GET  http://sp/x  25.0 ms');
    expect(requestRow(req(50, 50, 200), 100, 20, plain)).toBe('|          ██████████| 200 GET  http://sp/x  50.0 ms');
    // A tiny request still gets one column; a request with no answer shows ---.
    expect(requestRow(req(99, 0.1), 100, 20, plain)).toBe('|                   █| --- GET  http://sp/x  0.10 ms');
  });

  it('shows a page load with its waterfall and failed resources', () => {
    const spec: ProbeSpec = { ...pageProbe.parse({ id: 'front', type: 'page', url: 'http://sp/' }), ...runtime };
    const text = formatOutcome(spec, {
      ok: false,
      duration_ms: 80,
      phases: { dns: 0, connect: 1, ttfb: 10, transfer: 1 },
      status_code: 200,
      error: { code: 'resources_failed', message: '1 of 3 resources failed: /app.js 404' },
      detail: { requests: 4, bytes: 5120, load_ms: 78, skipped: 1, waterfall: [req(0, 20, 200, 'http://sp/'), req(20, 30, 404, 'http://sp/app.js')], failed: [{ url: 'http://sp/app.js', status: 404, error: 'status 404' }] },
    });
    expect(text).toContain('     4 requests, 5.0 KB, loaded in 78.0 ms, 1 skipped');
    expect(text).toContain('404 GET  http://sp/app.js');
    expect(text).toContain('     failed: http://sp/app.js  status 404');
    expect(text).toContain('     resources_failed: 1 of 3 resources failed: /app.js 404');
    expect(text).toContain('dns 0.00 ms · connect 1.00 ms · ttfb 10.0 ms · transfer 1.00 ms');
  });

  it('shows a certificate with its warning', () => {
    const spec: ProbeSpec = { ...tlsProbe.parse({ id: 'cert', type: 'tls', host: 'mitid.dk' }), ...runtime };
    const text = formatOutcome(spec, {
      ok: true,
      duration_ms: 30,
      phases: { connect: 1, tls: 10 },
      tls_expiry: 1_800_000_000,
      detail: { protocol: 'TLSv1.3', issuer: 'Test CA', days_left: 12.5, not_after: '2027-01-15T08:00:00.000Z', warning: 'certificate expires in 12.5 days (warn_days 21)' },
    });
    expect(text).toContain('     TLSv1.3, issued by Test CA, 12.5 days left (until 2027-01-15T08:00:00.000Z)');
    expect(text).toContain('     warning: certificate expires in 12.5 days (warn_days 21)');
  });

  it('colours only when asked, and keeps the words', () => {
    const spec: ProbeSpec = { ...httpProbe.parse({ id: 'front', type: 'http', url: 'http://sp/' }), ...runtime };
    const out: ProbeOutcome = { ok: false, duration_ms: 5, phases: {}, error: { code: 'connect', message: 'connect ECONNREFUSED' } };
    const coloured = formatOutcome(spec, out, { colour: true });
    expect(coloured).toMatch(ANSI);
    expect(coloured).toContain('FAIL');
    expect(formatOutcome(spec, out)).not.toMatch(ANSI);
    expect(wantColour(true, {})).toBe(true);
    expect(wantColour(true, { NO_COLOR: '1' })).toBe(false);
    expect(wantColour(false, {})).toBe(false);
    expect(wantColour(false, { FORCE_COLOR: '1' })).toBe(true);
  });

  it('sums up as "N passed, N failed"', () => {
    expect(summaryLine(3, 1)).toBe('3 passed, 1 failed');
  });
});
