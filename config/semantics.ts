// Checks across keys that a schema cannot express: references, uniqueness, cycles, time zones.
// They read the interpolated document defensively rather than the parsed Config, so they run even
// when the schema found problems: one `check-config` run lists everything, not one layer at a time.
import { createHash } from 'node:crypto';
import { formatDuration, parseDuration } from '../lib/duration.js';
import { formatPath, type PathSegment } from './diagnostics.js';
import { configSchema } from './schema.js';

export interface SemanticProblem {
  path: PathSegment[];
  message: string;
}

/** The id of the in-process agent (`vagt collector --local-agent`); probes may name it unconfigured. */
export const LOCAL_AGENT_ID = 'local';

/** Window names the uptime reports compute themselves. */
const RESERVED_WINDOWS = new Set(['all', 'secondary']);

// The schema's own defaults, so the two cannot drift apart.
const { defaults: SCHEMA_DEFAULTS, collector: SCHEMA_COLLECTOR } = configSchema.parse({});

type Obj = Record<string, unknown>;

const obj = (v: unknown): Obj | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function semanticProblems(doc: unknown): SemanticProblem[] {
  const root = obj(doc) ?? {};
  const out: SemanticProblem[] = [];
  const report = (path: PathSegment[], message: string): void => {
    out.push({ path, message });
  };

  const collector = obj(root.collector) ?? {};
  const systems = arr(root.systems);
  const agents = arr(root.agents);
  const notifications = arr(root.notifications);
  const maintenance = arr(root.maintenance);

  const systemIds = uniqueIds(systems, ['systems'], 'system', report);
  const agentIds = uniqueIds(agents, ['agents'], 'agent', report);
  uniqueIds(notifications, ['notifications'], 'notification', report);
  uniqueIds(maintenance, ['maintenance'], 'maintenance', report);

  checkCollector(collector, agents, report);
  checkDependencies(systems, systemIds, report);
  const external = externalSources(agents, systemIds, report);
  checkProbes(root, systems, agentIds, external, report);

  notifications.forEach((n, i) => checkNotification(obj(n), ['notifications', i], systemIds, collector, report));
  maintenance.forEach((m, i) => checkMaintenance(obj(m), ['maintenance', i], systemIds, report));
  return out;
}

type Report = (path: PathSegment[], message: string) => void;

/** id -> index of its first use; later uses are reported as duplicates. */
function uniqueIds(items: unknown[], base: PathSegment[], kind: string, report: Report): Map<string, number> {
  const first = new Map<string, number>();
  items.forEach((item, i) => {
    const id = str(obj(item)?.id);
    if (id === undefined) return;
    const j = first.get(id);
    if (j === undefined) first.set(id, i);
    else report([...base, i, 'id'], `duplicate ${kind} id ${id}, already used by ${formatPath([...base, j])}`);
  });
  return first;
}

