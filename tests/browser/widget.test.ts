// The widget and the embed page in real Chromium, on a foreign page served from another origin
// whose CSS is hostile: the box shows the status in its shadow root, untouched by the page's CSS
// and touching none of it, follows a system that goes down, speaks English, keeps its last state
// when the collector cannot be reached, and the iframe-able /embed renders and passes axe-core.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { clockTime } from '../../collector/portal/embed.js';
import { TestAgent, eventually, getJson, res, startHarness, testConfig, type Harness } from '../collector/helpers.js';
import { launchChromium, seriousViolations, type Chromium } from './chromium.js';

const systems = [
  { id: 'mitid', name: 'MitID', probes: [{ id: 'front', type: 'http', url: 'https://www.mitid.dk/' }] },
  { id: 'nemlog-in', name: 'NemLog-in', depends_on: { mitid: 'critical' }, probes: [{ id: 'front', type: 'http', url: 'https://nemlog-in.dk/' }] },
  { id: 'borger-dk', name: 'borger.dk', depends_on: { 'nemlog-in': 'critical' }, probes: [{ id: 'front', type: 'http', url: 'https://www.borger.dk/' }] },
];

// The foreign page's own CSS does its worst to everything, and to a box of the widget's class.
const HOSTILE = `* { color: red !important; font-size: 40px; display: block; font-family: serif; line-height: 3 }
.vagt-box, .st, .txt { display: none !important }
a, .more { color: red !important; text-decoration: line-through !important; font-size: 40px !important }`;

let chrome: Chromium;
let h: Harness;
let agent: TestAgent;
let foreign: Server;
let base = '';
let site = '';
let seq = 0;

/** One result per system, passing or not, now. */
async function report(ok: Record<string, boolean>): Promise<void> {
  seq += 1;
  const results = Object.entries(ok).map(([system, pass], i) =>
    res({ seq: seq * 10 + i, system, ts: Date.now(), ok: pass, ...(pass ? {} : { status_code: 503, error: { code: 'http_status', message: 'status 503' } }) }),
  );
  await agent.batch(seq, results);
}

async function allRunning(): Promise<void> {
  await report({ mitid: true, 'nemlog-in': true, 'borger-dk': true });
  await eventually(async () => (await getJson(`${base}/api/v1/status`)).body.systems.every((s) => s.status === 'operational'));
}

const attr = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** The foreign page: /?data-system=…&data-lang=… puts those attributes on the script tag. */
function foreignPage(url: URL): string {
  const attrs = [...url.searchParams]
    .filter(([k]) => k.startsWith('data-'))
    .map(([k, v]) => ` ${k}="${attr(v)}"`)
    .join('');
  const plain = url.searchParams.has('plain');
  const iframe = url.searchParams.get('iframe');
  return `<!doctype html>
<html lang="da">
<head><meta charset="utf-8"><title>Kommunens selvbetjening</title>${plain ? '' : `<style>${HOSTILE}</style>`}</head>
<body><main>
<h1>Selvbetjening</h1>
<p id="before">Før boksen</p>
<script id="widget" src="${base}/widget.js"${attrs} async></script>
<p id="after">Efter boksen</p>
<span class="more" id="decoy">Sidens egen tekst</span>
<div id="here"></div>
${iframe === null ? '' : `<iframe src="${attr(`${base}/embed${iframe}`)}" title="Driftsstatus" style="border:0;width:100%;height:60px"></iframe>`}
</main></body>
</html>`;
}

beforeAll(async () => {
  chrome = await launchChromium();
  h = await startHarness({ config: (dir) => testConfig(dir, { systems }) });
  base = h.collector.url;
  agent = await TestAgent.ready(h.wsUrl, 'kbh-1');
  foreign = createServer((req, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(foreignPage(new URL(req.url ?? '/', 'http://foreign.invalid')));
  });
  await new Promise<void>((r) => foreign.listen(0, '127.0.0.1', r));
  // Another port is another origin: the widget works cross-origin, as on an authority's site.
  site = `http://127.0.0.1:${(foreign.address() as { port: number }).port}`;
  await allRunning();
}, 30_000);
afterAll(async () => {
  await chrome?.close();
  await agent?.close();
  await h?.close();
  await new Promise((r) => foreign?.close(r));
});

async function open(query: string, options: Parameters<Chromium['browser']['newContext']>[0] = {}): Promise<{ page: Page; context: BrowserContext }> {
  const context = await chrome.browser.newContext(options);
  const page = await context.newPage();
  await page.goto(`${site}/?${query}`);
  return { page, context };
}

interface Style {
  display: string;
  color: string;
  fontSize: string;
  fontFamily: string;
  textDecorationLine: string;
}
function styleOf(l: Locator): Promise<Style> {
  return l.evaluate((el) => {
    const s = (globalThis as unknown as { getComputedStyle(e: unknown): Style }).getComputedStyle(el);
    return { display: s.display, color: s.color, fontSize: s.fontSize, fontFamily: s.fontFamily, textDecorationLine: s.textDecorationLine };
  });
}

