// The simulated systems on ephemeral ports: Danish pages with sub-resources, health endpoints,
// and fault injection through the control endpoint, startSimulator({ faults }) and setFault.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type SimulatedSystem, type Simulator } from '../../demo/simulator.js';

/** Resolves with the connection error code, or 'connected'. */
function tryConnect(url: string): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = connect(Number(u.port), u.hostname);
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

interface ControlBody extends Partial<SimulatedSystem> {
  error?: string;
  systems: SimulatedSystem[];
  endpoints: string[];
}

async function control(sim: Simulator, path: string, method = 'GET', body?: unknown): Promise<{ status: number; json: ControlBody }> {
  const res = await fetch(sim.controlUrl + path, {
    method,
    ...(body === undefined
      ? {}
      : { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: res.status, json: (await res.json()) as ControlBody };
}

async function timed(url: string): Promise<{ ms: number; status: number }> {
  const t0 = performance.now();
  const res = await fetch(url);
  await res.arrayBuffer();
  return { ms: performance.now() - t0, status: res.status };
}

describe('simulated systems', () => {
  let sim: Simulator;
  beforeAll(async () => {
    // Realistic latency on: the jitter path is exercised too.
    sim = await startSimulator({ basePort: 0 });
  });
  afterAll(async () => {
    await sim?.close();
  });

  it('runs the eight systems on distinct loopback ports', () => {
    expect(sim.systems.map((s) => s.id)).toEqual([
      'mitid',
      'nemlog-in',
      'borger-dk',
      'digital-post',
      'nemkonto',
      'virk',
      'sundhed-dk',
      'eindkomst',
    ]);
    const origins = new Set(sim.systems.map((s) => s.url));
    expect(origins.size).toBe(8);
    for (const s of sim.systems) {
      expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(sim.urlOf(s.id)).toBe(s.url);
      expect(s.fault).toEqual({ mode: 'up' });
    }
    expect(sim.controlUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(() => sim.urlOf('skat')).toThrow(/unknown system "skat"/);
  });

  it('serves a Danish front page with its sub-resources for every system', async () => {
    for (const s of sim.systems) {
      const res = await fetch(s.url + '/');
      const html = await res.text();
      expect(res.status, s.id).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html; charset=utf-8/);
      expect(html).toMatch(/^<!DOCTYPE html>\n<html lang="da">/);
      expect(html).toContain(`<title>`);
      expect(html).toContain('<h1>');
      expect(html).toContain(s.name);
      expect(html).toContain('vagt-demoen');
      for (const [path, type] of [
        ['/assets/site.css', 'text/css'],
        ['/assets/site.js', 'text/javascript'],
        ['/assets/logo.svg', 'image/svg+xml'],
      ] as const) {
        expect(html).toContain(path);
        const a = await fetch(s.url + path);
        expect(a.status, `${s.id} ${path}`).toBe(200);
        expect(a.headers.get('content-type')).toContain(type);
        expect((await a.text()).length).toBeGreaterThan(50);
      }
    }
    const mitid = await (await fetch(sim.urlOf('mitid') + '/')).text();
    expect(mitid).toContain('Log på med MitID');
    const post = await (await fetch(sim.urlOf('digital-post') + '/')).text();
    expect(post).toContain('Din digitale postkasse');
    const borger = await (await fetch(sim.urlOf('borger-dk') + '/')).text();
    expect(borger).toContain('href="/log-ind"');
  });

  it('answers health checks, and 404 and 405 with Danish pages', async () => {
    for (const s of sim.systems) {
      const res = await fetch(s.url + '/health');
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'ok', system: s.id });
    }
    const nf = await fetch(sim.urlOf('virk') + '/findes-ikke');
    expect(nf.status).toBe(404);
    expect(await nf.text()).toContain('Siden blev ikke fundet');
    const post = await fetch(sim.urlOf('virk') + '/', { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    await post.arrayBuffer();
  });
});

describe('fault injection', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ basePort: 0, latency: false });
  });
  afterAll(async () => {
    await sim?.close();
  });

  it('lists the systems and their faults', async () => {
    const r = await control(sim, '/systems');
    expect(r.status).toBe(200);
    expect(r.json.systems).toHaveLength(8);
    expect(r.json.systems[0]).toMatchObject({ id: 'mitid', name: 'MitID', url: sim.urlOf('mitid'), fault: { mode: 'up' } });
    const one = await control(sim, '/systems/virk');
    expect(one.json).toMatchObject({ id: 'virk', fault: { mode: 'up' } });
    const help = await control(sim, '/');
    expect(help.json.endpoints.join(' ')).toContain('/systems/{id}/fault');
  });

  it('takes a system down (connections refused) and up again', async () => {
    const url = sim.urlOf('nemkonto');
    // A keep-alive connection exists before the outage; it must not keep the system alive.
    expect((await timed(url + '/')).status).toBe(200);

    const r = await control(sim, '/systems/nemkonto/fault', 'POST', { mode: 'down' });
    expect(r.status).toBe(200);
    expect(r.json.fault).toEqual({ mode: 'down' });
    expect(await tryConnect(url)).toBe('ECONNREFUSED');
    await expect(fetch(url + '/')).rejects.toThrow();
    // The others are untouched.
    expect((await timed(sim.urlOf('virk') + '/')).status).toBe(200);

    const up = await control(sim, '/systems/nemkonto/fault', 'POST', { mode: 'up' });
    expect(up.json.fault).toEqual({ mode: 'up' });
    expect(sim.urlOf('nemkonto')).toBe(url);
    expect((await timed(url + '/')).status).toBe(200);
  });

  it('makes a system slow, by roughly the requested latency', async () => {
    const url = sim.urlOf('virk') + '/';
    await control(sim, '/systems/virk/fault', 'POST', { mode: 'slow', latency_ms: 400 });
    const slow = await timed(url);
    expect(slow.status).toBe(200);
    expect(slow.ms).toBeGreaterThanOrEqual(320);
    const del = await control(sim, '/systems/virk/fault', 'DELETE');
    expect(del.json.fault).toEqual({ mode: 'up' });
  });

  it('makes a system answer 500 with a Danish error page', async () => {
    await control(sim, '/systems/sundhed-dk/fault', 'POST', { mode: 'error' });
    for (const path of ['/', '/health', '/assets/site.css']) {
      const res = await fetch(sim.urlOf('sundhed-dk') + path);
      expect(res.status).toBe(500);
      expect(await res.text()).toContain('Der opstod en teknisk fejl');
    }
    const reset = await control(sim, '/reset', 'POST');
    expect(reset.status).toBe(200);
    expect(reset.json.systems.every((s) => s.fault.mode === 'up')).toBe(true);
    expect((await fetch(sim.urlOf('sundhed-dk') + '/')).status).toBe(200);
  });

  it('refuses bad control requests with one clear message', async () => {
    const cases: [string, string, unknown, number, RegExp][] = [
      ['/systems/skat/fault', 'POST', { mode: 'down' }, 404, /unknown system "skat"/],
      ['/systems/virk/fault', 'POST', { mode: 'sideways' }, 400, /mode: expected one of up, down, slow, error/],
      ['/systems/virk/fault', 'POST', '{not json', 400, /not valid JSON/],
      ['/systems/virk/fault', 'POST', { mode: 'slow', latency_ms: -5 }, 400, /latency_ms/],
      ['/systems/virk/fault', 'POST', { mode: 'down', extra: 1 }, 400, /unknown key "extra"/],
      ['/systems/virk/fault', 'GET', undefined, 405, /not allowed/],
      ['/nowhere', 'GET', undefined, 404, /no such endpoint/],
    ];
    for (const [path, method, body, status, message] of cases) {
      const r = await control(sim, path, method, body);
      expect(r.status, `${method} ${path}`).toBe(status);
      expect(r.json.error).toMatch(message);
    }
    expect(sim.systems.find((s) => s.id === 'virk')?.fault).toEqual({ mode: 'up' });
  });

  it('sets faults through the API too, and rejects unknown systems and bad faults', async () => {
    await sim.applyFault('eindkomst', { mode: 'down' });
    expect(await tryConnect(sim.urlOf('eindkomst'))).toBe('ECONNREFUSED');
    sim.setFault('eindkomst', { mode: 'up' });
    await sim.applyFault('eindkomst', { mode: 'up' }); // waits for the pending transition
    expect((await fetch(sim.urlOf('eindkomst') + '/')).status).toBe(200);
    expect(() => sim.setFault('skat', { mode: 'down' })).toThrow(/unknown system/);
    expect(() => sim.setFault('virk', { mode: 'slow', latency_ms: 10_000_000 })).toThrow(/latency_ms/);
  });
});

