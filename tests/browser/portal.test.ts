// The status portal in real headless Chromium: a real collector, a real agent probing a real
// target every 250 ms. The page must follow the target down and back up without a reload, speak
// Danish and English, work from the keyboard, pass axe-core without serious violations, and fit
// a phone's width.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../agent/agent.js';
import { startCollector, type Collector } from '../../collector/collector.js';
import { configSchema } from '../../config/schema.js';
import { launchChromium, seriousViolations, type Chromium } from './chromium.js';

const TOKEN = 'browser-portal-token-0123456789';
const log = pino({ level: 'silent' });

let dir: string;
let target: Server;
let healthy = true;
let collector: Collector;
let agent: Agent;
let chrome: Chromium;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vagt-browser-'));
  target = createServer((_req, res) => {
    if (healthy) res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>Selvbetjening</h1>');
    else res.writeHead(503).end('nede');
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  const port = (target.address() as { port: number }).port;
  const config = configSchema.parse({
    collector: { listen: '127.0.0.1:0', data_dir: dir },
    agents: [{ id: 'kbh-1', token: TOKEN }],
    defaults: { interval: '250ms', timeout: '200ms', retries: 0 },
    systems: [
      {
        id: 'nemlog-in',
        name: 'NemLog-in',
        sla: { uptime: 99.7, windows: { primary: 'mon-fri 08:30-16:30' } },
        response_time: { slow: '2s', for: '1m' },
        probes: [{ id: 'login', type: 'http', url: `http://127.0.0.1:${port}/`, expect: { body_contains: 'Selvbetjening' } }],
      },
      {
        id: 'borger-dk',
        name: 'borger.dk',
        depends_on: { 'nemlog-in': 'critical' },
        probes: [{ id: 'front', type: 'tcp', host: '127.0.0.1', port }],
      },
    ],
  });
  collector = await startCollector({ config, logger: log });
  agent = startAgent({ url: collector.url.replace('http://', 'ws://') + '/agent', id: 'kbh-1', token: TOKEN, logger: log, batchMs: 20 });
  chrome = await launchChromium();
}, 60_000);

afterAll(async () => {
  await chrome?.close();
  await agent?.stop();
  await collector?.close();
  await new Promise((r) => target?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

async function open(path: string, opts: { width?: number; locale?: string } = {}): Promise<Page> {
  const context = await chrome.browser.newContext({ viewport: { width: opts.width ?? 1280, height: 900 }, locale: opts.locale ?? 'da-DK' });
  const page = await context.newPage();
  await page.goto(collector.url + path);
  return page;
}

const statusOf = (page: Page, id: string): Promise<string> => page.locator(`li.sys[data-system="${id}"] .st`).innerText();

describe('the status page', () => {
  it('follows a system down and back up without reloading', async () => {
    const page = await open('/?refresh=1');
    await expect.poll(() => page.locator('#summary').innerText(), { timeout: 15_000 }).toContain('Alle systemer kører');
    // A mark on the window survives only if the page is never reloaded.
    await page.evaluate(() => ((globalThis as unknown as { vagtMark: number }).vagtMark = 42));
    healthy = false;
    await expect.poll(() => statusOf(page, 'nemlog-in'), { timeout: 15_000 }).toContain('Større nedbrud');
    expect(await statusOf(page, 'borger-dk')).toContain('Større nedbrud');
    expect(await page.locator('li.sys[data-system="borger-dk"]').innerText()).toContain('Påvirket af NemLog-in');
    expect(await page.locator('#summary').innerText()).toContain('2 systemer har problemer');
    expect(await page.locator('#incidents h2').innerText()).toBe('Aktuelle hændelser');
    healthy = true;
    await expect.poll(() => statusOf(page, 'nemlog-in'), { timeout: 15_000 }).toContain('Kører');
    await expect.poll(() => page.locator('#summary').innerText(), { timeout: 15_000 }).toContain('Alle systemer kører');
    expect(await page.evaluate(() => (globalThis as unknown as { vagtMark?: number }).vagtMark)).toBe(42);
    // The update time moves with the collector's.
    const first = await page.locator('#updated time').getAttribute('datetime');
    await expect.poll(() => page.locator('#updated time').getAttribute('datetime'), { timeout: 5_000 }).not.toBe(first);
    await page.context().close();
  }, 60_000);

  it('speaks Danish by default and English when the browser or the link asks for it', async () => {
    const da = await open('/');
    expect(await da.locator('html').getAttribute('lang')).toBe('da');
    expect(await da.locator('h1').innerText()).toBe('Driftsstatus');
    expect(await da.locator('#h-systems').innerText()).toBe('Systemer');
    await da.getByRole('link', { name: 'English' }).click();
    await da.waitForURL(/lang=en/);
    expect(await da.locator('h1').innerText()).toBe('System status');
    await da.context().close();
    const en = await open('/', { locale: 'en-GB' });
    expect(await en.locator('html').getAttribute('lang')).toBe('en');
    expect(await en.locator('#h-systems').innerText()).toBe('Systems');
    await en.context().close();
  });

  it('works from the keyboard: skip link first, then the menu, then every system', async () => {
    const page = await open('/');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { textContent: string } } }).document.activeElement.textContent)).toBe(
      'Gå til indholdet',
    );
    const focused: string[] = [];
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      focused.push(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { textContent: string } } }).document.activeElement.textContent.trim()));
    }
    expect(focused.slice(0, 6)).toEqual(['Driftsstatus', 'Status', 'Afhængigheder', 'Atom-feed', 'API', 'English']);
    expect(focused).toContain('NemLog-in');
    expect(focused).toContain('borger.dk');
    // Enter on the focused system link opens its page.
    while ((await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { textContent: string } } }).document.activeElement.textContent.trim())) !== 'borger.dk')
      await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/systems\/borger-dk$/);
    expect(await page.locator('main h2').first().innerText()).toBe('borger.dk');
    await page.context().close();
  });

  it('has no serious accessibility violations (axe-core, WCAG 2.1 A and AA), also on a system page and the map', async () => {
    for (const path of ['/', '/?lang=en', '/systems/nemlog-in', '/systems/borger-dk?lang=en', '/dependencies', '/dependencies?lang=en']) {
      const page = await open(path);
      expect(await seriousViolations(page), path).toEqual([]);
      await page.context().close();
    }
  });

  it('fits a phone: nothing wider than the screen', async () => {
    for (const path of ['/', '/systems/nemlog-in', '/dependencies']) {
      const page = await open(path, { width: 375 });
      const { scroll, client } = await page.evaluate(() => {
        const d = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
        return { scroll: d.scrollWidth, client: d.clientWidth };
      });
      expect(scroll, path).toBeLessThanOrEqual(client);
      await page.context().close();
    }
  });
});
