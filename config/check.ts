// `vagt check-config FILE` (CONTRACT §2): 0 and a one-line summary when the file is valid;
// 2 and every problem on its own line, `path.to.key: message (line N)`, when it is not.
import { formatDiagnostic } from './diagnostics.js';
import { loadConfigFile } from './load.js';

export const CHECK_OK = 0;
export const CHECK_INVALID = 2;

export function checkConfig(path: string, out: { stdout: (s: string) => void; stderr: (s: string) => void }): number {
  const result = loadConfigFile(path);
  if (!result.ok) {
    for (const p of result.problems) out.stderr(formatDiagnostic(p));
    return CHECK_INVALID;
  }
  const { systems, agents } = result.config;
  const probes = systems.reduce((n, s) => n + s.probes.length, 0);
  // External sources run no probes: counted apart, and only when there are any.
  const external = agents.filter((a) => a.external !== undefined).length;
  const sources = external === 0 ? '' : `, ${external} external source${external === 1 ? '' : 's'}`;
  out.stdout(`${path}: ok (${systems.length} systems, ${probes} probes, ${agents.length - external} agents${sources})`);
  return CHECK_OK;
}
