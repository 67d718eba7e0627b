// The status page and the system page over a real socket, read as a DOM (htmlparser2 and
// css-select) rather than by regular expressions. The browser-side behaviour (live updates,
// keyboard, accessibility) is in tests/browser/portal.test.ts.
import { selectAll, selectOne } from 'css-select';
import type { Element } from 'domhandler';
import { textContent } from 'domutils';
import { parseDocument } from 'htmlparser2';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, TestAgent, res, startHarness, testConfig, type Harness } from './helpers.js';

let h: Harness;
let base: string;

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; html: string; doc: ReturnType<typeof parseDocument> }> {
  const r = await fetch(`${base}${path}`, { headers });
  const html = await r.text();
  return { status: r.status, headers: r.headers, html, doc: parseDocument(html) };
}
const text = (el: unknown): string => (el === null || el === undefined ? '' : textContent(el as Element).replace(/\s+/g, ' ').trim());
const one = (root: unknown, sel: string): Element | null => selectOne<Element, Element>(sel, root as Element);
const all = (root: unknown, sel: string): Element[] => selectAll<Element, Element>(sel, root as Element);

beforeAll(async () => {
  h = await startHarness();
  base = h.collector.url;
  const a = await TestAgent.ready(h.wsUrl, 'kbh-1');
  const now = Date.now();
  await a.batch(1, [
    res({ seq: 1, ts: now - 2000, ok: false, status_code: 503, error: { code: 'http_status', message: 'status 503' } }),
    res({ seq: 2, system: 'virk', ts: now - 1500, duration_ms: 120 }),
    res({ seq: 3, system: 'virk', ts: now - 1000, duration_ms: 80 }),
  ]);
  await a.close();
  // A service window announced for Virk, tomorrow.
  const start = new Date(now + 86_400_000).toISOString();
  const end = new Date(now + 86_400_000 + 7_200_000).toISOString();
  const w = await fetch(`${base}/api/v1/maintenance`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ systems: ['virk'], start, end, title: { da: 'Opgradering af Virk', en: 'Virk upgrade' } }),
  });
  expect(w.status).toBe(201);
  // A release of Virk next week, announced by an operator.
  const an = await fetch(`${base}/api/v1/announcements`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      systems: ['virk'],
      kind: 'release',
      at: new Date(now + 7 * 86_400_000).toISOString(),
      title: { da: 'Virk 4.2', en: 'Virk 4.2 released' },
      body: { da: 'Ny indberetning af moms.', en: 'New VAT returns.' },
      link: 'https://virk.dk/nyt',
    }),
  });
  expect(an.status).toBe(201);
  // The operators' word on MitID's incident.
  const up = await fetch(`${base}/api/v1/incidents/1/updates`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ status: 'identified', message: { da: 'Fejl hos leverandøren; vi arbejder på det.', en: 'A supplier fault; we are on it.' } }),
  });
  expect(up.status).toBe(201);
});
afterAll(async () => {
  await h?.close();
});

