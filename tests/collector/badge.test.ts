// Status badges over a real socket: the name and the perceived status in words, coloured by the
// status, following it; a grey 404 badge for an unknown system; headers for embedding elsewhere.
import { selectAll as cssAll, selectOne as cssOne } from 'css-select';
import type { AnyNode, Document, Element } from 'domhandler';
import { getAttributeValue, textContent } from 'domutils';
import { parseDocument } from 'htmlparser2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textWidth } from '../../collector/portal/badge.js';
import { configSchema } from '../../config/schema.js';
import { ADMIN_TOKEN, TOKENS, TestAgent, eventually, res, startHarness, type Harness } from './helpers.js';

const ODD_NAME = `<b>"Tæst" & co</b>`;

const one = (q: string, root: AnyNode): Element | null => cssOne<AnyNode, Element>(q, root);
const all = (q: string, root: AnyNode): Element[] => cssAll<AnyNode, Element>(q, root);

interface Badge {
  status: number;
  headers: Headers;
  raw: string;
  doc: Document;
  title: string;
  /** The visible texts, left then right (each is drawn twice: shadow and text). */
  texts: string[];
  /** The right part's fill. */
  colour: string | undefined;
  width: number;
}

let h: Harness;
let base: string;
let agent: TestAgent;
let seq = 0;

async function badge(path: string): Promise<Badge> {
  const r = await fetch(`${base}${path}`);
  const raw = await r.text();
  const doc = parseDocument(raw, { xmlMode: true });
  const svg = one('svg', doc)!;
  return {
    status: r.status,
    headers: r.headers,
    raw,
    doc,
    title: textContent(one('svg > title', doc)!),
    texts: all('text:not([aria-hidden])', doc).map((t) => textContent(t)),
    colour: getAttributeValue(one('rect.status', doc)!, 'fill'),
    width: Number(getAttributeValue(svg, 'width')),
  };
}

async function report(system: string, ok: boolean): Promise<void> {
  seq++;
  await agent.batch(seq, [res({ seq, system, ts: Date.now(), ok, ...(ok ? {} : { status_code: 503, error: { code: 'http_status', message: 'status 503' } }) })]);
}

beforeAll(async () => {
  h = await startHarness({
    config: (dir) =>
      configSchema.parse({
        collector: { listen: '127.0.0.1:0', data_dir: dir, admin_token: ADMIN_TOKEN },
        agents: [{ id: 'kbh-1', name: 'København', token: TOKENS['kbh-1'] }],
        systems: [
          { id: 'mitid', name: 'MitID', probes: [{ id: 'front', type: 'http', url: 'https://mitid.example/' }] },
          { id: 'nemlog-in', name: 'NemLog-in', depends_on: { mitid: 'high' }, probes: [{ id: 'front', type: 'http', url: 'https://nemlog-in.example/' }] },
          { id: 'odd', name: ODD_NAME, probes: [{ id: 'front', type: 'http', url: 'https://odd.example/' }] },
          { id: 'quiet', name: 'Stille system', probes: [{ id: 'front', type: 'http', url: 'https://quiet.example/' }] },
        ],
      }),
  });
  base = h.collector.url;
  agent = await TestAgent.ready(h.wsUrl, 'kbh-1');
  for (const s of ['mitid', 'nemlog-in', 'odd']) await report(s, true);
  await eventually(async () => (await badge('/badge/nemlog-in.svg')).title === 'NemLog-in: Kører');
});
afterAll(async () => {
  await agent?.close();
  await h?.close();
});

