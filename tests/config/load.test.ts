import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDiagnostic, formatPath } from '../../config/diagnostics.js';
import { loadConfigFile, loadConfigText, type LoadResult } from '../../config/load.js';

const TOKEN = 'abcdefghijklmnopqrstuvwxyz';

function ok(r: LoadResult) {
  if (!r.ok) throw new Error('expected a valid config, got:\n' + r.problems.map(formatDiagnostic).join('\n'));
  return r.config;
}
function problems(r: LoadResult): string[] {
  if (r.ok) throw new Error('expected problems, the config loaded');
  return r.problems.map(formatDiagnostic);
}

const oneProbe = (extra: string) => `
systems:
  - id: s
    name: S
    probes:
      - id: p
        type: http
        url: https://example.org/
${extra}`;

describe('diagnostics', () => {
  it('formats the contract shape', () => {
    expect(formatDiagnostic({ path: 'systems[2].probes[0].interval', message: 'expected a duration like 30s', line: 14 })).toBe(
      'systems[2].probes[0].interval: expected a duration like 30s (line 14)',
    );
    expect(formatDiagnostic({ path: '(root)', message: 'cannot read x' })).toBe('(root): cannot read x');
  });

  it('formats paths with indices, and quotes keys that are not plain', () => {
    expect(formatPath(['systems', 2, 'probes', 0, 'interval'])).toBe('systems[2].probes[0].interval');
    expect(formatPath([])).toBe('(root)');
    expect(formatPath(['expect', 'json', '$.user.id'])).toBe('expect.json["$.user.id"]');
    expect(formatPath(['headers', 'Content-Type'])).toBe('headers.Content-Type');
  });
});

describe('${env:NAME} interpolation', () => {
  it('replaces whole values and references inside strings', () => {
    const c = ok(
      loadConfigText(
        `collector: { admin_token: "\${env:ADMIN}" }\n` + oneProbe('        headers: { Authorization: "Bearer ${env:API_TOKEN}", X-Both: "${env:A}-${env:B}" }\n'),
        { env: { ADMIN: TOKEN, API_TOKEN: 's3cr3t', A: 'one', B: 'two' } },
      ),
    );
    expect(c.collector.admin_token).toBe(TOKEN);
    const probe = c.systems[0]!.probes[0]!;
    expect(probe.type === 'http' && probe.headers).toEqual({ Authorization: 'Bearer s3cr3t', 'X-Both': 'one-two' });
  });

  it('leaves ${secret:NAME} and {{var}} for the agent', () => {
    const c = ok(loadConfigText(oneProbe('        body: "user=${secret:USER}&csrf={{csrf}}"\n'), { env: { USER: 'should-not-appear' } }));
    const probe = c.systems[0]!.probes[0]!;
    expect(probe.type === 'http' && probe.body).toBe('user=${secret:USER}&csrf={{csrf}}');
  });

  it('cannot inject YAML: a value with YAML syntax stays one string', () => {
    const evil = `${TOKEN}\nagents: [{ id: evil, token: ${TOKEN} }]`;
    const c = ok(loadConfigText('collector:\n  admin_token: ${env:T}\n', { env: { T: evil } }));
    expect(c.collector.admin_token).toBe(evil);
    expect(c.agents).toEqual([]);
  });

  it('does not scan substituted text again, and never interpolates keys', () => {
    const c = ok(
      loadConfigText(oneProbe('        headers: { "${env:K}": "${env:V}" }\n'), { env: { K: 'X-Key', V: '${env:OTHER}' } }),
    );
    const probe = c.systems[0]!.probes[0]!;
    expect(probe.type === 'http' && probe.headers).toEqual({ '${env:K}': '${env:OTHER}' });
  });

  it('reports an unset variable at its key, with the line, without a second schema complaint', () => {
    const r = loadConfigText('collector:\n  listen: 127.0.0.1:9400\n  public_url: ${env:PUBLIC_URL}\n', { env: {} });
    expect(problems(r)).toEqual(['collector.public_url: environment variable PUBLIC_URL is not set (line 3)']);
  });

  it('reads process.env when no env is given', () => {
    const name = `VAGT_TEST_${process.pid}`;
    process.env[name] = TOKEN;
    try {
      expect(ok(loadConfigText(`collector: { admin_token: "\${env:${name}}" }\n`)).collector.admin_token).toBe(TOKEN);
    } finally {
      delete process.env[name];
    }
  });

  it('accepts an empty value as set', () => {
    const c = ok(loadConfigText(oneProbe('        body: "${env:EMPTY}"\n'), { env: { EMPTY: '' } }));
    const probe = c.systems[0]!.probes[0]!;
    expect(probe.type === 'http' && probe.body).toBe('');
  });
});

