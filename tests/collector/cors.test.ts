// CORS over a real socket: the public, read-only surface is readable from any origin, preflights for
// it are answered, and nothing else (the admin routes above all) gets a CORS allowance.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startHarness, type Harness } from './helpers.js';

let h: Harness;
const ORIGIN = 'https://portal.example.org';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request, so that Origin and the preflight headers go out exactly as written. */
function call(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(`${h.collector.url}${path}`, { method, headers: { origin: ORIGIN, ...headers } }, (r) => {
      let text = '';
      r.setEncoding('utf8').on('data', (c: string) => (text += c));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, headers: r.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const preflight = (path: string, method: string, headers = 'accept-language'): Promise<Reply> =>
  call('OPTIONS', path, { 'access-control-request-method': method, 'access-control-request-headers': headers });

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('CORS on the public, read-only surface', () => {
  it('GET and HEAD of the API, the summary, the feed, badges and the widget allow any origin, without credentials', async () => {
    for (const path of ['/api/v1/status', '/api/v1/systems/mitid', '/api/v1/openapi.json', '/api/v2/summary.json', '/feed.atom', '/badge/mitid.svg', '/widget.js']) {
      for (const method of ['GET', 'HEAD']) {
        const r = await call(method, path);
        expect([path, method, r.headers['access-control-allow-origin']]).toEqual([path, method, '*']);
        expect(r.headers['access-control-allow-credentials']).toBeUndefined();
      }
    }
    const status = await call('GET', '/api/v1/status');
    expect(status.status).toBe(200);
    expect((JSON.parse(status.body) as { systems: { id: string }[] }).systems.map((s) => s.id)).toEqual(['mitid', 'virk']);
  });

  it('an error from a public path is readable cross-origin too, so a page can show it', async () => {
    const r = await call('GET', '/api/v1/systems/atlantis');
    expect(r.status).toBe(404);
    expect(r.headers['access-control-allow-origin']).toBe('*');
    expect(JSON.parse(r.body)).toEqual({ error: { code: 'not_found', message: 'no system with id "atlantis"' } });
  });

  it('answers a preflight for GET with 204, the methods, the safe requested headers and a day of max-age', async () => {
    for (const path of ['/api/v1/status', '/api/v1/incidents/7', '/api/v2/summary.json', '/feed.atom']) {
      const r = await preflight(path, 'GET', 'Accept-Language, Authorization, X-Requested-With, Cookie');
      expect(r.status).toBe(204);
      expect(r.body).toBe('');
      expect(r.headers['access-control-allow-origin']).toBe('*');
      expect(r.headers['access-control-allow-methods']).toBe('GET, HEAD, OPTIONS');
      // Authorization and Cookie are not echoed: a cross-origin reader gets public data only.
      expect(r.headers['access-control-allow-headers']).toBe('accept-language, x-requested-with');
      expect(r.headers['access-control-max-age']).toBe('86400');
      expect(r.headers['access-control-allow-credentials']).toBeUndefined();
    }
    const head = await preflight('/api/v1/agents', 'HEAD', '');
    expect([head.status, head.headers['access-control-allow-headers']]).toEqual([204, undefined]);
  });
});

describe('no CORS allowance elsewhere', () => {
  it('a preflight asking for POST or DELETE, even on an API path, gets no allowance', async () => {
    for (const [path, method] of [
      ['/api/v1/maintenance', 'POST'],
      ['/api/v1/maintenance/mw-1', 'DELETE'],
      ['/api/v1/reload', 'POST'],
      ['/api/v1/status', 'PUT'],
    ] as const) {
      const r = await preflight(path, method);
      expect([path, r.status]).toEqual([path, 405]);
      expect(r.headers['access-control-allow-origin']).toBeUndefined();
      expect(r.headers['access-control-allow-methods']).toBeUndefined();
      expect((JSON.parse(r.body) as { error: { code: string } }).error.code).toBe('method_not_allowed');
    }
    // /api/v1/reload answers POST only: no preflight for GET either.
    expect((await preflight('/api/v1/reload', 'GET')).headers['access-control-allow-origin']).toBeUndefined();
  });

  it('OPTIONS and GET of paths outside the public surface carry no CORS headers', async () => {
    for (const path of ['/', '/metrics', '/healthz']) {
      const get = await call('GET', path);
      expect([path, get.status, get.headers['access-control-allow-origin']]).toEqual([path, 200, undefined]);
      const pre = await preflight(path, 'GET');
      expect([path, pre.status, pre.headers['access-control-allow-origin']]).toEqual([path, 405, undefined]);
    }
    expect((await preflight('/api/v1/nothing-here', 'GET')).headers['access-control-allow-origin']).toBeUndefined();
  });

  it('admin calls with an Origin work for a script, but a browser may not read them cross-origin', async () => {
    const body = JSON.stringify({ systems: ['mitid'], start: new Date(Date.now() + 3_600_000).toISOString(), end: new Date(Date.now() + 7_200_000).toISOString(), title: 'Test' });
    const post = await call('POST', '/api/v1/maintenance', { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body);
    expect(post.status).toBe(201);
    expect(post.headers['access-control-allow-origin']).toBeUndefined();
    expect(post.headers['access-control-allow-credentials']).toBeUndefined();
    const id = (JSON.parse(post.body) as { id: string }).id;
    const del = await call('DELETE', `/api/v1/maintenance/${id}`, { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect([del.status, del.headers['access-control-allow-origin']]).toEqual([204, undefined]);
    const reload = await call('POST', '/api/v1/reload', { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect([reload.status, reload.headers['access-control-allow-origin']]).toEqual([409, undefined]);
  });
});