/** "Updated 08:08" for the collector's last update, as the page should say it. */
async function updatedAt(): Promise<string> {
  return clockTime(Date.parse((await getJson(`${base}/api/v1/status`)).body.updated_at), 'Europe/Copenhagen');
}

describe('/widget.js on a foreign page', () => {
  it('draws the overall status after its script tag, in a shadow root the page CSS cannot touch', async () => {
    const { page, context } = await open('x=1');
    const box = page.locator('vagt-status .vagt-box');
    await expect.poll(() => box.locator('.txt').textContent()).toBe('Alle systemer kører');
    expect(await box.locator('.title').textContent()).toBe('Driftsstatus');
    expect(await box.locator('.upd').textContent()).toMatch(/^Opdateret kl\. \d\d:\d\d$/);
    // In Copenhagen time; the minute may have turned since the box drew.
    const minutes = [await updatedAt(), clockTime(Date.now() - 60_000, 'Europe/Copenhagen')].map((t) => `Opdateret kl. ${t}`);
    expect(minutes).toContain(await box.locator('.upd').textContent());
    expect(await box.locator('.sym').textContent()).toBe('✓');
    expect(await box.getAttribute('role')).toBe('status');
    expect(await box.getAttribute('aria-live')).toBe('polite');
    expect(await box.getAttribute('lang')).toBe('da');
    const link = box.locator('a.more');
    expect(await link.textContent()).toBe('Læs mere');
    expect(await link.getAttribute('href')).toBe(`${base}/`);
    // Right after the script, in an open shadow root.
    expect(await page.evaluate(() => {
      const d = (globalThis as unknown as { document: { getElementById(id: string): { nextElementSibling: { tagName: string; shadowRoot: { mode: string } | null } } } }).document;
      const next = d.getElementById('widget').nextElementSibling;
      return `${next.tagName} ${next.shadowRoot?.mode}`;
    })).toBe('VAGT-STATUS open');

    // The page's CSS reaches its own elements...
    expect(await styleOf(page.locator('#decoy'))).toMatchObject({ color: 'rgb(255, 0, 0)', fontSize: '40px', textDecorationLine: 'line-through' });
    // ...but not the box, whose words keep their own size, colour and visibility.
    expect(await styleOf(box)).toMatchObject({ display: 'inline-flex', color: 'rgb(31, 35, 40)', fontSize: '14px' });
    expect((await styleOf(box)).fontFamily).not.toBe('serif');
    // (A flex item's display is "block" whatever it says; the page's "none" did not reach it.)
    expect(await styleOf(box.locator('.st'))).toMatchObject({ color: 'rgb(26, 127, 55)', fontSize: '14px', display: 'block' });
    expect(await box.locator('.st').isVisible()).toBe(true);
    expect(await styleOf(link)).toMatchObject({ color: 'rgb(5, 80, 174)', fontSize: '14px', textDecorationLine: 'underline' });
    expect(await box.isVisible()).toBe(true);
    const size = await box.boundingBox();
    expect(size!.height).toBeLessThan(40);
    if (process.env.VAGT_SCREENSHOTS !== undefined) await box.screenshot({ path: `${process.env.VAGT_SCREENSHOTS}/widget-hostile.png` });
    await context.close();
  });

  it('follows one system as it goes down and recovers, polling as often as data-refresh says', async () => {
    const { page, context } = await open('data-system=borger-dk&data-refresh=1');
    const box = page.locator('vagt-status .vagt-box');
    await expect.poll(() => box.locator('.txt').textContent()).toBe('borger.dk: Kører');
    expect(await box.locator('a.more').getAttribute('href')).toBe(`${base}/systems/borger-dk`);
    await report({ mitid: false, 'nemlog-in': true, 'borger-dk': true });
    await expect.poll(() => box.locator('.txt').textContent(), { timeout: 10_000 }).toBe('borger.dk: Større nedbrud · Påvirket af MitID');
    expect(await box.locator('.sym').textContent()).toBe('✕');
    expect(await styleOf(box.locator('.st'))).toMatchObject({ color: 'rgb(194, 31, 44)' });
    // The iframe page says the same as the script, word for word.
    const embed = await (await fetch(`${base}/embed?system=borger-dk`)).text();
    expect(embed).toContain('<span class="txt">borger.dk: Større nedbrud · Påvirket af MitID</span>');
    await allRunning();
    await expect.poll(() => box.locator('.txt').textContent(), { timeout: 10_000 }).toBe('borger.dk: Kører');
    await context.close();
  });

  it('speaks English with data-lang="en", and goes where data-target says', async () => {
    const { page, context } = await open('data-lang=en&data-target=%23here');
    const box = page.locator('#here vagt-status .vagt-box');
    await expect.poll(() => box.locator('.txt').textContent()).toBe('All systems operational');
    expect(await box.locator('.title').textContent()).toBe('System status');
    expect(await box.locator('.upd').textContent()).toMatch(/^Updated \d\d:\d\d$/);
    expect(await box.getAttribute('lang')).toBe('en');
    expect(await box.locator('a.more').textContent()).toBe('Read more');
    expect(await box.locator('a.more').getAttribute('href')).toBe(`${base}/?lang=en`);
    expect(await page.locator('vagt-status').count()).toBe(1);
    await context.close();
  });

  it('keeps the last state and says the status is unavailable while the collector cannot be reached', async () => {
    const { page, context } = await open('data-refresh=1');
    const box = page.locator('vagt-status .vagt-box');
    await expect.poll(() => box.locator('.txt').textContent()).toBe('Alle systemer kører');
    expect(await box.locator('.err').isVisible()).toBe(false);
    await context.route('**/api/v1/status', (route) => route.abort('connectionrefused'));
    await expect.poll(() => box.locator('.err').textContent(), { timeout: 10_000 }).toBe('Status kunne ikke hentes');
    expect(await box.locator('.err').isVisible()).toBe(true);
    expect(await box.locator('.txt').textContent()).toBe('Alle systemer kører');
    await context.unroute('**/api/v1/status');
    await expect.poll(() => box.locator('.err').isVisible(), { timeout: 10_000 }).toBe(false);
    await context.close();
  });

  it('has no serious accessibility faults on a plain page, and its link takes the keyboard', async () => {
    const { page, context } = await open('plain=1');
    await expect.poll(() => page.locator('vagt-status .txt').textContent()).toBe('Alle systemer kører');
    expect(await seriousViolations(page)).toEqual([]);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => {
      const d = (globalThis as unknown as { document: { activeElement: { tagName: string; shadowRoot: { activeElement: { textContent: string } | null } | null } } }).document;
      return `${d.activeElement.tagName} ${d.activeElement.shadowRoot?.activeElement?.textContent}`;
    })).toBe('VAGT-STATUS Læs mere');
    await context.close();
  });
});