describe('GET /', () => {
  it('is a Danish page with each system\'s status in words, its cause, incidents and service windows', async () => {
    const r = await get('/');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(r.headers.get('content-language')).toBe('da');
    expect(r.headers.get('vary')).toBe('Accept-Language, Accept-Encoding');
    expect(one(r.doc, 'html')?.attribs.lang).toBe('da');
    expect(text(one(r.doc, 'h1'))).toBe('Driftsstatus');
    expect(text(one(r.doc, '#summary'))).toBe('✕ 2 systemer har problemer');
    const mitid = one(r.doc, 'li.sys[data-system=mitid]');
    expect(text(one(mitid, 'h3'))).toBe('MitID');
    expect(one(mitid, 'h3 a')?.attribs.href).toBe('/systems/mitid');
    expect(text(one(mitid, '.st'))).toBe('✕ Større nedbrud');
    const virk = one(r.doc, 'li.sys[data-system=virk]');
    expect(text(virk)).toContain('Påvirket af MitID');
    // Colour is never alone: the symbol is hidden from screen readers, the words are not.
    expect(one(mitid, '.st [aria-hidden=true]')).not.toBeNull();
    // The incident of the root cause, naming what it affects.
    const incident = one(r.doc, '#incidents article');
    expect(text(one(incident, 'h3'))).toBe('MitID (prioritet 1) ✕ Større nedbrud');
    expect(text(incident)).toContain('Berører Virk');
    // Newest first: the operators' words, with their Statuspage state, above the engine's.
    expect(all(incident, '.updates li').map((li) => text(li).replace(/^\d\d[.:]\d\d /, ''))[0]).toBe('Årsag fundet: Fejl hos leverandøren; vi arbejder på det.');
    expect(text(one((await get('/?lang=en')).doc, '#incidents .updates li'))).toMatch(/^\d\d:\d\d Identified: A supplier fault; we are on it\.$/);
    // The service window announced for tomorrow.
    const window = one(r.doc, '#maintenance article');
    expect(text(one(window, 'h3'))).toBe('Opgradering af Virk ⚙ Planlagt');
    expect(text(window)).toContain('Virk');
    expect(text(one(r.doc, '#updated'))).toMatch(/^Opdateret \d+\. \w+ \d{4}/);
    expect(text(one(r.doc, '#history'))).toContain('Ingen hændelser de seneste 30 dage.');
  });

  it('carries the operators\' announcements, in the page\'s language, also on the system\'s page', async () => {
    const da = one((await get('/')).doc, '#announcements article');
    expect(text(one(da, 'h3'))).toBe('Virk 4.2 Ny version');
    expect(text(da)).toContain('Ny indberetning af moms. Læs mere');
    expect(one(da, 'a')?.attribs.href).toBe('https://virk.dk/nyt');
    expect(text(one((await get('/?lang=en')).doc, '#announcements h3'))).toBe('Virk 4.2 released Release');
    expect(text(one((await get('/systems/virk')).doc, '#announcements h3'))).toBe('Virk 4.2 Ny version');
    expect(one((await get('/systems/mitid')).doc, '#announcements')?.attribs.hidden).toBeDefined();
  });

  it('draws 90 days of history per system, today with the outage, and names the days that had one', async () => {
    const r = await get('/');
    const bar = one(r.doc, 'li.sys[data-system=mitid] .bar');
    expect(bar?.attribs.role).toBe('img');
    expect(bar?.attribs['aria-label']).toBe('Oppetid pr. dag de seneste 90 dage: 1 dag med nedbrud');
    const today = DateTime.now().setZone('Europe/Copenhagen').startOf('day');
    expect(bar?.attribs['data-first']).toBe(today.minus({ days: 89 }).toISODate());
    expect(bar?.attribs['data-days']).toBe('90');
    // Nothing was measured before today: 89 days without data as one stretch, untitled (the live
    // script names the day under the pointer); today, with the outage, on its own and titled.
    const days = all(bar, 'i');
    expect(days.map((d) => [d.attribs.class, d.attribs.style])).toEqual([
      ['n', 'flex:89'],
      ['d', undefined],
    ]);
    expect(days[0]?.attribs.title).toBeUndefined();
    expect(days[1]?.attribs.title).toMatch(/^\d+\. \w+\.? \d{4}: 0,00 % oppetid, nedbrud \d+ s$/);
    expect(text(one(r.doc, 'li.sys[data-system=mitid] p.muted'))).toBe('0,00 % oppetid i hele døgnet de seneste 30 dage');
    expect(all(r.doc, '#systems .legend li').map((li) => text(li))).toEqual([
      'Ingen nedbrud',
      'Kortere nedbrud (over 99 %)',
      'Nedbrud',
      'Kun vedligeholdelse',
      'Ingen målinger',
    ]);
  });

  it('carries the live script and its state, escaped, and no refresh meta', async () => {
    const r = await get('/');
    const data = JSON.parse(text(one(r.doc, 'script#vagt-live'))) as { version: string; lang: string; timezone: string; every: number };
    expect(data).toMatchObject({ lang: 'da', timezone: 'Europe/Copenhagen', every: 5000 });
    expect(data.version).toBe('mitid=major_outage:|virk=major_outage:mitid');
    expect(r.html).not.toContain('http-equiv="refresh"');
    expect(JSON.parse(text(one((await get('/?refresh=1')).doc, 'script#vagt-live'))).every).toBe(1000);
    expect(JSON.parse(text(one((await get('/?refresh=0')).doc, 'script#vagt-live'))).every).toBe(5000);
  });

  it('speaks English with ?lang=en or when the browser prefers it', async () => {
    for (const r of [await get('/?lang=en'), await get('/', { 'accept-language': 'en-GB,en;q=0.9,da;q=0.8' })]) {
      expect(one(r.doc, 'html')?.attribs.lang).toBe('en');
      expect(text(one(r.doc, 'h1'))).toBe('System status');
      expect(text(one(r.doc, '#summary'))).toBe('✕ 2 systems have problems');
      expect(text(one(r.doc, 'li.sys[data-system=virk]'))).toContain('Affected by MitID');
      expect(text(one(r.doc, '#maintenance h3'))).toBe('Virk upgrade ⚙ Scheduled');
      expect(one(r.doc, 'li.sys[data-system=mitid] .bar')?.attribs['aria-label']).toBe('Uptime per day over the last 90 days: 1 day with outages');
    }
    expect(one((await get('/', { 'accept-language': 'da, en;q=0.5' })).doc, 'html')?.attribs.lang).toBe('da');
    expect(one((await get('/', { 'accept-language': 'de-DE' })).doc, 'html')?.attribs.lang).toBe('da');
    // The explicit choice wins over the browser's.
    expect(one((await get('/?lang=da', { 'accept-language': 'en' })).doc, 'html')?.attribs.lang).toBe('da');
    // The language switch points at the other language.
    expect(one((await get('/')).doc, 'nav a[hreflang=en]')?.attribs.href).toBe('/?lang=en');
  });
});

