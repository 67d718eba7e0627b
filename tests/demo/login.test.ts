// The simulated login flow end to end, walked by a cookie-keeping client that follows redirects
// by hand: borger.dk -> NemLog-in (csrf, session cookie) -> MitID -> NemLog-in -> borger.dk.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../demo/simulator.js';
import { Browser, csrfOf } from './browser.js';

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ basePort: 0, latency: false });
});
afterAll(async () => {
  await sim?.close();
});

/** Opens borger.dk's login and returns the NemLog-in form page. */
async function openLogin(b: Browser, from = 'borger-dk'): Promise<{ csrf: string; loginUrl: string; body: string }> {
  const page = await b.go(`${sim.urlOf(from)}/log-ind`);
  expect(page.status).toBe(200);
  expect(new URL(page.url).origin).toBe(sim.urlOf('nemlog-in'));
  return { csrf: csrfOf(page.body), loginUrl: `${sim.urlOf('nemlog-in')}/login`, body: page.body };
}

describe('login flow', () => {
  it('logs in through NemLog-in and MitID and lands on borger.dk "Min side"', async () => {
    const b = new Browser();
    const { csrf, loginUrl, body } = await openLogin(b);
    expect(body).toContain('<html lang="da">');
    expect(body).toContain('Log på med MitID');
    expect(b.cookies(sim.urlOf('nemlog-in')).has('nemlogin_sid')).toBe(true);

    const done = await b.go(loginUrl, { method: 'POST', form: { user: 'demo', password: 'demo1234', csrf } });
    expect(done.status).toBe(200);
    expect(done.url).toBe(`${sim.urlOf('borger-dk')}/min-side`);
    expect(done.body).toContain('Velkommen, Demo Jensen');
    // The redirects crossed origins: NemLog-in -> MitID -> NemLog-in -> borger.dk.
    const origins = done.hops.map((h) => new URL(h).origin);
    expect(origins).toEqual([
      sim.urlOf('nemlog-in'),
      sim.urlOf('mitid'),
      sim.urlOf('nemlog-in'),
      sim.urlOf('borger-dk'),
      sim.urlOf('borger-dk'),
    ]);
    expect(done.hops[1]).toContain('/authorize?');
    expect(b.cookies(sim.urlOf('borger-dk')).has('borger_dk_sid')).toBe(true);
    // NemLog-in's login session is spent once the user is handed back.
    expect(b.cookies(sim.urlOf('nemlog-in')).has('nemlogin_sid')).toBe(false);

    // borger.dk's own session now holds; logging out ends it.
    expect((await b.go(`${sim.urlOf('borger-dk')}/min-side`)).body).toContain('Velkommen');
    await b.go(`${sim.urlOf('borger-dk')}/log-ud`);
    const after = await b.go(`${sim.urlOf('borger-dk')}/min-side`, { follow: false });
    expect(after.status).toBe(302);
    expect(after.headers.get('location')).toBe('/log-ind');
  });

  it('works the same for Digital Post, with its own session', async () => {
    const b = new Browser();
    const { csrf, loginUrl } = await openLogin(b, 'digital-post');
    const done = await b.go(loginUrl, { method: 'POST', form: { user: 'demo', password: 'demo1234', csrf } });
    expect(done.url).toBe(`${sim.urlOf('digital-post')}/min-side`);
    expect(done.body).toContain('Velkommen, Demo Jensen');
    expect(done.body).toContain('Årsopgørelse');
    // Not logged in at borger.dk.
    const borger = await b.go(`${sim.urlOf('borger-dk')}/min-side`, { follow: false });
    expect(borger.status).toBe(302);
  });

  it('refuses a wrong or missing csrf token with 403', async () => {
    const b = new Browser();
    const { loginUrl } = await openLogin(b);
    const wrong = await b.go(loginUrl, { method: 'POST', form: { user: 'demo', password: 'demo1234', csrf: 'forfalsket' } });
    expect(wrong.status).toBe(403);
    expect(wrong.body).toContain('Ugyldig anmodning');
    const missing = await b.go(loginUrl, { method: 'POST', form: { user: 'demo', password: 'demo1234' } });
    expect(missing.status).toBe(403);

    // A valid token from another session does not help without that session's cookie.
    const other = new Browser();
    const { csrf: otherCsrf } = await openLogin(other);
    const crossed = await b.go(loginUrl, { method: 'POST', form: { user: 'demo', password: 'demo1234', csrf: otherCsrf } });
    expect(crossed.status).toBe(403);
    const noCookie = await new Browser().go(loginUrl, { method: 'POST', form: { user: 'demo', password: 'demo1234', csrf: otherCsrf } });
    expect(noCookie.status).toBe(403);
  });

  it('refuses a wrong password with 401 and a Danish message, and accepts a retry', async () => {
    const b = new Browser();
    const { csrf, loginUrl } = await openLogin(b);
    const bad = await b.go(loginUrl, { method: 'POST', form: { user: 'demo', password: 'forkert', csrf } });
    expect(bad.status).toBe(401);
    expect(bad.body).toContain('Forkert bruger-ID eller adgangskode');
    expect(bad.body).toContain('lang="da"');

    const retry = await b.go(loginUrl, { method: 'POST', form: { user: 'demo', password: 'demo1234', csrf: csrfOf(bad.body) } });
    expect(retry.status).toBe(200);
    expect(retry.body).toContain('Velkommen, Demo Jensen');
  });

  it('rejects replayed codes and foreign return addresses', async () => {
    const b = new Browser();
    const { csrf, loginUrl } = await openLogin(b);
    const done = await b.go(loginUrl, { method: 'POST', form: { user: 'demo', password: 'demo1234', csrf } });
    const callback = done.hops.find((h) => h.includes('/log-ind/callback'));
    expect(callback).toBeDefined();
    const replay = await new Browser().go(callback!);
    expect(replay.status).toBe(400);
    expect(replay.body).toContain('Log-in mislykkedes');

    const evil = await new Browser().go(
      `${sim.urlOf('nemlog-in')}/login?returnUrl=${encodeURIComponent('http://evil.example/log-ind/callback')}`,
    );
    expect(evil.status).toBe(400);

    const forged = await new Browser().go(`${sim.urlOf('mitid')}/authorize?client_id=nemlog-in&request_uri=urn:x`);
    expect(forged.status).toBe(400);
  });

  it('opens the NemLog-in login page directly, returning to borger.dk by default', async () => {
    const b = new Browser();
    const form = await b.go(`${sim.urlOf('nemlog-in')}/login`);
    expect(form.status).toBe(200);
    const done = await b.go(`${sim.urlOf('nemlog-in')}/login`, {
      method: 'POST',
      form: { user: 'demo', password: 'demo1234', csrf: csrfOf(form.body) },
    });
    expect(done.url).toBe(`${sim.urlOf('borger-dk')}/min-side`);
  });
});

