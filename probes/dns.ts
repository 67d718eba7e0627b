// The dns prober: one query for one record type, against the system's resolver or a given server,
// as blackbox_exporter's dns module does. Answers are normalised to text ("10 mx.example.dk" for
// MX) so that expectations and the status page read them the same way.
import { Resolver } from 'node:dns/promises';
import type { DnsProbeConfig } from '../config/schema.js';
import type { Prober, ProbeReport } from './types.js';
import { ProbeFailure, abortFailure, addPhase, failureOf, roundPhases, type Phases } from './failure.js';

type RecordType = DnsProbeConfig['record_type'];

export const dnsProber: Prober<DnsProbeConfig> = async (config, ctx) => {
  const phases: Phases = {};
  const detail: Record<string, unknown> = { record_type: config.record_type };
  const report: ProbeReport = { ok: true, phases, detail };
  // A resolver of its own: one try, no cache, cancelled with the probe.
  const resolver = new Resolver({ timeout: Math.max(1, Math.round(ctx.timeoutMs)), tries: 1 });
  const onAbort = (): void => resolver.cancel();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const t0 = performance.now();
  try {
    if (config.server !== undefined) {
      detail.server = config.server;
      try {
        resolver.setServers([config.server]);
      } catch {
        // c-ares takes addresses only; the schema checks this too, but a spec may predate it.
        throw new ProbeFailure('dns', `invalid server ${config.server}: expected an IP address with an optional port, like 10.0.0.53, 10.0.0.53:5353 or [::1]:53`);
      }
    }
    // A failure names the resolver asked, also when it is the agent's own (from resolv.conf).
    const at = config.server ?? `${resolver.getServers().join(', ') || 'no resolver'} (the agent's resolvers)`;
    const where = `${config.record_type} ${config.name} at ${at}`;
    const answers = await query(resolver, config.record_type, config.name).catch((err: unknown) => {
      // The name exists but has no records of this type: an answer with nothing in it.
      if ((err as { code?: unknown }).code === 'ENODATA' && !ctx.signal.aborted) return [];
      throw queryFailure(err, where, ctx.signal, ctx.timeoutMs);
    });
    addPhase(phases, 'dns', performance.now() - t0);
    detail.answers = answers;
    check(config, answers);
  } catch (err) {
    if (phases.dns === undefined) addPhase(phases, 'dns', performance.now() - t0);
    report.ok = false;
    report.error = failureOf(err);
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
  }
  roundPhases(phases);
  return report;
};

async function query(r: Resolver, type: RecordType, name: string): Promise<string[]> {
  switch (type) {
    case 'A':
      return r.resolve4(name);
    case 'AAAA':
      return r.resolve6(name);
    case 'CNAME':
      return r.resolveCname(name);
    case 'NS':
      return r.resolveNs(name);
    case 'MX':
      return (await r.resolveMx(name)).sort((a, b) => a.priority - b.priority).map((m) => `${m.priority} ${m.exchange}`);
    case 'TXT':
      return (await r.resolveTxt(name)).map((parts) => parts.join(''));
    case 'SRV':
      return (await r.resolveSrv(name)).map((s) => `${s.priority} ${s.weight} ${s.port} ${s.name}`);
    case 'SOA': {
      const s = await r.resolveSoa(name);
      return [`${s.nsname} ${s.hostmaster} ${s.serial}`];
    }
  }
}

const REASONS: Record<string, string> = {
  ENOTFOUND: 'the name does not exist (NXDOMAIN)',
  ESERVFAIL: 'the server failed (SERVFAIL)',
  EREFUSED: 'the server refused the query (REFUSED)',
  ECONNREFUSED: 'the server could not be reached (connection refused)',
  EBADRESP: 'the server sent a malformed answer',
  ETIMEOUT: 'the server did not answer',
};

function queryFailure(err: unknown, where: string, signal: AbortSignal, timeoutMs: number): ProbeFailure {
  if (signal.aborted) return abortFailure(signal, timeoutMs, `resolving ${where}`);
  const raw = (err as { code?: unknown }).code;
  const code = typeof raw === 'string' ? raw : '';
  if (code === 'ETIMEOUT') return new ProbeFailure('timeout', `${where}: ${REASONS[code]}`);
  return new ProbeFailure('dns', `${where}: ${REASONS[code] ?? (err instanceof Error ? err.message : code)}`);
}

/**
 * The form in which an expected value and an answer compare: names without case or trailing dot
 * (each word of MX, SRV and SOA answers), IPv6 addresses in their canonical form, TXT exactly, as
 * its text is data, not a name.
 */
function norm(type: RecordType, v: string): string {
  switch (type) {
    case 'TXT':
      return v;
    case 'A':
      return v.trim();
    case 'AAAA':
      try {
        return new URL(`http://[${v.trim()}]/`).hostname.slice(1, -1);
      } catch {
        return v.trim().toLowerCase();
      }
    default:
      return v
        .trim()
        .split(/\s+/)
        .map((w) => w.toLowerCase().replace(/\.$/, ''))
        .join(' ');
  }
}

function check(config: DnsProbeConfig, answers: string[]): void {
  const min = config.expect?.min_answers ?? 1;
  const got = listed(answers);
  if (answers.length < min)
    throw new ProbeFailure(
      'expect_failed',
      `${config.record_type} ${config.name}: ${answers.length === 0 ? 'no records' : `${answers.length} ${answers.length === 1 ? 'answer' : 'answers'} (${got})`}, expected at least ${min}`,
      { expected: `at least ${min} answers`, got },
    );
  const have = new Set(answers.map((a) => norm(config.record_type, a)));
  const missing = (config.expect?.contains ?? []).filter((v) => !have.has(norm(config.record_type, v)));
  if (missing.length > 0)
    throw new ProbeFailure('expect_failed', `${config.record_type} ${config.name} lacks ${missing.join(', ')}; got ${got}`, {
      expected: (config.expect?.contains ?? []).join(', '),
      got,
    });
}

/** Answers for a message: a long TXT or a hundred A records must not crowd out the rest. */
function listed(answers: string[], max = 300): string {
  const s = answers.join(', ');
  if (s === '') return 'none';
  return s.length > max ? `${s.slice(0, max)}… (${answers.length} answers)` : s;
}
