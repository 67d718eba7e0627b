// The `vagt` command as a user runs it (the built dist/, as `npx vagt` would): help for every
// command, the contract's exit codes, and one clear line instead of a stack trace on bad input.
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { PASSWORD, USER, loginSteps, startLoginHosts } from '../probes/login-servers.js';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const COMMANDS = ['collector', 'agent', 'probe', 'check-config', 'demo'];

function vagt(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env, VAGT_DEBUG: '' },
    timeout: 15_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** For commands that talk to the in-process target: spawnSync would block its event loop. */
function vagtAsync(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

let dir: string;
let target: Server;
let port = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vagt-cli-'));
  target = createServer((req, res) => {
    if (req.url === '/down') res.writeHead(503).end('nede');
    else res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>Velkommen</h1>');
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  port = (target.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise((r) => target.close(r));
  rmSync(dir, { recursive: true, force: true });
});

function configFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('vagt', () => {
  it('has --help for itself and every command', () => {
    const top = vagt(['--help']);
    expect(top.status).toBe(0);
    for (const c of COMMANDS) expect(top.stdout).toContain(c);
    for (const c of COMMANDS) {
      const r = vagt([c, '--help']);
      expect({ command: c, status: r.status }).toEqual({ command: c, status: 0 });
      expect(r.stdout).toContain(`vagt ${c}`);
    }
  });

  it('exits 2 with one line and no stack for an unknown command or missing arguments', () => {
    for (const args of [['nonsense'], [], ['agent'], ['agent', '--collector', 'http://x', '--id', 'a', '--token', 't']]) {
      const r = vagt(args);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^vagt: /);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('check-config: 0 for a valid file, 2 with every problem and its line', () => {
    const good = configFile('good.yaml', `systems:\n  - id: web\n    name: Web\n    probes:\n      - { id: front, type: http, url: "http://127.0.0.1:${port}/" }\n`);
    const ok = vagt(['check-config', good]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('ok (1 systems, 1 probes, 0 agents)');

    const bad = configFile(
      'bad.yaml',
      ['systems:', '  - id: web', '    name: Web', '    probes:', '      - id: front', '        type: http', '        url: "http://x/"', '        interval: soon', '        colour: red', ''].join('\n'),
    );
    const r = vagt(['check-config', bad]);
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toContain('systems[0].probes[0].interval: expected a duration like 30s (line 8)');
    expect(lines.some((l) => l.startsWith('systems[0].probes[0].colour:') && l.endsWith('(line 9)'))).toBe(true);
    expect(r.stderr).not.toMatch(/\n\s+at /);

    const missing = vagt(['check-config', join(dir, 'nope.yaml')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('probe: 0 when every probe passes, 1 when one fails, 2 for a bad config; --json is one object per line', async () => {
    const cfg = configFile(
      'probe.yaml',
      [
        'systems:',
        '  - id: web',
        '    name: Web',
        '    probes:',
        `      - { id: front, type: http, url: "http://127.0.0.1:${port}/", expect: { body_contains: Velkommen } }`,
        `      - { id: down, type: http, url: "http://127.0.0.1:${port}/down" }`,
        '',
      ].join('\n'),
    );
    const passing = await vagtAsync(['probe', '--config', cfg, '--probe', 'front']);
    expect(passing.status).toBe(0);
    expect(passing.stdout).toContain('web/front');

    const all = await vagtAsync(['probe', '--config', cfg, '--json']);
    expect(all.status).toBe(1);
    const rows = all.stdout.trim().split('\n').map((l) => JSON.parse(l) as { probe: string; ok: boolean; status_code?: number });
    expect(rows.map((r) => [r.probe, r.ok, r.status_code])).toEqual([
      ['front', true, 200],
      ['down', false, 503],
    ]);

    expect(vagt(['probe', '--config', configFile('x.yaml', 'systems: 3\n')]).status).toBe(2);
  });

  it('probe: shows a login flow step by step, and where a wrong password stops it', async () => {
    const hosts = await startLoginHosts();
    try {
      const probes = [
        { id: 'login', type: 'flow', steps: loginSteps(hosts) },
        { id: 'wrong', type: 'flow', steps: loginSteps(hosts, '${secret:TEST_WRONG}') },
      ];
      const cfg = configFile('flow.yaml', YAML.stringify({ systems: [{ id: 'borger', name: 'Borger', probes }] }));
      const env = { TEST_USER: USER, TEST_PASSWORD: PASSWORD, TEST_WRONG: 'forkert' };
      const r = await vagtAsync(['probe', '--config', cfg], env);
      expect(r.status).toBe(1);
      const out = r.stdout;
      expect(out).toContain('PASS borger/login (flow)');
      expect(out).toContain('FAIL borger/wrong (flow)');
      expect(out).toMatch(/ {2}1\. ok {3}open login page/);
      expect(out).toMatch(/ {2}2\. FAIL submit credentials .*status 401/);
      expect(out).toContain('       expected: status 200');
      expect(out).toContain('       got:      401: <p>Forkert kodeord for ${secret:TEST_USER}</p>');
      expect(out).toContain('  3. --   read my page  not run');
      expect(out.trim().split('\n').at(-1)).toBe('1 passed, 1 failed');
      // The secrets went to the target but not to the screen.
      expect(out).not.toContain(PASSWORD);
      expect(out).not.toContain(USER);

      const missing = await vagtAsync(['probe', '--config', cfg, '--probe', 'login']);
      expect(missing.status).toBe(1);
      expect(missing.stdout).toContain('secret_missing: secret TEST_USER is not set on this agent');
      const none = await vagtAsync(['probe', '--config', cfg, '--system', 'nope']);
      expect(none.status).toBe(2);
      expect(none.stderr).toBe('vagt: no probe matches --system nope; the configuration has borger/login, borger/wrong\n');
    } finally {
      await hosts.close();
    }
  });

  it('agent: --ca (or VAGT_CA) that cannot be read exits 2 with one line', () => {
    expect(vagt(['agent', '--help']).stdout).toContain('--ca');
    const args = ['agent', '--collector', 'wss://127.0.0.1:1/agent', '--id', 'kbh-1', '--token', 'kbh-1-token-0123456789abcdef'];
    const missing = join(dir, 'nonexistent-ca.pem');
    const flag = vagt([...args, '--ca', missing]);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toBe(`vagt: --ca: cannot read ${missing}: no such file\n`);
    const env = vagt(args, { VAGT_CA: missing });
    expect(env.status).toBe(2);
    expect(env.stderr).toBe(`vagt: --ca: cannot read ${missing}: no such file\n`);
    const notPem = vagt([...args, '--ca', configFile('not-a-ca.pem', 'hello\n')]);
    expect(notPem.status).toBe(2);
    expect(notPem.stderr.trim().split('\n')).toHaveLength(1);
    expect(notPem.stderr).toMatch(/^vagt: --ca: .*not-a-ca\.pem holds no PEM certificate/);
  });

  it('collector: a collector.tls file that cannot be read exits 2 with one line naming it', () => {
    const cert = join(dir, 'missing.crt');
    const cfg = configFile('tls.yaml', `collector:\n  tls: { cert_file: ${cert}, key_file: ${join(dir, 'missing.key')} }\n`);
    const r = vagt(['collector', '--config', cfg, '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'tls-data')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`vagt: cannot start the collector: collector.tls.cert_file: cannot read ${cert}: no such file\n`);
  });

  it('collector: exits 2 on a bad config, and 0 after a clean shutdown on SIGTERM', async () => {
    expect(vagt(['collector', '--config', configFile('bad2.yaml', 'collector: { listen: nowhere }\n')]).status).toBe(2);

    const cfg = configFile('c.yaml', `systems:\n  - id: web\n    name: Web\n    probes:\n      - { id: front, type: http, url: "http://127.0.0.1:${port}/" }\n`);
    const child = spawn(process.execPath, [MAIN, 'collector', '--config', cfg, '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'data')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`collector did not start: ${out}`)), 10_000);
      child.stdout.on('data', () => {
        if (out.includes('collector listening')) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    const code = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    child.kill('SIGTERM');
    expect(await code).toBe(0);
    expect(out).toContain('collector stopped');
  });
});
