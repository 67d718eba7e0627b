// Two real local hosts for flow tests, shaped like a service provider and its login broker:
//
//   GET  sp/log-ind            302 -> idp/login?return=…     sets sp_state (on the sp host)
//   GET  idp/login             200 form with hidden csrf     sets idp_sid (on the idp host)
//   POST idp/login             401 wrong password, 403 bad csrf or no session
//                              302 -> sp/callback?code=…
//   GET  sp/callback?code=…    302 -> sp/min-side             needs sp_state; sets sp_session
//   GET  sp/min-side           200 "Velkommen, <name>"        needs sp_session
//   GET  sp/api/me             200 JSON                       needs sp_session
//
// The sp listens as http://127.0.0.1:PORT and the idp as http://localhost:PORT: two hosts, so the
// cookie jar must keep their cookies apart.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { flowProbe } from '../../config/schema.js';
import type { ProbeSpec } from '../../protocol/messages.js';
import { startHttp, type RunningHttp } from './servers.js';

export const USER = 'demo-bruger';
export const PASSWORD = 'hemmeligt-kodeord-42';

export interface LoginHosts {
  sp: RunningHttp;
  idp: RunningHttp;
  /** http://127.0.0.1:PORT */
  spUrl: string;
  /** http://localhost:PORT */
  idpUrl: string;
  close(): Promise<void>;
}

function cookies(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

const redirect = (res: ServerResponse, location: string, cookie?: string): void => {
  res.writeHead(302, { location, ...(cookie === undefined ? {} : { 'set-cookie': cookie }) }).end();
};

export async function startLoginHosts(): Promise<LoginHosts> {
  const idpSessions = new Map<string, string>(); // sid -> csrf
  const codes = new Set<string>();
  const spSessions = new Set<string>();
  const hosts: { spUrl: string; idpUrl: string } = { spUrl: '', idpUrl: '' };

  const sp = await startHttp((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sp');
    const c = cookies(req);
    if (url.pathname === '/log-ind') {
      const state = randomBytes(8).toString('hex');
      return redirect(res, `${hosts.idpUrl}/login?return=${encodeURIComponent(`${hosts.spUrl}/callback`)}`, `sp_state=${state}; Path=/; HttpOnly`);
    }
    if (url.pathname === '/callback') {
      const code = url.searchParams.get('code') ?? '';
      if (c.sp_state === undefined || !codes.delete(code)) return void res.writeHead(400).end('ugyldigt login');
      const session = randomBytes(8).toString('hex');
      spSessions.add(session);
      return redirect(res, '/min-side', `sp_session=${session}; Path=/; HttpOnly`);
    }
    if (!spSessions.has(c.sp_session ?? '')) return void res.writeHead(401).end('log ind først');
    if (url.pathname === '/min-side')
      return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<h1>Velkommen, ${USER}</h1>`);
    if (url.pathname === '/api/me')
      return void res
        .writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'req-77' })
        .end(JSON.stringify({ user: { name: USER, roles: ['borger'] }, messages: 3 }));
    res.writeHead(404).end();
  });

  const idp = await startHttp((req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://idp');
    const c = cookies(req);
    if (url.pathname !== '/login') return void res.writeHead(404).end();
    if (req.method === 'GET') {
      const sid = randomBytes(8).toString('hex');
      const csrf = randomBytes(12).toString('hex');
      idpSessions.set(sid, csrf);
      const ret = url.searchParams.get('return') ?? '';
      return void res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'set-cookie': `idp_sid=${sid}; Path=/; HttpOnly` })
        .end(
          `<html><body><form method="post" action="/login"><input type="hidden" name="csrf" value="${csrf}">` +
            `<input type="hidden" name="return" value="${ret}"><input name="user"><input name="password" type="password"></form></body></html>`,
        );
    }
    const form = new URLSearchParams(body);
    const expected = idpSessions.get(c.idp_sid ?? '');
    if (expected === undefined || form.get('csrf') !== expected) return void res.writeHead(403).end('ugyldig anmodning (csrf)');
    if (form.get('user') !== USER || form.get('password') !== PASSWORD)
      return void res.writeHead(401, { 'content-type': 'text/html' }).end(`<p>Forkert kodeord for ${form.get('user') ?? ''}</p>`);
    const code = randomBytes(8).toString('hex');
    codes.add(code);
    redirect(res, `${form.get('return') ?? ''}?code=${code}`);
  });

  hosts.spUrl = sp.url;
  hosts.idpUrl = idp.url.replace('127.0.0.1', 'localhost');
  return {
    sp,
    idp,
    ...hosts,
    close: async () => {
      await Promise.all([sp.close(), idp.close()]);
    },
  };
}

/** A flow probe spec with the schema's defaults, as the collector would assign it. */
export function flowSpec(input: Record<string, unknown>, timeout = 5000): ProbeSpec {
  return { ...flowProbe.parse({ id: 'login', type: 'flow', ...input }), system: 'test', interval: 60_000, retries: 0, timeout };
}

/** The three steps of a login: open the page, submit the form, read the API. */
export function loginSteps(h: LoginHosts, password = '${secret:TEST_PASSWORD}'): unknown[] {
  return [
    {
      name: 'open login page',
      request: { url: `${h.spUrl}/log-ind` },
      expect: { status: 200, body_contains: 'name="csrf"' },
      extract: { csrf: { css: 'input[name=csrf]', attr: 'value' }, back: { css: 'input[name=return]', attr: 'value' } },
    },
    {
      name: 'submit credentials',
      request: {
        method: 'POST',
        url: `${h.idpUrl}/login`,
        form: { user: '${secret:TEST_USER}', password, csrf: '{{csrf}}', return: '{{back}}' },
      },
      expect: { status: 200, body_contains: 'Velkommen' },
    },
    {
      name: 'read my page',
      request: { url: `${h.spUrl}/api/me` },
      expect: { status: 200, json: { '$.user.roles[0]': 'borger', '$.messages': 3 }, header: { 'content-type': '^application/json' } },
      extract: { name: { json: '$.user.name' }, request_id: { header: 'X-Request-Id' } },
    },
  ];
}
