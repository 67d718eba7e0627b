// GET /api/v1/openapi.json: the OpenAPI 3.1 document of /api/v1, built here in code. Each operation
// is listed once below; the document served holds those whose route the router has, and
// tests/collector/openapi.test.ts checks that every registered /api/v1 route is described, so the
// document and the routes cannot drift apart.
import type { CollectorContext } from '../context.js';
import { sendJson } from '../http.js';
import type { Method, Router } from '../server.js';
import { STATUSES } from '../status/types.js';
import { version } from '../../lib/version.js';
import { onlyParams } from './params.js';

type Schema = Record<string, unknown>;

const OPERATOR_STATES = ['investigating', 'identified', 'monitoring', 'resolved'];

export interface Operation {
  method: Method;
  /** The router's pattern, `:id` segments and all. */
  pattern: string;
  /** Needs the admin token. */
  admin?: boolean;
  /** Needs an external source's token (an agents entry with `external`). */
  source?: boolean;
  spec: Schema;
}

// ---- schema helpers -----------------------------------------------------------------------------

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const str = (description?: string): Schema => ({ type: 'string', ...(description === undefined ? {} : { description }) });
const time = (description?: string): Schema => ({ type: 'string', format: 'date-time', ...(description === undefined ? {} : { description }) });
const nullable = (s: Schema): Schema => ({ ...s, type: [s.type as string, 'null'] });
const int = (description?: string): Schema => ({ type: 'integer', ...(description === undefined ? {} : { description }) });
const num = (description?: string): Schema => ({ type: 'number', ...(description === undefined ? {} : { description }) });
const bool = (description?: string): Schema => ({ type: 'boolean', ...(description === undefined ? {} : { description }) });
const arr = (items: Schema, description?: string): Schema => ({ type: 'array', items, ...(description === undefined ? {} : { description }) });
const ids = (description: string): Schema => arr(str(), description);
/** An object whose keys are all required. */
const obj = (properties: Record<string, Schema>, description?: string, optional: readonly string[] = []): Schema => ({
  type: 'object',
  ...(description === undefined ? {} : { description }),
  required: Object.keys(properties).filter((k) => !optional.includes(k)),
  properties,
});
const localized: Schema = {
  oneOf: [str(), obj({ da: str(), en: str() }, undefined, ['en'])],
  description: 'A text, or { da, en }: Danish, optionally English',
};

const query = (name: string, schema: Schema, description: string): Schema => ({ name, in: 'query', required: false, schema, description });
const pathId = (description: string, schema: Schema = str()): Schema => ({ name: 'id', in: 'path', required: true, schema, description });
const systemQ = query('system', str(), 'a system id');
const fromQ = (what: string): Schema =>
  query('from', str(), `${what}; inclusive. ISO-8601 with a zone (2026-01-05T08:00:00Z), a date (UTC midnight) or epoch milliseconds`);
const toQ = (what: string): Schema => query('to', str(), `${what}; exclusive. Same forms as from`);
const limitQ = (max: number, def: number): Schema => query('limit', { type: 'integer', minimum: 1, maximum: max, default: def }, `at most this many, 1 to ${max}`);
const viewQ = query('view', { type: 'string', enum: ['perceived', 'own'], default: 'perceived' }, 'perceived (after dependencies) or own');

const json = (schema: Schema, description: string): Schema => ({ description, content: { 'application/json': { schema } } });
const err = (description: string): Schema => json(ref('Error'), description);
const BAD = err('a bad or unknown parameter (bad_parameter, naming it in error.parameter)');
const NOT_FOUND = err('no such resource (not_found)');
const ADMIN_ERRORS: Record<string, Schema> = {
  '401': err('no bearer token (unauthorized); WWW-Authenticate: Bearer'),
  '403': err('a wrong admin token (forbidden)'),
  '404': err('admin_disabled: no collector.admin_token is configured; or no such resource (not_found)'),
};

const SOURCE_ERRORS: Record<string, Schema> = {
  '401': err('no bearer token (unauthorized); WWW-Authenticate: Bearer'),
  '403': err('not the token of an external source, or the source may not report on the system (forbidden)'),
  '413': err('the body is too large'),
  '415': err('the body is not application/json'),
  '429': err('rate_limited: the source sent more than 100 requests a second (a burst of 1,000 is allowed); Retry-After says when to try again'),
};

