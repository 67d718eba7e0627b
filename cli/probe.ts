import pLimit from 'p-limit';
import { resolveProbes } from '../config/resolve.js';
import { runProbe } from '../probes/run.js';
import type { ProbeSpec } from '../protocol/messages.js';
import { userAgent } from '../lib/version.js';
import { loadConfigOrExit } from './config.js';
import { EXIT, fail } from './output.js';
import { formatOutcome, summaryLine, wantColour } from './probe-report.js';

/**
 * `vagt probe`: runs the chosen probes once, here, as an agent would (secrets from this process's
 * environment), and prints each result in config order: a readable report, or JSON lines.
 */
export async function runProbeCommand(opts: {
  config: string;
  system: string | undefined;
  probe: string | undefined;
  json: boolean;
}): Promise<number> {
  const config = loadConfigOrExit(opts.config);
  const all = resolveProbes(config);
  const specs = all.filter(
    (p) => (opts.system === undefined || p.system === opts.system) && (opts.probe === undefined || p.id === opts.probe),
  );
  if (specs.length === 0) {
    const asked = [opts.system === undefined ? '' : ` --system ${opts.system}`, opts.probe === undefined ? '' : ` --probe ${opts.probe}`].join('');
    const known = all.map((p) => `${p.system}/${p.id}`).join(', ');
    fail(`no probe matches${asked}; the configuration has ${known === '' ? 'no probes' : known}`);
  }

  const limit = pLimit(8);
  const ua = userAgent('cli');
  const style = { colour: !opts.json && wantColour(process.stdout.isTTY, process.env) };
  const runs = specs.map((spec) => limit(() => runProbe(spec, { userAgent: ua, secret: (name) => process.env[name] })));
  let failed = 0;
  // Run together, printed in config order.
  for (const [i, run] of runs.entries()) {
    const spec = specs[i] as ProbeSpec;
    const outcome = await run;
    if (!outcome.ok) failed++;
    process.stdout.write(
      (opts.json ? JSON.stringify({ system: spec.system, probe: spec.id, type: spec.type, ...outcome }) : formatOutcome(spec, outcome, style)) + '\n',
    );
  }
  const summary = summaryLine(specs.length - failed, failed) + '\n';
  if (opts.json) process.stderr.write(summary);
  else process.stdout.write('\n' + summary);
  return failed > 0 ? EXIT.failed : EXIT.ok;
}