describe('GET /systems/{id}', () => {
  it('shows the status and its cause, the declaration against what was measured, checks, a chart and dependencies', async () => {
    const r = await get('/systems/virk');
    expect(r.status).toBe(200);
    expect(text(one(r.doc, 'main h2'))).toBe('Virk');
    expect(text(one(r.doc, 'main .summary'))).toBe('✕ Større nedbrud – Påvirket af MitID');
    const decl = all(r.doc, '#h-decl + .table tbody tr').map((tr) => all(tr, 'th,td').map((c) => text(c)));
    // No declaration in this configuration: the whole day, no targets; the response time measured
    // over the last day while the hourly aggregates have none yet.
    expect(decl).toEqual([
      ['Oppetid, hele døgnet', '–', '0,00 %', '–'],
      ['Svartid (95-percentil)', '–', '120 ms (24 t)', '–'],
    ]);
    // MitID's incident affects Virk: priority 1, still open, the operators' first word within seconds.
    const handling = all(r.doc, 'section[aria-labelledby=h-decl] h3 + .table tbody tr').map((tr) => all(tr, 'th,td').map((c) => text(c)));
    expect(handling).toEqual([
      ['prioritet 1', '1', expect.stringMatching(/^\d+ s \/ \d+ s$/), '– / – (1 åbne)'],
      ['prioritet 2', '0', '– / –', '– / –'],
      ['prioritet 3', '0', '– / –', '– / –'],
    ]);
    const checks = all(r.doc, '#h-probes + .table tbody tr').map((tr) => text(one(tr, 'th')));
    expect(checks).toEqual(['front', 'port']);
    expect(text(all(r.doc, '#h-probes + .table tbody tr')[0])).toContain('kbh-1: ✓ bestået 80 ms');
    const chart = one(r.doc, 'svg.chart');
    expect(chart?.attribs.role).toBe('img');
    expect(chart?.attribs['aria-label']).toMatch(/^Svartider for front de seneste 24 timer\. Median (80|120) ms, 95-percentil 120 ms$/);
    expect(all(r.doc, 'svg.chart polyline').length).toBeGreaterThanOrEqual(2);
    expect(text(one(r.doc, 'section[aria-labelledby=h-deps]'))).toContain('MitID (kritisk) ✕ Større nedbrud');
    expect(text(one(r.doc, 'section[aria-labelledby=h-inc]'))).toContain('MitID (prioritet 1)');
    const en = await get('/systems/virk?lang=en');
    expect(text(one(en.doc, 'main .summary'))).toBe('✕ Major outage – Affected by MitID');
    expect(one(en.doc, 'a[href="/?lang=en"]')).not.toBeNull();
  });

  it('answers an unknown system with a page saying so, 404', async () => {
    const r = await get('/systems/atlantis');
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(text(one(r.doc, 'main h2'))).toBe('Systemet findes ikke.');
  });
});

