// The simulated login flow, shaped like the real one (OIDC with pushed authorization requests):
//
//   borger.dk /log-ind  --302-->  NemLog-in /login?returnUrl=…   form with hidden csrf + session cookie
//   POST NemLog-in /login (user, password, csrf)                 403 bad csrf, 401 wrong password,
//                                                                503 when MitID is unavailable
//        --302-->  MitID /authorize?request_uri=…                (refused when MitID is down)
//        --302-->  NemLog-in /callback?code=…&state=…            code redeemed with MitID
//        --302-->  borger.dk /log-ind/callback?code=…            sets borger.dk's own session
//        --302-->  borger.dk /min-side                           "Velkommen, Demo Jensen"
//
// Every service provider in the catalogue with `login` (borger.dk, Digital Post, NemKonto, Virk,
// Sundhed.dk) works the same way. Back-channel calls (code redemption) are in-process, but they
// honour the simulated faults: NemLog-in cannot authenticate while MitID is down or failing.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Clock } from '../lib/clock.js';
import {
  BodyTooLarge,
  ExpiringMap,
  clearCookie,
  html,
  parseCookies,
  readBody,
  redirect,
  sessionCookie,
  type Reply,
} from './http-util.js';
import { errorPage, loginForm, welcomePage } from './pages.js';
import { DEMO_USER, type SystemDef } from './systems.js';

/** What the login flow needs to know about the running simulator. */
export interface LoginEnv {
  origin(id: string): string;
  def(id: string): SystemDef;
  /** False while the system is down or failing (fault `down` or `error`). */
  available(id: string): boolean;
  /** The injected latency of a slow system, ms (0 otherwise). */
  slowness(id: string): number;
  clock: Clock;
}

interface NemloginSession {
  csrf: string;
  /** Service provider that asked for the login, and where to send the user back. */
  sp: string;
  returnUrl: string;
  /** Set once the credentials are accepted: the OIDC `state` sent to MitID. */
  state?: string;
  user?: string;
}

const SESSION_TTL = 30 * 60_000;
const CODE_TTL = 60_000;
const MAX_ENTRIES = 10_000;
const NL = 'nemlog-in';
const MITID = 'mitid';
const NL_COOKIE = 'nemlogin_sid';

const token = (): string => randomBytes(18).toString('base64url');

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Cookie names differ per system: a browser shares cookies across ports of one host. */
export function spCookieName(id: string): string {
  return `${id.replace(/-/g, '_')}_sid`;
}

export class LoginService {
  private readonly nlSessions: ExpiringMap<NemloginSession>;
  /** MitID's pushed authorization requests: request_uri -> state and user. */
  private readonly mitidRequests: ExpiringMap<{ state: string; user: string }>;
  private readonly mitidCodes: ExpiringMap<{ state: string; user: string }>;
  /** NemLog-in's codes for service providers: code -> user and the provider it was issued to. */
  private readonly spCodes: ExpiringMap<{ sp: string; user: string }>;
  private readonly spSessions = new Map<string, ExpiringMap<string>>();

  constructor(
    private readonly env: LoginEnv,
    private readonly providers: readonly string[],
  ) {
    const c = env.clock;
    this.nlSessions = new ExpiringMap(MAX_ENTRIES, SESSION_TTL, c);
    this.mitidRequests = new ExpiringMap(MAX_ENTRIES, CODE_TTL, c);
    this.mitidCodes = new ExpiringMap(MAX_ENTRIES, CODE_TTL, c);
    this.spCodes = new ExpiringMap(MAX_ENTRIES, CODE_TTL, c);
    for (const p of providers) this.spSessions.set(p, new ExpiringMap(MAX_ENTRIES, SESSION_TTL, c));
  }

  /** Routes of the login flow for system `id`, or undefined when the path is not one of them. */
  async handle(id: string, req: IncomingMessage, url: URL): Promise<Reply | undefined> {
    const get = req.method === 'GET' || req.method === 'HEAD';
    const path = url.pathname;
    if (id === NL) {
      if (path === '/login' && get) return this.nlLoginPage(url);
      if (path === '/login' && req.method === 'POST') return this.nlLoginSubmit(req);
      if (path === '/callback' && get) return this.nlCallback(req, url);
    } else if (id === MITID) {
      if (path === '/authorize' && get) return this.mitidAuthorize(url);
    } else if (this.spSessions.has(id) && get) {
      if (path === '/log-ind') return this.spStart(id);
      if (path === '/log-ind/callback') return this.spCallback(id, url);
      if (path === '/min-side') return this.spMySide(id, req);
      if (path === '/log-ud') return this.spLogout(id, req);
    }
    return undefined;
  }

