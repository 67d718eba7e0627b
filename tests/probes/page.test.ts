import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { pageProbe } from '../../config/schema.js';
import { pageResources, siteOf } from '../../probes/html-resources.js';
import { MAX_BODY_BYTES } from '../../probes/page.js';
import { runProbe } from '../../probes/run.js';
import type { RequestDetail } from '../../protocol/messages.js';
import { endless, html, pageSpec, startSite, type Route, type Site } from './page-servers.js';
import { eventually, freePort, TLS_CERT, UA } from './servers.js';

const open: Site[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function site(routes: Record<string, Route>, opts: Parameters<typeof startSite>[1] = {}): Promise<Site> {
  const s = await startSite(routes, opts);
  open.push(s);
  return s;
}

const closed = (...sites: Site[]) => eventually(() => sites.every((s) => s.openSockets === 0));
const waterfall = (r: { detail?: Record<string, unknown> }) => r.detail?.waterfall as RequestDetail[];
const body = (n: number, c = 'x') => c.repeat(n);

describe('page prober: what a browser loads', () => {
  it('loads scripts, style sheets, icons, preloads, images, srcset and posters once each, against <base href>', async () => {
    const page = html(
      `<img src="logo.png" srcset="logo-2x.png 2x, logo-3x.png 3x">
       <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><img src=""><img src="blob:http://x/1"><img src="about:blank">
       <video poster="poster.jpg"><source src="clip.mp4" type="video/mp4"></video>
       <iframe src="frame.html"></iframe><a href="other.html">videre</a>
       <noscript><img src="tracker.gif"></noscript><template><img src="template.png"></template>
       <script src="/assets/app.js"></script><script src="javascript:void(0)"></script>`,
      `<base href="/assets/">
       <link rel="stylesheet" href="style.css"><link rel="stylesheet" href="style.css#print">
       <link rel="shortcut icon" href="/favicon.ico"><link rel="preload" as="font" href="font.woff2" crossorigin>
       <link rel="preload" as="fetch" href="/api/data"><link rel="canonical" href="/side"><link rel="apple-touch-icon" href="/touch.png">
       <script src="app.js"></script><script nomodule src="legacy.js"></script><script src="data:text/javascript,1"></script>`,
    );
    const files: Record<string, string> = {
      '/assets/style.css': body(101),
      '/favicon.ico': body(102),
      '/assets/font.woff2': body(103),
      '/assets/app.js': body(104),
      '/assets/logo.png': body(105),
      '/assets/logo-2x.png': body(106),
      '/assets/poster.jpg': body(107),
      '/assets/clip.mp4': body(108),
    };
    const s = await site({ '/dir/index.html': page, ...files });
    const r = await runProbe(pageSpec({ url: `${s.url}/dir/index.html`, expect: { status: 200, body_contains: 'Side' } }), { userAgent: UA });
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.status_code).toBe(200);
    expect(s.requests[0]?.url).toBe('/dir/index.html');
    expect(s.requests.slice(1).map((q) => q.url).sort()).toEqual(Object.keys(files).sort());
    for (const q of s.requests) expect(q.headers['user-agent']).toBe(UA);
    expect(r.detail).toMatchObject({
      url: `${s.url}/dir/index.html`,
      bytes: Buffer.byteLength(page) + 101 + 102 + 103 + 104 + 105 + 106 + 107 + 108,
      requests: 9,
      resources: 8,
      failed: [],
      failed_count: 0,
      skipped: 0,
    });
    expect(r.detail?.truncated).toBeUndefined();
    expect(Object.keys(r.phases).sort()).toEqual(['connect', 'dns', 'transfer', 'ttfb']);
    const w = waterfall(r);
    expect(w).toHaveLength(9);
    expect(w[0]).toMatchObject({ method: 'GET', url: `${s.url}/dir/index.html`, status: 200, bytes: Buffer.byteLength(page) });
    expect(w[0]?.phases).toEqual(r.phases);
    for (const e of w.slice(1)) {
      expect(e.status).toBe(200);
      expect(e.start_ms).toBeGreaterThanOrEqual(w[0]!.start_ms);
      expect(e.phases.ttfb).toBeGreaterThanOrEqual(0);
    }
    // The request that opened a connection carries its connect phase; the rest reused one.
    expect(w.slice(1).filter((e) => e.phases.connect !== undefined)).toHaveLength(s.connections - 1);
    expect(s.connections - 1).toBeLessThanOrEqual(6);
    expect(r.detail?.load_ms).toBeGreaterThanOrEqual(Math.max(...w.map((e) => e.start_ms + e.duration_ms)) - 0.01);
    expect(await closed(s)).toBe(true);
  });

  it('counts a resource that is missing as failed, and passes within max_failed_resources', async () => {
    const refused = await freePort();
    const page = html(`<script src="/app.js"></script><script src="/missing.js"></script><img src="http://127.0.0.1:${refused}/x.png">`);
    const s = await site({ '/': page, '/app.js': 'ok' });
    const r = await runProbe(pageSpec({ url: `${s.url}/` }), { userAgent: UA });
    expect(r.ok).toBe(false);
    expect(r.status_code).toBe(200);
    expect(r.error).toEqual({
      code: 'resources_failed',
      message: `2 of 3 resources failed: /missing.js 404, http://127.0.0.1:${refused}/x.png connect`,
    });
    expect(r.detail).toMatchObject({
      requests: 4,
      resources: 3,
      failed_count: 2,
      failed: [
        { url: `${s.url}/missing.js`, status: 404, error: 'status 404' },
        { url: `http://127.0.0.1:${refused}/x.png`, error: `connect ECONNREFUSED 127.0.0.1:${refused}` },
      ],
    });
    const w = waterfall(r);
    expect(w.find((e) => e.url.endsWith('/x.png'))?.status).toBeUndefined();
    expect(w.find((e) => e.url.endsWith('/x.png'))?.phases.connect).toBeGreaterThanOrEqual(0);

    const lenient = await runProbe(pageSpec({ url: `${s.url}/`, expect: { max_failed_resources: 2 } }), { userAgent: UA });
    expect(lenient.error).toBeUndefined();
    expect(lenient.ok).toBe(true);
    expect(lenient.detail?.failed_count).toBe(2);

    const one = await runProbe(pageSpec({ url: `${s.url}/`, expect: { max_failed_resources: 1 } }), { userAgent: UA });
    expect(one.error?.message).toMatch(/^2 of 3 resources failed \(max_failed_resources 1\): /);
    expect(await closed(s)).toBe(true);
  });

  it('passes with max_failed_resources: 1 when one resource is missing', async () => {
    const s = await site({ '/': html('<script src="/gone.js"></script><link rel="stylesheet" href="/a.css">'), '/a.css': 'p{}' });
    const r = await runProbe(pageSpec({ url: `${s.url}/`, expect: { max_failed_resources: 1 } }), { userAgent: UA });
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.detail?.failed).toEqual([{ url: `${s.url}/gone.js`, status: 404, error: 'status 404' }]);
  });

  it('follows redirects of the document and of resources, and resolves against the final URL', async () => {
    const s = await site({
      '/': (_req, res) => res.writeHead(302, { location: '/home/' }).end(),
      '/home/': html('<script src="app.js"></script>'),
      '/home/app.js': (_req, res) => res.writeHead(301, { location: '/static/app.js' }).end(),
      '/static/app.js': 'console.log(1)',
    });
    const r = await runProbe(pageSpec({ url: `${s.url}/` }), { userAgent: UA });
    expect(r.error).toBeUndefined();
    expect(r.detail).toMatchObject({ url: `${s.url}/home/`, requests: 4, resources: 1 });
    expect(waterfall(r).map((e) => [e.url.slice(s.url.length), e.status])).toEqual([
      ['/', 302],
      ['/home/', 200],
      ['/home/app.js', 301],
      ['/static/app.js', 200],
    ]);
    expect(await closed(s)).toBe(true);
  });
});