describe('startSimulator({ faults })', () => {
  it('starts with systems down, slow or failing', async () => {
    const sim = await startSimulator({
      basePort: 0,
      latency: false,
      faults: { mitid: { mode: 'down' }, virk: { mode: 'slow', latency_ms: 300 }, nemkonto: { mode: 'error' } },
    });
    try {
      const byId = Object.fromEntries(sim.systems.map((s) => [s.id, s.fault]));
      expect(byId).toMatchObject({
        mitid: { mode: 'down' },
        virk: { mode: 'slow', latency_ms: 300 },
        nemkonto: { mode: 'error' },
        'borger-dk': { mode: 'up' },
      });
      expect(await tryConnect(sim.urlOf('mitid'))).toBe('ECONNREFUSED');
      const slow = await timed(sim.urlOf('virk') + '/');
      expect(slow.status).toBe(200);
      expect(slow.ms).toBeGreaterThanOrEqual(240);
      expect((await timed(sim.urlOf('nemkonto') + '/')).status).toBe(500);
      expect((await timed(sim.urlOf('borger-dk') + '/')).status).toBe(200);

      // Down from the start, and still brought up on the same port.
      await sim.applyFault('mitid', { mode: 'up' });
      expect((await timed(sim.urlOf('mitid') + '/')).status).toBe(200);
    } finally {
      await sim.close();
    }
  });

  it('rejects an unknown system or a bad fault before starting', async () => {
    await expect(startSimulator({ basePort: 0, faults: { skat: { mode: 'down' } } })).rejects.toThrow(/unknown system "skat"/);
    await expect(
      startSimulator({ basePort: 0, faults: { virk: { mode: 'slow', latency_ms: Number.NaN } } }),
    ).rejects.toThrow(/latency_ms/);
  });

  it('explains a port that is taken', async () => {
    const first = await startSimulator({ basePort: 0, latency: false });
    try {
      const taken = Number(new URL(first.urlOf('mitid')).port);
      await expect(startSimulator({ basePort: taken, latency: false })).rejects.toThrow(/cannot listen on 127\.0\.0\.1:\d+ for MitID/);
    } finally {
      await first.close();
    }
  });

  it('closes cleanly while a slow response is pending', async () => {
    const sim = await startSimulator({ basePort: 0, latency: false, faults: { virk: { mode: 'slow', latency_ms: 5000 } } });
    const pending = fetch(sim.urlOf('virk') + '/').then(
      () => 'answered',
      () => 'aborted',
    );
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    await sim.close();
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(await pending).toBe('aborted');
    expect(await tryConnect(sim.urlOf('virk'))).toBe('ECONNREFUSED');
  });
});
