// GET /widget.js and GET /embed over a real socket: the script's headers and injected words,
// and the iframe page's box in Danish and English, for every system and for one, as statuses
// change with a test agent's results and a service window.
import { Script } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { widgetScript } from '../../collector/portal/widget.js';
import { boxText, boxView, clockTime } from '../../collector/portal/embed.js';
import { ADMIN_TOKEN, TestAgent, eventually, getJson, res, startHarness, testConfig, type Harness } from './helpers.js';

// 07:08 UTC is 08:08 in Copenhagen (CET) on a January Monday.
const T = Date.UTC(2026, 0, 5, 7, 8, 0);
const clock = new ManualClock(T);
let h: Harness;
let base: string;
let agent: TestAgent;
let seq = 0;

const systems = [
  { id: 'mitid', name: 'MitID', probes: [{ id: 'front', type: 'http', url: 'https://www.mitid.dk/' }] },
  { id: 'nemlog-in', name: 'NemLog-in', depends_on: { mitid: 'critical' }, probes: [{ id: 'front', type: 'http', url: 'https://nemlog-in.dk/' }] },
  { id: 'borger-dk', name: 'borger.dk', depends_on: { 'nemlog-in': 'critical' }, probes: [{ id: 'front', type: 'http', url: 'https://www.borger.dk/' }] },
];

async function report(ok: Record<string, boolean>): Promise<void> {
  seq += 1;
  await agent.batch(
    seq,
    Object.entries(ok).map(([system, pass]) =>
      res({ seq: seq * 10 + Object.keys(ok).indexOf(system), system, ts: clock.now(), ok: pass, ...(pass ? {} : { status_code: 503, error: { code: 'http_status', message: 'status 503' } }) }),
    ),
  );
}

async function statusOf(id: string): Promise<string | undefined> {
  return (await getJson(`${base}/api/v1/status`)).body.systems.find((s) => s.id === id)?.status;
}

async function embed(query = ''): Promise<{ status: number; headers: Headers; html: string }> {
  const r = await fetch(`${base}/embed${query}`);
  return { status: r.status, headers: r.headers, html: await r.text() };
}