describe('page prober: sites and limits', () => {
  it('skips another site by default and loads it with cross_site (localhost and 127.0.0.1 are two sites)', async () => {
    const other = await site({ '/lib.js': 'lib', '/same.js': 'same' });
    const page = html(
      `<script src="http://localhost:${other.port}/lib.js"></script><script src="${other.url}/same.js"></script><script src="/own.js"></script>`,
    );
    const s = await site({ '/': page, '/own.js': 'own' });
    const r = await runProbe(pageSpec({ url: `${s.url}/` }), { userAgent: UA });
    expect(r.ok).toBe(true);
    expect(r.detail).toMatchObject({ resources: 2, skipped: 1, requests: 3 });
    expect(other.requests.map((q) => q.url)).toEqual(['/same.js']); // another port of the same host is the same site

    const all = await runProbe(pageSpec({ url: `${s.url}/`, cross_site: true }), { userAgent: UA });
    expect(all.ok).toBe(true);
    expect(all.detail).toMatchObject({ resources: 3, skipped: 0, requests: 4 });
    expect(other.requests.map((q) => q.url).sort()).toEqual(['/lib.js', '/same.js', '/same.js']);
    expect(other.requests.find((q) => q.url === '/lib.js')?.headers.host).toBe(`localhost:${other.port}`);
    expect(await closed(s, other)).toBe(true);
  });

  it('keeps at most 6 connections per host open, reusing them for 20 resources', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 20; i++) files[`/r${i}.js`] = `r${i}`;
    const slow = await site(files, { delayMs: 40 });
    const page = html(Object.keys(files).map((f) => `<script src="${slow.url}${f}"></script>`).join(''));
    const s = await site({ '/': page });
    const r = await runProbe(pageSpec({ url: `${s.url}/` }), { userAgent: UA });
    expect(r.error).toBeUndefined();
    expect(slow.requests).toHaveLength(20);
    expect(slow.maxOpen).toBeLessThanOrEqual(6);
    expect(slow.maxOpen).toBeGreaterThan(1); // concurrently, not one by one
    expect(slow.connections).toBe(slow.maxOpen); // kept alive and reused
    expect(waterfall(r).filter((e) => e.phases.connect !== undefined)).toHaveLength(1 + slow.connections);
    const bytes = Buffer.byteLength(page) + Object.values(files).reduce((n, f) => n + f.length, 0);
    expect(r.detail).toMatchObject({ requests: 21, resources: 20, bytes });
    expect(await closed(s, slow)).toBe(true);
  });

  it('loads at most max_resources, in document order, and counts the rest as skipped', async () => {
    const page = html('<script src="/1.js"></script><script src="/2.js"></script><script src="/3.js"></script><img src="/4.png"><img src="/5.png">');
    const s = await site({ '/': page, '/1.js': '1', '/2.js': '2', '/3.js': '3', '/4.png': '4', '/5.png': '5' });
    const r = await runProbe(pageSpec({ url: `${s.url}/`, max_resources: 2 }), { userAgent: UA });
    expect(r.ok).toBe(true);
    expect(r.detail).toMatchObject({ resources: 2, skipped: 3, requests: 3 });
    expect(s.requests.map((q) => q.url).sort()).toEqual(['/', '/1.js', '/2.js']);

    const none = await runProbe(pageSpec({ url: `${s.url}/`, max_resources: 0 }), { userAgent: UA });
    expect(none.detail).toMatchObject({ resources: 0, skipped: 5, requests: 1, waterfall: [{ status: 200 }] });
  });

  it('lists at most 20 failed resources and 50 waterfall entries, counting the rest', async () => {
    const files: Record<string, string> = {};
    const tags: string[] = [];
    for (let i = 0; i < 60; i++) {
      if (i >= 25) files[`/f${i}.js`] = 'x';
      tags.push(`<script src="/f${i}.js"></script>`);
    }
    const s = await site({ '/': html(tags.join('')), ...files });
    const r = await runProbe(pageSpec({ url: `${s.url}/`, max_resources: 100 }), { userAgent: UA });
    expect(r.error?.code).toBe('resources_failed');
    expect(r.error?.message).toBe('25 of 60 resources failed: /f0.js 404, /f1.js 404, /f2.js 404, /f3.js 404, /f4.js 404, …');
    expect(r.detail).toMatchObject({ requests: 61, resources: 60, failed_count: 25, waterfall_omitted: 11 });
    expect(r.detail?.failed).toHaveLength(20);
    expect(waterfall(r)).toHaveLength(50);
    expect(waterfall(r)[0]?.url).toBe(`${s.url}/`);
  });
});

