// Nothing here runs Docker, so deploy/docker-compose.yml is kept honest by reading it: every file it
// mounts exists and is what the service expects at that path, the collector's config loads with the
// environment compose gives it, the agents' ids, tokens and URL match it, Prometheus scrapes the
// collector and loads deploy/prometheus/alerts.yml, Grafana gets the data source and the dashboard.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../config/load.js';

interface Service {
  build?: { context: string; dockerfile: string };
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  healthcheck?: { disable?: boolean };
  depends_on?: Record<string, { condition: string }> | string[];
  networks?: { default?: { aliases?: string[] } };
}
interface Compose {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
}

const DEPLOY = resolve('deploy');
const COMPOSE_FILE = join(DEPLOY, 'docker-compose.yml');
const composeText = readFileSync(COMPOSE_FILE, 'utf8');
const compose = parse(composeText, { merge: true }) as Compose;
const services = compose.services;
const rel = (p: string): string => relative(process.cwd(), p);

/** The compose variables `${NAME…}` and the names deploy/compose/env.example sets. */
const composeVars = [...new Set([...composeText.matchAll(/\$\{(\w+)/g)].map((m) => m[1]!))];
const exampleVars = [...readFileSync(join(DEPLOY, 'compose', 'env.example'), 'utf8').matchAll(/^(\w+)=/gm)].map((m) => m[1]!);
/** A value per variable, as a filled-in deploy/.env would give: distinct, long enough for a token. */
const dotEnv = Object.fromEntries(exampleVars.map((v, i) => [v, `${v.toLowerCase()}-${i}-0123456789abcdef`]));
/** Compose's interpolation of `${NAME}`, `${NAME:?message}` and `${NAME:-default}`. */
const interpolate = (value: string): string =>
  value.replace(/\$\{(\w+)(?::?[?-][^}]*)?\}/g, (_m, name: string) => {
    const v = dotEnv[name];
    if (v === undefined) throw new Error(`${value}: ${name} is not in deploy/compose/env.example`);
    return v;
  });
const envOf = (s: Service): Record<string, string> =>
  Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]));

/** Bind mounts (host paths from deploy/) of a service, by their path in the container. */
function binds(name: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of services[name]?.volumes ?? []) {
    const [source, target] = v.split(':');
    if (source!.startsWith('.') || source!.startsWith('/')) out.set(target!, resolve(DEPLOY, source!));
  }
  return out;
}
/** The host file behind a path in a container, through the service's bind mounts (a file or a directory). */
function hostPath(service: string, containerPath: string): string | undefined {
  for (const [target, source] of binds(service)) {
    if (containerPath === target) return source;
    if (containerPath.startsWith(target + '/')) return join(source, containerPath.slice(target.length + 1));
  }
  return undefined;
}

const dockerfile = readFileSync('Dockerfile', 'utf8');
const imageCmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
const cmdOpt = (name: string): string => imageCmd[imageCmd.indexOf(`--${name}`) + 1]!;
const imageDataDir = /VAGT_DATA_DIR=(\S+)/.exec(dockerfile)![1]!;

const collector = services.collector!;
const collectorNames = ['collector', ...(collector.networks?.default?.aliases ?? [])];
const configFile = hostPath('collector', cmdOpt('config'));
const loaded = configFile === undefined ? undefined : loadConfigFile(configFile, { env: envOf(collector) });
const config = loaded?.ok ? loaded.config : undefined;
const collectorPort = config === undefined ? undefined : Number(config.collector.listen.split(':').at(-1));
const agentServices = Object.entries(services).filter(([, s]) => s.command?.[0] === 'agent');

describe('deploy/docker-compose.yml', () => {
  it('has the collector, two agents, Prometheus and Grafana', () => {
    expect(Object.keys(services).sort()).toEqual(['agent-1', 'agent-2', 'collector', 'grafana', 'prometheus']);
    expect(agentServices.map(([n]) => n)).toEqual(['agent-1', 'agent-2']);
  });

  it('mounts only host paths that exist, and only declared volumes', () => {
    for (const [name, s] of Object.entries(services))
      for (const v of s.volumes ?? []) {
        const source = v.split(':')[0]!;
        if (source.startsWith('.') || source.startsWith('/')) expect(existsSync(resolve(DEPLOY, source)), `${name} mounts ${source}, which does not exist in deploy/`).toBe(true);
        else expect(Object.keys(compose.volumes), `${name} mounts the volume ${source}, not declared under volumes:`).toContain(source);
      }
  });

  it('names in deploy/compose/env.example every variable it interpolates, and no other', () => {
    expect(composeVars.filter((v) => !exampleVars.includes(v)), 'used in docker-compose.yml, missing from env.example').toEqual([]);
    expect(exampleVars.filter((v) => !composeVars.includes(v)), 'in env.example, unused by docker-compose.yml').toEqual([]);
  });

  it('builds one image from the repository Dockerfile, which the agents run too', () => {
    expect(existsSync(resolve(DEPLOY, collector.build!.context, collector.build!.dockerfile))).toBe(true);
    for (const [name, s] of agentServices) expect(s.image, `${name}'s image`).toBe(collector.image);
  });
});