function op(summary: string, o: { params?: Schema[]; ok: Schema; errors?: Record<string, Schema>; body?: Schema; description?: string; tag: string; id: string }): Schema {
  return {
    operationId: o.id,
    summary,
    ...(o.description === undefined ? {} : { description: o.description }),
    tags: [o.tag],
    ...(o.params === undefined || o.params.length === 0 ? {} : { parameters: o.params }),
    ...(o.body === undefined ? {} : { requestBody: { required: true, content: { 'application/json': { schema: o.body } } } }),
    responses: { ...o.ok, ...(o.errors ?? {}) },
  };
}

// ---- component schemas --------------------------------------------------------------------------

const SCHEMAS: Record<string, Schema> = {
  Error: obj(
    {
      error: obj(
        {
          code: str('a stable code, e.g. bad_parameter, not_found, unauthorized'),
          message: str('one sentence for people'),
          parameter: str('the parameter at fault (bad_parameter)'),
          problems: arr({ type: 'object', properties: { path: str(), message: str(), line: int() }, required: ['path', 'message'] }, 'every problem (invalid_body, invalid_config)'),
        },
        undefined,
        ['parameter', 'problems'],
      ),
    },
    'Every error: { error: { code, message } }',
  ),
  Status: { type: 'string', enum: [...STATUSES], description: "Statuspage's vocabulary, plus unknown" },
  SystemStatus: obj({
    id: str(),
    name: str(),
    status: ref('Status'),
    own_status: ref('Status'),
    cause: ids('the root systems that explain status'),
    since: nullable(time('when status last changed')),
  }),
  ResponseTime: nullable({
    type: 'object',
    description: 'a long-response-time rule and where its statistic stands; null without a rule',
    required: ['slow_ms', 'for_ms', 'percentile', 'value_ms', 'alert', 'since'],
    properties: {
      slow_ms: int(),
      for_ms: int(),
      percentile: num(),
      value_ms: nullable(num()),
      alert: { type: 'string', enum: ['ok', 'pending', 'firing'] },
      since: nullable(time()),
    },
  }),
  Result: obj({
    agent: str(),
    system: str(),
    probe: str(),
    seq: int('the agent\'s sequence number'),
    ts: time('when the probe ran'),
    ok: bool(),
    duration_ms: num(),
    phases: { type: 'object', description: 'milliseconds per phase: dns, connect, tls, ttfb, transfer', additionalProperties: num() },
    status_code: nullable(int()),
    error: { oneOf: [{ type: 'null' }, obj({ code: str('a stable error code (docs/probes.md)'), message: str() })] },
    tls_expiry: nullable(time('the leaf certificate\'s expiry')),
    detail: { type: ['object', 'null'], description: 'type-specific detail (docs/probes.md)' },
    received_at: time(),
  }),
  IncidentUpdate: obj(
    {
      at: time(),
      kind: { type: 'string', enum: ['opened', 'updated', 'resolved', 'operator'], description: "the engine's, or an operator's" },
      status: { type: 'string', enum: [...STATUSES, ...OPERATOR_STATES], description: "the root's status; on an operator's update, the operator's state" },
      priority: { type: 'integer', minimum: 1, maximum: 4 },
      affected: ids('systems affected at this point'),
      message: str('the Danish text of an operator\'s update'),
      text: obj({ da: str(), en: str() }, "an operator's update: both texts", ['en']),
    },
    undefined,
    ['text'],
  ),
  Incident: obj({
    id: int(),
    state: { type: 'string', enum: ['open', 'resolved'] },
    system: str('the root system'),
    cause: ids('the root system'),
    affected: ids('every system it affected while open'),
    status: ref('Status'),
    priority: { type: 'integer', minimum: 1, maximum: 4, description: '1 critical … 4 low' },
    peak_priority: { type: 'integer', minimum: 1, maximum: 4 },
    started_at: time(),
    resolved_at: nullable(time()),
    duration_s: int(),
    operator_status: { type: ['string', 'null'], enum: [...OPERATOR_STATES, null], description: 'what operators last said; null until they say anything' },
    updates: arr(ref('IncidentUpdate')),
  }),
  Alert: obj(
    {
      key: str(),
      alert: { type: 'string', enum: ['long_response_time', 'agent_offline', 'agent_suspect'] },
      state: { type: 'string', enum: ['active', 'resolved'] },
      system: nullable(str()),
      probe: nullable(str()),
      agent: nullable(str()),
      since: time(),
      resolved_at: nullable(time()),
      value_ms: nullable(num()),
      percentile: nullable(num()),
      threshold_ms: nullable(num()),
      systems: ids('agent_suspect: the unrelated systems it alone sees fail'),
      last_result: nullable(time()),
    },
    undefined,
    ['value_ms', 'percentile', 'threshold_ms', 'systems', 'last_result'],
  ),
  MaintenanceWindow: obj({
    id: str(),
    systems: ids('the systems it takes under maintenance'),
    start: time(),
    end: time(),
    title: obj({ da: str(), en: str() }, undefined, ['en']),
    description: { oneOf: [{ type: 'null' }, obj({ da: str(), en: str() }, undefined, ['en'])] },
    source: { type: 'string', enum: ['config', 'api'] },
    state: { type: 'string', enum: ['scheduled', 'in_progress', 'completed'] },
    created_at: time(),
  }),
  MaintenanceInput: {
    ...obj(
      {
        id: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]*$', description: 'generated (mw-…) unless given' },
        systems: { type: 'array', items: str(), minItems: 1 },
        start: time('with a zone, e.g. 2026-12-06T00:00:00+01:00'),
        end: time(),
        title: localized,
        description: localized,
      },
      'A service window, as in the configuration file',
      ['id', 'description'],
    ),
    additionalProperties: false,
  },
  Agent: obj({
    id: str(),
    name: nullable(str()),
    connected: bool(),
    last_seen: nullable(time()),
    version: nullable(str()),
    remote_address: nullable(str()),
    connected_since: nullable(time()),
    revision: nullable(str('identifies its current assignment')),
    offline: bool('its agent_offline alert fires'),
    suspect: bool('it alone sees unrelated systems fail'),
    probes: ids('system/probe ids assigned to it'),
  }),
  WindowUptime: obj({
    uptime: nullable(num('percent')),
    target: nullable(num('percent, from sla.uptime')),
    met: nullable(bool()),
    window_s: num('seconds'),
    up_s: num(),
    degraded_s: num(),
    downtime_s: num(),
    partial_outage_s: num(),
    maintenance_s: num(),
    unknown_s: num(),
  }),
};