  // ---- service providers (borger.dk, Digital Post, ...) -----------------------------------------

  private spStart(id: string): Reply {
    const returnUrl = `${this.env.origin(id)}/log-ind/callback`;
    return redirect(`${this.env.origin(NL)}/login?returnUrl=${encodeURIComponent(returnUrl)}`);
  }

  private spCallback(id: string, url: URL): Reply {
    const sys = this.env.def(id);
    // Redeeming the code is a back-channel call to NemLog-in.
    if (!this.env.available(NL)) return this.unavailable(sys, 'NemLog-in', 'Log-in er ikke tilgængelig');
    const code = url.searchParams.get('code') ?? '';
    const grant = this.spCodes.take(code);
    if (grant === undefined || grant.sp !== id) {
      return html(400, errorPage(sys, 'Log-in mislykkedes', 'Log-in kunne ikke gennemføres. Prøv at logge på igen.'));
    }
    const sid = token();
    this.spSessions.get(id)?.set(sid, grant.user);
    return redirect('/min-side', { 'set-cookie': sessionCookie(spCookieName(id), sid) });
  }

  private spMySide(id: string, req: IncomingMessage): Reply {
    const sid = parseCookies(req.headers.cookie).get(spCookieName(id));
    const user = sid === undefined ? undefined : this.spSessions.get(id)?.get(sid);
    if (user === undefined) return redirect('/log-ind');
    const sys = this.env.def(id);
    const name = user === DEMO_USER.user ? DEMO_USER.name : user;
    return html(200, welcomePage(sys, name, sys.login?.welcome ?? '', sys.login?.items ?? []));
  }

  private spLogout(id: string, req: IncomingMessage): Reply {
    const sid = parseCookies(req.headers.cookie).get(spCookieName(id));
    if (sid !== undefined) this.spSessions.get(id)?.delete(sid);
    return redirect('/', { 'set-cookie': clearCookie(spCookieName(id)) });
  }

  // ---- NemLog-in --------------------------------------------------------------------------------

  /** The provider a returnUrl belongs to; only the simulated providers' callbacks are allowed. */
  private providerOf(returnUrl: string): string | undefined {
    let u: URL;
    try {
      u = new URL(returnUrl);
    } catch {
      return undefined;
    }
    if (u.pathname !== '/log-ind/callback') return undefined;
    return this.providers.find((p) => this.env.origin(p) === u.origin);
  }

  private nlLoginPage(url: URL): Reply {
    const sys = this.env.def(NL);
    if (!this.env.available(MITID)) return this.unavailable(sys, 'MitID');
    // Without a returnUrl (someone opened the login page directly), borger.dk is the default.
    const fallback = this.providers.includes('borger-dk') ? 'borger-dk' : this.providers[0];
    const returnUrl =
      url.searchParams.get('returnUrl') ?? (fallback === undefined ? '' : `${this.env.origin(fallback)}/log-ind/callback`);
    const sp = this.providerOf(returnUrl);
    if (sp === undefined) {
      return html(400, errorPage(sys, 'Ugyldig anmodning', 'Returadressen er ikke tilknyttet NemLog-in.'));
    }
    const sid = token();
    const csrf = token();
    this.nlSessions.set(sid, { csrf, sp, returnUrl });
    return this.withMitidLatency(html(200, loginForm(sys, csrf), { 'set-cookie': sessionCookie(NL_COOKIE, sid) }));
  }

