// The simulator's control endpoint: a tiny JSON API on its own port (9409 in the demo), so faults
// can be injected while the demo runs. It stays up whatever the simulated systems do.
//
//   GET    /systems                  every system with its URL and current fault
//   GET    /systems/{id}             one system
//   POST   /systems/{id}/fault       body {"mode":"down"|"slow"|"error"|"up","latency_ms":3000}
//   DELETE /systems/{id}/fault       back to up
//   POST   /reset                    every system back to up
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { errorMessage } from '../lib/errors.js';
import { parseFault, UP, type Fault } from './faults.js';
import { BodyTooLarge, json, readBody, type Reply } from './http-util.js';

export interface ControlTarget {
  list(): { id: string; name: string; url: string; port: number; fault: Fault }[];
  apply(id: string, fault: Fault): Promise<void>;
}

const HELP = {
  service: 'vagt demo simulator control endpoint',
  endpoints: [
    'GET /systems',
    'GET /systems/{id}',
    'POST /systems/{id}/fault {"mode":"down"|"slow"|"error"|"up","latency_ms":3000}',
    'DELETE /systems/{id}/fault',
    'POST /reset',
  ],
};

const problem = (status: number, message: string): Reply => json(status, { error: message });

async function route(target: ControlTarget, req: IncomingMessage, log: Logger | undefined): Promise<Reply> {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const method = req.method ?? 'GET';
  const segs = path.split('/').filter((s) => s !== '');
  const methodNotAllowed = (allow: string): Reply => {
    const r = problem(405, `method ${method} not allowed here; use ${allow}`);
    r.headers.allow = allow;
    return r;
  };

  if (segs.length === 0) return method === 'GET' || method === 'HEAD' ? json(200, HELP) : methodNotAllowed('GET');

  if (segs[0] === 'reset' && segs.length === 1) {
    if (method !== 'POST') return methodNotAllowed('POST');
    await Promise.all(target.list().map((s) => target.apply(s.id, UP)));
    log?.info('demo: every simulated system reset to up');
    return json(200, { systems: target.list() });
  }

  if (segs[0] !== 'systems' || segs.length > 3) return problem(404, `no such endpoint: ${path}; see GET /`);
  if (segs.length === 1) {
    return method === 'GET' || method === 'HEAD' ? json(200, { systems: target.list() }) : methodNotAllowed('GET');
  }
  const id = decodeURIComponent(segs[1] ?? '');
  const sys = target.list().find((s) => s.id === id);
  if (sys === undefined) {
    return problem(404, `unknown system "${id}"; expected one of ${target.list().map((s) => s.id).join(', ')}`);
  }
  if (segs.length === 2) return method === 'GET' || method === 'HEAD' ? json(200, sys) : methodNotAllowed('GET');
  if (segs[2] !== 'fault') return problem(404, `no such endpoint: ${path}; see GET /`);

  let fault: Fault;
  if (method === 'DELETE') {
    fault = UP;
  } else if (method === 'POST' || method === 'PUT') {
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req, 4096));
    } catch (err) {
      if (err instanceof BodyTooLarge) return problem(413, 'body too large; expected {"mode":"down"}');
      return problem(400, 'body is not valid JSON; expected {"mode":"down"}');
    }
    const parsed = parseFault(body);
    if (!parsed.ok) return problem(400, parsed.error);
    fault = parsed.fault;
  } else {
    return methodNotAllowed('POST, DELETE');
  }
  await target.apply(id, fault);
  log?.info({ system: id, fault }, 'demo: fault set');
  return json(200, target.list().find((s) => s.id === id));
}

export function createControlServer(target: ControlTarget, log?: Logger): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    route(target, req, log).then(
      (r) => {
        if (!res.destroyed) res.writeHead(r.status, r.headers).end(r.body);
      },
      (err: unknown) => {
        log?.warn({ err: errorMessage(err) }, 'demo control: request failed');
        const r = problem(500, `could not apply: ${errorMessage(err)}`);
        if (!res.destroyed) res.writeHead(r.status, r.headers).end(r.body);
      },
    );
  });
}