// ---- the operations -----------------------------------------------------------------------------

const list = (key: string, item: Schema, paged = false): Schema =>
  obj({ [key]: arr(item), ...(paged ? { limit: int(), truncated: bool('limit rows came back: there may be more') } : {}) });

export const OPERATIONS: readonly Operation[] = [
  {
    method: 'GET',
    pattern: '/api/v1/status',
    spec: op('Every system with its status', {
      id: 'getStatus',
      tag: 'status',
      ok: { '200': json(obj({ updated_at: nullable(time('when statuses were last derived')), systems: arr(ref('SystemStatus')) }), 'systems in configuration order') },
    }),
  },
  {
    method: 'GET',
    pattern: '/api/v1/systems/:id',
    spec: op('One system, its probes and the latest result from each agent', {
      id: 'getSystem',
      tag: 'status',
      params: [pathId('a system id')],
      ok: {
        '200': json(
          {
            allOf: [
              ref('SystemStatus'),
              obj({
                own_since: nullable(time()),
                description: nullable(str()),
                url: nullable(str()),
                group: nullable(str()),
                depends_on: { type: 'object', additionalProperties: { type: 'string', enum: ['critical', 'high', 'low'] } },
                response_time: ref('ResponseTime'),
                updated_at: nullable(time()),
                probes: arr(
                  obj({
                    id: str(),
                    name: nullable(str()),
                    type: { type: 'string', enum: ['http', 'flow', 'page', 'tcp', 'dns', 'tls'] },
                    target: nullable(str('a URL without credentials, host:port or a DNS name')),
                    interval_ms: int(),
                    timeout_ms: int(),
                    agents: { type: ['array', 'null'], items: str() },
                    response_time: ref('ResponseTime'),
                    latest: arr({ allOf: [ref('Result'), obj({ suspect: bool('a failure from a suspect agent') })] }),
                  }),
                ),
              }),
            ],
          },
          'the system',
        ),
      },
      errors: { '400': BAD, '404': NOT_FOUND },
    }),
  },
  {
    method: 'GET',
    pattern: '/api/v1/systems/:id/history',
    spec: op("A system's status timeline as intervals", {
      id: 'getSystemHistory',
      tag: 'status',
      params: [pathId('a system id'), viewQ, fromQ('default: 24 hours before to'), toQ('default: now')],
      ok: {
        '200': json(
          obj({
            system: str(),
            view: str(),
            from: time(),
            to: time(),
            intervals: arr(obj({ from: time(), to: nullable(time('null while it lasts')), status: ref('Status'), cause: ids('root causes'), duration_s: int() })),
          }),
          'consecutive stretches of one status, clipped to the range',
        ),
      },
      errors: { '400': BAD, '404': NOT_FOUND },
    }),
  },
  {
    method: 'GET',
    pattern: '/api/v1/systems/:id/uptime',
    spec: op("A system's uptime per service window against its target", {
      id: 'getSystemUptime',
      tag: 'status',
      description: 'See docs/uptime.md. Spans over three years are refused.',
      params: [pathId('a system id'), fromQ('default: 30 days before to'), toQ('default: now'), viewQ],
      ok: {
        '200': json(
          obj({
            system: str(),
            from: time(),
            to: time(),
            view: str(),
            timezone: str(),
            windows: { type: 'object', description: 'all, the named windows and secondary', additionalProperties: ref('WindowUptime') },
          }),
          'uptime per window',
        ),
      },
      errors: { '400': BAD, '404': NOT_FOUND },
    }),
  },
  {
    method: 'GET',
    pattern: '/api/v1/systems/:id/declaration',
    spec: op("What a system's service declaration promises beside what was measured", {
      id: 'getSystemDeclaration',
      tag: 'status',
      description: 'Uptime per window, response times per rule and incident handling per priority, over the span.',
      params: [pathId('a system id'), fromQ('default: 30 days before to'), toQ('default: now')],
      ok: {
        '200': json(
          obj({
            system: str(),
            from: time(),
            to: time(),
            timezone: str(),
            windows: { type: 'object', description: 'the declared windows by name', additionalProperties: str() },
            uptime: { type: 'object', description: 'per window, as the uptime route', additionalProperties: ref('WindowUptime') },
            response_time: arr(
              obj({
                probe: nullable(str('null: the system\'s own rule')),
                percentile: num(),
                declared_ms: nullable(num()),
                for_ms: nullable(num()),
                measured_ms: nullable(num()),
                samples: int(),
                met: nullable(bool()),
              }),
            ),
            incidents: arr(
              obj({
                priority: { type: 'integer', minimum: 1, maximum: 4 },
                count: int(),
                first_update: { type: 'object', description: 'from start to the first operator update: count, median_s, max_s, missing' },
                resolution: { type: 'object', description: 'from start to resolution: count, median_s, max_s, open, longest_open_s' },
              }),
            ),
          }),
          'declared beside measured',
        ),
      },
      errors: { '400': BAD, '404': NOT_FOUND },
    }),
  },
  {
    method: 'GET',
    pattern: '/api/v1/results',
    spec: op('Raw probe results, oldest first', {
      id: 'getResults',
      tag: 'results',
      params: [query('system', str(), 'a system id'), query('probe', str(), 'a probe id'), query('agent', str(), 'an agent id'), fromQ('on ts'), toQ('on ts'), limitQ(10_000, 1000)],
      ok: { '200': json(list('results', ref('Result'), true), 'results; continue with from set to the last ts when truncated') },
      errors: { '400': BAD },
    }),
  },
  {
    method: 'GET',
    pattern: '/api/v1/dependencies',
    spec: op('The dependency graph with statuses', {
      id: 'getDependencies',
      tag: 'status',
      ok: {
        '200': json(
          list(
            'systems',
            {
              allOf: [
                ref('SystemStatus'),
                obj({
                  depends_on: arr(obj({ id: str(), impact: { type: 'string', enum: ['critical', 'high', 'low'] } })),
                  dependants: arr(obj({ id: str(), impact: { type: 'string', enum: ['critical', 'high', 'low'] } })),
                }),
              ],
            },
          ),
          'every system, what it depends on and what depends on it',
        ),
      },
      errors: { '400': BAD },
    }),
  },
  {
    method: 'GET',
    pattern: '/api/v1/incidents',
    spec: op('Incidents, newest first, each with its timeline', {
      id: 'getIncidents',
      tag: 'incidents',
      params: [
        query('state', { type: 'string', enum: ['open', 'resolved'] }, 'only open or only resolved incidents'),
        query('system', str(), 'the root or an affected system'),
        fromQ('incidents open at some time in the range'),
        toQ('incidents open at some time in the range'),
        limitQ(1000, 100),
      ],
      ok: { '200': json(list('incidents', ref('Incident'), true), 'incidents') },
      errors: { '400': BAD },
    }),
  },
  {
    method: 'GET',
    pattern: '/api/v1/incidents/:id',
    spec: op('One incident', {
      id: 'getIncident',
      tag: 'incidents',
      params: [pathId('an incident id', { type: 'integer', minimum: 1 })],
      ok: { '200': json(ref('Incident'), 'the incident') },
      errors: { '400': BAD, '404': NOT_FOUND },
    }),
  },
  {
    method: 'POST',
    pattern: '/api/v1/incidents/:id/updates',
    admin: true,
    spec: op("Adds an operator's update to an incident", {
      id: 'postIncidentUpdate',
      tag: 'incidents',
      description: "What operators tell users; it does not change the incident's measured state.",
      params: [pathId('an incident id', { type: 'integer', minimum: 1 })],
      body: { ...obj({ status: { type: 'string', enum: OPERATOR_STATES }, message: localized }), additionalProperties: false },
      ok: { '201': { ...json(ref('Incident'), 'the incident, the new update last'), headers: { Location: { schema: str(), description: '/api/v1/incidents/{id}' } } } },
      errors: { '400': err('invalid_json; invalid_body (with problems)'), ...ADMIN_ERRORS, '413': err('the body is over 64 KiB'), '415': err('the body is not application/json') },
    }),
  },
  {
    method: 'GET',
    pattern: '/api/v1/alerts',
    spec: op('Active (or past) alerts', {
      id: 'getAlerts',
      tag: 'alerts',
      params: [query('state', { type: 'string', enum: ['active', 'resolved', 'all'], default: 'active' }, 'which alerts'), systemQ, limitQ(1000, 100)],
      ok: { '200': json(obj({ alerts: arr(ref('Alert')), limit: int(), truncated: bool() }, 'limit and truncated only for resolved and all', ['limit', 'truncated']), 'alerts, newest first') },
      errors: { '400': BAD },
    }),
  },
  {
    method: 'GET',
    pattern: '/api/v1/maintenance',
    spec: op('Service windows: in progress, coming and past', {
      id: 'getMaintenance',
      tag: 'maintenance',
      params: [query('state', { type: 'string', enum: ['scheduled', 'in_progress', 'completed'] }, 'only windows in this state'), systemQ],
      ok: { '200': json(list('maintenance', ref('MaintenanceWindow')), 'in progress first, then coming (soonest first), then past (newest first)') },
      errors: { '400': BAD },
    }),
  },
  {
    method: 'POST',
    pattern: '/api/v1/maintenance',
    admin: true,
    spec: op('Announces a service window', {
      id: 'postMaintenance',
      tag: 'maintenance',
      body: ref('MaintenanceInput'),
      ok: { '201': { ...json(ref('MaintenanceWindow'), 'announced'), headers: { Location: { schema: str(), description: '/api/v1/maintenance/{id}' } } } },
      errors: {
        '400': err('invalid_json, invalid_body (with problems) or invalid_window'),
        ...ADMIN_ERRORS,
        '409': err('conflict: a window with that id exists'),
        '413': err('the body is over 64 KiB'),
        '415': err('the body is not application/json'),
        '422': err('unknown_system'),
      },
    }),
  },
  {
    method: 'GET',
    pattern: '/api/v1/maintenance/:id',
    spec: op('One service window', {
      id: 'getMaintenanceWindow',
      tag: 'maintenance',
      params: [pathId('a window id')],
      ok: { '200': json(ref('MaintenanceWindow'), 'the window') },
      errors: { '400': BAD, '404': NOT_FOUND },
    }),
  },
  {
    method: 'DELETE',
    pattern: '/api/v1/maintenance/:id',
    admin: true,
    spec: op('Cancels an announced service window', {
      id: 'deleteMaintenanceWindow',
      tag: 'maintenance',
      description: 'Subscribers are notified: phase cancelled before the window starts, ended with ended_early while it is in progress, nothing after it ended.',
      params: [pathId('a window id')],
      ok: { '204': { description: 'cancelled' } },
      errors: { ...ADMIN_ERRORS, '409': err('defined_in_config: the window changes only with the file') },
    }),
  },
  {
    method: 'GET',
    pattern: '/api/v1/agents',
    spec: op('Agents, connected or not, and what they run', {
      id: 'getAgents',
      tag: 'agents',
      ok: {
        '200': json(
          obj({
            agents: arr(ref('Agent')),
            external: arr(
              obj({
                id: str(),
                name: nullable(str()),
                systems: nullable(ids('the systems it may report on; null: every system')),
                stale_after_s: num('how long one report counts'),
                last_report: nullable(time('when its newest report was received')),
              }),
              'external sources: other monitoring systems that report over HTTP',
            ),
          }),
          'every configured agent, and the external sources',
        ),
      },
      errors: { '400': BAD },
    }),
  },
  {
    method: 'POST',
    pattern: '/api/v1/reload',
    admin: true,
    spec: op('Re-reads the configuration file', {
      id: 'postReload',
      tag: 'admin',
      ok: { '200': json(obj({ ok: { const: true }, revision: str(), changed: bool() }), 'reloaded; agents whose probes changed got a new assignment') },
      errors: {
        ...ADMIN_ERRORS,
        '409': err('no_config_file: started without a file'),
        '422': err('invalid_config: the problems are in error.problems; the running configuration is kept'),
      },
    }),
  },
  {
    method: 'POST',
    pattern: '/api/v1/systems/:id/reports',
    source: true,
    spec: op("Reports a system's result or status from another monitoring system", {
      id: 'postReport',
      tag: 'external',
      description:
        'Counts as one more vantage point (the source) on the probes of the system it may report on, or on the one probe named. ' +
        'operational and degraded_performance count as up. The result holds for the source\'s external.stale_after.',
      params: [pathId('a system id')],
      body: {
        type: 'object',
        additionalProperties: false,
        properties: {
          probe: str('one probe of the system; default every probe the source may report on'),
          success: bool('give success or status'),
          status: { type: 'string', enum: ['operational', 'degraded_performance', 'partial_outage', 'major_outage'] },
          duration_ms: { type: 'number', minimum: 0, description: "the reporter's own response time; stored, not used for slowness" },
          message: { type: 'string', maxLength: 1000, description: 'why, in the reporter\'s words; shown as the error' },
          at: time('when the check ran; default now; at most 5 minutes ahead'),
        },
      },
      ok: {
        '202': json(
          obj({ source: str(), system: str(), probes: ids('the probes it counted on'), ok: bool(), at: time(), seq: arr(int()) }),
          'stored',
        ),
      },
      errors: {
        '400': err('invalid_json; invalid_body (with problems)'),
        ...SOURCE_ERRORS,
        '404': err('no such system or probe (not_found)'),
        '422': err('not_reportable: the probes list their agents and the source is not among them'),
      },
    }),
  },
  {
    method: 'POST',
    pattern: '/api/v1/alertmanager',
    source: true,
    spec: op("Takes Prometheus Alertmanager's webhook", {
      id: 'postAlertmanager',
      tag: 'external',
      description:
        'Alertmanager webhook payload (version 4). An alert names its system by the label vagt_system (or system) and may name a probe by vagt_probe; ' +
        'the target fails while any of its alerts fires. Alerts naming nothing known come back in ignored, with a 200.',
      body: { type: 'object', required: ['alerts'], properties: { alerts: arr({ type: 'object', required: ['status', 'labels'] }) } },
      ok: {
        '200': json(
          obj({
            source: str(),
            accepted: arr(obj({ system: str(), probe: str(), ok: bool(), firing: int('alerts firing for it now') })),
            ignored: arr(obj({ fingerprint: str(), reason: str() })),
          }),
          'stored',
        ),
      },
      errors: { '400': err('invalid_json; invalid_body: not an Alertmanager payload'), ...SOURCE_ERRORS },
    }),
  },
  {
    method: 'GET',
    pattern: '/api/v1/announcements',
    spec: op('Announcements: releases, interface changes and information', {
      id: 'getAnnouncements',
      tag: 'announcements',
      params: [query('system', str(), 'announcements naming this system'), fromQ('on at'), toQ('on at'), limitQ(1000, 100)],
      ok: { '200': json(list('announcements', ref('Announcement'), true), 'newest first (by at: planned ones first)') },
      errors: { '400': BAD },
    }),
  },
  {
    method: 'POST',
    pattern: '/api/v1/announcements',
    admin: true,
    spec: op('Announces a release, an interface change or information', {
      id: 'postAnnouncement',
      tag: 'announcements',
      body: {
        type: 'object',
        required: ['systems', 'kind', 'title', 'body'],
        additionalProperties: false,
        properties: {
          id: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]*$', description: 'generated (an-…) unless given' },
          systems: { type: 'array', items: str(), minItems: 1, description: 'ids of configured systems' },
          kind: { type: 'string', enum: ['release', 'interface_change', 'info'] },
          title: localized,
          body: localized,
          at: time('default now; may be in the future (a planned release)'),
          link: { type: 'string', pattern: '^https?://', description: 'an http:// or https:// URL' },
        },
      },
      ok: { '201': { ...json(ref('Announcement'), 'stored'), headers: { Location: { schema: str(), description: '/api/v1/announcements/{id}' } } } },
      errors: {
        '400': err('invalid_json; invalid_body (with problems)'),
        ...ADMIN_ERRORS,
        '409': err('conflict: an announcement with that id exists'),
        '413': err('the body is over 64 KiB'),
        '415': err('the body is not application/json'),
        '422': err('unknown_system, with problems naming each'),
      },
    }),
  },
  {
    method: 'GET',
    pattern: '/api/v1/announcements/:id',
    spec: op('One announcement', {
      id: 'getAnnouncement',
      tag: 'announcements',
      params: [pathId('an announcement id')],
      ok: { '200': json(ref('Announcement'), 'the announcement') },
      errors: { '404': NOT_FOUND },
    }),
  },
  {
    method: 'DELETE',
    pattern: '/api/v1/announcements/:id',
    admin: true,
    spec: op('Removes an announcement', {
      id: 'deleteAnnouncement',
      tag: 'announcements',
      params: [pathId('an announcement id')],
      ok: { '204': { description: 'removed' } },
      errors: ADMIN_ERRORS,
    }),
  },
  {
    method: 'POST',
    pattern: '/api/v1/subscriptions',
    spec: {
      ...op('Subscribes an e-mail address to systems; a link in a confirmation e-mail starts it (double opt-in)', {
        id: 'postSubscription',
        tag: 'subscriptions',
        description:
          'Public. Also takes the status page form (application/x-www-form-urlencoded; answered with HTML pages). The answer is the same whether or not the address was subscribed already; for one that was, the e-mail confirms the change. At most 3 confirmation e-mails per address and 20 per client an hour.',
        ok: { '202': json(obj({ state: { const: 'pending' }, message: str() }), 'a confirmation e-mail was sent') },
        errors: {
          '400': err('invalid_json; invalid_body, naming the field in the message and in problems (email, systems[i], events[i], lang)'),
          '404': err('subscriptions_disabled: collector.smtp is not configured'),
          '413': err('the body is over 16 KiB'),
          '415': err('neither application/json nor application/x-www-form-urlencoded'),
          '429': err('rate_limited: too many confirmation e-mails asked for; Retry-After says when to try again'),
          '503': err('mail_failed: the confirmation e-mail could not be sent'),
        },
      }),
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['email'],
              additionalProperties: false,
              properties: {
                email: { type: 'string', format: 'email', maxLength: 254 },
                systems: { type: 'array', items: str(), minItems: 1, maxItems: 100, description: 'ids of configured systems; default every system, also those added later' },
                events: { type: 'array', items: { type: 'string', enum: ['outage', 'degraded', 'recovery', 'maintenance', 'incident', 'announcement'] }, minItems: 1, description: 'default every event' },
                lang: { type: 'string', enum: ['da', 'en'], default: 'da', description: 'the language of the e-mails' },
              },
            },
          },
          'application/x-www-form-urlencoded': {
            schema: {
              type: 'object',
              required: ['email', 'events'],
              properties: { email: str(), systems: arr(str(), 'none: every system'), events: arr(str()), lang: str() },
            },
          },
        },
      },
    },
  },
  {
    method: 'GET',
    pattern: '/api/v1/subscriptions',
    admin: true,
    spec: op('E-mail subscriptions, for operators', {
      id: 'getSubscriptions',
      tag: 'subscriptions',
      params: [query('state', { type: 'string', enum: ['pending', 'confirmed'] }, 'only pending (unconfirmed) or confirmed ones')],
      ok: {
        '200': json(
          list(
            'subscriptions',
            obj({
              id: str(),
              email: str(),
              systems: { type: ['array', 'null'], items: str(), description: 'null: every system' },
              events: { type: ['array', 'null'], items: str(), description: 'null: every event' },
              lang: { type: 'string', enum: ['da', 'en'] },
              state: { type: 'string', enum: ['pending', 'confirmed'] },
              created_at: time(),
              confirmed_at: nullable(time()),
            }),
          ),
          'oldest first',
        ),
      },
      errors: { '400': BAD, ...ADMIN_ERRORS },
    }),
  },
  {
    method: 'DELETE',
    pattern: '/api/v1/subscriptions/:id',
    admin: true,
    spec: op('Removes an e-mail subscription', {
      id: 'deleteSubscription',
      tag: 'subscriptions',
      params: [pathId('a subscription id')],
      ok: { '204': { description: 'removed; no more e-mails go to it' } },
      errors: ADMIN_ERRORS,
    }),
  },
  {
    method: 'GET',
    pattern: '/api/v1/openapi.json',
    spec: op('This document', {
      id: 'getOpenApi',
      tag: 'meta',
      ok: { '200': json({ type: 'object', required: ['openapi', 'info', 'paths'] }, 'OpenAPI 3.1') },
    }),
  },
];