/** The box's visible words, tags dropped and whitespace folded. */
function boxWords(html: string): string {
  const box = /<div class="vagt-box"[\s\S]*?<\/div>/.exec(html)?.[0] ?? '';
  return box
    .replace(/<span class="err" hidden><\/span>/, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&(quot|amp|lt|gt|#39);/g, (_m, e: string) => ({ quot: '"', amp: '&', lt: '<', gt: '>', '#39': "'" })[e] ?? '')
    .replace(/\s+/g, ' ')
    .trim();
}

beforeAll(async () => {
  h = await startHarness({ clock, config: (dir) => testConfig(dir, { systems }) });
  base = h.collector.url;
  agent = await TestAgent.ready(h.wsUrl, 'kbh-1');
});
afterAll(async () => {
  await agent?.close();
  await h?.close();
});

describe('GET /widget.js', () => {
  it('is plain JavaScript for any origin, cached for a few minutes and revalidated by ETag', async () => {
    const r = await fetch(`${base}/widget.js`, { headers: { 'accept-encoding': 'identity' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    expect(r.headers.get('cache-control')).toBe('public, max-age=300');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    const etag = r.headers.get('etag');
    expect(etag).toMatch(/^"[\w-]{22}"$/);
    expect(r.headers.get('content-encoding')).toBeNull();
    const body = await r.text();
    expect(Number(r.headers.get('content-length'))).toBe(Buffer.byteLength(body));
    // It parses as a classic script and stays small.
    expect(() => new Script(body)).not.toThrow();
    expect(Buffer.byteLength(body)).toBeLessThan(6 * 1024);
    const again = await fetch(`${base}/widget.js`, { headers: { 'accept-encoding': 'identity', 'if-none-match': etag! } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    expect(again.headers.get('access-control-allow-origin')).toBe('*');
    // Gzipped for a browser: under 3 KB on the wire, its own ETag.
    const gz = await fetch(`${base}/widget.js`, { headers: { 'accept-encoding': 'gzip, br' } });
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    expect(gz.headers.get('vary')).toBe('Accept-Encoding');
    expect(Number(gz.headers.get('content-length'))).toBeLessThan(3 * 1024);
    expect(gz.headers.get('etag')).toBe(etag!.replace(/"$/, '-gz"'));
    expect(await gz.text()).toBe(body);
    const refused = await fetch(`${base}/widget.js`, { headers: { 'accept-encoding': 'gzip;q=0' } });
    expect(refused.headers.get('content-encoding')).toBeNull();
    await refused.arrayBuffer();
    const head = await fetch(`${base}/widget.js`, { method: 'HEAD' });
    expect([head.status, head.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
  });

  it('carries the words, colours and symbols of labels.ts and the collector timezone, injected', async () => {
    const body = await (await fetch(`${base}/widget.js`)).text();
    expect(body).not.toContain('__VAGT_CONFIG__');
    const json = /var C = (\{.*?\});\n/.exec(body)?.[1];
    const config = JSON.parse(json!) as { tz: string; da: Record<string, unknown>; en: Record<string, unknown>; sym: Record<string, string>; css: string };
    expect(config.tz).toBe('Europe/Copenhagen');
    expect(config.da).toMatchObject({
      title: 'Driftsstatus',
      updated: 'Opdateret kl. {t}',
      allOk: 'Alle systemer kører',
      readMore: 'Læs mere',
      unavailable: 'Status kunne ikke hentes',
      affectedBy: 'Påvirket af {x}',
      someProblems: ['1 system har problemer', '{n} systemer har problemer'],
      label: { operational: 'Kører', major_outage: 'Større nedbrud', under_maintenance: 'Planlagt vedligeholdelse' },
    });
    expect(config.en).toMatchObject({ updated: 'Updated {t}', allOk: 'All systems operational', readMore: 'Read more', unavailable: 'Status unavailable' });
    expect(config.sym).toMatchObject({ operational: '✓', major_outage: '✕' });
    expect(config.css).toContain('.s-major_outage{color:#c21f2c}');
    expect(config.css).toContain('.s-operational{color:#1a7f37}');
    // Another zone, another script; "<" never appears raw in the data.
    expect(widgetScript('America/New_York')).toContain('"tz":"America/New_York"');
    expect(json).not.toContain('<');
  });
});

describe('GET /embed', () => {
  it('is frameable from anywhere, with its own strict policy, and reads without JavaScript', async () => {
    const r = await embed();
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(r.headers.get('x-frame-options')).toBeNull();
    const csp = r.headers.get('content-security-policy')!;
    expect(csp).toContain('frame-ancestors *');
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(r.headers.get('content-language')).toBe('da');
    expect(r.html).toContain('<html lang="da">');
    expect(r.html).toContain('<noscript><meta http-equiv="refresh" content="60"></noscript>');
  });

  it('says the status is unknown before any result, then that all systems run, in Danish', async () => {
    const before = await embed();
    expect(boxWords(before.html)).toBe('Driftsstatus Opdateret kl. 08:08 ? Status er ukendt for nogle systemer Læs mere');
    await report({ mitid: true, 'nemlog-in': true, 'borger-dk': true });
    await eventually(async () => (await statusOf('borger-dk')) === 'operational');
    const r = await embed();
    expect(boxWords(r.html)).toBe('Driftsstatus Opdateret kl. 08:08 ✓ Alle systemer kører Læs mere');
    expect(r.html).toContain('<span class="st s-operational"><span class="sym" aria-hidden="true">✓</span>');
    expect(r.html).toContain(`<time datetime="${new Date(T).toISOString()}">08:08</time>`);
    expect(r.html).toContain('<a class="more" href="./" target="_top">Læs mere</a>');
    expect(r.html).toMatch(/<div class="vagt-box" id="s" role="status" aria-live="polite"/);
    expect(r.html).toContain('<title>Driftsstatus</title>');
  });

  it('speaks English with lang=en, and shows one system with system=', async () => {
    const en = await embed('?lang=en');
    expect(en.html).toContain('<html lang="en">');
    expect(en.headers.get('content-language')).toBe('en');
    expect(boxWords(en.html)).toBe('System status Updated 08:08 ✓ All systems operational Read more');
    expect(en.html).toContain('href="./?lang=en"');
    const one = await embed('?system=borger-dk');
    expect(boxWords(one.html)).toBe('Driftsstatus Opdateret kl. 08:08 ✓ borger.dk: Kører Læs mere');
    expect(one.html).toContain('href="systems/borger-dk" target="_top"');
    expect(one.html).toContain('<title>Driftsstatus: borger.dk</title>');
    const oneEn = await embed('?system=borger-dk&lang=en');
    expect(boxWords(oneEn.html)).toBe('System status Updated 08:08 ✓ borger.dk: Operational Read more');
    expect(oneEn.html).toContain('href="systems/borger-dk?lang=en"');
    // An empty field (a template's "?system=") means every system.
    expect(boxWords((await embed('?system=&lang=en')).html)).toBe(boxWords(en.html));
  });

  it('shows an outage and names its cause after MitID goes down', async () => {
    clock.advance(60_000);
    await report({ mitid: false, 'nemlog-in': true, 'borger-dk': true });
    await eventually(async () => (await statusOf('borger-dk')) === 'major_outage');
    const all = await embed();
    expect(boxWords(all.html)).toBe('Driftsstatus Opdateret kl. 08:09 ✕ 3 systemer har problemer Læs mere');
    expect(all.html).toContain('class="st s-major_outage"');
    const one = await embed('?system=borger-dk');
    expect(boxWords(one.html)).toBe('Driftsstatus Opdateret kl. 08:09 ✕ borger.dk: Større nedbrud · Påvirket af MitID Læs mere');
    const oneEn = await embed('?system=borger-dk&lang=en');
    expect(boxWords(oneEn.html)).toBe('System status Updated 08:09 ✕ borger.dk: Major outage · Affected by MitID Read more');
    const root = await embed('?system=mitid');
    expect(boxWords(root.html)).toBe('Driftsstatus Opdateret kl. 08:09 ✕ MitID: Større nedbrud Læs mere');
  });

  it('shows a service window as planned maintenance', async () => {
    clock.advance(60_000);
    await report({ mitid: true, 'nemlog-in': true, 'borger-dk': true });
    const r = await fetch(`${base}/api/v1/maintenance`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ systems: ['borger-dk'], start: new Date(clock.now() - 1000).toISOString(), end: new Date(clock.now() + 3_600_000).toISOString(), title: 'Opdatering' }),
    });
    expect(r.status).toBe(201);
    await eventually(async () => (await statusOf('borger-dk')) === 'under_maintenance');
    expect(boxWords((await embed('?system=borger-dk')).html)).toBe('Driftsstatus Opdateret kl. 08:10 ⚙ borger.dk: Planlagt vedligeholdelse Læs mere');
    expect(boxWords((await embed()).html)).toBe('Driftsstatus Opdateret kl. 08:10 ⚙ 1 system er under planlagt vedligeholdelse Læs mere');
    expect(boxWords((await embed('?lang=en')).html)).toBe('System status Updated 08:10 ⚙ 1 system is under maintenance Read more');
  });

  it('answers an unknown system with a short 404 page, still frameable, and an unknown parameter with 400', async () => {
    const nf = await embed('?system=atlantis');
    expect(nf.status).toBe(404);
    expect(nf.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(nf.headers.get('content-security-policy')).toContain('frame-ancestors *');
    expect(nf.html).toContain('<html lang="da">');
    expect(boxWords(nf.html)).toBe('Driftsstatus Der er intet system med id "atlantis". Læs mere');
    const nfEn = await embed('?system=%3Cb%3E&lang=en');
    expect(nfEn.status).toBe(404);
    expect(nfEn.html).toContain('There is no system with id &quot;&lt;b&gt;&quot;.');
    expect(nfEn.html).not.toContain('<b>');
    const bad = await embed('?sytem=mitid');
    expect(bad.status).toBe(400);
    expect(boxWords(bad.html)).toContain('sytem: unknown parameter; expected "system", "lang"');
    const twice = await embed('?system=mitid&system=virk');
    expect(twice.status).toBe(400);
  });
});

describe('the box, as a function', () => {
  const t = boxText('da');
  const s = (id: string, status: 'operational' | 'major_outage' | 'unknown' | 'degraded_performance', cause: string[] = []) => ({ id, name: id.toUpperCase(), status, cause });

  it('counts problems, shows the worst symbol, and handles no systems and an unknown id', () => {
    expect(boxView([s('a', 'degraded_performance'), s('b', 'major_outage'), s('c', 'operational')], t)).toEqual({ status: 'major_outage', text: '2 systemer har problemer' });
    expect(boxView([s('a', 'degraded_performance')], t)).toEqual({ status: 'degraded_performance', text: '1 system har problemer' });
    expect(boxView([], t)).toEqual({ status: 'unknown', text: 'Ingen systemer er konfigureret.' });
    expect(boxView([s('a', 'operational')], t, 'zz')).toEqual({ status: 'unknown', text: 'zz: Ukendt' });
    expect(boxView([s('a', 'major_outage'), s('b', 'major_outage', ['a', 'x'])], t, 'b').text).toBe('B: Større nedbrud · Påvirket af A, x');
  });

  it('writes the time on a 24-hour clock in the zone, across daylight saving', () => {
    expect(clockTime(T, 'Europe/Copenhagen')).toBe('08:08');
    expect(clockTime(Date.UTC(2026, 6, 1, 22, 5), 'Europe/Copenhagen')).toBe('00:05');
    expect(clockTime(T, 'Not/A_Zone')).toBe('07:08 UTC');
  });
});
