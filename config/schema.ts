// The configuration schema (CONTRACT §3). One zod schema validates files, types the code and,
// later, generates the published JSON Schema. Durations become milliseconds on parse.
import { isIP } from 'node:net';
import { z } from 'zod';
import { parseDuration } from '../lib/duration.js';

const DURATION_MESSAGE = 'expected a duration like 30s';

export const duration = z
  .string({ error: DURATION_MESSAGE })
  .transform((s, ctx) => {
    const ms = parseDuration(s);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: DURATION_MESSAGE });
      return z.NEVER;
    }
    return ms;
  });

/** Ids appear in URLs, metric labels and file names: keep them plain. */
export const id = z
  .string({ error: 'expected an id (lowercase letters, digits, "-" and "_")' })
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'expected an id (lowercase letters, digits, "-" and "_")');

const httpUrl = z
  .string({ error: 'expected an http:// or https:// URL' })
  .regex(/^https?:\/\/\S+$/i, 'expected an http:// or https:// URL');

const hostPort = z
  .string({ error: 'expected HOST:PORT, like 127.0.0.1:9400' })
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]*):\d{1,5}$/, 'expected HOST:PORT, like 127.0.0.1:9400');

const regex = z.string().refine((s) => {
  try {
    new RegExp(s);
    return true;
  } catch {
    return false;
  }
}, 'expected a valid regular expression');

const statusCodes = z
  .union([z.int().min(100).max(599), z.array(z.int().min(100).max(599)).min(1)], {
    error: 'expected an HTTP status code or a list of them, like [200, 302]',
  })
  .transform((v) => (Array.isArray(v) ? v : [v]));

const headers = z.record(z.string(), z.string());

export const impact = z.enum(['critical', 'high', 'low'], {
  error: 'expected critical, high or low',
});

/** Long response time: `slow` held for `for` raises the alert (and degraded_performance). */
export const responseTime = z.strictObject({
  slow: duration,
  for: duration.default(0),
  /** Which statistic across fresh vantage points is compared with `slow`. */
  percentile: z.number().gt(0).max(100).default(95),
});

/** Percent of fresh vantage points that must fail: "more than". */
const percent = z
  .number({ error: 'expected a percentage like 50' })
  .min(0, 'expected a percentage from 0 to below 100')
  .lt(100, 'expected a percentage from 0 to below 100');

// ---- probes -----------------------------------------------------------------------------------

const probeCommon = {
  /** A long-response-time alert of this probe alone, besides the system's. */
  response_time: responseTime.optional(),
  id,
  name: z.string().optional(),
  interval: duration.optional(),
  timeout: duration.optional(),
  retries: z.int().min(0).max(10).optional(),
  /** Agent ids that run this probe; default every agent. */
  agents: z.array(id).min(1).optional(),
};

const httpExpect = z.strictObject({
  /** Default: any 2xx. */
  status: statusCodes.optional(),
  body_contains: z.string().optional(),
  body_not_contains: z.string().optional(),
  body_regex: regex.optional(),
  /** Header name -> regular expression its value must match. */
  header: z.record(z.string(), regex).optional(),
  max_duration: duration.optional(),
});

export const httpProbe = z.strictObject({
  ...probeCommon,
  type: z.literal('http'),
  url: httpUrl,
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
  headers: headers.optional(),
  body: z.string().optional(),
  follow_redirects: z.boolean().default(true),
  max_redirects: z.int().min(0).max(30).default(10),
  /** Bytes of body read at most; the rest is not downloaded. */
  max_body_bytes: z.int().min(0).default(1_048_576),
  insecure_skip_verify: z.boolean().default(false),
  expect: httpExpect.default({}),
});

export const tcpProbe = z.strictObject({
  ...probeCommon,
  type: z.literal('tcp'),
  host: z.string().min(1),
  port: z.int().min(1).max(65535),
  tls: z.boolean().default(false),
  insecure_skip_verify: z.boolean().default(false),
  send: z.string().optional(),
  expect: z.strictObject({ contains: z.string().optional(), regex: regex.optional() }).optional(),
});

