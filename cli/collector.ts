import { startCollector } from '../collector/collector.js';
import { formatDiagnostic } from '../config/diagnostics.js';
import { createLogger, type LogLevel } from '../lib/log.js';
import { VagtError, errorMessage } from '../lib/errors.js';
import { loadConfigOrExit } from './config.js';
import { EXIT, fail } from './output.js';
import { onShutdown } from './signals.js';

export async function runCollectorCommand(opts: {
  config: string;
  listen?: string;
  dataDir?: string;
  localAgent: boolean;
  logLevel: LogLevel;
}): Promise<void> {
  const config = loadConfigOrExit(opts.config);
  const log = createLogger({ level: opts.logLevel, name: 'collector' });
  let collector;
  try {
    collector = await startCollector({
      config,
      configPath: opts.config,
      localAgent: opts.localAgent,
      logger: log,
      ...(opts.listen === undefined ? {} : { listen: opts.listen }),
      ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }),
    });
  } catch (err) {
    // A certificate that cannot be read or an address that cannot be used is bad configuration.
    const code = err instanceof VagtError && err.code === 'VAGT_ERR_CONFIG' ? EXIT.usage : EXIT.failed;
    fail(`cannot start the collector: ${errorMessage(err)}`, code);
  }
  log.info({ url: collector.url }, 'collector listening');
  onShutdown(() => collector.close(), log);
  // SIGHUP re-reads the configuration, as Prometheus does; a bad file keeps the running one.
  process.on('SIGHUP', () => {
    collector.reload().then(
      (r) => {
        if (!r.ok) log.error({ problems: r.problems.map(formatDiagnostic) }, 'reload refused: configuration invalid');
      },
      (err: unknown) => log.error({ err }, 'reload failed'),
    );
  });
}
