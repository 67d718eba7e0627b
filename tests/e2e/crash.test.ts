// Exactly once through a crash: two agents (child processes, durable outboxes) probe a target
// while the collector (a child process) is killed with SIGKILL mid-ingest and restarted on the
// same data directory; then the agents are stopped with SIGTERM. Every request the target saw must
// be exactly one stored result: none lost, none doubled. The database passes integrity_check right
// after the kill.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const AGENTS = ['kbh-1', 'aar-1'] as const;
const token = (id: string): string => `crash-test-token-${id}-0123456789`;

let dir: string;
let target: Server;
/** Requests the target answered, per agent (from the User-Agent). */
const seen = new Map<string, number>();
const children: ChildProcess[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function start(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, output: () => out, exited };
}

async function until(what: string, test: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (await test()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function storedCount(base: string, agent: string): Promise<{ count: number; seqs: Set<number> }> {
  const body = (await (await fetch(`${base}/api/v1/results?agent=${agent}&limit=10000`)).json()) as { results: { seq: number }[] };
  return { count: body.results.length, seqs: new Set(body.results.map((r) => r.seq)) };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vagt-crash-'));
  target = createServer((req, res) => {
    const agent = /\(\+agent=([^)]+)\)/.exec(req.headers['user-agent'] ?? '')?.[1] ?? '?';
    seen.set(agent, (seen.get(agent) ?? 0) + 1);
    res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await new Promise((r) => target.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('a collector killed with SIGKILL under load', () => {
  it('loses no result and doubles none, and its database stays intact', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const url = `http://127.0.0.1:${(target.address() as { port: number }).port}`;
    const config = join(dir, 'vagt.yaml');
    writeFileSync(
      config,
      [
        `collector: { listen: "127.0.0.1:${port}", data_dir: "${join(dir, 'data')}" }`,
        'agents:',
        ...AGENTS.map((id) => `  - { id: ${id}, token: "${token(id)}" }`),
        'defaults: { interval: 100ms, timeout: 90ms, retries: 1 }',
        'systems:',
        '  - id: web',
        '    name: Web',
        '    probes:',
        ...['a', 'b', 'c', 'd'].map((p) => `      - { id: ${p}, type: http, url: "${url}/${p}" }`),
        '',
      ].join('\n'),
    );
    const collectorArgs = ['collector', '--config', config, '--log-level', 'warn'];
    let collector = start(collectorArgs);
    await until('the collector', async () => (await fetch(`${base}/readyz`)).ok);
    const agents = AGENTS.map((id) =>
      start(['agent', '--collector', `ws://127.0.0.1:${port}/agent`, '--id', id, '--token', token(id), '--data-dir', join(dir, id), '--log-level', 'warn']),
    );
    await until('steady ingest', async () => (await storedCount(base, 'aar-1')).count > 40 && (await storedCount(base, 'kbh-1')).count > 40);

    collector.child.kill('SIGKILL');
    expect(await collector.exited).toBe(null);
    const db = new Database(join(dir, 'data', 'vagt.db'), { readonly: true, fileMustExist: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
    // The agents keep probing into their outboxes while the collector is away.
    await new Promise((r) => setTimeout(r, 1_000));

    collector = start(collectorArgs);
    await until('the collector again', async () => (await fetch(`${base}/readyz`)).ok);
    // Both agents back (their reconnect backoff may have grown while the collector was away).
    const before = await Promise.all(AGENTS.map((id) => storedCount(base, id)));
    await until(
      'ingest from both agents after the restart',
      async () => (await Promise.all(AGENTS.map((id) => storedCount(base, id)))).every((now, i) => now.count > (before[i]?.count ?? 0) + 40),
      40_000,
    );

    for (const a of agents) a.child.kill('SIGTERM');
    expect(await Promise.all(agents.map((a) => a.exited))).toEqual([0, 0]);
    for (const id of AGENTS) {
      // Nothing left behind in the agent's outbox either.
      const outbox = new Database(join(dir, id, 'outbox.db'), { readonly: true });
      expect((outbox.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n).toBe(0);
      outbox.close();
      const stored = await storedCount(base, id);
      expect({ agent: id, stored: stored.count }).toEqual({ agent: id, stored: seen.get(id) });
      expect(stored.seqs.size).toBe(stored.count);
    }
    collector.child.kill('SIGTERM');
    expect(await collector.exited).toBe(0);
  }, 90_000);
});