/**
 * Checked here, not only when the probe runs: `server: ns1.example.dk` would otherwise load fine and
 * then fail on every agent at every run.
 */
const dnsServer = z.string().refine((s) => {
  const m = /^\[([^\]]*)\]:(\d{1,5})$/.exec(s) ?? /^([^:]*):(\d{1,5})$/.exec(s);
  if (m === null) return isIP(s) !== 0;
  const port = Number(m[2]);
  return isIP(m[1] ?? '') === (s.startsWith('[') ? 6 : 4) && port >= 1 && port <= 65535;
}, 'expected an IP address with an optional port, like 10.0.0.53, 10.0.0.53:5353 or [::1]:53');

export const dnsProbe = z.strictObject({
  ...probeCommon,
  type: z.literal('dns'),
  name: z.string().min(1),
  record_type: z.enum(['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'NS', 'SOA', 'SRV']).default('A'),
  /** A resolver's address (c-ares takes no names), as IP, IPv4:PORT or [IPv6]:PORT; default the system's. */
  server: dnsServer.optional(),
  expect: z
    .strictObject({
      /** Every listed value must be among the answers. */
      contains: z.array(z.string()).optional(),
      min_answers: z.int().min(0).optional(),
    })
    .optional(),
});

export const tlsProbe = z.strictObject({
  ...probeCommon,
  type: z.literal('tls'),
  host: z.string().min(1),
  port: z.int().min(1).max(65535).default(443),
  server_name: z.string().optional(),
  /** Fewer days than this before expiry raises a warning. */
  warn_days: z.int().min(0).default(21),
  /** Report the certificate without judging its chain (an internal service's own CA, say). */
  insecure_skip_verify: z.boolean().default(false),
  /** A PEM file of CA certificates to trust instead of the system's, read by the agent. */
  ca_file: z.string().min(1).optional(),
  expect: z
    .strictObject({
      min_days: z.int().min(0).optional(),
      protocols: z.array(z.enum(['TLSv1.2', 'TLSv1.3'])).optional(),
    })
    .optional(),
});

const extractRule = z.union(
  [
    z.strictObject({ regex }),
    z.strictObject({ css: z.string().min(1), attr: z.string().optional() }),
    z.strictObject({ json: z.string().min(1) }),
    z.strictObject({ header: z.string().min(1) }),
  ],
  { error: 'expected one of { regex }, { css, attr }, { json } or { header }' },
);

const flowStep = z.strictObject({
  name: z.string().min(1),
  request: z.strictObject({
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
    url: z.string().min(1),
    headers: headers.optional(),
    query: z.record(z.string(), z.string()).optional(),
    form: z.record(z.string(), z.string()).optional(),
    json: z.unknown().optional(),
    body: z.string().optional(),
    follow_redirects: z.boolean().default(true),
  }),
  expect: z
    .strictObject({
      status: statusCodes.optional(),
      body_contains: z.string().optional(),
      body_not_contains: z.string().optional(),
      body_regex: regex.optional(),
      header: z.record(z.string(), regex).optional(),
      /** JSONPath -> the value it must equal. */
      json: z.record(z.string(), z.unknown()).optional(),
      max_duration: duration.optional(),
    })
    .optional(),
  extract: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a variable name'), extractRule).optional(),
});

export const flowProbe = z.strictObject({
  ...probeCommon,
  type: z.literal('flow'),
  insecure_skip_verify: z.boolean().default(false),
  /** Redirects followed per step at most. */
  max_redirects: z.int().min(0).max(30).default(10),
  /** Bytes of each response body read at most; expectations and extraction see only these. */
  max_body_bytes: z.int().min(0).default(1_048_576),
  steps: z.array(flowStep).min(1, 'a flow needs at least one step'),
});

export const pageProbe = z.strictObject({
  ...probeCommon,
  type: z.literal('page'),
  url: httpUrl,
  headers: headers.optional(),
  insecure_skip_verify: z.boolean().default(false),
  /** Load sub-resources from other sites too (default: same site only). */
  cross_site: z.boolean().default(false),
  max_resources: z.int().min(0).max(500).default(100),
  expect: z
    .strictObject({
      status: statusCodes.optional(),
      body_contains: z.string().optional(),
      max_duration: duration.optional(),
      max_failed_resources: z.int().min(0).default(0),
    })
    .optional(),
});

export const probe = z.discriminatedUnion('type', [httpProbe, tcpProbe, dnsProbe, tlsProbe, flowProbe, pageProbe], {
  error: 'expected a probe with type http, flow, page, tcp, dns or tls',
});

// ---- systems ----------------------------------------------------------------------------------

/** "mon-fri 08:30-16:30", "sat,sun 00:00-24:00", "daily 22:00-06:00". */
export const windowSpec = z
  .string()
  .regex(
    /^(daily|(mon|tue|wed|thu|fri|sat|sun)(-(mon|tue|wed|thu|fri|sat|sun))?(,(mon|tue|wed|thu|fri|sat|sun)(-(mon|tue|wed|thu|fri|sat|sun))?)*)\s+([01]\d|2[0-3]):[0-5]\d-(([01]\d|2[0-3]):[0-5]\d|24:00)$/,
    'expected days and hours like "mon-fri 08:30-16:30"',
  );

const windowName = z.string().regex(/^[a-z][a-z0-9_-]*$/, 'expected a window name');
const uptimeTarget = z.number({ error: 'expected a percentage like 99.7' }).gt(0, 'expected a percentage above 0 and at most 100').max(100, 'expected a percentage above 0 and at most 100');

export const system = z.strictObject({
  id,
  name: z.string().min(1),
  description: z.string().optional(),
  /** Where end users find the system; linked from the status page. */
  url: httpUrl.optional(),
  group: z.string().optional(),
  depends_on: z.record(id, impact).default({}),
  response_time: responseTime.optional(),
  /** Major outage when more than this percent of fresh vantage points fail; overrides defaults.quorum. */
  quorum: percent.optional(),
  sla: z
    .strictObject({
      /** Percent; one number for every window, or per window name (`all`, `secondary` or a named one). */
      uptime: z.union([uptimeTarget, z.record(windowName, uptimeTarget)], {
        error: 'expected a percentage like 99.7, or one per window like { primary: 99.7, secondary: 99.5 }',
      }),
      windows: z.record(windowName, windowSpec).default({}),
      /** Public holidays (Danish calendar) count as secondary time. */
      holidays: z.boolean().default(true),
    })
    .optional(),
  /** Consecutive failures before a vantage point counts as failing; overrides defaults.retries. */
  retries: z.int().min(0).max(10).optional(),
  probes: z.array(probe).default([]),
});

// ---- the file ---------------------------------------------------------------------------------

const localized = z.union([z.string().min(1), z.strictObject({ da: z.string().min(1), en: z.string().optional() })], {
  error: 'expected a text or { da, en }',
});

const isoTime = z.iso.datetime({ offset: true, error: 'expected a time like 2026-12-06T00:00:00+01:00' });

export const notificationEvent = z.enum(['outage', 'degraded', 'recovery', 'maintenance', 'incident', 'announcement'], {
  error: 'expected outage, degraded, recovery, maintenance, incident or announcement',
});

export const notification = z.strictObject({
  id,
  type: z.enum(['webhook', 'email', 'slack', 'teams'], { error: 'expected webhook, email, slack or teams' }),
  url: httpUrl.optional(),
  secret: z.string().optional(),
  to: z.array(z.email({ error: 'expected an e-mail address' })).min(1).optional(),
  systems: z.array(id).optional(),
  events: z.array(notificationEvent).optional(),
  lang: z.enum(['da', 'en']).default('da'),
  /** A status must hold this long before a message is sent. */
  hold: duration.optional(),
});

export const maintenance = z.strictObject({
  id: id.optional(),
  systems: z.array(id).min(1),
  start: isoTime,
  end: isoTime,
  title: localized,
  description: localized.optional(),
});

// Exactly one of token and token_sha256: checked in semantics.ts, so a missing pair is one problem.
/**
 * An authority's own monitoring (Zabbix, Nagios, Alertmanager, ...) reporting over HTTP instead of
 * running probes: one more vantage point for the systems it may report on.
 */
export const externalSource = z.strictObject({
  /** The systems it may report on; default every system. */
  systems: z.array(id).min(1).optional(),
  /** How long one report counts; reporters that send only changes need this long. */
  stale_after: duration.default(600_000),
});

export const agent = z.strictObject({
  id,
  name: z.string().optional(),
  external: externalSource.optional(),
  token: z.string().min(16, 'expected a token of at least 16 characters').optional(),
  /** The token's SHA-256 in hex, so the file need not hold the token itself. */
  token_sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'expected the SHA-256 of the token: 64 hex digits, as printed by printf %s "$TOKEN" | sha256sum')
    .optional(),
});

export const collector = z.strictObject({
  listen: hostPort.default('127.0.0.1:9400'),
  data_dir: z.string().min(1).default('./data'),
  timezone: z.string().default('Europe/Copenhagen'),
  admin_token: z.string().min(16, 'expected a token of at least 16 characters').optional(),
  public_url: httpUrl.optional(),
  smtp: z.strictObject({ url: z.string().regex(/^smtps?:\/\//, 'expected smtp:// or smtps://'), from: z.string() }).optional(),
  /** How long raw results are kept. */
  retention: duration.default(30 * 86_400_000),
  /** How long the hourly aggregates, the status timeline, incidents and alerts are kept: 13 months. */
  history_retention: duration.default(396 * 86_400_000),
  /** PEM files; when set, the one port serves HTTPS and wss://. Read at start, not here. */
  tls: z.strictObject({ cert_file: z.string().min(1), key_file: z.string().min(1) }).optional(),
});

export const configSchema = z.strictObject({
  collector: collector.default(collector.parse({})),
  agents: z.array(agent).default([]),
  defaults: z
    .strictObject({
      interval: duration.default(60_000),
      timeout: duration.default(10_000),
      retries: z.int().min(0).max(10).default(1),
      quorum: percent.default(50),
      /** Incident priority 1 (critical) and 2 (high): more than this percent of vantage points failing. */
      priorities: z
        .strictObject({ critical: percent.default(20), high: percent.default(5) })
        .default({ critical: 20, high: 5 }),
    })
    .default({ interval: 60_000, timeout: 10_000, retries: 1, quorum: 50, priorities: { critical: 20, high: 5 } }),
  systems: z.array(system).default([]),
  notifications: z.array(notification).default([]),
  maintenance: z.array(maintenance).default([]),
});

export type Config = z.output<typeof configSchema>;
export type SystemConfig = z.output<typeof system>;
export type ProbeConfig = z.output<typeof probe>;
export type HttpProbeConfig = z.output<typeof httpProbe>;
export type TcpProbeConfig = z.output<typeof tcpProbe>;
export type DnsProbeConfig = z.output<typeof dnsProbe>;
export type TlsProbeConfig = z.output<typeof tlsProbe>;
export type FlowProbeConfig = z.output<typeof flowProbe>;
export type PageProbeConfig = z.output<typeof pageProbe>;
export type ProbeType = ProbeConfig['type'];
export type Impact = z.output<typeof impact>;
export type ResponseTimeConfig = z.output<typeof responseTime>;
export type AgentConfig = z.output<typeof agent>;
export type ExternalSourceConfig = z.output<typeof externalSource>;
export type NotificationConfig = z.output<typeof notification>;
export type MaintenanceConfig = z.output<typeof maintenance>;
