// GET /feed.atom over a real socket: a real outage and recovery, the incident it opened, and a
// service window announced over the API, as a well-formed Atom 1.0 feed in Danish and English.
import { request } from 'node:http';
import { parseDocument } from 'htmlparser2';
import { isTag, type Element } from 'domhandler';
import { findAll, getAttributeValue, textContent } from 'domutils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, TestAgent, eventually, getJson, res, startHarness, testConfig, type Harness } from './helpers.js';

const WEIRD = 'Skat <&> "Told"';
const systems = [
  { id: 'mitid', name: 'MitID', probes: [{ id: 'front', type: 'http', url: 'https://www.mitid.dk/' }] },
  { id: 'virk', name: 'Virk', depends_on: { mitid: 'critical' }, probes: [{ id: 'front', type: 'http', url: 'https://virk.dk/' }] },
  { id: 'skat', name: WEIRD, probes: [{ id: 'front', type: 'http', url: 'https://skat.dk/' }] },
];

let h: Harness;
let plain: Harness;
let base: string;
const WINDOW = { start: '2099-12-06T00:00:00+01:00', end: '2099-12-06T04:00:00+01:00' };

interface Entry {
  id: string;
  title: string;
  updated: string;
  published: string;
  link: string | undefined;
  category: string | undefined;
  content: string;
  contentType: string | undefined;
}

interface Feed {
  root: Element;
  entries: Entry[];
}

const child = (el: Element, name: string): Element | undefined => el.children.find((c): c is Element => isTag(c) && c.name === name);
const text = (el: Element, name: string): string => {
  const c = child(el, name);
  return c === undefined ? '' : textContent(c);
};

function parseFeed(xml: string): Feed {
  const doc = parseDocument(xml, { xmlMode: true, decodeEntities: true });
  const root = findAll((e) => e.name === 'feed', doc.children)[0];
  if (root === undefined) throw new Error('no <feed>');
  const entries = root.children
    .filter((c): c is Element => isTag(c) && c.name === 'entry')
    .map((e) => {
      const content = child(e, 'content');
      const link = child(e, 'link');
      const category = child(e, 'category');
      return {
        id: text(e, 'id'),
        title: text(e, 'title'),
        updated: text(e, 'updated'),
        published: text(e, 'published'),
        link: link === undefined ? undefined : getAttributeValue(link, 'href'),
        category: category === undefined ? undefined : getAttributeValue(category, 'term'),
        content: content === undefined ? '' : textContent(content),
        contentType: content === undefined ? undefined : getAttributeValue(content, 'type'),
      };
    });
  return { root, entries };
}

/**
 * A strict well-formedness check (htmlparser2 forgives what an XML parser refuses): one root, tags
 * balanced and properly nested, attributes quoted, and no bare `<` or `&` in text or attributes.
 */
function wellFormed(xml: string): string[] {
  const problems: string[] = [];
  const entity = /&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;
  const checkText = (t: string, where: string): void => {
    if (t.replace(entity, '').includes('&')) problems.push(`bare & in ${where}: ${t.slice(0, 60)}`);
  };
  let body = xml;
  if (body.startsWith('<?xml')) body = body.slice(body.indexOf('?>') + 2);
  const stack: string[] = [];
  let roots = 0;
  const re = /<([^>]*)>|([^<]+)/g;
  for (const m of body.matchAll(re)) {
    if (m[2] !== undefined) {
      if (stack.length === 0 && m[2].trim() !== '') problems.push(`text outside the root: ${m[2].slice(0, 40)}`);
      checkText(m[2], 'text');
      continue;
    }
    const tag = m[1]!;
    if (tag.includes('<')) problems.push(`< inside a tag: ${tag.slice(0, 60)}`);
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      if (stack.pop() !== name) problems.push(`</${name}> closes the wrong element`);
      continue;
    }
    const self = tag.endsWith('/');
    const inner = self ? tag.slice(0, -1) : tag;
    const name = /^([A-Za-z_][\w.:-]*)/.exec(inner)?.[1];
    if (name === undefined) {
      problems.push(`bad tag: ${tag.slice(0, 40)}`);
      continue;
    }
    const attrs = inner.slice(name.length);
    if (attrs.replace(/\s+[A-Za-z_][\w.:-]*="[^"<]*"/g, '').trim() !== '') problems.push(`bad attributes on <${name}>: ${attrs.slice(0, 60)}`);
    for (const v of attrs.matchAll(/="([^"]*)"/g)) checkText(v[1]!, `an attribute of <${name}>`);
    if (stack.length === 0) roots++;
    if (!self) stack.push(name);
  }
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(', ')}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}

