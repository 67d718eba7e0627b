// The registry of probe types this agent can run; flow, page, dns and tls arrive in a later issue.
import type { ProberRegistry } from './types.js';
import { flowProber } from './flow.js';
import { httpProber } from './http.js';
import { tcpProber } from './tcp.js';

export const probers: ProberRegistry = {
  flow: flowProber,
  http: httpProber,
  tcp: tcpProber,
};