describe('page prober: failures are data', () => {
  it('times the whole probe out on a resource that never answers, and leaves no socket open', async () => {
    const stuck = await site({ '/never.js': () => {}, '/ok.js': 'ok' });
    const s = await site({ '/': html(`<script src="${stuck.url}/ok.js"></script><script src="${stuck.url}/never.js"></script>`) });
    const r = await runProbe(pageSpec({ url: `${s.url}/` }, 300), { userAgent: UA });
    expect(r.ok).toBe(false);
    expect(r.error).toEqual({ code: 'timeout', message: `timed out after 300ms waiting for the response from 127.0.0.1:${stuck.port}` });
    expect(r.status_code).toBe(200);
    expect(r.phases.ttfb).toBeGreaterThanOrEqual(0);
    expect(r.duration_ms).toBeLessThan(5000);
    const w = waterfall(r);
    expect(w.find((e) => e.url.endsWith('/ok.js'))?.status).toBe(200);
    expect(w.find((e) => e.url.endsWith('/never.js'))?.status).toBeUndefined();
    expect(await closed(s, stuck)).toBe(true);
  });

  it('times out with requests still queued for a connection, and closes every one', async () => {
    const never: Record<string, Route> = {};
    for (let i = 0; i < 9; i++) never[`/n${i}.js`] = () => {};
    const stuck = await site(never);
    const s = await site({ '/': html(Object.keys(never).map((f) => `<script src="${stuck.url}${f}"></script>`).join('')) });
    const r = await runProbe(pageSpec({ url: `${s.url}/` }, 300), { userAgent: UA });
    expect(r.error?.code).toBe('timeout');
    expect(r.status_code).toBe(200); // the prober's own report, not the runner's stand-in
    expect(stuck.requests).toHaveLength(6);
    expect(r.detail).toMatchObject({ resources: 9, requests: 7 }); // three never left their queue
    expect(await closed(s, stuck)).toBe(true);
  });

  it('opens a new connection when the server closes one, timing it into the request that needed it', async () => {
    const files: Record<string, Route> = {};
    for (let i = 0; i < 8; i++) files[`/c${i}.css`] = (_req, res) => res.writeHead(200, { connection: 'close' }).end('c');
    const s = await site({ '/': html(Object.keys(files).map((f) => `<link rel="stylesheet" href="${f}">`).join('')), ...files });
    const r = await runProbe(pageSpec({ url: `${s.url}/` }), { userAgent: UA });
    expect(r.error).toBeUndefined();
    expect(s.connections).toBe(9);
    for (const e of waterfall(r)) expect(e.phases.connect).toBeGreaterThanOrEqual(0);
    expect(await closed(s)).toBe(true);
  });

  it('fails a resource whose connection breaks mid-body as protocol', async () => {
    const s = await site({
      '/': html('<script src="/cut.js"></script>'),
      '/cut.js': (_req, res) => {
        res.writeHead(200, { 'content-length': '1000' });
        res.write('partial');
        setTimeout(() => res.destroy(), 20);
      },
    });
    const r = await runProbe(pageSpec({ url: `${s.url}/` }), { userAgent: UA });
    expect(r.error?.code).toBe('resources_failed');
    expect(r.error?.message).toBe('1 of 1 resources failed: /cut.js protocol');
    expect((r.detail?.failed as { error: string }[])[0]?.error).toContain(`reading the body from 127.0.0.1:${s.port}`);
  });

  it('reads a huge resource only up to the cap, without failing it', async () => {
    const page = html('<img src="/huge.bin"><script src="/app.js"></script>');
    const s = await site({ '/': page, '/huge.bin': endless, '/app.js': 'ok' });
    const r = await runProbe(pageSpec({ url: `${s.url}/` }), { userAgent: UA });
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.detail).toMatchObject({ truncated: 1, failed_count: 0, bytes: Buffer.byteLength(page) + MAX_BODY_BYTES + 2 });
    expect(waterfall(r).find((e) => e.url.endsWith('/huge.bin'))).toMatchObject({ status: 200, bytes: MAX_BODY_BYTES });
    expect(await closed(s)).toBe(true); // the rest is not downloaded
  });

  it('fails on the document status or body before loading anything', async () => {
    const s = await site({ '/': html('<script src="/app.js"></script>'), '/app.js': 'x' });
    const missing = await runProbe(pageSpec({ url: `${s.url}/nowhere` }), { userAgent: UA });
    expect(missing).toMatchObject({ ok: false, status_code: 404, error: { code: 'http_status', message: 'expected a 2xx status, got 404' } });
    const mismatch = await runProbe(pageSpec({ url: `${s.url}/`, expect: { body_contains: 'Velkommen' } }), { userAgent: UA });
    expect(mismatch.error).toEqual({ code: 'body_mismatch', message: 'body does not contain "Velkommen"' });
    expect(s.requests.map((q) => q.url)).toEqual(['/nowhere', '/']);
    expect(mismatch.detail).toMatchObject({ requests: 1, resources: 0 });
  });

  it('fails a page load slower than max_duration as too_slow', async () => {
    const s = await site({ '/': html('<script src="/slow.js"></script>'), '/slow.js': (_req, res) => setTimeout(() => res.end('late'), 150) });
    const r = await runProbe(pageSpec({ url: `${s.url}/`, expect: { max_duration: '20ms' } }), { userAgent: UA });
    expect(r.error?.code).toBe('too_slow');
    expect(r.error?.message).toMatch(/^loading the page took \S+, more than max_duration 20ms$/);
    expect(r.detail?.load_ms).toBeGreaterThan(20);
  });

  it('reports a refused document connection with the dial code', async () => {
    const port = await freePort();
    const r = await runProbe(pageSpec({ url: `http://127.0.0.1:${port}/` }), { userAgent: UA });
    expect(r).toMatchObject({ ok: false, error: { code: 'connect', message: `connect ECONNREFUSED 127.0.0.1:${port}` } });
    expect(r.detail).toMatchObject({ url: `http://127.0.0.1:${port}/`, requests: 1, resources: 0 });
  });
});

