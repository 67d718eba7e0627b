// `npm run bench`: runs every benchmark in its own process, one after the other (they would
// disturb each other on a 2-core machine), and prints their RESULT lines against the goals.
import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

const BENCHES = ['probe-cost', 'flow-cost', 'ingest', 'status-derive', 'agent-memory', 'outbox', 'storage', 'uptime', 'portal', 'system-page', 'notify', 'metrics-scrape', 'external-reports'] as const;
const only = process.argv.slice(2);
const here = fileURLToPath(new URL('.', import.meta.url));

const cpu = cpus()[0]?.model ?? 'unknown CPU';
process.stdout.write(`machine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}\n\n`);

const results: Record<string, unknown> = {};
let failed = false;
for (const name of BENCHES) {
  if (only.length > 0 && !only.includes(name)) continue;
  process.stdout.write(`== ${name}\n`);
  const run = spawnSync(process.execPath, [`${here}${name}.js`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  process.stdout.write(run.stdout);
  const line = run.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (run.status !== 0 || line === undefined) {
    failed = true;
    process.stdout.write(`${name}: failed (exit ${run.status})\n`);
    continue;
  }
  results[name] = JSON.parse(line.slice('RESULT '.length)) as unknown;
  process.stdout.write('\n');
}
process.stdout.write(`summary ${JSON.stringify(results)}\n`);
process.exitCode = failed ? 1 : 0;
