// Log formats as the commands produce them (the built dist/): JSON lines to a pipe by default,
// pretty lines with --log-format or VAGT_LOG_FORMAT, and one clear line for a bad value.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const PRETTY_LINE = /^\[\d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN|ERROR) \((collector|agent|demo)\): /m;

let dir: string;
let config: string;
const children: ChildProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vagt-logfmt-'));
  config = join(dir, 'vagt.yaml');
  writeFileSync(
    config,
    [
      `collector: { listen: "127.0.0.1:0", data_dir: "${join(dir, 'data')}" }`,
      'agents: [{ id: kbh-1, token: "log-format-test-token-0123456789" }]',
      'systems: [{ id: web, name: Web, probes: [{ id: port, type: tcp, host: 127.0.0.1, port: 1 }] }]',
      '',
    ].join('\n'),
  );
});

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function vagt(args: string[], env: Record<string, string>): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 15_000 });
  return { status: r.status, stderr: r.stderr };
}

/** Runs a command until every `ready` matches its output (stdout and stderr), then stops it with SIGTERM. */
async function runUntil(args: string[], env: Record<string, string>, ...ready: RegExp[]): Promise<{ out: string; code: number | null }> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  children.push(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const end = Date.now() + 15_000;
  while (!ready.every((r) => r.test(out))) {
    if (Date.now() > end || child.exitCode !== null) throw new Error(`no ${ready.map(String).join(' and ')} in:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGTERM');
  return { code: await exited, out };
}

describe('--log-format and VAGT_LOG_FORMAT', () => {
  it('refuse a bad value with one line and exit 2, for every command that logs', () => {
    const args = {
      collector: ['collector', '--config', config],
      agent: ['agent', '--collector', 'ws://127.0.0.1:1/agent', '--id', 'kbh-1', '--token', 'x'],
      demo: ['demo', '--listen', '127.0.0.1:0', '--base-port', '0'],
    };
    for (const [command, a] of Object.entries(args)) {
      const env = vagt(a, { VAGT_LOG_FORMAT: 'nonsense' });
      expect({ command, ...env }).toEqual({ command, status: 2, stderr: 'vagt: VAGT_LOG_FORMAT: expected auto, json, pretty, got "nonsense"\n' });
      const flag = vagt([...a, '--log-format', 'xml'], {});
      expect({ command, ...flag }).toEqual({ command, status: 2, stderr: 'vagt: --log-format: expected auto, json, pretty, got "xml"\n' });
    }
  });

  it('gives JSON lines to a pipe by default, pretty lines when asked', async () => {
    const args = ['collector', '--config', config, '--data-dir', join(dir, 'json')];
    const json = await runUntil(args, { VAGT_LOG_FORMAT: '' }, /"msg":"collector listening"/);
    expect(json.code).toBe(0);
    const lines = json.out.trim().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(JSON.parse(l)).toMatchObject({ name: 'collector', pid: expect.any(Number) });

    const pretty = await runUntil([...args, '--log-format', 'pretty'], {}, /INFO \(collector\): collector listening/);
    expect(pretty.code).toBe(0);
    expect(pretty.out).toMatch(PRETTY_LINE);
    expect(pretty.out).not.toMatch(/^\{"level"/m);
  });

  it('applies to the agent and the demo too', async () => {
    const agent = await runUntil(
      ['agent', '--collector', 'ws://127.0.0.1:1/agent', '--id', 'kbh-1', '--token', 'log-format-test-token-0123456789', '--data-dir', join(dir, 'agent')],
      { VAGT_LOG_FORMAT: 'pretty' },
      /INFO \(agent\): agent starting/,
    );
    expect(agent.code).toBe(0);
    expect(agent.out).not.toContain('log-format-test-token');
    const demo = await runUntil(
      ['demo', '--listen', '127.0.0.1:0', '--base-port', '0', '--data-dir', join(dir, 'demo'), '--log-level', 'info', '--log-format', 'pretty'],
      {},
      /INFO \(demo\): /,
      // Its banner comes once it handles SIGTERM.
      /vagt demo is running/,
    );
    expect(demo.code).toBe(0);
    expect(demo.out).toMatch(PRETTY_LINE);
  });
});