describe('long response times', () => {
  it('names them beside the system, with the measured value and the limit', async () => {
    const systems = [{ id: 'skat', name: 'Skat', response_time: { slow: '100ms', for: '0s' }, probes: [{ id: 'front', type: 'http', url: 'https://skat.dk/' }] }];
    const slow = await startHarness({ config: (dir) => testConfig(dir, { systems }) });
    try {
      const a = await TestAgent.ready(slow.wsUrl, 'kbh-1');
      await a.batch(1, [res({ seq: 1, system: 'skat', duration_ms: 2500 })]);
      await a.close();
      const r = await fetch(slow.collector.url + '/');
      const doc = parseDocument(await r.text());
      const li = one(doc, 'li.sys[data-system=skat]');
      expect(text(one(li, '.st'))).toBe('◔ Nedsat ydeevne');
      expect(text(one(li, '.notice'))).toBe('Lange svartider: 2,5 s (grænse 100 ms)');
    } finally {
      await slow.close();
    }
  });
});

describe('a large and awkward configuration', () => {
  it('escapes names, and keeps the page of 50 declared systems under 100 KB', async () => {
    const systems = Array.from({ length: 50 }, (_, i) => ({
      id: `s${i}`,
      name: i === 0 ? '<script>alert("x")</script> & Co' : `Selvbetjeningsløsning nummer ${i}`,
      description: 'En offentlig selvbetjeningsløsning',
      depends_on: i > 0 ? { s0: 'critical' } : {},
      response_time: { slow: '2s', for: '5m' },
      sla: { uptime: 99.7, windows: { primary: 'mon-fri 08:30-16:30' } },
      probes: [{ id: 'front', type: 'http', url: `https://s${i}.example.dk/` }],
    }));
    const big = await startHarness({ config: (dir) => testConfig(dir, { systems }) });
    try {
      const a = await TestAgent.ready(big.wsUrl, 'kbh-1');
      await a.batch(1, [res({ seq: 1, system: 's0', ok: false, status_code: 500, error: { code: 'http_status', message: 'status 500' } })]);
      await a.close();
      const r = await fetch(big.collector.url + '/');
      const html = await r.text();
      expect(html).not.toContain('<script>alert');
      expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co');
      expect(all(parseDocument(html), 'li.sys')).toHaveLength(50);
      expect(Buffer.byteLength(html)).toBeLessThan(100 * 1024);
      const sys = await (await fetch(big.collector.url + '/systems/s1')).text();
      expect(sys).toContain('Påvirket af &lt;script&gt;');
    } finally {
      await big.close();
    }
  });
});
