import { isatty } from 'node:tty';
import { pino, type DestinationStream, type Logger, type LevelWithSilent, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';

export type LogLevel = LevelWithSilent;
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** `auto`: pretty on a terminal, JSON otherwise. */
export type LogFormat = 'auto' | 'json' | 'pretty';
export const LOG_FORMATS: readonly LogFormat[] = ['auto', 'json', 'pretty'];
export const LOG_FORMAT_ENV = 'VAGT_LOG_FORMAT';

/** The format from a flag, else from VAGT_LOG_FORMAT, else auto; an error message for a bad value. */
export function parseLogFormat(
  flag: string | undefined,
  env: string | undefined = process.env[LOG_FORMAT_ENV],
): { ok: true; format: LogFormat } | { ok: false; message: string } {
  const [source, value] = flag !== undefined ? ['--log-format', flag] : [LOG_FORMAT_ENV, env];
  if (value === undefined || value === '') return { ok: true, format: 'auto' };
  if ((LOG_FORMATS as readonly string[]).includes(value)) return { ok: true, format: value as LogFormat };
  return { ok: false, message: `${source}: expected ${LOG_FORMATS.join(', ')}, got "${value}"` };
}

/** Pretty for a person at a terminal; JSON for journald, Docker and log shippers. */
export function resolveLogFormat(format: LogFormat, isTTY: boolean): 'json' | 'pretty' {
  return format === 'auto' ? (isTTY ? 'pretty' : 'json') : format;
}

const REDACT_PATHS = [
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
];

export interface LoggerOpts {
  level?: LogLevel;
  name?: string;
  /** fd 1 (default) or 2, or a stream (tests). */
  destination?: 1 | 2 | DestinationStream;
  format?: LogFormat;
  /** Whether the destination is a terminal; detected for an fd, false for a stream. Tests inject it. */
  isTTY?: boolean;
}

/**
 * One line per event. Anything that looks like a credential is redacted by path, in both formats
 * (pino redacts before the pretty printer sees the line), so a careless `log.info({ headers })`
 * cannot leak a token.
 */
export function createLogger(opts: LoggerOpts = {}): Logger {
  const dest = opts.destination ?? 1;
  const tty = opts.isTTY ?? (typeof dest === 'number' && isatty(dest));
  const options: LoggerOptions = {
    level: opts.level ?? 'info',
    ...(opts.name === undefined ? {} : { name: opts.name }),
    base: { pid: process.pid },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  if (resolveLogFormat(opts.format ?? 'auto', tty) === 'pretty') {
    // In-process and synchronous, not a worker transport: no thread, nothing lost on process.exit.
    const colorize = tty && process.env.NO_COLOR === undefined;
    return pino(options, pretty({ destination: dest, sync: true, colorize, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
  }
  return pino(options, typeof dest === 'object' ? dest : pino.destination({ fd: dest, sync: false }));
}
