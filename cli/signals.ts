import type { Logger } from 'pino';

/**
 * Runs `stop` once on SIGTERM or SIGINT and exits 0 when it resolves; a second signal exits at once
 * with 1, for an operator whose clean shutdown hangs.
 */
export function onShutdown(stop: () => Promise<void>, log: Logger): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal, exiting without a clean shutdown');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    stop().then(
      () => {
        log.flush();
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        log.flush();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
}
