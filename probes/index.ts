// The registry of probe types this agent can run: one prober per type, one file each.
import type { ProberRegistry } from './types.js';
import { dnsProber } from './dns.js';
import { flowProber } from './flow.js';
import { httpProber } from './http.js';
import { pageProber } from './page.js';
import { tcpProber } from './tcp.js';
import { tlsProber } from './tls.js';

export const probers: ProberRegistry = {
  dns: dnsProber,
  flow: flowProber,
  http: httpProber,
  page: pageProber,
  tcp: tcpProber,
  tls: tlsProber,
};
