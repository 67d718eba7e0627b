// The demo configuration, config/demo.yaml, pointed at a running simulator.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { configSchema, type Config } from '../config/schema.js';
import { VagtError } from '../lib/errors.js';
import { packageRoot } from '../lib/version.js';
import type { Simulator } from './simulator.js';
import { CONTROL_PORT_OFFSET, DEMO_BASE_PORT, SYSTEMS } from './systems.js';

export const DEMO_CONFIG_PATH = join(packageRoot, 'config', 'demo.yaml');

let demoText: string | undefined;
function demoYaml(): string {
  demoText ??= readFileSync(DEMO_CONFIG_PATH, 'utf8');
  return demoText;
}

const FIXED = /\b127\.0\.0\.1:(\d{4,5})\b/g;

/**
 * The demo configuration (config/demo.yaml) pointed at a running simulator, whatever its ports:
 * every URL and TCP probe written for the fixed ports 9401..9408 is moved to the simulator's.
 */
export function demoConfig(
  sim: Simulator,
  opts: { listen?: string; dataDir?: string; interval?: string; adminToken?: string; monitorToken?: string } = {},
): Config {
  // Fixed demo port -> the running simulator's "host:port".
  const hostPort = new Map<number, string>();
  const tcp = new Map<number, { host: string; port: number }>();
  SYSTEMS.forEach((s, i) => {
    const u = new URL(sim.urlOf(s.id));
    hostPort.set(DEMO_BASE_PORT + i, u.host);
    tcp.set(DEMO_BASE_PORT + i, { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port) });
  });
  hostPort.set(DEMO_BASE_PORT + CONTROL_PORT_OFFSET, new URL(sim.controlUrl).host);

  let raw: unknown;
  try {
    raw = YAML.parse(demoYaml());
  } catch (err) {
    throw new VagtError('VAGT_ERR_CONFIG', `${DEMO_CONFIG_PATH}: not valid YAML`, { cause: err });
  }
  const retarget = (v: unknown): unknown => {
    if (typeof v === 'string') return v.replace(FIXED, (m, p: string) => hostPort.get(Number(p)) ?? m);
    if (Array.isArray(v)) return v.map(retarget);
    if (typeof v !== 'object' || v === null) return v;
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = retarget(x);
    const to = o.type === 'tcp' && typeof o.port === 'number' ? tcp.get(o.port) : undefined;
    if (to !== undefined && o.host === '127.0.0.1') {
      o.host = to.host;
      o.port = to.port;
    }
    return o;
  };
  const doc = retarget(raw) as { collector?: Record<string, unknown>; defaults?: Record<string, unknown>; agents?: Record<string, unknown>[] };
  if (opts.monitorToken !== undefined)
    doc.agents = (doc.agents ?? []).map((a) => (a.external === undefined ? a : { ...a, token: opts.monitorToken }));
  doc.collector = { ...doc.collector };
  if (opts.listen !== undefined) doc.collector.listen = opts.listen;
  if (opts.dataDir !== undefined) doc.collector.data_dir = opts.dataDir;
  if (opts.adminToken !== undefined) doc.collector.admin_token = opts.adminToken;
  if (opts.interval !== undefined) doc.defaults = { ...doc.defaults, interval: opts.interval };

  const parsed = configSchema.safeParse(doc);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new VagtError('VAGT_ERR_CONFIG', `${DEMO_CONFIG_PATH}: ${problems}`);
  }
  return parsed.data;
}
