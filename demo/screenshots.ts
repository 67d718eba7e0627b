// `npm run screenshots`: the demo with MitID down and Virk slow, photographed in Debian's
// Chromium at desktop and phone width, into docs/screenshots/. The demo's made-up 90 days of
// history fill the bars. Needs /usr/bin/chromium (apt-get install chromium).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { pino } from 'pino';
import { runDemo } from './demo.js';

const OUT = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));
const PAGES = [
  { name: 'status', path: '/' },
  { name: 'system', path: '/systems/borger-dk' },
  { name: 'dependencies', path: '/dependencies' },
] as const;
const WIDTHS = [
  { name: 'desktop', width: 1280, height: 900 },
  { name: 'phone', width: 390, height: 844 },
] as const;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vagt-screenshots-'));
  const demo = await runDemo({
    listen: '127.0.0.1:0',
    basePort: 0,
    dataDir: dir,
    interval: '1s',
    faults: { mitid: { mode: 'down' }, virk: { mode: 'slow', latency_ms: 2500 } },
    logger: pino({ level: 'silent' }),
  });
  const browser = await chromium.launch({
    executablePath: process.env.VAGT_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    // Long enough for the outage to spread to the dependants and the slowness to be measured.
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    mkdirSync(OUT, { recursive: true });
    for (const w of WIDTHS) {
      const context = await browser.newContext({ viewport: { width: w.width, height: w.height }, locale: 'da-DK', deviceScaleFactor: 1 });
      const page = await context.newPage();
      for (const p of PAGES) {
        await page.goto(demo.collector.url + p.path);
        const file = join(OUT, `${p.name}-${w.name}.png`);
        await page.screenshot({ path: file, fullPage: p.name !== 'status' || w.name === 'desktop' });
        process.stdout.write(`${file}\n`);
      }
      await context.close();
    }
  } finally {
    await browser.close();
    await demo.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`screenshots: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