describe('the collector service', () => {
  it('mounts at the image\'s --config path a configuration that loads with the environment compose gives it', () => {
    expect(configFile, `nothing is mounted at ${cmdOpt('config')}, the image's --config`).toBeDefined();
    const problems = loaded?.ok === false ? loaded.problems.map((p) => `${p.path}: ${p.message} (line ${p.line})`) : [];
    expect(problems, `${rel(configFile!)} with the collector's environment`).toEqual([]);
  });

  it('sets every ${env:NAME} the configuration reads', () => {
    const text = readFileSync(configFile!, 'utf8');
    const read = [...text.matchAll(/\$\{env:(\w+)\}/g)].map((m) => m[1]!);
    expect(read.length).toBeGreaterThan(0);
    for (const name of read) expect(Object.keys(collector.environment ?? {}), `${rel(configFile!)} reads ${name}, the collector service does not set it`).toContain(name);
  });

  it('keeps its data in a volume at the data directory, publishes its port and uses the image\'s health check', () => {
    expect(config!.collector.data_dir).toBe(cmdOpt('data-dir'));
    expect(collector.volumes).toContainEqual(expect.stringMatching(new RegExp(`^[\\w-]+:${cmdOpt('data-dir')}$`)));
    expect(cmdOpt('listen')).toBe(`0.0.0.0:${collectorPort}`);
    expect(collector.ports).toContain(`${collectorPort}:${collectorPort}`);
    expect(collector.healthcheck, 'the collector keeps the image\'s HEALTHCHECK on /healthz').toBeUndefined();
  });
});

describe('the agent services', () => {
  const cliMain = readFileSync('cli/main.ts', 'utf8');

  it.each(agentServices)('%s: its id is an agent of the collector\'s config, with the token the config reads', (name, s) => {
    const env = envOf(s);
    const agent = config!.agents.find((a) => a.id === env.VAGT_AGENT_ID);
    expect(agent, `${name}: VAGT_AGENT_ID=${env.VAGT_AGENT_ID} is not an agent in ${rel(configFile!)}`).toBeDefined();
    expect('token' in agent! ? agent.token : undefined, `${name}: VAGT_AGENT_TOKEN is not the token the config gives ${agent!.id}`).toBe(env.VAGT_AGENT_TOKEN);
    for (const key of Object.keys(env)) expect(cliMain, `${name} sets ${key}, which the agent does not read`).toContain(`process.env.${key}`);
  });

  it.each(agentServices)('%s: connects to the collector service\'s port, after it is healthy, with its own data volume', (name, s) => {
    const url = new URL(envOf(s).VAGT_COLLECTOR!);
    expect(url.protocol).toBe('ws:');
    expect(collectorNames, `${name}: VAGT_COLLECTOR host`).toContain(url.hostname);
    expect(Number(url.port), `${name}: VAGT_COLLECTOR port, the config listens on ${collectorPort}`).toBe(collectorPort);
    expect(url.pathname).toBe('/agent');
    expect(s.depends_on).toEqual({ collector: { condition: 'service_healthy' } });
    expect(s.healthcheck, `${name}: an agent serves no /healthz`).toEqual({ disable: true });
    const volume = s.volumes?.find((v) => v.endsWith(`:${imageDataDir}`));
    expect(volume, `${name}: no volume at VAGT_DATA_DIR ${imageDataDir}`).toBeDefined();
    expect(agentServices.filter(([, o]) => o.volumes?.includes(volume!)).length, `${name} shares ${volume}`).toBe(1);
  });

  it('are one per agent of the config', () => {
    expect(agentServices.map(([, s]) => envOf(s).VAGT_AGENT_ID).sort()).toEqual(config!.agents.map((a) => a.id).sort());
  });
});

interface PromConfig {
  rule_files: string[];
  scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[];
}

