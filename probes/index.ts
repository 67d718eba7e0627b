// The registry of probe types this agent can run: one prober per type, one file each.
import type { ProberRegistry } from './types.js';
import { flowProber } from './flow.js';
import { httpProber } from './http.js';
import { pageProber } from './page.js';
import { tcpProber } from './tcp.js';

export const probers: ProberRegistry = {
  flow: flowProber,
  http: httpProber,
  page: pageProber,
  tcp: tcpProber,
};
