import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkConfig } from '../../config/check.js';

function run(path: string) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = checkConfig(path, { stdout: (s) => stdout.push(s), stderr: (s) => stderr.push(s) });
  return { code, stdout, stderr };
}

describe('vagt check-config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vagt-check-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 0 with a summary for a valid file', () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(
      file,
      [
        'agents:',
        '  - { id: kbh-1, token: 0123456789abcdef0123 }',
        '  - { id: aar-1, token: 0123456789abcdef0124 }',
        'systems:',
        '  - id: a',
        '    name: A',
        '    probes:',
        '      - { id: p, type: http, url: "https://a.example/" }',
        '      - { id: q, type: tcp, host: a.example, port: 443 }',
        '  - { id: b, name: B, probes: [{ id: p, type: http, url: "https://b.example/" }] }',
      ].join('\n'),
    );
    expect(run(file)).toEqual({ code: 0, stdout: [`${file}: ok (2 systems, 3 probes, 2 agents)`], stderr: [] });
  });

  it('exits 2 with every problem on its own line', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      [
        'collector:',
        '  listen: nowhere',
        'systems:',
        '  - id: a',
        '    name: A',
        '    probes:',
        '      - { id: p, type: http, url: "https://a.example/", interval: often }',
      ].join('\n'),
    );
    expect(run(file)).toEqual({
      code: 2,
      stdout: [],
      stderr: [
        'collector.listen: expected HOST:PORT, like 127.0.0.1:9400 (line 2)',
        'systems[0].probes[0].interval: expected a duration like 30s (line 7)',
      ],
    });
  });

  it('exits 2 for a file that cannot be read, in one line and no stack trace', () => {
    const file = join(dir, 'missing.yaml');
    expect(run(file)).toEqual({ code: 2, stdout: [], stderr: [`(root): cannot read ${file}: no such file`] });
  });

  it('reads ${env:…} from the environment: the minimal example with and without its token', () => {
    const file = join(import.meta.dirname, '..', '..', 'config', 'examples', 'minimal.yaml');
    const saved = process.env.VAGT_TOKEN_KBH1;
    try {
      process.env.VAGT_TOKEN_KBH1 = '0123456789abcdef0123';
      expect(run(file)).toEqual({ code: 0, stdout: [`${file}: ok (1 systems, 1 probes, 1 agents)`], stderr: [] });
      delete process.env.VAGT_TOKEN_KBH1;
      const r = run(file);
      expect(r.code).toBe(2);
      expect(r.stderr).toHaveLength(1);
      expect(r.stderr[0]).toMatch(/^agents\[0\]\.token: environment variable VAGT_TOKEN_KBH1 is not set \(line \d+\)$/);
    } finally {
      if (saved === undefined) delete process.env.VAGT_TOKEN_KBH1;
      else process.env.VAGT_TOKEN_KBH1 = saved;
    }
  });

  it('accepts the demo configuration', () => {
    const file = join(import.meta.dirname, '..', '..', 'config', 'demo.yaml');
    const r = run(file);
    expect(r.stderr).toEqual([]);
    expect(r.code).toBe(0);
    // Its one agents entry is an external source (the simulated Zabbix), counted apart.
    expect(r.stdout).toEqual([`${file}: ok (8 systems, 19 probes, 0 agents, 1 external source)`]);
  });
});