describe('the prometheus service', () => {
  const CONTAINER_CONFIG = '/etc/prometheus/prometheus.yml';
  const file = hostPath('prometheus', CONTAINER_CONFIG);
  const prom = file === undefined ? undefined : (parse(readFileSync(file, 'utf8')) as PromConfig);

  it('scrapes the collector service as job vagt', () => {
    expect(file, `nothing is mounted at ${CONTAINER_CONFIG}`).toBeDefined();
    const job = prom!.scrape_configs.find((j) => j.job_name === 'vagt');
    expect(job, `${rel(file!)}: no job_name vagt (alerts.yml matches up{job="vagt"})`).toBeDefined();
    const targets = job!.static_configs.flatMap((c) => c.targets);
    expect(targets.length).toBe(1);
    const [host, port] = targets[0]!.split(':');
    expect(collectorNames, `${rel(file!)} scrapes ${targets[0]}: not a name of the collector service`).toContain(host);
    expect(Number(port), `${rel(file!)} scrapes port ${port}`).toBe(collectorPort);
  });

  it('loads deploy/prometheus/alerts.yml through its mounts', () => {
    const inContainer = prom!.rule_files.map((r) => posix.resolve(posix.dirname(CONTAINER_CONFIG), r));
    expect(inContainer.map((r) => hostPath('prometheus', r)), `rule_files ${inContainer.join(', ')} in the container`).toEqual([join(DEPLOY, 'prometheus', 'alerts.yml')]);
  });

  it('passes promtool check config, with the rule files where the container has them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vagt-compose-'));
    try {
      const rules = prom!.rule_files.map((r) => hostPath('prometheus', posix.resolve(posix.dirname(CONTAINER_CONFIG), r))!);
      const copy = join(dir, 'prometheus.yml');
      writeFileSync(copy, JSON.stringify({ ...prom, rule_files: rules }));
      const r = spawnSync('promtool', ['check', 'config', copy], { encoding: 'utf8' });
      expect(r.error, 'promtool is not installed: install Debian\'s "prometheus" package, as .ci/run does').toBeUndefined();
      expect(r.status, r.stdout + r.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

interface Datasources {
  apiVersion: number;
  datasources: { name: string; uid: string; type: string; url: string; isDefault?: boolean }[];
}
interface Providers {
  apiVersion: number;
  providers: { name: string; type: string; options: { path: string } }[];
}

describe('the grafana service', () => {
  const provisioned = (kind: string): string[] =>
    [...binds('grafana')].filter(([target]) => posix.dirname(target) === `/etc/grafana/provisioning/${kind}`).map(([, source]) => source);
  const dsFiles = provisioned('datasources');
  const dashFiles = provisioned('dashboards');
  const ds = dsFiles.map((f) => parse(readFileSync(f, 'utf8')) as Datasources);
  const dashboardPath = join(DEPLOY, 'grafana', 'vagt-dashboard.json');
  const dashboard = JSON.parse(readFileSync(dashboardPath, 'utf8')) as { uid: string; templating: { list: { name: string; type: string; query: unknown }[] } };

  it('provisions the compose Prometheus as the default data source', () => {
    expect(dsFiles.length, 'no file mounted in /etc/grafana/provisioning/datasources/').toBe(1);
    const sources = ds[0]!.datasources;
    expect(ds[0]!.apiVersion).toBe(1);
    const prom = sources.find((s) => s.type === 'prometheus');
    expect(prom?.isDefault).toBe(true);
    const url = new URL(prom!.url);
    expect(Object.keys(services), `${prom!.url}: no such service`).toContain(url.hostname);
    const published = services[url.hostname]!.ports?.map((p) => p.split(':')[1]);
    expect(published, `${prom!.url}: not the port ${url.hostname} serves`).toContain(url.port);
  });

  it('provisions deploy/grafana/vagt-dashboard.json from a directory the provider reads', () => {
    expect(dashFiles.length, 'no file mounted in /etc/grafana/provisioning/dashboards/').toBe(1);
    const providers = (parse(readFileSync(dashFiles[0]!, 'utf8')) as Providers).providers;
    expect(providers.map((p) => p.type)).toEqual(['file']);
    const path = providers[0]!.options.path;
    const mounted = [...binds('grafana')].filter(([target]) => posix.dirname(target) === path).map(([, source]) => source);
    expect(mounted, `the provider reads ${path}; mounted there`).toEqual([dashboardPath]);
    expect(dashboard.uid).toBe('vagt-overview');
    const home = services.grafana!.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
    expect(hostPath('grafana', home!), `GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ${home}`).toBe(dashboardPath);
  });

  // A provisioned dashboard gets no import step to fill in ${DS_PROMETHEUS} (grafana/grafana#10786):
  // only a data source variable of that name resolves it.
  const variable = dashboard.templating.list.find((v) => v.name === 'DS_PROMETHEUS');
  (variable === undefined ? it.todo : it)(
    'resolves the dashboard\'s ${DS_PROMETHEUS}: deploy/grafana/vagt-dashboard.json needs a datasource variable DS_PROMETHEUS (query "prometheus")',
    () => {
      expect(variable).toMatchObject({ type: 'datasource', query: 'prometheus' });
    },
  );
});

describe('docker compose config', () => {
  it('accepts the file, when the compose plugin is installed', ({ skip }) => {
    if (spawnSync('docker', ['compose', 'version']).status !== 0) skip('docker compose (the plugin) is not installed here, so only the checks above ran');
    const r = spawnSync('docker', ['compose', '-f', COMPOSE_FILE, 'config', '--quiet'], { encoding: 'utf8', env: { ...process.env, ...dotEnv }, cwd: dirname(COMPOSE_FILE) });
    expect(r.status, r.stderr).toBe(0);
  });
});
