import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../config/diagnostics.js';
import { loadConfigText } from '../../config/load.js';
import { assignmentFor, canonicalJson, resolveProbes, revisionOf } from '../../config/resolve.js';
import type { Config } from '../../config/schema.js';

const T = (c: string) => c.repeat(20);

function load(text: string): Config {
  const r = loadConfigText(text, { env: {} });
  if (!r.ok) throw new Error(r.problems.map(formatDiagnostic).join('\n'));
  return r.config;
}

const BASE = `
agents:
  - { id: kbh-1, token: ${T('k')} }
  - { id: aar-1, token: ${T('a')} }
defaults: { interval: 60s, timeout: 10s, retries: 1 }
systems:
  - id: mitid
    name: MitID
    probes:
      - { id: frontpage, type: http, url: "https://www.mitid.dk/" }
      - { id: port, type: tcp, host: www.mitid.dk, port: 443, interval: 30s, timeout: 2s, retries: 3 }
  - id: nemlog-in
    name: NemLog-in
    retries: 2
    probes:
      - { id: login, type: http, url: "https://login.example/", agents: [kbh-1] }
      - { id: api, type: http, url: "https://api.example/", agents: [aar-1], retries: 0 }
`;

describe('resolveProbes', () => {
  it('resolves interval, timeout and retries: probe over system over defaults', () => {
    const specs = resolveProbes(load(BASE));
    expect(specs.map((p) => [p.system, p.id, p.interval, p.timeout, p.retries])).toEqual([
      ['mitid', 'frontpage', 60_000, 10_000, 1],
      ['mitid', 'port', 30_000, 2_000, 3],
      ['nemlog-in', 'login', 60_000, 10_000, 2],
      ['nemlog-in', 'api', 60_000, 10_000, 0],
    ]);
    // Everything else of the probe travels as configured.
    expect(specs[0]).toMatchObject({ type: 'http', url: 'https://www.mitid.dk/', method: 'GET', expect: {} });
  });

  it('is empty for a configuration without probes', () => {
    expect(resolveProbes(load(''))).toEqual([]);
  });
});

describe('assignmentFor', () => {
  it('gives each agent the probes without an agents list and those that name it', () => {
    const c = load(BASE);
    const ids = (agent: string) => assignmentFor(c, agent).probes.map((p) => `${p.system}/${p.id}`);
    expect(ids('kbh-1')).toEqual(['mitid/frontpage', 'mitid/port', 'nemlog-in/login']);
    expect(ids('aar-1')).toEqual(['mitid/frontpage', 'mitid/port', 'nemlog-in/api']);
    expect(ids('local')).toEqual(['mitid/frontpage', 'mitid/port']);
  });

  it('keeps the revision for an unchanged configuration, whatever the key order or formatting', () => {
    const a = assignmentFor(load(BASE), 'kbh-1');
    const b = assignmentFor(load(BASE), 'kbh-1');
    expect(a.revision).toMatch(/^[0-9a-f]{12}$/);
    expect(b.revision).toBe(a.revision);
    const reordered = BASE.replace(
      '{ id: frontpage, type: http, url: "https://www.mitid.dk/" }',
      '{ url: "https://www.mitid.dk/", type: http, id: frontpage, method: GET }',
    );
    expect(assignmentFor(load(reordered), 'kbh-1').revision).toBe(a.revision);
  });

  it('changes the revision when the agent\'s probes change, and only then', () => {
    const before = load(BASE);
    const after = load(BASE.replace('url: "https://login.example/"', 'url: "https://login.example/v2"'));
    expect(assignmentFor(after, 'kbh-1').revision).not.toBe(assignmentFor(before, 'kbh-1').revision);
    // aar-1 does not run nemlog-in/login.
    expect(assignmentFor(after, 'aar-1').revision).toBe(assignmentFor(before, 'aar-1').revision);
    // A changed default reaches every agent.
    const slower = load(BASE.replace('interval: 60s', 'interval: 2m'));
    expect(assignmentFor(slower, 'aar-1').revision).not.toBe(assignmentFor(before, 'aar-1').revision);
  });
});

describe('canonical JSON', () => {
  it('sorts keys at every level and hashes equal content equally', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[{"y":2,"z":1}]},"b":1}');
    expect(revisionOf({ a: 1, b: 2 })).toBe(revisionOf({ b: 2, a: 1 }));
    expect(revisionOf({ a: 1 })).not.toBe(revisionOf({ a: 2 }));
  });
});