const ANNOUNCEMENT: Schema = obj(
  {
    id: str(),
    systems: ids('the systems it concerns'),
    kind: { type: 'string', enum: ['release', 'interface_change', 'info'] },
    title: obj({ da: str(), en: str() }, undefined, ['en']),
    body: obj({ da: str(), en: str() }, undefined, ['en']),
    at: time('when it happens or happened'),
    upcoming: bool('at is after now'),
    link: nullable(str()),
    created_at: time(),
  },
);

/** `/api/v1/systems/:id` as OpenAPI writes it: `/api/v1/systems/{id}`. */
export const openApiPath = (pattern: string): string => pattern.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');

/**
 * The document. `registered` (the router's routes) keeps to the operations actually served;
 * without it every operation is described.
 */
export function openApiDocument(opts: { registered?: readonly { method: Method; pattern: string }[] } = {}): Schema {
  const have = opts.registered === undefined ? undefined : new Set(opts.registered.map((r) => `${r.method} ${r.pattern}`));
  const paths: Record<string, Record<string, Schema>> = {};
  for (const o of OPERATIONS) {
    if (have !== undefined && !have.has(`${o.method} ${o.pattern}`)) continue;
    const path = openApiPath(o.pattern);
    const entry = (paths[path] ??= {});
    const security = o.admin === true ? [{ adminToken: [] }] : o.source === true ? [{ sourceToken: [] }] : undefined;
    entry[o.method.toLowerCase()] = security === undefined ? o.spec : { ...o.spec, security };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'vagt collector API',
      version,
      description:
        'Status, results, incidents, alerts, service windows and agents of a vagt collector (docs/api.md). ' +
        'JSON in snake_case, times ISO-8601 in UTC, durations in milliseconds (_ms) or seconds (_s). ' +
        'Errors are { error: { code, message } }. Reading needs no token, except the list of subscribers (personal data); changes need the admin token.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    paths,
    components: {
      schemas: { ...SCHEMAS, Announcement: ANNOUNCEMENT },
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer', description: 'collector.admin_token, as Authorization: Bearer <token>' },
        sourceToken: { type: 'http', scheme: 'bearer', description: 'the token of an external source (an agents entry with external), as Authorization: Bearer <token>' },
      },
    },
  };
}

export function openApiRoutes(router: Router, _ctx: CollectorContext): void {
  router.get('/api/v1/openapi.json', (_req, res, { url }) => {
    onlyParams(url.searchParams, []);
    sendJson(res, 200, openApiDocument({ registered: router.routes() }));
  });
}
