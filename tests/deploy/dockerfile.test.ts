// Nothing here can run Docker, so the Dockerfile is checked the way hadolint would check it (its
// rules by number) plus what it must agree with in this repository: the stages' outputs, the build
// config, the CLI, the collector's port and routes. dockerfile-utils (the parser and validator of
// VS Code's Docker language server, pure JS) validates the syntax; hadolint runs when it is on PATH.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { validate } from 'dockerfile-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../collector/helpers.js';

interface Instruction {
  keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  args: string;
  line: number;
  /** `# hadolint ignore=…` rules on the comment line just above. */
  ignored: string[];
}

/** Dockerfile instructions: comments dropped, `\` continuations joined (comment lines inside skipped). */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let current: Instruction | undefined;
  let ignored: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (current === undefined) {
      const comment = /^\s*#(.*)$/.exec(line);
      if (comment) {
        const rules = /hadolint ignore=([\w,]+)/.exec(comment[1]!);
        ignored = rules ? rules[1]!.split(',') : [];
        return;
      }
      if (line.trim() === '') return;
      const m = /^\s*(\w+)\s*(.*)$/.exec(line);
      if (!m) throw new Error(`Dockerfile line ${i + 1}: cannot parse "${line}"`);
      current = { keyword: m[1]!.toUpperCase(), args: '', line: i + 1, ignored };
      ignored = [];
      raw = m[2]!;
    } else if (/^\s*#/.test(line) || line.trim() === '') return;
    const body = raw.trimEnd();
    const continued = body.endsWith('\\');
    current.args = `${current.args} ${(continued ? body.slice(0, -1) : body).trim()}`.trim();
    if (!continued) {
      out.push(current);
      current = undefined;
    }
  });
  if (current !== undefined) throw new Error(`Dockerfile line ${current.line}: a continuation runs past the end of the file`);
  return out;
}

interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

function stagesOf(instructions: Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const [image, as, name] = ins.args.split(/\s+/);
      stages.push({ from: image!, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    }
    stages.at(-1)?.instructions.push(ins);
  }
  return stages;
}

/** `--flag=value` options first, then the words (or the JSON array) of an instruction. */
function split(args: string): { flags: Map<string, string>; words: string[]; json: boolean } {
  const flags = new Map<string, string>();
  let rest = args;
  for (let m = /^--([\w-]+)=(\S+)\s*/.exec(rest); m; m = /^--([\w-]+)=(\S+)\s*/.exec(rest)) {
    flags.set(m[1]!, m[2]!);
    rest = rest.slice(m[0].length);
  }
  if (rest.startsWith('[')) return { flags, words: JSON.parse(rest) as string[], json: true };
  return { flags, words: rest.split(/\s+/).filter((w) => w !== ''), json: false };
}

const all = (stage: Stage, keyword: string): Instruction[] => stage.instructions.filter((i) => i.keyword === keyword);
const workdirAt = (stage: Stage, ins: Instruction): string =>
  all(stage, 'WORKDIR')
    .filter((w) => w.line < ins.line)
    .reduce((dir, w) => posix.resolve(dir, w.args), '/');

const dockerfile = readFileSync('Dockerfile', 'utf8');
const instructions = parseDockerfile(dockerfile);
const stages = stagesOf(instructions);
const final = stages.at(-1)!;
const finalOf = (keyword: string): Instruction => {
  const found = all(final, keyword);
  if (found.length !== 1) throw new Error(`the final stage should have one ${keyword}, has ${found.length}`);
  return found[0]!;
};
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } };
const tsconfig = JSON.parse(readFileSync('tsconfig.json', 'utf8')) as { compilerOptions: { outDir: string } };
const buildConfig = JSON.parse(readFileSync('tsconfig.build.json', 'utf8')) as { include: string[] };
const runs = instructions.filter((i) => i.keyword === 'RUN');

