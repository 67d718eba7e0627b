// The systemd units in deploy/systemd/: systemd-analyze verifies them (on copies pointing at this
// checkout, since verify wants ExecStart's binary to exist) and rates their hardening; what they and
// their env files name must exist in the CLI; and the agent, started as the unit starts it with the
// example env file filled in, connects to a real collector and exits 0 on SIGTERM.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/output.js';
import { TOKENS, eventually, getJson, startHarness, type Harness } from '../collector/helpers.js';

const DIR = resolve('deploy/systemd');
const INSTALLED = { node: '/usr/bin/node', root: '/opt/vagt' };

/** A unit's settings, in order, by section (a key may repeat, as Environment= does). */
function parseUnit(text: string): Map<string, [string, string][]> {
  const sections = new Map<string, [string, string][]>();
  let section: [string, string][] | undefined;
  text.split('\n').forEach((line, i) => {
    const l = line.trim();
    if (l === '' || l.startsWith('#') || l.startsWith(';')) return;
    const head = /^\[(\w+)\]$/.exec(l);
    if (head) sections.set(head[1]!, (section = []));
    else if (section && l.includes('=')) section.push([l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
    else throw new Error(`line ${i + 1}: cannot parse "${l}"`);
  });
  return sections;
}

const cliMain = readFileSync('cli/main.ts', 'utf8');
/** Every VAGT_* name an env file sets, commented-out examples included. */
const envNames = (file: string): string[] => [...readFileSync(join(DIR, file), 'utf8').matchAll(/^#?(VAGT_\w+)=/gm)].map((m) => m[1]!);

const units = ['vagt-agent.service', 'vagt-collector.service'].map((name) => {
  const text = readFileSync(join(DIR, name), 'utf8');
  const service = parseUnit(text).get('Service') ?? [];
  const get = (key: string): string[] => service.filter(([k]) => k === key).map(([, v]) => v);
  const one = (key: string): string => {
    const v = get(key);
    if (v.length !== 1) throw new Error(`${name}: expected one ${key}=, found ${v.length}`);
    return v[0]!;
  };
  return { name, text, get, one };
});
const [agentUnit, collectorUnit] = units as [(typeof units)[0], (typeof units)[0]];

describe.each(units.map((u) => [u.name, u] as const))('deploy/systemd/%s', (_name, unit) => {
  const argv = unit.one('ExecStart').split(/\s+/);
  const command = argv[2]!;
  const state = unit.one('StateDirectory');

  it('starts an existing subcommand of the installed CLI with flags it defines', () => {
    const bin = (JSON.parse(readFileSync('package.json', 'utf8')) as { bin: { vagt: string } }).bin.vagt;
    expect(argv.slice(0, 2), 'node and the CLI (package.json bin) where vagt is installed').toEqual([INSTALLED.node, `${INSTALLED.root}/${bin}`]);
    expect(cliMain, `${unit.name} runs "${command}", which cli/main.ts does not define`).toMatch(new RegExp(`\\.command\\(\\s*'${command}'`));
    for (const flag of argv.filter((a) => a.startsWith('--'))) expect(cliMain, `${unit.name}: ${flag}`).toContain(`.option('${flag.slice(2)}'`);
  });

  it('restarts on failure but not on bad arguments (exit 2), as a throwaway user owning only its state directory', () => {
    expect(unit.one('Restart')).toBe('on-failure');
    expect(unit.one('RestartPreventExitStatus')).toBe(String(EXIT.usage));
    expect(unit.one('DynamicUser')).toBe('yes');
    expect(state).toBe(unit.name.replace('.service', ''));
    const dataDir = command === 'agent' ? unit.get('Environment').find((e) => e.startsWith('VAGT_DATA_DIR=')) : argv[argv.indexOf('--data-dir') + 1];
    expect(dataDir, `${unit.name}: the data directory should be %S/${state}`).toMatch(new RegExp(`%S/${state}$`));
  });

  it('is hardened, without what Node.js or its sockets need', () => {
    for (const [k, v] of Object.entries({ NoNewPrivileges: 'yes', ProtectSystem: 'strict', ProtectHome: 'yes', PrivateTmp: 'yes' }))
      expect(unit.one(k), `${unit.name}: ${k}`).toBe(v);
    expect(unit.get('MemoryDenyWriteExecute'), 'V8\'s JIT needs W+X memory').toEqual([]);
    expect(unit.one('RestrictAddressFamilies').split(' ')).toEqual(expect.arrayContaining(['AF_INET', 'AF_INET6']));
  });

  it('passes systemd-analyze verify, and its exposure in systemd-analyze security is under 3.0 ("OK")', ({ skip }) => {
    if (spawnSync('systemd-analyze', ['--version']).error !== undefined) skip('systemd-analyze is not on PATH, so the units are not verified');
    const dir = mkdtempSync(join(tmpdir(), 'vagt-systemd-'));
    try {
      // verify checks that ExecStart's binary exists: point it at this machine's node and checkout.
      const copy = join(dir, unit.name);
      writeFileSync(
        copy,
        unit.text
          .replaceAll(`${INSTALLED.node} `, `${process.execPath} `)
          .replaceAll(INSTALLED.root, process.cwd())
          .replace(/^EnvironmentFile=\/etc\/vagt\//m, `EnvironmentFile=${dir}/`),
      );
      const verify = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
      expect({ status: verify.status, output: verify.stdout + verify.stderr }).toEqual({ status: 0, output: '' });
      // --threshold is in tenths of the 0–10 exposure scale it prints.
      const security = spawnSync('systemd-analyze', ['security', '--offline=yes', '--threshold=30', copy], { encoding: 'utf8' });
      expect(security.status, security.stdout.split('\n').filter((l) => l.startsWith('✗') || l.startsWith('→')).join('\n')).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the env files', () => {
  it('agent.env.example sets only VAGT_* variables the agent reads, and the three it needs', () => {
    const names = [...envNames('agent.env.example'), ...agentUnit.get('Environment').map((e) => e.split('=')[0]!)];
    expect(names).toEqual(expect.arrayContaining(['VAGT_COLLECTOR', 'VAGT_AGENT_ID', 'VAGT_AGENT_TOKEN', 'VAGT_DATA_DIR']));
    for (const n of names) expect(cliMain, `${n} is not read by the agent (cli/main.ts)`).toContain(`process.env.${n}`);
    expect(agentUnit.one('EnvironmentFile')).toBe('/etc/vagt/agent.env');
  });

  it('collector.env.example sets variables config/examples/full.yaml reads, and the collector reloads on SIGHUP', () => {
    const read = readFileSync('config/examples/full.yaml', 'utf8');
    const names = [...readFileSync(join(DIR, 'collector.env.example'), 'utf8').matchAll(/^(\w+)=/gm)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(0);
    for (const n of names) expect(read, `${n} is not read by config/examples/full.yaml`).toContain(`\${env:${n}}`);
    expect(collectorUnit.one('EnvironmentFile')).toBe('/etc/vagt/collector.env');
    expect(collectorUnit.one('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(readFileSync('cli/collector.ts', 'utf8')).toContain("process.on('SIGHUP'");
  });
});

describe('the agent as the unit runs it', () => {
  let h: Harness;
  let dir: string;
  beforeAll(async () => {
    h = await startHarness();
    dir = mkdtempSync(join(tmpdir(), 'vagt-systemd-agent-'));
  });
  afterAll(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('connects with agent.env.example filled in and exits 0 on SIGTERM, which Restart=on-failure leaves stopped', async () => {
    const values: Record<string, string> = { VAGT_COLLECTOR: h.wsUrl, VAGT_AGENT_ID: 'kbh-1', VAGT_AGENT_TOKEN: TOKENS['kbh-1'], VAGT_DATA_DIR: join(dir, 'vagt-agent') };
    // Only what the example file sets (uncommented), as systemd would pass it.
    const env = Object.fromEntries(
      [...readFileSync(join(DIR, 'agent.env.example'), 'utf8').matchAll(/^(\w+)=/gm)].map((m) => [m[1]!, values[m[1]!] ?? '']),
    );
    const dataDir = agentUnit.get('Environment').find((e) => e.startsWith('VAGT_DATA_DIR='))!.split('=')[1]!.replace('%S', dir);
    const argv = agentUnit.one('ExecStart').split(/\s+/).slice(1).map((a) => a.replace(INSTALLED.root, process.cwd()));
    const child = spawn(process.execPath, argv, { env: { PATH: process.env.PATH, VAGT_DATA_DIR: dataDir, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    try {
      await eventually(async () => (await getJson(`${h.collector.url}/api/v1/agents`)).body.agents.find((a) => a.id === 'kbh-1' && a.connected), 10_000);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, stderr).toBe(0);
  });
});
