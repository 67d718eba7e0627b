// The registry of probe types this agent can run; flow, page, dns and tls arrive in a later issue.
import type { ProberRegistry } from './types.js';
import { httpProber } from './http.js';
import { tcpProber } from './tcp.js';

export const probers: ProberRegistry = {
  http: httpProber,
  tcp: tcpProber,
};