describe('Dockerfile: hadolint rules', () => {
  it('parses line continuations into whole instructions', () => {
    expect(parseDockerfile('RUN a \\\n# note\n  && b\nUSER x\n')).toEqual([
      { keyword: 'RUN', args: 'a && b', line: 1, ignored: [] },
      { keyword: 'USER', args: 'x', line: 4, ignored: [] },
    ]);
    expect(() => parseDockerfile('RUN a \\\n')).toThrow('line 1: a continuation runs past the end of the file');
  });

  it('DL3006/DL3007: every base image has a tag, the Node major of package.json engines, slim', () => {
    const major = /\d+/.exec(pkg.engines.node)![0];
    const named = new Set(stages.flatMap((s) => (s.name ? [s.name] : [])));
    for (const s of stages) {
      if (named.has(s.from)) continue;
      expect(s.from, `FROM ${s.from}`).toBe(`node:${major}-bookworm-slim`);
    }
  });

  it('DL3024/DL3022: stage names are unique and COPY --from names an earlier stage', () => {
    const names = stages.flatMap((s) => (s.name ? [s.name] : []));
    expect(new Set(names).size, `stage names ${names.join(', ')}`).toBe(names.length);
    stages.forEach((s, i) => {
      for (const copy of all(s, 'COPY')) {
        const from = split(copy.args).flags.get('from');
        if (from !== undefined) expect(stages.slice(0, i).map((e) => e.name), `line ${copy.line}: --from=${from}`).toContain(from);
      }
    });
  });

  it('DL3002: the image runs as a user that is not root', () => {
    const user = all(final, 'USER').at(-1)?.args;
    expect(user, 'the final stage sets no USER').toBeDefined();
    expect(['root', '0'], `the last USER is ${user}`).not.toContain(user);
  });

  it('DL3025: CMD, ENTRYPOINT and HEALTHCHECK CMD use the JSON form', () => {
    for (const ins of instructions.filter((i) => ['CMD', 'ENTRYPOINT'].includes(i.keyword)))
      expect(split(ins.args).json, `line ${ins.line}: ${ins.keyword} ${ins.args}`).toBe(true);
    const hc = finalOf('HEALTHCHECK').args.replace(/^(--\S+\s+)*CMD\s+/, '');
    expect(split(hc).json, `HEALTHCHECK ${hc}`).toBe(true);
  });

  it('DL3008/DL3009/DL3014/DL3015: apt-get installs are pinned or excused, -y, without recommends, lists removed', () => {
    const installs = runs.filter((r) => /apt-get install/.test(r.args));
    expect(installs.length).toBeGreaterThan(0);
    for (const r of installs) {
      const where = `line ${r.line}`;
      expect(r.args, where).toContain('--no-install-recommends');
      expect(r.args, where).toMatch(/apt-get install (\S+ )*-y\b/);
      expect(r.args, where).toContain('apt-get update');
      expect(r.args, where).toContain('rm -rf /var/lib/apt/lists/*');
      const pkgs = /apt-get install\s+((?:\S+\s*)+?)(?:&&|$)/.exec(r.args)![1]!.split(/\s+/).filter((w) => w && !w.startsWith('-'));
      const unpinned = pkgs.filter((p) => !p.includes('='));
      if (unpinned.length > 0) expect(r.ignored, `${where}: ${unpinned.join(' ')} unpinned, without "# hadolint ignore=DL3008"`).toContain('DL3008');
    }
  });

  it('DL4006: a RUN with a pipe has SHELL with -o pipefail before it', () => {
    for (const r of runs.filter((r) => /[^|]\|[^|]/.test(r.args))) {
      const shell = instructions.filter((i) => i.keyword === 'SHELL' && i.line < r.line).at(-1);
      expect(shell?.args, `line ${r.line} pipes without SHELL ["/bin/bash", "-o", "pipefail", "-c"]`).toMatch(/pipefail/);
    }
  });

  it('DL3059/DL3003/DL3004/DL3020/DL3000: no consecutive RUNs, cd, sudo or ADD; absolute WORKDIRs', () => {
    for (const s of stages)
      s.instructions.forEach((ins, i) => {
        if (ins.keyword === 'RUN') expect(s.instructions[i + 1]?.keyword, `line ${ins.line}: RUN after RUN, join them`).not.toBe('RUN');
      });
    for (const r of runs) expect(r.args, `line ${r.line}`).not.toMatch(/(^|&&|;)\s*(cd|sudo)\s/);
    expect(instructions.map((i) => i.keyword)).not.toContain('ADD');
    for (const w of instructions.filter((i) => i.keyword === 'WORKDIR')) expect(w.args, `line ${w.line}`).toMatch(/^\//);
  });

  it('DL4003/DL4004/DL3057: one CMD, one ENTRYPOINT and a HEALTHCHECK in the image', () => {
    for (const k of ['CMD', 'ENTRYPOINT', 'HEALTHCHECK']) expect(finalOf(k).keyword).toBe(k);
  });

  it("passes dockerfile-utils' validator (VS Code's Docker language server) and it catches a broken file", () => {
    const problems = (text: string): string[] => validate(text).map((d) => `line ${d.range.start.line + 1}: ${typeof d.message === 'string' ? d.message : d.message.value}`);
    expect(problems(readFileSync('Dockerfile', 'utf8'))).toEqual([]);
    expect(problems('FROM node:20\nEXPOSE abc\nFOO bar\nHEALTHCHECK --interval=xs CMD true\n')).toEqual([
      'line 2: Invalid containerPort: abc',
      'line 3: Unknown instruction: FOO',
      'line 4: time: invalid duration xs',
    ]);
  });

  it('passes hadolint, when it is installed', ({ skip }) => {
    const r = spawnSync('hadolint', ['Dockerfile'], { encoding: 'utf8' });
    if (r.error !== undefined) skip('hadolint is not on PATH (not in Debian; its npm wrappers download a binary), so only the checks above ran');
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});

describe('Dockerfile: in sync with the repository', () => {
  it('copies from the build context only files that exist and .dockerignore keeps', () => {
    const ignore = readFileSync('.dockerignore', 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    const glob = (p: string): RegExp => new RegExp('^' + p.replace(/[.+^$()|[\]]/g, '\\$&').replaceAll('*', '[^/]*') + '(/|$)');
    for (const copy of instructions.filter((i) => i.keyword === 'COPY')) {
      const { flags, words } = split(copy.args);
      if (flags.has('from')) continue;
      for (const src of words.slice(0, -1)) {
        expect(existsSync(src), `line ${copy.line}: COPY ${src}, which is not in the repository`).toBe(true);
        const rule = ignore.find((p) => glob(p).test(src.replace(/\/$/, '')));
        expect(rule, `line ${copy.line}: COPY ${src}, which .dockerignore excludes (${rule})`).toBeUndefined();
      }
    }
  });

  it('compiles every directory that tsconfig.build.json includes', () => {
    const build = stages.find((s) => all(s, 'RUN').some((r) => r.args.includes('npm run build')))!;
    const copied = all(build, 'COPY').flatMap((c) => split(c.args).words.slice(0, -1).map((w) => w.replace(/\/$/, '')));
    for (const dir of buildConfig.include) expect(copied, `tsconfig.build.json includes ${dir}/, the build stage does not COPY it`).toContain(dir);
    expect(copied).toEqual(expect.arrayContaining(['tsconfig.json', 'tsconfig.build.json', 'package-lock.json']));
  });

  it('takes from each stage only what that stage made: its COPYs, npm ci, npm run build', () => {
    const made = new Map<string, string[]>();
    for (const s of stages) {
      const outputs: string[] = [];
      for (const ins of s.instructions) {
        const dir = workdirAt(s, ins);
        if (ins.keyword === 'COPY') {
          const { words } = split(ins.args);
          const dest = posix.resolve(dir, words.at(-1)!);
          for (const src of words.slice(0, -1)) outputs.push(words.at(-1)!.endsWith('/') && !src.endsWith('/') ? posix.join(dest, posix.basename(src)) : dest);
        }
        if (ins.keyword === 'RUN' && /npm (ci|rebuild)/.test(ins.args)) outputs.push(posix.join(dir, 'node_modules'));
        if (ins.keyword === 'RUN' && ins.args.includes('npm run build')) outputs.push(posix.join(dir, tsconfig.compilerOptions.outDir));
      }
      if (s.name) made.set(s.name, outputs);
    }
    const fromCopies = instructions.filter((i) => i.keyword === 'COPY' && split(i.args).flags.has('from'));
    expect(fromCopies.length).toBeGreaterThan(0);
    for (const copy of fromCopies) {
      const { flags, words } = split(copy.args);
      const outputs = made.get(flags.get('from')!) ?? [];
      for (const src of words.slice(0, -1))
        expect(
          outputs.some((o) => src === o || src.startsWith(o + '/')),
          `line ${copy.line}: COPY --from=${flags.get('from')} ${src}, which that stage does not make (it makes ${outputs.join(', ')})`,
        ).toBe(true);
    }
  });

  it('rebuilds by name every production dependency with an install script (npm ci --ignore-scripts skips them)', () => {
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, { dev?: boolean; hasInstallScript?: boolean }> };
    const native = Object.entries(lock.packages)
      .filter(([path, p]) => path !== '' && p.hasInstallScript && !p.dev)
      .map(([path]) => path.replace(/^.*node_modules\//, ''));
    const rebuild = runs.map((r) => /npm rebuild ((?:[\w@/.-]+ ?)+)/.exec(r.args)?.[1]).find((m) => m !== undefined) ?? '';
    expect(rebuild.split(' ').filter((w) => w !== '' && !w.startsWith('-')), 'packages with install scripts in package-lock.json').toEqual(
      expect.arrayContaining(native),
    );
    // From source against the image's Node headers: prebuild-install and node-gyp download nothing.
    expect(dockerfile).toMatch(/npm_config_build_from_source=true npm rebuild \S+ --nodedir=\/usr\/local/);
    expect(runs.filter((r) => r.args.includes('npm ci')).every((r) => r.args.includes('--ignore-scripts'))).toBe(true);
  });

  it('starts dist/cli/main.js, which `npm run build` makes from cli/main.ts', () => {
    const entry = split(finalOf('ENTRYPOINT').args).words;
    expect(entry[0]).toBe('node');
    const workdir = workdirAt(final, finalOf('ENTRYPOINT'));
    const script = posix.resolve(workdir, entry[1]!);
    const outDir = posix.resolve(workdir, tsconfig.compilerOptions.outDir);
    expect(script, `ENTRYPOINT runs ${script}, the build writes ${outDir}/`).toBe(posix.join(outDir, 'cli', 'main.js'));
    expect(existsSync('cli/main.ts')).toBe(true);
    expect(JSON.parse(readFileSync('package.json', 'utf8'))).toMatchObject({ bin: { vagt: 'dist/cli/main.js' } });
  });

  it('runs by default the collector on the port it exposes, with the config path and data volume', () => {
    const cmd = split(finalOf('CMD').args).words;
    expect(cmd[0]).toBe('collector');
    const opt = (name: string): string | undefined => cmd[cmd.indexOf(`--${name}`) + 1];
    const main = readFileSync('cli/main.ts', 'utf8');
    for (const flag of cmd.filter((w) => w.startsWith('--'))) expect(main, `CMD uses ${flag}, which cli/main.ts does not define`).toContain(`.option('${flag.slice(2)}'`);
    expect(opt('listen')).toBe('0.0.0.0:9400');
    expect(finalOf('EXPOSE').args, 'the collector\'s default port (collector.listen 127.0.0.1:9400)').toBe('9400');
    expect(readFileSync('config/schema.ts', 'utf8')).toContain("listen: hostPort.default('127.0.0.1:9400')");
    const volume = split(finalOf('VOLUME').args).words;
    expect(volume).toEqual([opt('data-dir')]);
    expect(all(final, 'ENV').map((e) => e.args).join(' '), 'the agent\'s VAGT_DATA_DIR is the volume').toContain(`VAGT_DATA_DIR=${volume[0]}`);
    const user = all(final, 'USER').at(-1)!.args;
    const chown = all(final, 'RUN').find((r) => r.args.includes(`chown ${user}:`));
    expect(chown?.args, `the data volume should be owned by ${user} before VOLUME`).toContain(volume[0]);
    expect(chown!.line).toBeLessThan(finalOf('VOLUME').line);
  });

  it('holds the files the CLI reads at run time: package.json (lib/version.ts) and config/demo.yaml (vagt demo)', () => {
    const dests = all(final, 'COPY').flatMap((c) => {
      const { words } = split(c.args);
      const dest = posix.resolve(workdirAt(final, c), words.at(-1)!);
      return words.slice(0, -1).map((src) => (words.at(-1)!.endsWith('/') ? posix.join(dest, posix.basename(src)) : dest));
    });
    expect(dests).toEqual(expect.arrayContaining(['/app/package.json', '/app/config/demo.yaml', '/app/node_modules', '/app/dist']));
    expect(readFileSync('lib/version.ts', 'utf8')).toContain("'package.json'");
    expect(readFileSync('demo/demo-config.ts', 'utf8')).toContain("join(packageRoot, 'config', 'demo.yaml')");
  });

  it('has no compiler or apt-get in the image, only in the deps stage', () => {
    for (const r of all(final, 'RUN')) expect(r.args, `line ${r.line}`).not.toMatch(/apt-get|npm (ci|install)/);
  });
});

describe('Dockerfile: HEALTHCHECK', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  const hc = finalOf('HEALTHCHECK').args;
  const command = split(hc.replace(/^(--\S+\s+)*CMD\s+/, '')).words;
  /** The health check, run here (not blocking: the collector answers from this process) against a port of the test's choosing. */
  const check = (port: number): Promise<number | null> =>
    new Promise((done) => {
      const child = spawn(command[0]!, command.slice(1).map((a) => a.replace(':9400/', `:${port}/`)), { stdio: 'ignore', timeout: 10_000 });
      child.on('exit', (code) => done(code));
    });

  it('asks /healthz on the exposed port, with a timeout and a start period', () => {
    expect(command.join(' ')).toContain('http://127.0.0.1:9400/healthz');
    expect(hc).toMatch(/--timeout=\d+s/);
    expect(hc).toMatch(/--start-period=\d+s/);
    expect(readFileSync('collector/api/routes.ts', 'utf8')).toContain("router.get('/healthz'");
  });

  it('exits 0 for a running collector and 1 when nothing answers', async () => {
    const port = Number(new URL(h.collector.url).port);
    expect(await check(port)).toBe(0);
    expect(await check(1)).toBe(1);
  });
});
