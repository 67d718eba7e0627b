// Live updates must not lose the reader's place (WCAG 2.4.3, 3.2, 4.1.3), in real headless
// Chromium against a real collector fed by a protocol-speaking test agent: focus inside a swapped
// section stays on the same element, open <details> stay open, the window does not jump, a field
// in use holds its section back until it is left, and one polite live region says briefly what
// changed, in the page's language, and nothing when nothing did.
import type { Page, Route } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TestAgent, res, startHarness, testConfig, type Harness } from '../collector/helpers.js';
import { launchChromium, seriousViolations, type Chromium } from './chromium.js';

const SYSTEMS = [
  { id: 'mitid', name: 'MitID', probes: [{ id: 'front', type: 'http', url: 'https://www.mitid.dk/' }] },
  { id: 'nemlog-in', name: 'NemLog-in', depends_on: { mitid: 'critical' }, probes: [{ id: 'front', type: 'http', url: 'https://nemlog-in.dk/' }] },
  { id: 'borger-dk', name: 'borger.dk', probes: [{ id: 'front', type: 'http', url: 'https://www.borger.dk/' }] },
];

let chrome: Chromium;
let h: Harness;
let agent: TestAgent;
let seq = 0;

beforeAll(async () => {
  chrome = await launchChromium();
}, 60_000);
afterAll(async () => {
  await chrome?.close();
});

// A fresh collector per test: every test starts with all three systems running.
beforeEach(async () => {
  h = await startHarness({ config: (dir) => testConfig(dir, { systems: SYSTEMS }) });
  agent = await TestAgent.ready(h.wsUrl, 'kbh-1');
  seq = 0;
  await report({ mitid: true, 'nemlog-in': true, 'borger-dk': true });
});
afterEach(async () => {
  await agent?.close();
  await h?.close();
});

/** The agent's latest results, one per system: ok or a 503. */
async function report(ok: Record<string, boolean>): Promise<void> {
  const now = Date.now();
  const results = Object.entries(ok).map(([system, up]) =>
    res({ seq: ++seq, system, probe: 'front', ts: now, ok: up, ...(up ? {} : { status_code: 503, error: { code: 'http_status', message: 'status 503' } }) }),
  );
  await agent.batch(seq, results);
}

async function open(path: string, opts: { height?: number; width?: number; html?: (html: string) => string } = {}): Promise<Page> {
  const context = await chrome.browser.newContext({ viewport: { width: opts.width ?? 1280, height: opts.height ?? 900 }, locale: 'da-DK' });
  const page = await context.newPage();
  // Counts the live script's polls, to tell "nothing was said" from "nothing was asked yet".
  await page.addInitScript(() => {
    const g = globalThis as unknown as { fetch: (u: unknown, i?: unknown) => Promise<unknown>; vagtPolls: number };
    const f = g.fetch.bind(g);
    g.vagtPolls = 0;
    g.fetch = (u, i) => {
      if (String(u).includes('/api/v1/status')) g.vagtPolls++;
      return f(u, i);
    };
  });
  const edit = opts.html;
  if (edit !== undefined) {
    // The status page has no <details> or form field of its own yet: these tests add some to the
    // collector's HTML, both to the first load and to the live script's fetches of the page.
    await page.route(
      (u) => u.pathname === '/',
      async (route: Route) => {
        const r = await route.fetch();
        await route.fulfill({ status: r.status(), headers: { 'content-type': 'text/html; charset=utf-8' }, body: edit(await r.text()) });
      },
    );
  }
  await page.goto(h.collector.url + path);
  return page;
}

/** Evaluates an expression in the page (the test's own tsconfig has no DOM types). */
const js = <T>(page: Page, expr: string): Promise<T> => page.evaluate<T>(expr);
const statusOf = (page: Page, id: string): Promise<string> => page.locator(`#systems li.sys[data-system="${id}"] .st`).innerText();
const announced = (page: Page): Promise<string> => js<string>(page, "document.getElementById('vagt-announce')?.textContent ?? ''");
const polls = (page: Page): Promise<number> => js<number>(page, 'globalThis.vagtPolls');

interface Focused {
  tag: string;
  href: string | null;
  text: string;
  section: string | null;
  system: string | null;
  /** Set on the element focused before the swap: false proves it is a new element. */
  old: boolean;
  connected: boolean;
}
const focused = (page: Page): Promise<Focused> =>
  js<Focused>(
    page,
    `(() => { const a = document.activeElement; return { tag: a.tagName, href: a.getAttribute('href'), text: a.textContent.trim(), section: a.closest('section')?.id ?? null, system: a.closest('li.sys')?.dataset.system ?? null, old: a.vagtOld === true, connected: a.isConnected }; })()`,
  );
