// The registry of probe types this agent can run: one prober per type, one file each. http and tcp
// are loaded at start; the others when an assignment first uses them, so that an agent that only
// fetches pages does not carry an HTML parser, a cookie jar and JSONPath (a few MB of RSS; the
// agent has 80 MB in all, docs/PERFORMANCE.md).
import type { ProbeConfig, ProbeType } from '../config/schema.js';
import type { Prober, ProberRegistry } from './types.js';
import { httpProber } from './http.js';
import { tcpProber } from './tcp.js';

export const probers: ProberRegistry = {
  http: httpProber,
  tcp: tcpProber,
};

const lazy: Record<Exclude<ProbeType, 'http' | 'tcp'>, () => Promise<ProberRegistry[ProbeType]>> = {
  dns: () => import('./dns.js').then((m) => m.dnsProber),
  flow: () => import('./flow.js').then((m) => m.flowProber),
  page: () => import('./page.js').then((m) => m.pageProber),
  tls: () => import('./tls.js').then((m) => m.tlsProber),
};

/** The prober for a type, loaded on first use; undefined for a type this agent does not know. */
export async function proberFor(type: string): Promise<Prober<ProbeConfig> | undefined> {
  const known = probers[type as ProbeType];
  if (known !== undefined) return known as Prober<ProbeConfig>;
  const load = lazy[type as keyof typeof lazy] as (() => Promise<ProberRegistry[ProbeType]>) | undefined;
  if (load === undefined) return undefined;
  const prober = await load();
  (probers as Record<string, unknown>)[type] = prober;
  return prober as Prober<ProbeConfig> | undefined;
}
