import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type LogLevel = LevelWithSilent;
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * JSON logs, one line per event, for journald, Docker and log shippers. Anything that looks like a
 * credential is redacted by path, so a careless `log.info({ headers })` cannot leak a token.
 */
export function createLogger(opts: { level?: LogLevel; name?: string; destination?: 1 | 2 | DestinationStream } = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      ...(opts.name === undefined ? {} : { name: opts.name }),
      base: { pid: process.pid },
      redact: {
        paths: [
          'token',
          '*.token',
          'password',
          '*.password',
          'secret',
          '*.secret',
          'authorization',
          '*.authorization',
          'headers.authorization',
          '*.headers.authorization',
          'admin_token',
          '*.admin_token',
        ],
        censor: '[redacted]',
      },
    },
    typeof opts.destination === 'object' ? opts.destination : pino.destination({ fd: opts.destination ?? 1, sync: false }),
  );
}
