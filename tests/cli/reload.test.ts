// Reloading a running collector (the built dist/, real processes): SIGHUP and POST /api/v1/reload
// hand a connected agent its new probes without a restart or a reconnect, and a bad file is
// refused with its problems while the running configuration goes on being served and probed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const AGENT_TOKEN = 'reload-test-agent-token-0123456789';
const ADMIN_TOKEN = 'reload-test-admin-token-0123456789';

interface Proc {
  child: ChildProcess;
  /** Its JSON log lines so far. */
  logs: () => { msg: string; level: number; [k: string]: unknown }[];
  exited: Promise<number | null>;
}

let dir: string;
let file: string;
let target: Server;
let targetUrl: string;
const children: ChildProcess[] = [];

function start(args: string[]): Proc {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VAGT_LOG_FORMAT: 'json' } });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const logs = (): ReturnType<Proc['logs']> =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as ReturnType<Proc['logs']>[number]);
  return { child, logs, exited };
}

async function until<T>(what: string, test: () => Promise<T | undefined | false> | T | undefined | false, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await test();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The config file: system `one`, plus the systems given (YAML lines under `systems:`). */
function writeConfig(...systems: string[]): void {
  writeFileSync(
    file,
    [
      'collector:',
      `  data_dir: "${join(dir, 'data')}"`,
      `  admin_token: "${ADMIN_TOKEN}"`,
      'agents:',
      `  - { id: kbh-1, token: "${AGENT_TOKEN}" }`,
      'defaults: { interval: 200ms, timeout: 150ms, retries: 0 }',
      'systems:',
      system('one'),
      ...systems,
      '',
    ].join('\n'),
  );
}
const system = (id: string, extra = ''): string => `  - { id: ${id}, name: ${id},${extra} probes: [{ id: front, type: http, url: "${targetUrl}/${id}" }] }`;

const seen = new Map<string, number>();
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vagt-reload-'));
  file = join(dir, 'vagt.yaml');
  target = createServer((req, res) => {
    seen.set(req.url ?? '', (seen.get(req.url ?? '') ?? 0) + 1);
    res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  targetUrl = `http://127.0.0.1:${(target.address() as { port: number }).port}`;
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await new Promise((r) => target.close(r));
  rmSync(dir, { recursive: true, force: true });
});

async function resultCount(base: string, system: string): Promise<number> {
  const body = (await (await fetch(`${base}/api/v1/results?system=${system}&limit=10000`)).json()) as { results: unknown[] };
  return body.results.length;
}
async function statusIds(base: string): Promise<string[]> {
  const body = (await (await fetch(`${base}/api/v1/status`)).json()) as { systems: { id: string }[] };
  return body.systems.map((s) => s.id);
}
/** The requests the target sees for a system keep growing: its probe still runs. */
async function stillProbed(path: string): Promise<void> {
  const before = seen.get(path) ?? 0;
  await until(`${path} probed again`, () => (seen.get(path) ?? 0) > before + 1);
}
function reloadPost(base: string, token?: string): Promise<Response> {
  return fetch(`${base}/api/v1/reload`, { method: 'POST', headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
}

describe('reloading a running collector', () => {
  it('reassigns probes on SIGHUP and POST /api/v1/reload, and keeps the running configuration on a bad file', async () => {
    writeConfig();
    const collector = start(['collector', '--config', file, '--listen', '127.0.0.1:0']);
    const base = await until('the collector URL', () => {
      if (collector.child.exitCode !== null) throw new Error(`the collector exited with ${collector.child.exitCode}`);
      return collector.logs().find((l) => l.msg === 'collector listening')?.url as string | undefined;
    });
    const agent = start(['agent', '--collector', `${base.replace(/^http/, 'ws')}/agent`, '--id', 'kbh-1', '--token', AGENT_TOKEN, '--data-dir', join(dir, 'agent')]);
    await until('results of one', async () => (await resultCount(base, 'one')) > 0);
    const connected = (): number => agent.logs().filter((l) => l.msg === 'connected to the collector').length;
    const assignments = (): number => agent.logs().filter((l) => l.msg === 'assignment received').length;
    expect(connected()).toBe(1);
    const firstAssignments = assignments();

    // A second system for the agent, on SIGHUP.
    writeConfig(system('two'));
    collector.child.kill('SIGHUP');
    await until('results of two', async () => (await resultCount(base, 'two')) > 0);
    expect(collector.logs().some((l) => l.msg === 'configuration reloaded' && l.changed === true)).toBe(true);
    expect(assignments()).toBe(firstAssignments + 1);
    expect(await statusIds(base)).toEqual(['one', 'two']);

    // A YAML syntax error, then an unknown dependency: refused, named, the old file kept.
    const refused = (): string[] => collector.logs().filter((l) => l.level === 50).map((l) => l.msg);
    writeConfig(system('two'), '  - { id: three, name: "Three }');
    collector.child.kill('SIGHUP');
    const syntax = await until('a refusal', () => refused()[0]);
    // Named where the quote opens, not where the parser noticed (the end of the file).
    expect(syntax).toBe(`reload refused, the running configuration is kept: ${file}: systems[2].name: invalid YAML: a quoted string opens here and is never closed (line 10)`);
    writeConfig(system('two', ' depends_on: { nowhere: critical },'));
    collector.child.kill('SIGHUP');
    const unknown = await until('a second refusal', () => refused()[1]);
    expect(unknown).toContain(`${file}: systems[1].depends_on.nowhere: unknown system nowhere (line 9)`);
    expect(refused()).toHaveLength(2);
    expect(await statusIds(base)).toEqual(['one', 'two']);
    await stillProbed('/one');
    await stillProbed('/two');

    // The same over HTTP: the admin token first, then 422 with the problems.
    expect((await reloadPost(base)).status).toBe(401);
    expect((await reloadPost(base, 'not-the-admin-token-0123456789')).status).toBe(403);
    const bad = await reloadPost(base, ADMIN_TOKEN);
    expect(bad.status).toBe(422);
    const body = (await bad.json()) as { error: { code: string; problems: { path: string; message: string; line: number }[] } };
    expect(body.error).toMatchObject({ code: 'invalid_config', problems: [{ path: 'systems[1].depends_on.nowhere', message: 'unknown system nowhere', line: 9 }] });
    expect(await statusIds(base)).toEqual(['one', 'two']);
    await stillProbed('/two');

    // A good file over HTTP: two goes, three comes.
    writeConfig(system('three'));
    const ok = await reloadPost(base, ADMIN_TOKEN);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ ok: true, changed: true });
    await until('results of three', async () => (await resultCount(base, 'three')) > 0);
    expect(await statusIds(base)).toEqual(['one', 'three']);
    const twoRequests = seen.get('/two') ?? 0;
    await stillProbed('/three');
    // One request may have been in flight when the assignment changed.
    expect(seen.get('/two') ?? 0).toBeLessThanOrEqual(twoRequests + 1);

    // Neither process restarted, and the agent never reconnected.
    expect([collector.child.exitCode, agent.child.exitCode]).toEqual([null, null]);
    expect(connected()).toBe(1);
    expect(collector.logs().filter((l) => l.msg === 'collector started')).toHaveLength(1);
    expect(new Set(collector.logs().map((l) => l.pid))).toEqual(new Set([collector.child.pid]));

    agent.child.kill('SIGTERM');
    collector.child.kill('SIGTERM');
    expect(await Promise.all([agent.exited, collector.exited])).toEqual([0, 0]);
  });
});