describe('page prober: headers, secrets and TLS', () => {
  it('sends the configured headers with secrets resolved, credentials to the page origin only, and scrubs the result', async () => {
    const other = await site({ '/lib.js': 'lib' });
    const s = await site({
      [`/start?key=${encodeURIComponent('hemmelig-nøgle-123')}`]: (_req, res) => res.writeHead(302, { location: '/home/' }).end(),
      '/home/': html(`<script src="app.js"></script><script src="http://localhost:${other.port}/lib.js"></script>`),
      '/home/app.js': 'app',
    });
    const secrets: Record<string, string> = { KEY: 'hemmelig-nøgle-123', TOKEN: 'tok-98765' };
    const r = await runProbe(
      pageSpec({
        url: `${s.url}/start?key=\${secret:KEY}`,
        cross_site: true,
        headers: { Authorization: 'Bearer ${secret:TOKEN}', 'Accept-Language': 'da', 'User-Agent': 'curl/8' },
      }),
      { userAgent: UA, secret: (n) => secrets[n] },
    );
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    const own = s.requests.map((q) => q.headers);
    expect(own.map((h) => h.authorization)).toEqual(['Bearer tok-98765', 'Bearer tok-98765', 'Bearer tok-98765']);
    for (const h of own) expect(h['user-agent']).toBe(UA);
    expect(other.requests[0]?.headers.authorization).toBeUndefined();
    expect(other.requests[0]?.headers['accept-language']).toBe('da');
    expect(waterfall(r)[0]?.url).toBe(`${s.url}/start?key=\${secret:KEY}`);
    const text = JSON.stringify(r);
    expect(text).not.toContain('hemmelig');
    expect(text).not.toContain(encodeURIComponent('hemmelig-nøgle-123'));
    expect(text).not.toContain('tok-98765');
  });

  it('fails a secret that is not set as secret_missing', async () => {
    const r = await runProbe(pageSpec({ url: 'http://127.0.0.1:1/?k=${secret:NOPE}' }), { userAgent: UA, secret: () => undefined });
    expect(r.error).toEqual({ code: 'secret_missing', message: 'secret NOPE is not set on this agent' });
  });

  it('loads an https page and its resources with insecure_skip_verify, reporting the certificate expiry', async () => {
    const s = await site({ '/': html('<script src="/app.js"></script><link rel="stylesheet" href="/s.css">'), '/app.js': 'a', '/s.css': 'b' }, { tls: true });
    const r = await runProbe(pageSpec({ url: `${s.url}/`, insecure_skip_verify: true }), { userAgent: UA });
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(Object.keys(r.phases).sort()).toEqual(['connect', 'dns', 'tls', 'transfer', 'ttfb']);
    expect(r.tls_expiry).toBe(Date.parse(new X509Certificate(TLS_CERT).validTo) / 1000);
    const dialed = waterfall(r).slice(1).filter((e) => e.phases.connect !== undefined);
    expect(dialed).toHaveLength(s.connections - 1);
    for (const e of dialed) expect(e.phases.tls).toBeGreaterThan(0);
    expect(r.detail).toMatchObject({ requests: 3, failed_count: 0 });
    expect(await closed(s)).toBe(true);

    const strict = await runProbe(pageSpec({ url: `${s.url}/` }), { userAgent: UA });
    expect(strict.error?.code).toBe('tls');
  });
});