  private async nlLoginSubmit(req: IncomingMessage): Promise<Reply> {
    const sys = this.env.def(NL);
    let form: URLSearchParams;
    try {
      form = new URLSearchParams(await readBody(req));
    } catch (err) {
      if (err instanceof BodyTooLarge) return html(413, errorPage(sys, 'Ugyldig anmodning', 'Formularen er for stor.'));
      throw err;
    }
    const sid = parseCookies(req.headers.cookie).get(NL_COOKIE);
    const session = sid === undefined ? undefined : this.nlSessions.get(sid);
    const csrf = form.get('csrf') ?? '';
    if (sid === undefined || session === undefined || !sameSecret(csrf, session.csrf)) {
      return html(
        403,
        errorPage(sys, 'Ugyldig anmodning', 'Din session er udløbet, eller formularen er ugyldig. Gå tilbage og log på igen.'),
      );
    }
    if (!this.env.available(MITID)) return this.unavailable(sys, 'MitID');
    const user = form.get('user') ?? '';
    const password = form.get('password') ?? '';
    if (user !== DEMO_USER.user || !sameSecret(password, DEMO_USER.password)) {
      return this.withMitidLatency(html(401, loginForm(sys, session.csrf, 'Forkert bruger-ID eller adgangskode. Prøv igen.')));
    }
    // Pushed authorization request to MitID (back channel), then the browser goes to MitID.
    const state = token();
    const requestUri = `urn:mitid:request:${token()}`;
    this.mitidRequests.set(requestUri, { state, user });
    this.nlSessions.set(sid, { ...session, state, user });
    const q = new URLSearchParams({ client_id: 'nemlog-in', request_uri: requestUri });
    return this.withMitidLatency(redirect(`${this.env.origin(MITID)}/authorize?${q.toString()}`));
  }

  private nlCallback(req: IncomingMessage, url: URL): Reply {
    const sys = this.env.def(NL);
    const sid = parseCookies(req.headers.cookie).get(NL_COOKIE);
    const session = sid === undefined ? undefined : this.nlSessions.get(sid);
    const state = url.searchParams.get('state') ?? '';
    if (sid === undefined || session?.state === undefined || !sameSecret(state, session.state)) {
      return html(403, errorPage(sys, 'Ugyldig anmodning', 'Log-in kunne ikke gennemføres. Prøv at logge på igen.'));
    }
    // Redeeming MitID's code is a back-channel call: it fails while MitID is unavailable.
    if (!this.env.available(MITID)) return this.unavailable(sys, 'MitID');
    const grant = this.mitidCodes.take(url.searchParams.get('code') ?? '');
    if (grant === undefined || grant.state !== session.state) {
      return html(403, errorPage(sys, 'Ugyldig anmodning', 'Log-in kunne ikke gennemføres. Prøv at logge på igen.'));
    }
    this.nlSessions.delete(sid);
    const code = token();
    this.spCodes.set(code, { sp: session.sp, user: grant.user });
    const sep = session.returnUrl.includes('?') ? '&' : '?';
    return this.withMitidLatency(
      redirect(`${session.returnUrl}${sep}code=${encodeURIComponent(code)}`, { 'set-cookie': clearCookie(NL_COOKIE) }),
    );
  }

  // ---- MitID ------------------------------------------------------------------------------------

  private mitidAuthorize(url: URL): Reply {
    const sys = this.env.def(MITID);
    const req = this.mitidRequests.take(url.searchParams.get('request_uri') ?? '');
    if (url.searchParams.get('client_id') !== 'nemlog-in' || req === undefined) {
      return html(400, errorPage(sys, 'Ugyldig anmodning', 'Anmodningen om log-in er ugyldig eller udløbet.'));
    }
    // The user approves in the MitID app; the simulation approves at once.
    const code = token();
    this.mitidCodes.set(code, req);
    const q = new URLSearchParams({ code, state: req.state });
    return redirect(`${this.env.origin(NL)}/callback?${q.toString()}`);
  }

  // ---- helpers ----------------------------------------------------------------------------------

  private unavailable(sys: SystemDef, dependency: string, heading = `${sys.name} er ikke tilgængelig`): Reply {
    return html(
      503,
      errorPage(
        sys,
        heading,
        `${sys.name} kan ikke gennemføre log-in lige nu, fordi ${dependency} ikke svarer. Prøv igen senere.`,
      ),
      { 'retry-after': '60' },
    );
  }

  /** NemLog-in waits on MitID in every step, so a slow MitID makes the login slow. */
  private withMitidLatency(r: Reply): Reply {
    const extra = this.env.slowness(MITID);
    return extra > 0 ? { ...r, delayMs: (r.delayMs ?? 0) + extra } : r;
  }
}
