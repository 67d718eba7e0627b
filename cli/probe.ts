import pLimit from 'p-limit';
import { resolveProbes } from '../config/resolve.js';
import { runProbe } from '../probes/run.js';
import { PHASES, type ProbeOutcome, type ProbeSpec } from '../protocol/messages.js';
import { userAgent } from '../lib/version.js';
import { loadConfigOrExit } from './config.js';
import { EXIT, fail } from './output.js';

/** `vagt probe`: runs the chosen probes once, here, as an agent would. */
export async function runProbeCommand(opts: {
  config: string;
  system: string | undefined;
  probe: string | undefined;
  json: boolean;
}): Promise<number> {
  const config = loadConfigOrExit(opts.config);
  const specs = resolveProbes(config).filter(
    (p) => (opts.system === undefined || p.system === opts.system) && (opts.probe === undefined || p.id === opts.probe),
  );
  if (specs.length === 0) fail('no probe matches' + (opts.system ? ` --system ${opts.system}` : '') + (opts.probe ? ` --probe ${opts.probe}` : ''));

  const limit = pLimit(8);
  const ua = userAgent('cli');
  let failed = 0;
  // Print in config order as results come in order, so output is stable.
  const runs = specs.map((spec) =>
    limit(() => runProbe(spec, { userAgent: ua, secret: (name) => process.env[name] })),
  );
  for (const [i, run] of runs.entries()) {
    const spec = specs[i] as ProbeSpec;
    const outcome = await run;
    if (!outcome.ok) failed++;
    process.stdout.write(
      (opts.json
        ? JSON.stringify({ system: spec.system, probe: spec.id, type: spec.type, ...outcome })
        : formatOutcome(spec, outcome)) + '\n',
    );
  }
  return failed > 0 ? EXIT.failed : EXIT.ok;
}

export function formatOutcome(spec: ProbeSpec, o: ProbeOutcome): string {
  const mark = o.ok ? 'ok  ' : 'FAIL';
  const head = `${mark} ${spec.system}/${spec.id} (${spec.type})  ${o.duration_ms.toFixed(1)} ms`;
  const status = o.status_code === undefined ? '' : `  status ${o.status_code}`;
  const phases = PHASES.filter((p) => o.phases[p] !== undefined)
    .map((p) => `${p} ${(o.phases[p] ?? 0).toFixed(1)}`)
    .join(' · ');
  const lines = [head + status];
  if (phases) lines.push(`     ${phases} ms`);
  if (o.tls_expiry !== undefined) lines.push(`     certificate expires ${new Date(o.tls_expiry * 1000).toISOString()}`);
  if (o.error) lines.push(`     ${o.error.code}: ${o.error.message}`);
  return lines.join('\n');
}
