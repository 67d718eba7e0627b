// GET /api/v1/openapi.json: an OpenAPI 3.1 document that cannot drift from the router (every
// /api/v1 route registered is described, and nothing else), whose schemas the real responses meet.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATIONS, openApiDocument, openApiPath } from '../../collector/api/openapi.js';
import { registerRoutes } from '../../collector/api/routes.js';
import type { CollectorContext } from '../../collector/context.js';
import { Router } from '../../collector/server.js';
import { ADMIN_TOKEN, TestAgent, getJson, res, startHarness, type Harness } from './helpers.js';

type Schema = Record<string, unknown>;
interface Doc {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Schema & { parameters?: Schema[]; responses: Record<string, Schema>; security?: unknown }>>;
  components: { schemas: Record<string, Schema>; securitySchemes: Record<string, Schema> };
}

let h: Harness;
let base: string;
let doc: Doc;

/** The routes registerRoutes adds, from a fresh Router; the context is never touched while registering. */
function registered(): { method: string; pattern: string }[] {
  const inert: unknown = new Proxy(() => inert, { get: (_t, k) => (k === 'then' ? undefined : inert), apply: () => inert });
  const router = new Router();
  registerRoutes(router, inert as CollectorContext);
  return router.routes();
}

/** A small JSON Schema check (the keywords the document uses); returns every mismatch with its path. */
function validate(schema: Schema, value: unknown, at = '$'): string[] {
  if (typeof schema.$ref === 'string') {
    const name = schema.$ref.replace('#/components/schemas/', '');
    const target = doc.components.schemas[name];
    return target === undefined ? [`${at}: unresolved ${schema.$ref}`] : validate(target, value, at);
  }
  const out: string[] = [];
  if (Array.isArray(schema.allOf)) for (const s of schema.allOf as Schema[]) out.push(...validate(s, value, at));
  if (Array.isArray(schema.oneOf)) {
    const ok = (schema.oneOf as Schema[]).filter((s) => validate(s, value, at).length === 0).length;
    if (ok !== 1) out.push(`${at}: matches ${ok} of oneOf`);
  }
  if ('const' in schema && value !== schema.const) out.push(`${at}: expected ${JSON.stringify(schema.const)}`);
  if (Array.isArray(schema.enum) && value !== null && !schema.enum.includes(value)) out.push(`${at}: ${JSON.stringify(value)} not in enum`);
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;
    if (!types.includes(kind) && !(kind === 'integer' && types.includes('number'))) return [...out, `${at}: ${kind}, expected ${types.join('|')}`];
  }
  if (schema.format === 'date-time' && typeof value === 'string' && Number.isNaN(Date.parse(value))) out.push(`${at}: not a date-time`);
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) out.push(`${at}: below minimum`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) out.push(`${at}: above maximum`);
  }
  if (Array.isArray(value) && schema.items !== undefined) value.forEach((v, i) => out.push(...validate(schema.items as Schema, v, `${at}[${i}]`)));
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    for (const k of (schema.required as string[] | undefined) ?? []) if (!(k in o)) out.push(`${at}: missing ${k}`);
    const props = (schema.properties as Record<string, Schema> | undefined) ?? {};
    for (const [k, v] of Object.entries(o)) {
      const p = props[k];
      if (p !== undefined) out.push(...validate(p, v, `${at}.${k}`));
      else if (schema.additionalProperties === false) out.push(`${at}: unexpected ${k}`);
      else if (typeof schema.additionalProperties === 'object') out.push(...validate(schema.additionalProperties as Schema, v, `${at}.${k}`));
    }
  }
  return out;
}

/** The documented schema of a response. */
function responseSchema(path: string, method: string, status: string): Schema {
  const r = doc.paths[path]?.[method]?.responses[status];
  const schema = (r?.content as { 'application/json'?: { schema: Schema } } | undefined)?.['application/json']?.schema;
  if (schema === undefined) throw new Error(`no ${status} JSON schema for ${method} ${path}`);
  return schema;
}

beforeAll(async () => {
  h = await startHarness();
  base = h.collector.url;
  const a = await TestAgent.ready(h.wsUrl, 'kbh-1');
  await a.batch(1, [
    res({ seq: 1, ts: Date.now(), ok: false, status_code: 503, error: { code: 'http_status', message: 'status 503' } }),
    res({ seq: 2, system: 'virk', ts: Date.now(), tls_expiry: 1_790_000_000 }),
  ]);
  await a.close();
  // An operator's update and an announcement, so that their shapes are checked too.
  const admin = (path: string, body: unknown): Promise<Response> =>
    fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const [incident] = (await getJson(`${base}/api/v1/incidents`)).body.incidents as { id: number }[];
  expect((await admin(`/api/v1/incidents/${incident!.id}/updates`, { status: 'identified', message: { da: 'Fundet', en: 'Found' } })).status).toBe(201);
  expect((await admin('/api/v1/announcements', { systems: ['mitid'], kind: 'info', title: 'Nyt', body: 'Tekst', link: 'https://example.dk/' })).status).toBe(201);
  const r = await getJson(`${base}/api/v1/openapi.json`);
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8');
  doc = r.body as unknown as Doc;
});
afterAll(async () => {
  await h?.close();
});

