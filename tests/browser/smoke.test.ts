// The browser harness itself: Debian's Chromium starts, renders a page from a local server, and
// axe-core runs in it.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium, seriousViolations, type Chromium } from './chromium.js';

let chrome: Chromium;
let server: Server;
let url = '';

beforeAll(async () => {
  chrome = await launchChromium();
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><html lang="da"><head><title>Test</title></head><body><main><h1>Hej</h1><img src="x.png"></main></body></html>');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
}, 30_000);
afterAll(async () => {
  await chrome?.close();
  await new Promise((r) => server?.close(r));
});

it('renders a local page and finds its accessibility faults with axe-core', async () => {
  const page = await chrome.browser.newPage();
  await page.goto(url);
  expect(await page.textContent('h1')).toBe('Hej');
  // The image has no text alternative: axe must say so, or it would miss real faults too.
  const violations = await seriousViolations(page);
  expect(violations.map((v) => v.id)).toContain('image-alt');
  await page.close();
});
