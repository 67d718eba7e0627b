import { demoBanner, parseFaultFlags, runDemo, DEMO_SYSTEM_IDS } from '../demo/demo.js';
import { createLogger, type LogFormat, type LogLevel } from '../lib/log.js';
import { errorMessage } from '../lib/errors.js';
import { EXIT, fail } from './output.js';
import { onShutdown } from './signals.js';

export async function runDemoCommand(opts: {
  listen: string;
  basePort: number;
  dataDir: string | undefined;
  down: readonly string[];
  slow: readonly string[];
  error: readonly string[];
  logLevel: LogLevel;
  logFormat: LogFormat;
}): Promise<void> {
  if (!Number.isInteger(opts.basePort) || opts.basePort < 0 || opts.basePort > 65_000) {
    fail('--base-port: expected a port number, or 0 for ephemeral ports');
  }
  const parsed = parseFaultFlags({ down: opts.down, slow: opts.slow, error: opts.error }, DEMO_SYSTEM_IDS);
  if (!parsed.ok) fail(parsed.problems.join('\nvagt: '));

  // Logs go to stderr so the banner on stdout stays readable.
  const log = createLogger({ level: opts.logLevel, format: opts.logFormat, name: 'demo', destination: 2 });
  let demo;
  try {
    demo = await runDemo({
      listen: opts.listen,
      basePort: opts.basePort,
      logger: log,
      faults: parsed.faults,
      ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }),
    });
  } catch (err) {
    fail(`cannot start the demo: ${errorMessage(err)}`, EXIT.failed);
  }
  process.stdout.write(demoBanner(demo));
  onShutdown(() => demo.close(), log);
}
