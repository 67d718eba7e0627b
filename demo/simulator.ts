// The simulator of Danish public systems that `vagt demo` probes: one HTTP server per system on
// loopback (so origins differ and the login flow's redirects cross origins), plus a control
// endpoint for fault injection. Pages are rendered once; a request costs a timer and a write.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../lib/clock.js';
import { errorMessage, VagtError } from '../lib/errors.js';
import { createControlServer } from './control.js';
import { describeFault, normalizeFault, parseFault, UP, type Fault } from './faults.js';
import { html, json, type Reply } from './http-util.js';
import { LoginService, type LoginEnv } from './login.js';
import { errorPage, frontPage, logo, notFoundPage, script, serverErrorPage, stylesheet } from './pages.js';
import { CONTROL_PORT_OFFSET, DEMO_BASE_PORT, SYSTEMS, type SystemDef } from './systems.js';

export interface SimulatedSystem {
  id: string;
  name: string;
  description: string;
  /** The system's origin, e.g. http://127.0.0.1:9401 (no trailing slash). */
  url: string;
  port: number;
  fault: Fault;
}

export interface Simulator {
  /** A snapshot of every system, in catalogue order, with its current fault. */
  readonly systems: SimulatedSystem[];
  /** The origin of a system, e.g. http://127.0.0.1:9401; throws VAGT_ERR_NOT_FOUND for an unknown id. */
  urlOf(id: string): string;
  /** Sets a fault; takes effect at once for responses, a moment later for `down`/`up` listeners. */
  setFault(id: string, fault: Fault): void;
  /** As setFault, resolving once the change is in effect (the listener closed or reopened). */
  applyFault(id: string, fault: Fault): Promise<void>;
  close(): Promise<void>;
  /** The control endpoint's origin, e.g. http://127.0.0.1:9409. */
  readonly controlUrl: string;
}

export interface SimulatorOptions {
  host?: string;
  /** First port; systems get basePort..basePort+7 and the control endpoint basePort+8. 0 = ephemeral. */
  basePort?: number;
  faults?: Record<string, Fault>;
  /** Realistic response-time jitter (default true); tests may turn it off. */
  latency?: boolean;
  logger?: Logger;
  clock?: Clock;
}

interface StaticAsset {
  type: string;
  body: Buffer;
}

interface Runtime {
  def: SystemDef;
  server: Server;
  port: number;
  fault: Fault;
  listening: boolean;
  /** Listener transitions run one after another. */
  chain: Promise<void>;
  front: Buffer;
  notFound: Buffer;
  serverError: Buffer;
  assets: Map<string, StaticAsset>;
}

const NEMLOGIN = 'nemlog-in';
const MITID = 'mitid';

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

