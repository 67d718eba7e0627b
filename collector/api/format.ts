// JSON shapes of the API: snake_case, times as ISO-8601, durations in milliseconds.
import type { SystemConfig } from '../../config/schema.js';
import type { ProbeSpec } from '../../protocol/messages.js';
import { iso } from '../http.js';
import type { SystemStatus } from '../status/types.js';
import type { StoredResult } from '../store/types.js';

export function resultJson(r: StoredResult): Record<string, unknown> {
  return {
    agent: r.agent,
    system: r.system,
    probe: r.probe,
    seq: r.seq,
    ts: iso(r.ts),
    ok: r.ok,
    duration_ms: r.duration_ms,
    phases: r.phases,
    status_code: r.status_code ?? null,
    error: r.error ?? null,
    tls_expiry: r.tls_expiry === undefined ? null : iso(r.tls_expiry * 1000),
    detail: r.detail ?? null,
    received_at: iso(r.received_at),
  };
}

export function statusJson(system: SystemConfig, st: SystemStatus | undefined): Record<string, unknown> {
  return {
    id: system.id,
    name: system.name,
    status: st?.status ?? 'unknown',
    own_status: st?.own_status ?? 'unknown',
    cause: st?.cause ?? [],
    since: iso(st?.since),
  };
}

/** Where a probe points, without credentials or request details (headers may hold secrets). */
export function probeTarget(p: ProbeSpec): string | null {
  const stripUser = (u: string): string => {
    try {
      const url = new URL(u);
      url.username = '';
      url.password = '';
      return url.toString();
    } catch {
      return u;
    }
  };
  switch (p.type) {
    case 'http':
    case 'page':
      return stripUser(p.url);
    case 'tcp':
    case 'tls':
      return `${p.host}:${p.port}`;
    case 'dns':
      return p.name;
    case 'flow':
      return p.steps[0] === undefined ? null : stripUser(p.steps[0].request.url);
  }
}