describe('/embed', () => {
  it('renders in an iframe of a foreign page, with the link opening the status page on top', async () => {
    const { page, context } = await open('iframe=%3Fsystem%3Dborger-dk');
    const frame = page.frameLocator('iframe');
    await expect.poll(() => frame.locator('.vagt-box .txt').textContent()).toBe('borger.dk: Kører');
    expect(await frame.locator('.vagt-box .title').textContent()).toBe('Driftsstatus');
    expect(await frame.locator('a.more').getAttribute('target')).toBe('_top');
    if (process.env.VAGT_SCREENSHOTS !== undefined) await page.locator('iframe').screenshot({ path: `${process.env.VAGT_SCREENSHOTS}/embed-iframe.png` });
    await frame.locator('a.more').click();
    await page.waitForURL(`${base}/systems/borger-dk`);
    await context.close();
  });

  it('refreshes itself in place, and reads without JavaScript', async () => {
    const context = await chrome.browser.newContext();
    const page = await context.newPage();
    // A policy refusing the page's own script or style would say so here.
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.clock.install();
    await page.goto(`${base}/embed?lang=en`);
    const txt = page.locator('.vagt-box .txt');
    expect(await txt.textContent()).toBe('All systems operational');
    await report({ mitid: false, 'nemlog-in': true, 'borger-dk': true });
    await eventually(async () => (await getJson(`${base}/api/v1/status`)).body.systems.every((s) => s.status === 'major_outage'));
    await page.clock.runFor(60_000);
    await expect.poll(() => txt.textContent()).toBe('3 systems have problems');
    expect(await page.locator('.vagt-box .sym').textContent()).toBe('✕');
    expect(await styleOf(page.locator('.vagt-box .st'))).toMatchObject({ color: 'rgb(194, 31, 44)', fontSize: '14px' });
    expect(errors).toEqual([]);
    await allRunning();
    await context.close();

    const noJs = await chrome.browser.newContext({ javaScriptEnabled: false });
    const still = await noJs.newPage();
    await still.goto(`${base}/embed?system=mitid`);
    expect(await still.locator('.vagt-box .txt').textContent()).toBe('MitID: Kører');
    await noJs.close();
  });

  it('has no serious or critical accessibility faults, in Danish and English, for one system and all', async () => {
    // axe-core is injected as a script, which the page's own policy rightly refuses.
    const context = await chrome.browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    for (const q of ['', '?lang=en', '?system=borger-dk', '?system=atlantis']) {
      await page.goto(`${base}/embed${q}`);
      expect(await seriousViolations(page), q).toEqual([]);
    }
    await context.close();
  });
});