describe('defaults', () => {
  it('an empty file is a configuration of defaults', () => {
    for (const text of ['', '# only a comment\n']) {
      const c = ok(loadConfigText(text));
      expect(c.collector).toEqual({ listen: '127.0.0.1:9400', data_dir: './data', timezone: 'Europe/Copenhagen', retention: 30 * 86_400_000, history_retention: 396 * 86_400_000 });
      expect(c.defaults).toEqual({ interval: 60_000, timeout: 10_000, retries: 1, quorum: 50, priorities: { critical: 20, high: 5 } });
      expect(c.systems).toEqual([]);
      expect(c.agents).toEqual([]);
    }
  });

  it('fills probe and system defaults and turns durations into milliseconds', () => {
    const c = ok(loadConfigText('defaults: { interval: 1m30s }\n' + oneProbe('        timeout: 500ms\n')));
    expect(c.defaults).toEqual({ interval: 90_000, timeout: 10_000, retries: 1, quorum: 50, priorities: { critical: 20, high: 5 } });
    const sys = c.systems[0]!;
    expect(sys.depends_on).toEqual({});
    const probe = sys.probes[0]!;
    expect(probe).toMatchObject({
      timeout: 500,
      method: 'GET',
      follow_redirects: true,
      max_redirects: 10,
      max_body_bytes: 1_048_576,
      insecure_skip_verify: false,
      expect: {},
    });
    expect(probe.interval).toBeUndefined();
  });

  it('names the source', () => {
    expect(loadConfigText('', { file: 'x.yaml' })).toMatchObject({ ok: true, source: 'x.yaml' });
  });
});

describe('YAML', () => {
  it('supports anchors and merge keys, placing problems at the anchored text', () => {
    const text = [
      'systems:',
      '  - &base',
      '    id: a',
      '    name: A',
      '    probes:',
      '      - { id: p, type: http, url: "https://x.example/", interval: soon }',
      '  - <<: *base',
      '    id: b',
    ].join('\n');
    expect(problems(loadConfigText(text))).toEqual([
      'systems[0].probes[0].interval: expected a duration like 30s (line 6)',
      'systems[1].probes[0].interval: expected a duration like 30s (line 6)',
    ]);
    const good = ok(loadConfigText(text.replace('soon', '30s')));
    expect(good.systems.map((s) => [s.id, s.name, s.probes[0]?.interval])).toEqual([
      ['a', 'A', 30_000],
      ['b', 'A', 30_000],
    ]);
  });

  it('reports syntax errors with their line and stops there', () => {
    expect(problems(loadConfigText('collector:\n\tlisten: x\n'))).toEqual(['(root): invalid YAML: tabs are not allowed as indentation (line 2)']);
    expect(problems(loadConfigText('systems: []\n---\nagents: []\n'))).toEqual([
      '(root): invalid YAML: expected one document, found more than one (a line with ---) (line 2)',
    ]);
    expect(problems(loadConfigText('systems: *nowhere\n'))).toEqual(['systems: invalid YAML: unknown alias *nowhere (line 1)']);
  });

  it('refuses an alias bomb instead of expanding it', () => {
    const text = ['a: &a [x,x,x,x,x,x,x,x,x,x]']
      .concat(['b', 'c', 'd', 'e', 'f'].map((k, i) => `${k}: &${k} [${Array(10).fill('*' + 'abcde'[i]).join(',')}]`))
      .join('\n');
    const p = problems(loadConfigText(text));
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^\(root\): invalid YAML: excessive alias count/);
  });

  it('treats __proto__ as an unknown key, not as a prototype', () => {
    expect(problems(loadConfigText('collector:\n  __proto__: { listen: 1 }\n'))).toEqual(['collector.__proto__: unknown key (line 2)']);
  });

  it('says what the top level should be', () => {
    expect(problems(loadConfigText('just text\n'))).toEqual(['(root): expected a mapping, got a string (line 1)']);
  });

  it('reports problems from every stage together, sorted by line', () => {
    const text = [
      'collector:',
      '  timezone: Nowhere/City', // semantic
      '  admin_token: ${env:MISSING}', // interpolation
      'systems:',
      '  - id: a',
      '    name: A',
      '    depends_on: { b: high }', // semantic
      '    probes:',
      '      - { id: p, type: tcp, host: h, port: 99999 }', // schema
    ].join('\n');
    expect(problems(loadConfigText(text, { env: {} }))).toEqual([
      'collector.timezone: unknown time zone Nowhere/City; expected an IANA zone like Europe/Copenhagen (line 2)',
      'collector.admin_token: environment variable MISSING is not set (line 3)',
      'systems[0].depends_on.b: unknown system b (line 7)',
      'systems[0].probes[0].port: expected at most 65535 (line 9)',
    ]);
  });

  it('never repeats a value in a message (it may be a secret)', () => {
    const secret = 'hunter2-very-secret-value';
    const r = loadConfigText(
      `collector: { listen: "${secret}", retention: "${secret}" }\nagents: [{ id: a, token: 42 }]\n` +
        oneProbe(`        retries: "${secret}"\n        follow_redirects: "${secret}"\n`),
    );
    const text = problems(r).join('\n');
    expect(text).toContain('collector.listen');
    expect(text).not.toContain(secret);
    expect(text).not.toContain('42');
  });

  it('allows the in-process agent id local in probe agents without configuring it', () => {
    ok(loadConfigText(oneProbe('        agents: [local]\n')));
  });
});

