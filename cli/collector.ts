import type { Logger } from 'pino';
import { startCollector, type Collector } from '../collector/collector.js';
import { formatDiagnostic } from '../config/diagnostics.js';
import { createLogger, type LogFormat, type LogLevel } from '../lib/log.js';
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
  logFormat: LogFormat;
}): Promise<void> {
  const config = loadConfigOrExit(opts.config);
  const log = createLogger({ level: opts.logLevel, format: opts.logFormat, name: 'collector' });
  let collector: Collector | undefined;
  reloadOnSighup(opts.config, log, () => collector);
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
  const running = collector;
  onShutdown(() => running.close(), log);
}

/** SIGHUP re-reads the configuration, as Prometheus does; a bad file keeps the running one. */
function reloadOnSighup(path: string, log: Logger, collector: () => Collector | undefined): void {
  process.on('SIGHUP', () => {
    const c = collector();
    // Installed before the collector starts, so an early SIGHUP does not kill it (the default).
    if (c === undefined) return void log.warn('SIGHUP while starting: ignored; the file just read is in use');
    log.info({ signal: 'SIGHUP', config: path }, 'reloading the configuration');
    c.reload().then(
      (r) => {
        // The problems in the message itself, so a pretty log or journalctl shows what to fix.
        if (!r.ok)
          log.error(
            { problems: r.problems.map(formatDiagnostic) },
            `reload refused, the running configuration is kept: ${r.problems.map((p) => `${path}: ${formatDiagnostic(p)}`).join('; ')}`,
          );
      },
      (err: unknown) => log.error({ err: errorMessage(err) }, `reload failed, the running configuration is kept: ${errorMessage(err)}`),
    );
  });
}