function checkCollector(collector: Obj, agents: unknown[], report: Report): void {
  const tz = str(collector.timezone);
  if (tz !== undefined && !isTimeZone(tz)) {
    report(['collector', 'timezone'], `unknown time zone ${tz}; expected an IANA zone like Europe/Copenhagen`);
  }
  // The aggregates are made from the raw results: a shorter history would prune what it just made.
  const raw = collector.retention === undefined ? SCHEMA_COLLECTOR.retention : ms(collector.retention);
  const history = collector.history_retention === undefined ? SCHEMA_COLLECTOR.history_retention : ms(collector.history_retention);
  if (raw !== undefined && history !== undefined && history < raw)
    report(
      ['collector', 'history_retention'],
      `${str(collector.history_retention) ?? inDays(history)} is shorter than retention (${str(collector.retention) ?? inDays(raw)}); keep the history at least as long as the raw results`,
    );
  // Never print a token: say which entries share one. Tokens are compared by their SHA-256, so a
  // token_sha256 that hashes another agent's token (or the admin token) is caught too.
  const byToken = new Map<string, number>();
  agents.forEach((a, i) => {
    const agent = obj(a);
    if (agent === undefined) return;
    const token = str(agent.token);
    const hash = str(agent.token_sha256);
    if (agent.token === undefined && agent.token_sha256 === undefined) {
      report(['agents', i, 'token'], 'missing required key; give token or token_sha256');
      return;
    }
    if (agent.token !== undefined && agent.token_sha256 !== undefined) {
      report(['agents', i, 'token_sha256'], 'give token or token_sha256, not both');
      return;
    }
    const key = token !== undefined ? sha256Hex(token) : hash?.toLowerCase();
    if (key === undefined) return;
    const j = byToken.get(key);
    if (j === undefined) byToken.set(key, i);
    else report(['agents', i, token !== undefined ? 'token' : 'token_sha256'], `same token as agents[${j}]; every agent needs its own token`);
  });
  const admin = str(collector.admin_token);
  const shared = admin === undefined ? undefined : byToken.get(sha256Hex(admin));
  if (shared !== undefined) {
    report(['collector', 'admin_token'], `same as the token of agents[${shared}]; the admin token must differ from every agent token`);
  }
}

const sha256Hex = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