async function getFeed(path = '/feed.atom', harness = h): Promise<{ status: number; type: string | null; xml: string; feed: Feed }> {
  const r = await fetch(`${harness.collector.url}${path}`);
  const xml = await r.text();
  return { status: r.status, type: r.headers.get('content-type'), xml, feed: r.status === 200 ? parseFeed(xml) : { root: undefined as never, entries: [] } };
}

/** A raw GET with our own Host header. */
function getWithHost(path: string, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(`${plain.collector.url}${path}`, { headers: { host } }, (r) => {
      let t = '';
      r.setEncoding('utf8').on('data', (c: string) => (t += c));
      r.on('end', () => resolve(t));
    });
    req.on('error', reject);
    req.end();
  });
}

const post = (path: string, body: unknown): Promise<Response> =>
  fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

const statusOf = async (id: string): Promise<string | undefined> =>
  (await getJson(`${base}/api/v1/status`)).body.systems.find((s) => s.id === id)?.status;

beforeAll(async () => {
  h = await startHarness({ config: (dir) => testConfig(dir, { systems, collector: { public_url: 'https://status.example.dk/' } }) });
  plain = await startHarness({ config: (dir) => testConfig(dir, { systems }) });
  base = h.collector.url;
  const a = await TestAgent.ready(h.wsUrl, 'kbh-1');
  const fail = { ok: false, status_code: 503, error: { code: 'http_status' as const, message: 'status 503' } };
  // MitID and Skat fail, then MitID recovers.
  await a.batch(1, [res({ seq: 1, ts: Date.now(), ...fail }), res({ seq: 2, system: 'skat', ts: Date.now(), ...fail })]);
  await eventually(async () => (await statusOf('mitid')) === 'major_outage');
  await new Promise((r) => setTimeout(r, 20));
  await a.batch(2, [res({ seq: 3, ts: Date.now() })]);
  await eventually(async () => (await statusOf('mitid')) === 'operational');
  await a.close();
  const announced = await post('/api/v1/maintenance', { id: 'skat-upgrade', systems: ['skat', 'mitid'], ...WINDOW, title: { da: 'Opgradering <v2> & mere', en: 'Upgrade <v2> & more' }, description: 'Login virker ikke i vinduet' });
  expect(announced.status).toBe(201);
  // An operator explains Skat's open incident; a release of MitID is announced.
  const skat = (await getJson(`${base}/api/v1/incidents?system=skat&state=open`)).body.incidents as { id: number }[];
  const said = await post(`/api/v1/incidents/${skat[0]!.id}/updates`, { status: 'identified', message: { da: 'Certifikatet er udløbet <igen>', en: 'The certificate expired <again>' } });
  expect(said.status).toBe(201);
  const released = await post('/api/v1/announcements', {
    id: 'mitid-2-4',
    systems: ['mitid'],
    kind: 'release',
    title: 'MitID 2.4 & mere',
    body: { da: 'Hurtigere login.', en: 'Faster login.' },
    at: '2099-01-06T06:00:00+01:00',
    link: 'https://www.mitid.dk/release?a=1&b=2',
  });
  expect(released.status).toBe(201);
  // Status changes are written behind the engine: wait until the recovery is in the store.
  await eventually(async () => (await getFeed()).feed.entries.some((e) => e.title === 'MitID: Kører'));
});
afterAll(async () => {
  await h?.close();
  await plain?.close();
});