describe('login flow with MitID unavailable', () => {
  it('fails at NemLog-in with 503 while its front page stays up', async () => {
    const b = new Browser();
    // A form opened before the outage cannot be submitted during it either.
    const { csrf, loginUrl } = await openLogin(b);
    await sim.applyFault('mitid', { mode: 'down' });
    try {
      const front = await b.go(`${sim.urlOf('nemlog-in')}/`);
      expect(front.status).toBe(200);
      expect(front.body).toContain('NemLog-in');

      const login = await b.go(`${sim.urlOf('borger-dk')}/log-ind`);
      expect(login.status).toBe(503);
      expect(new URL(login.url).origin).toBe(sim.urlOf('nemlog-in'));
      expect(login.body).toContain('NemLog-in er ikke tilgængelig');
      expect(login.body).toContain('lang="da"');

      const submit = await b.go(loginUrl, { method: 'POST', form: { user: 'demo', password: 'demo1234', csrf } });
      expect(submit.status).toBe(503);

      const health = await fetch(`${sim.urlOf('nemlog-in')}/health`);
      expect(await health.json()).toMatchObject({ status: 'degraded', checks: { mitid: 'unavailable' } });
    } finally {
      await sim.applyFault('mitid', { mode: 'up' });
    }
    const again = await b.go(`${sim.urlOf('borger-dk')}/log-ind`);
    expect(again.status).toBe(200);
  });

  it('fails the same way while MitID answers 500', async () => {
    await sim.applyFault('mitid', { mode: 'error' });
    try {
      const login = await new Browser().go(`${sim.urlOf('nemlog-in')}/login`);
      expect(login.status).toBe(503);
    } finally {
      await sim.applyFault('mitid', { mode: 'up' });
    }
  });

  it('is slow while MitID is slow', async () => {
    await sim.applyFault('mitid', { mode: 'slow', latency_ms: 300 });
    try {
      const t0 = performance.now();
      const login = await new Browser().go(`${sim.urlOf('nemlog-in')}/login`);
      expect(login.status).toBe(200);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(240);
    } finally {
      await sim.applyFault('mitid', { mode: 'up' });
    }
  });
});