describe('GET /badge/{id}.svg', () => {
  it('shows the system and its status in words, in the status colour, for embedding elsewhere', async () => {
    const b = await badge('/badge/mitid.svg');
    expect(b.status).toBe(200);
    expect(b.headers.get('content-type')).toBe('image/svg+xml; charset=utf-8');
    expect(b.headers.get('access-control-allow-origin')).toBe('*');
    expect(b.headers.get('cache-control')).toBe('no-cache');
    expect(b.headers.get('content-language')).toBe('da');
    const svg = one('svg', b.doc)!;
    expect(getAttributeValue(svg, 'xmlns')).toBe('http://www.w3.org/2000/svg');
    expect(getAttributeValue(svg, 'role')).toBe('img');
    expect(getAttributeValue(svg, 'aria-label')).toBe('MitID: Kører');
    expect(b.title).toBe('MitID: Kører');
    expect(b.texts).toEqual(['MitID', '✓ Kører']);
    expect(b.colour).toBe('#1a7f37');
    expect(getAttributeValue(svg, 'height')).toBe('20');
    expect(b.raw).not.toMatch(/<script|<image|<foreignObject|href=/i);
  });

  it('is as wide as its texts', async () => {
    const short = await badge('/badge/mitid.svg');
    const long = await badge('/badge/quiet.svg');
    // Left and right each get the text's estimated width plus padding.
    expect(short.width).toBe(Math.round(textWidth('MitID') + 12) + Math.round(textWidth('✓ Kører') + 12));
    expect(long.width).toBeGreaterThan(short.width);
    const rects = all('g[clip-path] > rect', short.doc).map((r) => Number(getAttributeValue(r, 'width')));
    expect(rects[0]! + rects[1]!).toBe(short.width);
    // Each text sits in the middle of its part.
    const xs = all('text:not([aria-hidden])', short.doc).map((t) => Number(getAttributeValue(t, 'x')));
    expect(xs).toEqual([rects[0]! / 2, rects[0]! + rects[1]! / 2]);
  });

  it('speaks English with ?lang=en', async () => {
    const b = await badge('/badge/mitid.svg?lang=en');
    expect(b.title).toBe('MitID: Operational');
    expect(b.texts).toEqual(['MitID', '✓ Operational']);
    expect(b.headers.get('content-language')).toBe('en');
  });

  it('says unknown for a system without fresh results', async () => {
    const b = await badge('/badge/quiet.svg');
    expect(b.status).toBe(200);
    expect(b.texts).toEqual(['Stille system', '? Ukendt']);
    expect(b.colour).toBe('#59636e');
  });

  it('follows the perceived status: a dependency going down turns its dependants too', async () => {
    await report('mitid', false);
    const down = await eventually(async () => {
      const b = await badge('/badge/mitid.svg');
      return b.title === 'MitID: Større nedbrud' ? b : undefined;
    });
    expect(down.texts).toEqual(['MitID', '✕ Større nedbrud']);
    expect(down.colour).toBe('#c21f2c');
    // NemLog-in's own probes pass; a high dependency down makes its users see a partial outage.
    const dependant = await badge('/badge/nemlog-in.svg?lang=en');
    expect(dependant.texts).toEqual(['NemLog-in', '◑ Partial outage']);
    expect(dependant.colour).toBe('#b34700');
    await report('mitid', true);
    await eventually(async () => (await badge('/badge/mitid.svg')).title === 'MitID: Kører');
  });

  it('escapes the system name', async () => {
    const b = await badge('/badge/odd.svg');
    expect(b.raw).not.toContain(ODD_NAME);
    expect(b.raw).toContain('&lt;b&gt;&quot;Tæst&quot; &amp; co&lt;/b&gt;');
    expect(b.texts[0]).toBe(ODD_NAME);
    expect(b.title).toBe(`${ODD_NAME}: Kører`);
  });

  it('answers an unknown system with a grey 404 badge, still an image', async () => {
    const b = await badge('/badge/atlantis.svg');
    expect(b.status).toBe(404);
    expect(b.headers.get('content-type')).toBe('image/svg+xml; charset=utf-8');
    expect(b.headers.get('access-control-allow-origin')).toBe('*');
    expect(b.texts).toEqual(['atlantis', 'ukendt system']);
    expect(b.title).toBe('atlantis: ukendt system');
    expect(b.colour).toBe('#59636e');
    const en = await badge('/badge/atlantis.svg?lang=en');
    expect(en.status).toBe(404);
    expect(en.texts).toEqual(['atlantis', 'unknown system']);
    // Something that cannot be an id is not echoed.
    const odd = await badge(`/badge/${encodeURIComponent('<script>')}.svg`);
    expect(odd.status).toBe(404);
    expect(odd.texts).toEqual(['?', 'ukendt system']);
    expect(odd.raw).not.toContain('script');
  });

  it('ignores other parameters (cache busters) and refuses a language it does not speak', async () => {
    expect((await badge('/badge/mitid.svg?v=2&cacheSeconds=60')).texts).toEqual(['MitID', '✓ Kører']);
    const r = await fetch(`${base}/badge/mitid.svg?lang=de`);
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({ error: { code: 'bad_parameter', message: 'lang: expected "da" or "en"', parameter: 'lang' } });
  });

  it('answers a path without .svg with a JSON 404 saying where badges are', async () => {
    const r = await fetch(`${base}/badge/mitid`);
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await r.json()).toEqual({ error: { code: 'not_found', message: 'badges are at /badge/{id}.svg, not /badge/mitid' } });
  });
});

describe('textWidth', () => {
  it('estimates Verdana 11px widths per character class and scales with the size', () => {
    expect(textWidth('')).toBe(0);
    expect(textWidth('ii')).toBeLessThan(textWidth('mm'));
    expect(textWidth('MitID', 22)).toBeCloseTo(2 * textWidth('MitID'), 6);
    // Roughly Verdana's real advance widths: "MitID" is about 33 px, "Operational" about 68 px.
    expect(textWidth('MitID')).toBeGreaterThan(30);
    expect(textWidth('MitID')).toBeLessThan(40);
    expect(textWidth('Operational')).toBeGreaterThan(62);
    expect(textWidth('Operational')).toBeLessThan(78);
  });
});