function stop(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Keep-alive and in-flight (slow) connections end now, as in a crash.
    server.closeAllConnections();
  });
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Usual latency, skewed towards the low end as real response times are. */
function jitter([lo, hi]: [number, number]): number {
  const r = Math.random();
  return lo + (hi - lo) * r * r;
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const host = opts.host ?? '127.0.0.1';
  const basePort = opts.basePort ?? DEMO_BASE_PORT;
  const withLatency = opts.latency ?? true;
  const log = opts.logger;
  const urlHost = hostForUrl(host);

  for (const [id, f] of Object.entries(opts.faults ?? {})) {
    if (!SYSTEMS.some((s) => s.id === id)) throw new VagtError('VAGT_ERR_ARGS', `unknown system "${id}" in faults`);
    const p = parseFault(f);
    if (!p.ok) throw new VagtError('VAGT_ERR_ARGS', `faults.${id}: ${p.error}`);
  }

  const runtimes = new Map<string, Runtime>();
  const rt = (id: string): Runtime => {
    const r = runtimes.get(id);
    if (r === undefined) {
      throw new VagtError('VAGT_ERR_NOT_FOUND', `unknown system "${id}"; expected one of ${[...runtimes.keys()].join(', ')}`);
    }
    return r;
  };
  const origin = (id: string): string => `http://${urlHost}:${rt(id).port}`;
  const available = (id: string): boolean => {
    const r = runtimes.get(id);
    return r !== undefined && r.fault.mode !== 'down' && r.fault.mode !== 'error';
  };

  const env: LoginEnv = {
    origin,
    def: (id) => rt(id).def,
    available,
    slowness: (id) => {
      const f = runtimes.get(id)?.fault;
      return f?.mode === 'slow' ? (f.latency_ms ?? 0) : 0;
    },
    clock: opts.clock ?? systemClock,
  };
  const login = new LoginService(
    env,
    SYSTEMS.filter((s) => s.login !== undefined).map((s) => s.id),
  );

  const route = async (r: Runtime, req: IncomingMessage): Promise<Reply> => {
    const url = new URL(req.url ?? '/', 'http://sim.invalid');
    const flow = await login.handle(r.def.id, req, url);
    if (flow !== undefined) return flow;
    const get = req.method === 'GET' || req.method === 'HEAD';
    const path = url.pathname;
    if (path === '/health') return get ? health(r) : methodNotAllowed(r);
    if (path === '/') return get ? html(200, r.front) : methodNotAllowed(r);
    const asset = r.assets.get(path);
    if (asset !== undefined) {
      if (!get) return methodNotAllowed(r);
      return { status: 200, headers: { 'content-type': asset.type, 'cache-control': 'public, max-age=300' }, body: asset.body };
    }
    return html(404, r.notFound);
  };

  const methodNotAllowed = (r: Runtime): Reply =>
    html(405, errorPage(r.def, 'Metoden er ikke tilladt', 'Denne adresse kan kun hentes (GET).'), { allow: 'GET, HEAD' });

  const health = (r: Runtime): Reply => {
    if (r.def.id !== NEMLOGIN) return json(200, { status: 'ok', system: r.def.id });
    // NemLog-in answers, but reports that it cannot authenticate without MitID.
    const mitid = available(MITID) ? 'ok' : 'unavailable';
    return json(200, { status: mitid === 'ok' ? 'ok' : 'degraded', system: r.def.id, checks: { mitid } });
  };

  const onRequest = (r: Runtime, req: IncomingMessage, res: ServerResponse): void => {
    const fault = r.fault;
    let delay = withLatency ? jitter(r.def.latency) : 0;
    if (fault.mode === 'slow') delay += fault.latency_ms ?? 0;
    const replied =
      fault.mode === 'error'
        ? Promise.resolve(html(500, r.serverError))
        : route(r, req).catch((err: unknown): Reply => {
            log?.warn({ system: r.def.id, err: errorMessage(err) }, 'demo: simulated system failed a request');
            return html(500, r.serverError);
          });
    void replied.then((reply) => {
      const send = (): void => {
        if (res.destroyed || res.headersSent) return;
        res.writeHead(reply.status, { 'x-simulated-system': r.def.id, ...reply.headers }).end(reply.body);
      };
      const wait = delay + (reply.delayMs ?? 0);
      if (wait < 1) return send();
      const t = setTimeout(send, wait);
      // A closed connection (client gone, or the system taken down) needs no answer.
      res.once('close', () => clearTimeout(t));
    });
  };

  // Start every server; on any failure, close what started and explain.
  const started: Server[] = [];
  try {
    for (const [i, def] of SYSTEMS.entries()) {
      const loginHref = def.id === NEMLOGIN ? '/login' : def.login !== undefined ? '/log-ind' : undefined;
      const r: Runtime = {
        def,
        server: createServer({ keepAliveTimeout: 5000 }),
        port: 0,
        fault: UP,
        listening: false,
        chain: Promise.resolve(),
        front: Buffer.from(frontPage(def, loginHref)),
        notFound: Buffer.from(notFoundPage(def)),
        serverError: Buffer.from(serverErrorPage(def)),
        assets: new Map([
          ['/assets/site.css', { type: 'text/css; charset=utf-8', body: Buffer.from(stylesheet(def)) }],
          ['/assets/site.js', { type: 'text/javascript; charset=utf-8', body: Buffer.from(script(def)) }],
          ['/assets/logo.svg', { type: 'image/svg+xml', body: Buffer.from(logo(def)) }],
        ]),
      };
      r.server.on('request', (req: IncomingMessage, res: ServerResponse) => onRequest(r, req, res));
      runtimes.set(def.id, r);
      const port = basePort === 0 ? 0 : basePort + i;
      try {
        r.port = await listen(r.server, port, host);
      } catch (err) {
        throw new Error(`cannot listen on ${urlHost}:${port} for ${def.name}: ${errorMessage(err)}` + portHint(basePort));
      }
      r.listening = true;
      started.push(r.server);
    }
  } catch (err) {
    await Promise.all(started.map(stop));
    throw err;
  }

  let closed = false;
  const applyFault = (id: string, fault: Fault): Promise<void> => {
    const r = rt(id);
    const p = parseFault(fault);
    if (!p.ok) return Promise.reject(new VagtError('VAGT_ERR_ARGS', `fault for ${id}: ${p.error}`));
    const f = normalizeFault(p.fault);
    // Responses see the new mode at once; the listener follows.
    r.fault = f;
    const next = r.chain.then(async () => {
      if (f.mode === 'down' && r.listening) {
        r.listening = false;
        await stop(r.server);
      } else if (f.mode !== 'down' && !r.listening && !closed) {
        await listen(r.server, r.port, host);
        r.listening = true;
      }
    });
    r.chain = next.catch(() => undefined);
    if (f.mode !== 'up') log?.info({ system: id, fault: describeFault(f) }, 'demo: fault injected');
    return next;
  };

  const list = (): SimulatedSystem[] =>
    [...runtimes.values()].map((r) => ({
      id: r.def.id,
      name: r.def.name,
      description: r.def.description,
      url: origin(r.def.id),
      port: r.port,
      fault: { ...r.fault },
    }));

  const control = createControlServer({ list, apply: applyFault }, log);
  const controlPort = basePort === 0 ? 0 : basePort + CONTROL_PORT_OFFSET;
  let controlPortActual: number;
  try {
    controlPortActual = await listen(control, controlPort, host);
  } catch (err) {
    await Promise.all(started.map(stop));
    throw new Error(`cannot listen on ${urlHost}:${controlPort} for the control endpoint: ${errorMessage(err)}` + portHint(basePort));
  }

  for (const [id, f] of Object.entries(opts.faults ?? {})) await applyFault(id, f);

  return {
    get systems() {
      return list();
    },
    urlOf: origin,
    setFault(id, fault) {
      // Unknown ids and bad faults throw here, synchronously.
      rt(id);
      const p = parseFault(fault);
      if (!p.ok) throw new VagtError('VAGT_ERR_ARGS', `fault for ${id}: ${p.error}`);
      applyFault(id, fault).catch((err: unknown) => {
        log?.error({ system: id, err: errorMessage(err) }, 'demo: could not apply fault');
      });
    },
    applyFault,
    controlUrl: `http://${urlHost}:${controlPortActual}`,
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...runtimes.values()].map((r) => r.chain));
      await Promise.all([
        stop(control),
        ...[...runtimes.values()].filter((r) => r.listening).map((r) => ((r.listening = false), stop(r.server))),
      ]);
    },
  };
}

function portHint(basePort: number): string {
  return basePort === 0 ? '' : ' (is another vagt demo running? choose other ports with --base-port)';
}