describe('GET /api/v1/openapi.json', () => {
  it('is an OpenAPI 3.1 document with info, paths, schemas and a bearer scheme', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: 'vagt collector API', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(doc.components.securitySchemes).toEqual({
      adminToken: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      sourceToken: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    });
    expect(doc.components.schemas.Error).toMatchObject({
      required: ['error'],
      properties: { error: { required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } },
    });
    const ids = Object.values(doc.paths).flatMap((p) => Object.values(p).map((o) => o.operationId));
    expect(new Set(ids).size).toBe(ids.length);
    // Every $ref points at a schema the document has.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([A-Za-z]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(10);
    for (const name of refs) expect(doc.components.schemas[name], name).toBeDefined();
  });

  it('describes every /api/v1 route the router serves, with that method, and no other', () => {
    const routes = registered().filter((r) => r.pattern.startsWith('/api/v1/'));
    expect(routes.length).toBeGreaterThanOrEqual(17);
    const served = new Set(routes.map((r) => `${r.method.toLowerCase()} ${openApiPath(r.pattern)}`));
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`)));
    expect([...served].filter((x) => !documented.has(x)), 'registered but not documented').toEqual([]);
    expect([...documented].filter((x) => !served.has(x)), 'documented but not registered').toEqual([]);
    // And every operation described is served: a renamed route fails here, not silently.
    for (const o of OPERATIONS) expect(served.has(`${o.method.toLowerCase()} ${openApiPath(o.pattern)}`), `${o.method} ${o.pattern}`).toBe(true);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/systems/{id}', '/api/v1/systems/{id}/history', '/api/v1/incidents/{id}', '/api/v1/maintenance/{id}']));
    expect(Object.keys(doc.paths).some((p) => p.includes(':'))).toBe(false);
  });

  it('declares every path parameter, and parameters with name, in, schema and description', () => {
    for (const [path, ops] of Object.entries(doc.paths))
      for (const [method, o] of Object.entries(ops)) {
        const params = o.parameters ?? [];
        for (const p of params) expect(p, `${method} ${path}`).toEqual(expect.objectContaining({ name: expect.any(String), in: expect.stringMatching(/^(path|query)$/), schema: expect.any(Object), description: expect.any(String) }));
        const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        expect(params.filter((p) => p.in === 'path').map((p) => [p.name, p.required]), `${method} ${path}`).toEqual(inPath.map((n) => [n, true]));
        expect(Object.keys(o.responses).length, `${method} ${path}`).toBeGreaterThan(0);
      }
    expect(doc.paths['/api/v1/results']!.get!.parameters!.map((p) => p.name)).toEqual(['system', 'probe', 'agent', 'from', 'to', 'limit']);
  });

  it('puts the bearer scheme on the admin routes, and only there', () => {
    const secured = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([, o]) => o.security !== undefined)
        .map(([m]) => `${m} ${path}`),
    );
    expect(secured).toEqual(expect.arrayContaining(['post /api/v1/maintenance', 'delete /api/v1/maintenance/{id}', 'post /api/v1/reload']));
    // Changes need the admin token, and so does the list of subscribers' addresses.
    for (const s of secured) expect(s).toMatch(/^(post|delete) |^get \/api\/v1\/subscriptions$/);
    expect(doc.paths['/api/v1/reload']!.post!.security).toEqual([{ adminToken: [] }]);
    expect(Object.keys(doc.paths['/api/v1/reload']!.post!.responses)).toEqual(expect.arrayContaining(['200', '401', '403', '404', '409', '422']));
    expect(doc.paths['/api/v1/status']!.get!.security).toBeUndefined();
  });

  it('gives schemas that the real responses meet', async () => {
    const checks: [string, string][] = [
      ['/api/v1/status', '/api/v1/status'],
      ['/api/v1/systems/{id}', '/api/v1/systems/virk'],
      ['/api/v1/systems/{id}/history', '/api/v1/systems/mitid/history'],
      ['/api/v1/systems/{id}/uptime', '/api/v1/systems/mitid/uptime'],
      ['/api/v1/results', '/api/v1/results'],
      ['/api/v1/dependencies', '/api/v1/dependencies'],
      ['/api/v1/incidents', '/api/v1/incidents'],
      ['/api/v1/alerts', '/api/v1/alerts?state=all'],
      ['/api/v1/maintenance', '/api/v1/maintenance'],
      ['/api/v1/agents', '/api/v1/agents'],
      ['/api/v1/announcements', '/api/v1/announcements'],
    ];
    // Routes other parts serve, when they are there.
    if (doc.paths['/api/v1/systems/{id}/declaration'] !== undefined) checks.push(['/api/v1/systems/{id}/declaration', '/api/v1/systems/mitid/declaration']);
    for (const [path, url] of checks) {
      const r = await getJson(`${base}${url}`);
      expect([url, r.status]).toEqual([url, 200]);
      expect(validate(responseSchema(path, 'get', '200'), r.body), url).toEqual([]);
    }
    const incidents = (await getJson(`${base}/api/v1/incidents`)).body.incidents as { id: number }[];
    expect(incidents.length).toBeGreaterThan(0);
    const one = await getJson(`${base}/api/v1/incidents/${incidents[0]!.id}`);
    expect(validate(responseSchema('/api/v1/incidents/{id}', 'get', '200'), one.body)).toEqual([]);
    // Errors take the documented shape, and the checker does catch a mismatch.
    const missing = await getJson(`${base}/api/v1/systems/atlantis`);
    expect(validate(responseSchema('/api/v1/systems/{id}', 'get', '404'), missing.body)).toEqual([]);
    const bad = await getJson(`${base}/api/v1/results?limit=0`);
    expect(validate(responseSchema('/api/v1/results', 'get', '400'), bad.body)).toEqual([]);
    expect(validate(responseSchema('/api/v1/status', 'get', '200'), { systems: [{ id: 1 }] })).toEqual(
      expect.arrayContaining(['$: missing updated_at', '$.systems[0]: missing name', '$.systems[0].id: integer, expected string']),
    );
  });

  it('without the router, describes every operation it knows', () => {
    const all = openApiDocument() as unknown as Doc;
    expect(Object.values(all.paths).reduce((n, p) => n + Object.keys(p).length, 0)).toBe(OPERATIONS.length);
  });
});
