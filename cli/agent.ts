import { readFileSync } from 'node:fs';
import { startAgent } from '../agent/agent.js';
import { parseDuration } from '../lib/duration.js';
import { errorMessage, fileErrorMessage } from '../lib/errors.js';
import { createLogger, type LogFormat, type LogLevel } from '../lib/log.js';
import { fail } from './output.js';
import { onShutdown } from './signals.js';

export function runAgentCommand(opts: {
  collector: string | undefined;
  id: string | undefined;
  token: string | undefined;
  /** A PEM file of CA certificates for wss://. */
  ca?: string | undefined;
  dataDir: string | undefined;
  outboxMaxMb?: number;
  outboxMaxAge?: string;
  concurrency: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
}): void {
  if (!opts.collector) fail('--collector is required (or set VAGT_COLLECTOR), e.g. ws://127.0.0.1:9400/agent');
  if (!/^wss?:\/\/[^\s/]+(\/\S*)?$/.test(opts.collector))
    fail(`--collector: expected a ws:// or wss:// URL like ws://127.0.0.1:9400/agent, got "${opts.collector}"`);
  if (!opts.id) fail('--id is required (or set VAGT_AGENT_ID)');
  if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(opts.id)) fail(`--id: expected an id (lowercase letters, digits, "-" and "_"), got "${opts.id}"`);
  if (!opts.token) fail('--token is required (or set VAGT_AGENT_TOKEN)');
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) fail('--concurrency: expected a positive integer');
  const maxMb = opts.outboxMaxMb ?? 512;
  if (!Number.isFinite(maxMb) || maxMb < 1) fail('--outbox-max-mb: expected a number of megabytes, at least 1');
  const maxAge = parseDuration(opts.outboxMaxAge ?? '7d');
  if (maxAge === undefined || maxAge <= 0) fail(`--outbox-max-age: expected a duration like 7d or 12h, got "${opts.outboxMaxAge ?? ''}"`);
  const ca = opts.ca ? readCa(opts.ca) : undefined;
  const url = new URL(opts.collector);
  // A bare ws://host:port means the standard path.
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/agent';

  const log = createLogger({ level: opts.logLevel, format: opts.logFormat, name: 'agent' });
  let agent: ReturnType<typeof startAgent>;
  try {
    agent = startAgent({
      url: url.toString(),
      id: opts.id,
      token: opts.token,
      ...(ca === undefined ? {} : { ca }),
      logger: log,
      concurrency: opts.concurrency,
      ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }),
      outboxMaxBytes: Math.round(maxMb * 1024 * 1024),
      outboxMaxAgeMs: maxAge,
    });
  } catch (err) {
    // An outbox that cannot be opened (a read-only or foreign data directory) is a setup error.
    fail(errorMessage(err));
  }
  onShutdown(() => agent.stop(), log);
}

/** The --ca file, checked now: a typo should stop the agent, not fail every connection later. */
function readCa(path: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (err) {
    fail(`--ca: cannot read ${path}: ${fileErrorMessage(err)}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) fail(`--ca: ${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return pem;
}