describe('page resources and sites', () => {
  const base = new URL('https://www.borger.dk/da/side');

  it('takes srcset’s first candidate, whose URL may hold commas', () => {
    const urls = pageResources('<img srcset=" a.png?x=1,2 1x, b.png 2x"><img srcset="c.png">', base).map((u) => u.href);
    expect(urls).toEqual(['https://www.borger.dk/da/a.png?x=1,2', 'https://www.borger.dk/da/c.png']);
  });

  it('resolves against an absolute <base href> and ignores one that is not http(s)', () => {
    expect(pageResources('<base href="https://cdn.borger.dk/v2/"><script src="app.js"></script>', base)[0]?.href).toBe(
      'https://cdn.borger.dk/v2/app.js',
    );
    expect(pageResources('<base href="javascript:alert(1)"><script src="app.js"></script>', base)[0]?.href).toBe('https://www.borger.dk/da/app.js');
  });

  it('knows a site by its registrable domain, and an address or a single name by itself', () => {
    expect(siteOf('www.borger.dk')).toBe(siteOf('cdn.borger.dk'));
    expect(siteOf('a.b.co.uk')).toBe('b.co.uk');
    expect(siteOf('foo.github.io')).not.toBe(siteOf('bar.github.io'));
    expect(siteOf('localhost')).not.toBe(siteOf('127.0.0.1'));
    expect(siteOf('[::1]')).toBe('::1');
    expect(siteOf('intranet')).toBe('intranet');
  });
});

describe('page probe docs', () => {
  it("docs/probes.md's example is a valid page probe", () => {
    const doc = readFileSync(new URL('../../docs/probes.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## page'), doc.indexOf('## dns'));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(yaml).toBeDefined();
    const [probe] = parseYaml(yaml!) as unknown[];
    expect(pageProbe.parse(probe)).toMatchObject({ type: 'page', max_resources: 60, expect: { max_failed_resources: 1, max_duration: 8000 } });
  });
});