describe('loadConfigFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vagt-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads a file and names it as the source', () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, oneProbe(''));
    const r = loadConfigFile(file);
    expect(r).toMatchObject({ ok: true, source: file });
  });

  it('turns a missing file, a directory or an unreadable file into one problem', () => {
    expect(problems(loadConfigFile(join(dir, 'nope.yaml')))).toEqual([`(root): cannot read ${join(dir, 'nope.yaml')}: no such file`]);
    expect(problems(loadConfigFile(dir))).toEqual([`(root): cannot read ${dir}: is a directory, expected a file`]);
    const locked = join(dir, 'locked.yaml');
    writeFileSync(locked, '');
    chmodSync(locked, 0o000);
    const r = loadConfigFile(locked);
    // root reads anything; elsewhere the file is refused.
    if (!r.ok) expect(problems(r)).toEqual([`(root): cannot read ${locked}: permission denied`]);
    else expect(process.getuid?.()).toBe(0);
  });
});

describe('hostile or unusual input', () => {
  it('keeps line numbers right with CRLF line ends and a byte order mark', () => {
    expect(problems(loadConfigText('\uFEFFcollector:\r\n  timezone: UTC\r\n  listen: bad\r\n'))).toEqual([
      'collector.listen: expected HOST:PORT, like 127.0.0.1:9400 (line 3)',
    ]);
  });

  it('turns absurd nesting into problems, never an exception', () => {
    for (const text of [
      'x: ' + '['.repeat(20_000) + ']'.repeat(20_000) + '\n',
      'collector:\n' + Array.from({ length: 3000 }, (_, i) => ' '.repeat(i + 1) + '- ').join('\n') + '\n',
    ]) {
      const r = loadConfigText(text);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.problems.length).toBeGreaterThan(0);
    }
  });

  it('checks a long dependency chain without exhausting the stack, and finds the cycle that closes it', () => {
    const n = 10_000;
    const systems = Array.from({ length: n }, (_, i) => `  - { id: s${i}, name: S, depends_on: { s${(i + 1) % n}: low } }`);
    const p = problems(loadConfigText('systems:\n' + systems.join('\n') + '\n'));
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(new RegExp(`^systems\\[${n - 1}\\]\\.depends_on: dependency cycle s0 -> s1 -> .* -> s${n - 1} -> s0 \\(line ${n + 1}\\)$`));
  });

  it('describes an out-of-range number without printing it', () => {
    expect(problems(loadConfigText('defaults: { retries: 1e400 }\n'))).toEqual([
      'defaults.retries: expected a number, got a number out of range (line 1)',
    ]);
  });
});