export function isTimeZone(tz: string): boolean {
  if (tz.trim() === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function checkDependencies(systems: unknown[], systemIds: Map<string, number>, report: Report): void {
  const edges = new Map<string, string[]>();
  systems.forEach((s, i) => {
    const sys = obj(s);
    const id = str(sys?.id);
    const deps = obj(sys?.depends_on);
    if (sys === undefined || deps === undefined) return;
    const valid: string[] = [];
    for (const dep of Object.keys(deps)) {
      if (dep === id) report(['systems', i, 'depends_on', dep], 'a system cannot depend on itself');
      else if (!systemIds.has(dep)) report(['systems', i, 'depends_on', dep], `unknown system ${dep}`);
      else valid.push(dep);
    }
    if (id !== undefined && systemIds.get(id) === i) edges.set(id, valid);
  });

  // Depth-first search in file order; each back edge closes one cycle, reported at the system
  // whose depends_on closes it. Iterative, so a long chain of systems cannot exhaust the stack.
  const state = new Map<string, 'open' | 'done'>();
  for (const start of edges.keys()) {
    if (state.has(start)) continue;
    const stack: { id: string; next: number }[] = [{ id: start, next: 0 }];
    state.set(start, 'open');
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const deps = edges.get(top.id) ?? [];
      if (top.next >= deps.length) {
        state.set(top.id, 'done');
        stack.pop();
        continue;
      }
      const v = deps[top.next++]!;
      const st = state.get(v);
      if (st === 'open') {
        const from = stack.findIndex((f) => f.id === v);
        const cycle = [...stack.slice(from).map((f) => f.id), v];
        report(['systems', systemIds.get(top.id) ?? 0, 'depends_on'], `dependency cycle ${cycle.join(' -> ')}`);
      } else if (st === undefined) {
        state.set(v, 'open');
        stack.push({ id: v, next: 0 });
      }
    }
  }
}

/** A duration in ms from a raw value, or undefined when absent or not a valid duration. */
/** A default retention as the file would write it; they are whole days. */
const inDays = (ms: number): string => `${ms / 86_400_000}d`;

function ms(v: unknown): number | undefined {
  return typeof v === 'string' ? parseDuration(v) : undefined;
}

/** Ids of the external sources (agents with `external`), after checking the systems they name. */
function externalSources(agents: unknown[], systemIds: Map<string, number>, report: Report): Set<string> {
  const out = new Set<string>();
  agents.forEach((a, i) => {
    const agent = obj(a);
    const ext = obj(agent?.external);
    if (agent === undefined || ext === undefined) return;
    const id = str(agent.id);
    if (id !== undefined) out.add(id);
    arr(ext.systems).forEach((s, k) => {
      if (typeof s === 'string' && !systemIds.has(s)) report(['agents', i, 'external', 'systems', k], `unknown system ${s}`);
    });
  });
  return out;
}

function checkProbes(root: Obj, systems: unknown[], agentIds: Map<string, number>, external: ReadonlySet<string>, report: Report): void {
  const defaults = obj(root.defaults) ?? {};
  const defInterval = defaults.interval === undefined ? SCHEMA_DEFAULTS.interval : ms(defaults.interval);
  const defTimeout = defaults.timeout === undefined ? SCHEMA_DEFAULTS.timeout : ms(defaults.timeout);
  checkPositive(defInterval, ['defaults', 'interval'], report);
  checkPositive(defTimeout, ['defaults', 'timeout'], report);
  if (defInterval !== undefined && defTimeout !== undefined && defInterval > 0 && defTimeout > defInterval) {
    report(['defaults', 'timeout'], `timeout ${formatDuration(defTimeout)} is longer than the interval ${formatDuration(defInterval)}`);
  }
  const priorities = obj(defaults.priorities) ?? {};
  const critical = typeof priorities.critical === 'number' ? priorities.critical : SCHEMA_DEFAULTS.priorities.critical;
  const high = typeof priorities.high === 'number' ? priorities.high : SCHEMA_DEFAULTS.priorities.high;
  if (high >= critical) {
    report(['defaults', 'priorities', 'high'], `high (${high} %) must be below critical (${critical} %), or no incident could be priority 2`);
  }

  systems.forEach((s, i) => {
    const sys = obj(s);
    if (sys === undefined) return;
    const sla = obj(sys.sla);
    for (const name of Object.keys(obj(sla?.windows) ?? {})) {
      if (RESERVED_WINDOWS.has(name)) {
        report(['systems', i, 'sla', 'windows', name], `window name ${name} is reserved; the time outside the named windows is "secondary"`);
      }
    }
    const targets = obj(sla?.uptime);
    if (targets !== undefined) {
      const names = new Set([...RESERVED_WINDOWS, ...Object.keys(obj(sla?.windows) ?? {})]);
      for (const name of Object.keys(targets))
        if (!names.has(name))
          report(['systems', i, 'sla', 'uptime', name], `no window ${name}; expected ${[...names].join(', ')}`);
    }
    const sysId = str(sys.id) ?? `systems[${i}]`;
    const seen = new Map<string, number>();
    arr(sys.probes).forEach((p, j) => {
      const probe = obj(p);
      if (probe === undefined) return;
      const at: PathSegment[] = ['systems', i, 'probes', j];
      const pid = str(probe.id);
      if (pid !== undefined) {
        const k = seen.get(pid);
        if (k === undefined) seen.set(pid, j);
        else report([...at, 'id'], `duplicate probe id ${pid} in system ${sysId}, already used by ${formatPath(['systems', i, 'probes', k])}`);
      }
      arr(probe.agents).forEach((a, k) => {
        if (typeof a === 'string' && !agentIds.has(a) && a !== LOCAL_AGENT_ID) report([...at, 'agents', k], `unknown agent ${a}`);
      });
      const listed = arr(probe.agents).filter((a): a is string => typeof a === 'string');
      if (listed.length > 0 && listed.every((a) => external.has(a)))
        report([...at, 'agents'], `lists only external sources (${listed.join(', ')}), which run no probes; name an agent that runs it`);
      checkTiming(probe, at, defInterval, defTimeout, report);
      if (probe.type === 'flow') checkFlowVariables(arr(probe.steps), [...at, 'steps'], report);
    });
  });
}

function checkPositive(v: number | undefined, path: PathSegment[], report: Report): void {
  if (v === 0) report(path, 'must be longer than 0s');
}

function checkTiming(probe: Obj, at: PathSegment[], defInterval: number | undefined, defTimeout: number | undefined, report: Report): void {
  const ownInterval = probe.interval === undefined ? undefined : ms(probe.interval);
  const ownTimeout = probe.timeout === undefined ? undefined : ms(probe.timeout);
  if (probe.interval !== undefined) checkPositive(ownInterval, [...at, 'interval'], report);
  if (probe.timeout !== undefined) checkPositive(ownTimeout, [...at, 'timeout'], report);
  // Both from defaults: already checked once at defaults.
  if (probe.interval === undefined && probe.timeout === undefined) return;
  const interval = probe.interval === undefined ? defInterval : ownInterval;
  const timeout = probe.timeout === undefined ? defTimeout : ownTimeout;
  // An interval of 0 is already reported above.
  if (interval === undefined || timeout === undefined || interval === 0 || timeout <= interval) return;
  const fromDefaults = (own: unknown): string => (own === undefined ? ' (from defaults)' : '');
  report(
    [...at, probe.timeout === undefined ? 'interval' : 'timeout'],
    `timeout ${formatDuration(timeout)}${fromDefaults(probe.timeout)} is longer than the interval ${formatDuration(interval)}${fromDefaults(probe.interval)}`,
  );
}

const VARIABLE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** `{{name}}` in a step must come from an `extract` of an earlier step. */
function checkFlowVariables(steps: unknown[], at: PathSegment[], report: Report): void {
  const known = new Set<string>();
  steps.forEach((s, i) => {
    const step = obj(s);
    if (step === undefined) return;
    const walk = (v: unknown, path: PathSegment[]): void => {
      if (typeof v === 'string') {
        for (const m of v.matchAll(VARIABLE)) {
          const name = m[1] ?? '';
          if (!known.has(name)) report(path, `variable ${name} is not extracted by an earlier step`);
        }
      } else if (Array.isArray(v)) {
        v.forEach((x, k) => walk(x, [...path, k]));
      } else {
        const o = obj(v);
        if (o !== undefined) for (const [k, x] of Object.entries(o)) walk(x, [...path, k]);
      }
    };
    const request = obj(step.request);
    const bodies = ['form', 'json', 'body'].filter((k) => request?.[k] !== undefined);
    if (bodies.length > 1) report([...at, i, 'request', bodies[1] ?? ''], `a request has one body: give only one of ${bodies.join(', ')}`);
    walk(step.request, [...at, i, 'request']);
    walk(step.expect, [...at, i, 'expect']);
    for (const name of Object.keys(obj(step.extract) ?? {})) known.add(name);
  });
}

function checkNotification(n: Obj | undefined, at: PathSegment[], systemIds: Map<string, number>, collector: Obj, report: Report): void {
  if (n === undefined) return;
  arr(n.systems).forEach((s, k) => {
    if (typeof s === 'string' && !systemIds.has(s)) report([...at, 'systems', k], `unknown system ${s}`);
  });
  const type = str(n.type);
  if ((type === 'webhook' || type === 'slack' || type === 'teams') && n.url === undefined) {
    report([...at, 'url'], `a ${type} channel needs a url`);
  }
  if (type === 'email') {
    if (n.to === undefined) report([...at, 'to'], 'an email channel needs a list of addresses in to');
    if (collector.smtp === undefined) report([...at, 'type'], 'an email channel needs collector.smtp to send through');
  }
}

function checkMaintenance(m: Obj | undefined, at: PathSegment[], systemIds: Map<string, number>, report: Report): void {
  if (m === undefined) return;
  arr(m.systems).forEach((s, k) => {
    if (typeof s === 'string' && !systemIds.has(s)) report([...at, 'systems', k], `unknown system ${s}`);
  });
  const start = typeof m.start === 'string' ? Date.parse(m.start) : NaN;
  const end = typeof m.end === 'string' ? Date.parse(m.end) : NaN;
  if (Number.isFinite(start) && Number.isFinite(end) && end <= start) report([...at, 'end'], 'end must be after start');
}
