// The status an end user perceives: a system is no more usable than the systems it depends on
// (borger.dk is red *because of* NemLog-in, which is red because of MitID). Pure: own statuses and
// the dependency graph in, perceived status and root causes out.
import type { Impact } from '../../config/schema.js';
import type { Status } from './types.js';

/** How bad a status is for a user; unknown and maintenance say nothing about an outage. */
const SEVERITY: Record<Status, number> = {
  unknown: 0,
  under_maintenance: 0,
  operational: 1,
  degraded_performance: 2,
  partial_outage: 3,
  major_outage: 4,
};

/** What a dependency's perceived status does to its dependant, by impact. */
function imposed(dep: Status, impact: Impact): Status | undefined {
  if (impact === 'low') return undefined;
  // A critical dependency's service window makes the dependant unusable for its duration too.
  if (impact === 'critical') return SEVERITY[dep] >= SEVERITY.degraded_performance || dep === 'under_maintenance' ? dep : undefined;
  // high: a major outage there is a partial one here; anything less is slowness here.
  if (dep === 'major_outage') return 'partial_outage';
  return dep === 'partial_outage' || dep === 'degraded_performance' ? 'degraded_performance' : undefined;
}

const roots = (xs: readonly { roots: readonly string[] }[]): string[] => [...new Set(xs.flatMap((x) => x.roots))].sort();

export interface Perceived {
  status: Status;
  /** Root systems whose outage explains `status`; empty when the system is worse on its own. */
  cause: string[];
}

/**
 * Perceived status of every system, dependencies first. `depends` maps a system to its
 * dependencies and their impact; the graph is acyclic (config load refuses cycles), but a cycle
 * here is cut rather than followed forever. Systems are returned in the order given (of `own`, or
 * of `only`).
 */
export function derivePerceived(
  own: ReadonlyMap<string, Status>,
  depends: ReadonlyMap<string, Readonly<Record<string, Impact>>>,
  opts: {
    /** Derive only these (a changed system and its dependants); the rest come from `known`. */
    only?: ReadonlySet<string>;
    known?: (id: string) => Perceived | undefined;
  } = {},
): Map<string, Perceived> {
  const out = new Map<string, Perceived>();
  const visiting = new Set<string>();
  const visit = (id: string): Perceived => {
    const done = out.get(id);
    if (done !== undefined) return done;
    if (opts.only !== undefined && !opts.only.has(id)) {
      const known = opts.known?.(id);
      if (known !== undefined) return known;
    }
    const self = own.get(id) ?? 'unknown';
    if (visiting.has(id)) return { status: self, cause: [] };
    visiting.add(id);
    const imposedBy: { status: Status; roots: readonly string[] }[] = [];
    for (const [dep, impact] of Object.entries(depends.get(id) ?? {})) {
      if (!own.has(dep)) continue;
      const d = visit(dep);
      const worse = imposed(d.status, impact);
      // The dependency's own roots, or the dependency itself when its own health explains it.
      if (worse !== undefined) imposedBy.push({ status: worse, roots: d.cause.length > 0 ? d.cause : [dep] });
    }
    visiting.delete(id);
    const worst = imposedBy.reduce((m, x) => Math.max(m, SEVERITY[x.status]), 0);
    // A dependency that imposes as bad a status as the system's own explains it too (borger.dk's
    // login fails *because* MitID is down); only a system worse on its own than anything its
    // dependencies impose is its own cause.
    let result: Perceived = { status: self, cause: [] };
    // A system in its own service window is under maintenance, whatever its dependencies do.
    if (self === 'under_maintenance') {
      // as it is
    } else if (worst >= SEVERITY.degraded_performance && worst >= SEVERITY[self]) {
      const top = imposedBy.filter((x) => SEVERITY[x.status] === worst);
      result = { status: worst > SEVERITY[self] ? (top[0]?.status ?? self) : self, cause: roots(top) };
    } else if (worst < SEVERITY.degraded_performance) {
      // No outage imposed, but a critical dependency in its service window: that explains it.
      const windows = imposedBy.filter((x) => x.status === 'under_maintenance');
      if (windows.length > 0) result = { status: 'under_maintenance', cause: roots(windows) };
    }
    out.set(id, result);
    return result;
  };
  const ids = opts.only ?? [...own.keys()];
  for (const id of ids) if (own.has(id)) visit(id);
  const result = new Map<string, Perceived>();
  for (const id of ids) {
    const p = out.get(id);
    if (p !== undefined) result.set(id, p);
  }
  return result;
}