describe('GET /feed.atom', () => {
  it('is a well-formed Atom 1.0 feed with the feed-level elements RFC 4287 requires', async () => {
    const { status, type, xml, feed } = await getFeed();
    expect(status).toBe(200);
    expect(type).toBe('application/atom+xml; charset=utf-8');
    expect(xml.startsWith('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="da">')).toBe(true);
    expect(wellFormed(xml)).toEqual([]);
    const { root, entries } = feed;
    expect(text(root, 'title')).toBe('Driftsstatus');
    expect(text(root, 'id')).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(text(child(root, 'author')!, 'name')).toBe('Driftsstatus');
    const links = root.children.filter((c): c is Element => isTag(c) && c.name === 'link').map((l) => [l.attribs.rel, l.attribs.href]);
    expect(links).toEqual([
      ['self', 'https://status.example.dk/feed.atom'],
      ['alternate', 'https://status.example.dk/'],
    ]);
    // The feed was updated when its newest entry was.
    const newest = entries.map((e) => e.updated).sort().at(-1);
    expect(text(root, 'updated')).toBe(newest);
    expect(entries.map((e) => e.updated)).toEqual([...entries.map((e) => e.updated)].sort().reverse());
    for (const e of entries) {
      expect(e.id).toMatch(/^urn:uuid:/);
      expect(e.title).not.toBe('');
      expect(e.updated).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(e.link).toMatch(/^https:\/\/status\.example\.dk\/systems\/[a-z-]+$/);
      expect(e.contentType).toBe('html');
    }
    expect(new Set(entries.map((e) => e.id)).size).toBe(entries.length);
  });

  it('has the outage and the recovery as status changes, in Danish, linked to the system page; not the initial unknown', async () => {
    const { entries } = (await getFeed()).feed;
    const mitid = entries.filter((e) => e.category === 'status' && e.link === 'https://status.example.dk/systems/mitid');
    expect(mitid.map((e) => e.title)).toEqual(['MitID: Kører', 'MitID: Større nedbrud']);
    expect(mitid[1]!.content).toContain('Status for MitID er ændret fra Ukendt til Større nedbrud.');
    expect(mitid[0]!.content).toContain('Status for MitID er ændret fra Større nedbrud til Kører.');
    expect(mitid[0]!.content).toMatch(/Tidspunkt: \d+\. \p{L}+ \d{4} kl\. \d\d\.\d\d \(Europe\/Copenhagen\)/u);
    // Virk follows MitID (critical dependency), with the cause named.
    const virk = entries.filter((e) => e.category === 'status' && e.link?.endsWith('/systems/virk'));
    expect(virk.map((e) => e.title)).toEqual(['Virk: Ukendt', 'Virk: Større nedbrud']);
    expect(virk[1]!.content).toContain('Påvirket af MitID.');
    expect(entries.some((e) => e.title.endsWith(': Ukendt') && e.content.includes('er Ukendt'))).toBe(false);
    // The status API agrees with the first entry's time.
    const since = (await getJson(`${base}/api/v1/status`)).body.systems.find((s) => s.id === 'mitid')!.since;
    expect(mitid[0]!.updated).toBe(since);
  });

  it('has the incident, opened and resolved, with its updates as content', async () => {
    const incidents = (await getJson(`${base}/api/v1/incidents?system=mitid`)).body.incidents as { id: number; started_at: string; resolved_at: string }[];
    expect(incidents).toHaveLength(1);
    const { entries } = (await getFeed()).feed;
    const opened = entries.find((e) => e.title === 'Hændelse i MitID: Større nedbrud (prioritet 1)');
    const resolved = entries.find((e) => e.title === 'Løst: hændelse i MitID');
    expect(opened).toMatchObject({ category: 'incident', link: 'https://status.example.dk/systems/mitid', published: incidents[0]!.started_at });
    expect(resolved).toMatchObject({ category: 'incident', updated: incidents[0]!.resolved_at, published: incidents[0]!.resolved_at });
    expect(opened!.id).not.toBe(resolved!.id);
    // Newest update first.
    expect(resolved!.content).toMatch(/^<p>Berører Virk\.<\/p><ul><li><time datetime="[^"]+">[^<]+<\/time>: Løst: Kører<\/li>.*<li><time datetime="[^"]+">[^<]+<\/time>: Åbnet: Større nedbrud, prioritet 1\. Berører MitID, Virk\.<\/li><\/ul>$/);
    // Skat's incident is still open and its name is escaped twice over (XML around HTML).
    const skat = entries.find((e) => e.category === 'incident' && e.link?.endsWith('/systems/skat'));
    expect(skat?.title).toBe(`Hændelse i ${WEIRD}: Større nedbrud (prioritet 1)`);
    expect(skat?.content).toContain('Berører Skat &lt;&amp;&gt; &quot;Told&quot;.');
    // The operator's update is the newest line, and the entry is as new as it.
    expect(skat?.content).toMatch(/^<ul><li><time datetime="([^"]+)">[^<]+<\/time>: Årsag fundet: Certifikatet er udløbet &lt;igen&gt;<\/li><li>/);
    expect(skat?.updated).toBe(/datetime="([^"]+)"/.exec(skat!.content)?.[1]);
    expect(Date.parse(skat!.updated)).toBeGreaterThan(Date.parse(skat!.published));
  });

  it('has announcements, with their time and link', async () => {
    const { entries } = (await getFeed()).feed;
    const a = entries.filter((e) => e.category === 'announcement');
    const posted = (await getJson(`${base}/api/v1/announcements/mitid-2-4`)).body as unknown as { created_at: string };
    expect(a).toEqual([
      expect.objectContaining({ title: 'Ny version: MitID 2.4 & mere', link: 'https://status.example.dk/systems/mitid', updated: posted.created_at, published: posted.created_at }),
    ]);
    expect(a[0]!.content).toBe(
      '<p>Hurtigere login.</p><p>Berører MitID. Tidspunkt: 6. januar 2099 kl. 06.00 (Europe/Copenhagen).</p>' +
        '<p><a href="https://www.mitid.dk/release?a=1&amp;b=2">Læs mere</a></p>',
    );
    const en = (await getFeed('/feed.atom?lang=en')).feed.entries.find((e) => e.category === 'announcement');
    expect([en?.title, en?.content.startsWith('<p>Faster login.</p><p>Affects MitID. Time: 6 January 2099 at 06:00')]).toEqual(['Release: MitID 2.4 & mere', true]);
  });

  it('has the service window announced over the API, with its start and end in the configured zone', async () => {
    const { entries } = (await getFeed()).feed;
    const w = entries.filter((e) => e.category === 'maintenance');
    expect(w).toHaveLength(1);
    const window = (await getJson(`${base}/api/v1/maintenance/skat-upgrade`)).body as unknown as { created_at: string };
    expect(w[0]).toMatchObject({
      title: `Servicevindue: Opgradering <v2> & mere (${WEIRD}, MitID)`,
      link: 'https://status.example.dk/systems/skat',
      updated: window.created_at,
      published: window.created_at,
    });
    expect(w[0]!.content).toBe(
      '<p>Fra 6. december 2099 kl. 00.00 (Europe/Copenhagen) til 6. december 2099 kl. 04.00 (Europe/Copenhagen).</p>' +
        '<p>Berører Skat &lt;&amp;&gt; &quot;Told&quot;, MitID.</p><p>Login virker ikke i vinduet</p>',
    );
  });

  it('speaks English with ?lang=en, keeping the entry ids', async () => {
    const da = (await getFeed()).feed;
    const { status, xml, feed } = await getFeed('/feed.atom?lang=en');
    expect(status).toBe(200);
    expect(wellFormed(xml)).toEqual([]);
    expect(feed.root.attribs['xml:lang']).toBe('en');
    expect(text(feed.root, 'title')).toBe('System status');
    expect(text(feed.root, 'id')).not.toBe(text(da.root, 'id'));
    const self = feed.root.children.find((c): c is Element => isTag(c) && c.name === 'link' && c.attribs.rel === 'self');
    expect(self?.attribs.href).toBe('https://status.example.dk/feed.atom?lang=en');
    const titles = feed.entries.map((e) => e.title);
    expect(titles).toEqual(expect.arrayContaining(['MitID: Operational', 'MitID: Major outage', 'Incident in MitID: Major outage (priority 1)', 'Resolved: incident in MitID']));
    expect(titles).toContain(`Maintenance: Upgrade <v2> & more (${WEIRD}, MitID)`);
    const down = feed.entries.find((e) => e.title === 'MitID: Major outage')!;
    expect(down.content).toContain('The status of MitID changed from Unknown to Major outage.');
    expect(down.link).toBe('https://status.example.dk/systems/mitid?lang=en');
    expect(feed.entries.find((e) => e.category === 'maintenance')!.content).toContain('From 6 December 2099 at 00:00 (Europe/Copenhagen) to 6 December 2099 at 04:00');
    expect(feed.entries.map((e) => e.id).sort()).toEqual(da.entries.map((e) => e.id).sort());
  });

  it('gives the same ids on every read', async () => {
    const a = (await getFeed()).feed.entries.map((e) => e.id);
    const b = (await getFeed()).feed.entries.map((e) => e.id);
    expect(b).toEqual(a);
  });

  it('refuses a bad language or an unknown parameter with a JSON 400', async () => {
    for (const q of ['?lang=fr', '?lnag=en']) {
      const r = await getJson(`${base}/feed.atom${q}`);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('bad_parameter');
    }
    expect((await getJson(`${base}/feed.atom?lang=fr`)).body.error).toEqual({ code: 'bad_parameter', message: 'lang: expected "da" or "en"', parameter: 'lang' });
  });
});

describe('GET /feed.atom without collector.public_url', () => {
  it('makes links absolute from the Host header, and refuses a Host that is not a host name', async () => {
    const { feed, xml } = await getFeed('/feed.atom', plain);
    expect(wellFormed(xml)).toEqual([]);
    // Nothing happened yet: no entries, updated is now.
    expect(feed.entries).toEqual([]);
    expect(Math.abs(Date.parse(text(feed.root, 'updated')) - Date.now())).toBeLessThan(60_000);
    const self = (x: string): string | undefined => /<link rel="self" type="application\/atom\+xml" href="([^"]*)"\/>/.exec(x)?.[1];
    expect(self(xml)).toBe(`${plain.collector.url}/feed.atom`);
    expect(self(await getWithHost('/feed.atom?lang=en', 'status.local:8080'))).toBe('http://status.local:8080/feed.atom?lang=en');
    expect(self(await getWithHost('/feed.atom', 'evil"><x'))).toBe('http://localhost/feed.atom');
  });
});