const markFocused = (page: Page): Promise<unknown> => js(page, 'document.activeElement.vagtOld = true');

describe('a live update keeps the reader\'s place', () => {
  it('keeps focus on the same link when its system\'s section is swapped, and says what changed in Danish', async () => {
    const page = await open('/?refresh=1');
    expect(await statusOf(page, 'nemlog-in')).toContain('Kører');
    await page.locator('#systems li.sys[data-system="nemlog-in"] h3 a').focus();
    await markFocused(page);
    await report({ mitid: false });
    await expect.poll(() => statusOf(page, 'nemlog-in'), { timeout: 10_000 }).toContain('Større nedbrud');
    expect(await page.locator('#systems li.sys[data-system="nemlog-in"]').innerText()).toContain('Påvirket af MitID');
    expect(await focused(page)).toEqual({ tag: 'A', href: '/systems/nemlog-in', text: 'NemLog-in', section: 'systems', system: 'nemlog-in', old: false, connected: true });
    // The focus order goes on from there: the next Tab is the next system.
    await page.keyboard.press('Tab');
    expect(await focused(page)).toMatchObject({ href: '/systems/borger-dk', system: 'borger-dk' });
    // Briefly, the systems whose status changed, and not the one that did not.
    await expect.poll(() => announced(page), { timeout: 5_000 }).toContain('MitID: Større nedbrud');
    expect(await announced(page)).toContain('NemLog-in: Større nedbrud');
    expect(await announced(page)).not.toContain('borger.dk');
    const region = await js<{ role: string | null; live: string | null; inMain: boolean }>(
      page,
      "(() => { const r = document.getElementById('vagt-announce'); return { role: r.getAttribute('role'), live: r.getAttribute('aria-live'), inMain: !!r.closest('main') }; })()",
    );
    expect(region).toEqual({ role: 'status', live: 'polite', inMain: true });
    expect(await seriousViolations(page)).toEqual([]);
    await page.context().close();
  }, 30_000);

  it('keeps keyboard focus in the systems list, not on the new incident\'s link to the same page', async () => {
    const page = await open('/?refresh=1');
    for (let i = 0; i < 30 && (await focused(page)).system !== 'mitid'; i++) await page.keyboard.press('Tab');
    expect(await focused(page)).toMatchObject({ href: '/systems/mitid', section: 'systems' });
    await markFocused(page);
    await report({ mitid: false });
    // An incident appears above, with its own link to /systems/mitid.
    await expect.poll(() => page.locator('#incidents a[href="/systems/mitid"]').count(), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => statusOf(page, 'mitid'), { timeout: 5_000 }).toContain('Større nedbrud');
    expect(await focused(page)).toMatchObject({ tag: 'A', href: '/systems/mitid', section: 'systems', system: 'mitid', old: false, connected: true });
    await page.context().close();
  }, 30_000);

  it('keeps open <details> open and a focused summary focused, and closed ones closed', async () => {
    const page = await open('/?refresh=1', {
      html: (html) =>
        html
          .replace('<li class="sys" data-system="mitid">', (m) => `${m}<details><summary>Historik for MitID</summary><p>90 dage</p></details>`)
          .replace('<li class="sys" data-system="nemlog-in">', (m) => `${m}<details data-key="nemlog-in-more"><summary>Mere om NemLog-in</summary><p>Login</p></details>`)
          .replace('<li class="sys" data-system="borger-dk">', (m) => `${m}<details id="borger-more"><summary>Mere om borger.dk</summary><p>Portal</p></details>`),
    });
    // A keyboard user opens MitID's; NemLog-in's is opened by a click.
    await page.locator('li.sys[data-system="mitid"] summary').focus();
    await page.keyboard.press('Enter');
    await page.locator('li.sys[data-system="nemlog-in"] summary').click();
    await page.locator('li.sys[data-system="mitid"] summary').focus();
    await markFocused(page);
    const openState = (): Promise<Record<string, boolean>> =>
      js(page, "Object.fromEntries([...document.querySelectorAll('#systems li.sys')].map((li) => [li.dataset.system, li.querySelector('details').open]))");
    expect(await openState()).toEqual({ mitid: true, 'nemlog-in': true, 'borger-dk': false });
    await report({ mitid: false });
    await expect.poll(() => statusOf(page, 'mitid'), { timeout: 10_000 }).toContain('Større nedbrud');
    expect(await js<boolean>(page, "!!document.querySelector('#systems li.sys[data-system=\"nemlog-in\"]').textContent.includes('Påvirket af MitID')")).toBe(true);
    expect(await openState()).toEqual({ mitid: true, 'nemlog-in': true, 'borger-dk': false });
    expect(await focused(page)).toMatchObject({ tag: 'SUMMARY', text: 'Historik for MitID', system: 'mitid', old: false, connected: true });
    expect(await seriousViolations(page)).toEqual([]);
    await page.context().close();
  }, 30_000);

  it('holds a section back while its form field is in use, and swaps it when the field is left', async () => {
    const page = await open('/?refresh=1', {
      html: (html) => html.replace('<h2 id="h-systems">Systemer</h2>', (m) => `${m}<label>Find et system <input id="find" type="search"></label>`),
    });
    await page.locator('#find').focus();
    await page.keyboard.type('Mit');
    await report({ mitid: false });
    // The change was fetched and said, but the systems section waits.
    await expect.poll(() => announced(page), { timeout: 10_000 }).toContain('MitID: Større nedbrud');
    expect(await page.locator('#summary').innerText()).toContain('2 systemer har problemer');
    expect(await statusOf(page, 'mitid')).toContain('Kører');
    expect(await js<{ id: string; value: string }>(page, '({ id: document.activeElement.id, value: document.activeElement.value })')).toEqual({ id: 'find', value: 'Mit' });
    // Tab leaves the field for MitID's link; then the section is swapped, focus kept on that link.
    await page.keyboard.press('Tab');
    await expect.poll(() => statusOf(page, 'mitid'), { timeout: 5_000 }).toContain('Større nedbrud');
    expect(await focused(page)).toMatchObject({ tag: 'A', href: '/systems/mitid', section: 'systems', system: 'mitid', connected: true });
    await page.context().close();
  }, 30_000);

  it('does not move what the reader is looking at when content appears above it', async () => {
    const page = await open('/?refresh=1', { width: 375, height: 320 });
    const top = (): Promise<number> => js<number>(page, "document.querySelector('#systems li.sys[data-system=\"borger-dk\"]').getBoundingClientRect().top");
    await js(page, "window.scrollBy(0, document.querySelector('#systems li.sys[data-system=\"borger-dk\"]').getBoundingClientRect().top - 40)");
    const before = await top();
    expect(before).toBeGreaterThan(30);
    expect(await js<number>(page, 'window.scrollY')).toBeGreaterThan(0);
    await report({ mitid: false });
    // A new incident card above, longer summary and statuses: borger.dk stays where it was.
    await expect.poll(() => page.locator('#incidents article').count(), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => statusOf(page, 'mitid'), { timeout: 5_000 }).toContain('Større nedbrud');
    expect(Math.abs((await top()) - before)).toBeLessThanOrEqual(2);
    await page.context().close();
  }, 30_000);

  it('keeps a text selection in the swapped section when its text is unchanged', async () => {
    const page = await open('/?refresh=1');
    const line = "#systems li.sys[data-system=\"borger-dk\"] p.muted";
    const selected = (): Promise<string> => js<string>(page, 'String(getSelection())');
    await js(page, `(() => { const t = document.querySelector('${line}').firstChild; getSelection().setBaseAndExtent(t, 0, t, 8); })()`);
    const text = await selected();
    expect(text.length).toBe(8);
    await js(page, `document.querySelector('${line}').vagtOld = true`);
    await report({ mitid: false });
    await expect.poll(() => statusOf(page, 'mitid'), { timeout: 10_000 }).toContain('Større nedbrud');
    // A new element, the same selection.
    expect(await js<boolean>(page, `document.querySelector('${line}').vagtOld === true`)).toBe(false);
    expect(await selected()).toBe(text);
    expect(await js<boolean>(page, `getSelection().anchorNode.parentElement === document.querySelector('${line}')`)).toBe(true);
    await page.context().close();
  }, 30_000);

  it('says nothing while nothing changes, says a change once, and in English with ?lang=en', async () => {
    const page = await open('/?lang=en&refresh=1');
    await js(page, "(() => { globalThis.vagtSaid = 0; new MutationObserver((m) => (globalThis.vagtSaid += m.length)).observe(document.getElementById('vagt-announce'), { childList: true, characterData: true, subtree: true }); })()");
    const said = (): Promise<number> => js<number>(page, 'globalThis.vagtSaid');
    await expect.poll(() => polls(page), { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    expect(await said()).toBe(0);
    expect(await announced(page)).toBe('');
    await report({ mitid: false });
    await expect.poll(() => announced(page), { timeout: 10_000 }).toContain('MitID: Major outage');
    expect(await announced(page)).toContain('NemLog-in: Major outage');
    expect(await announced(page)).not.toContain('borger.dk');
    expect(await statusOf(page, 'mitid')).toContain('Major outage');
    const once = await said();
    const after = (await polls(page)) + 3;
    await expect.poll(() => polls(page), { timeout: 10_000 }).toBeGreaterThanOrEqual(after);
    expect(await said()).toBe(once);
    expect(await seriousViolations(page)).toEqual([]);
    await page.context().close();
  }, 30_000);
});
