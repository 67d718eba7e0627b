#!/usr/bin/env node
// The `vagt` command (CONTRACT §2). Each command's module is imported only when it runs, so
// `vagt agent` does not load SQLite and `--help` stays instant.
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { version } from '../lib/version.js';
import { LOG_FORMATS, LOG_LEVELS, parseLogFormat, type LogFormat, type LogLevel } from '../lib/log.js';
import { EXIT, fail } from './output.js';

const logOptions = {
  'log-level': { choices: LOG_LEVELS, default: 'info' as LogLevel, describe: 'log level' },
  // A plain string checked by logFormat(), so a bad value gives one line, as VAGT_LOG_FORMAT does.
  'log-format': {
    type: 'string',
    describe: `${LOG_FORMATS.join('|')}: auto is pretty on a terminal, JSON otherwise (env VAGT_LOG_FORMAT)`,
  },
} as const;

function logFormat(flag: string | undefined): LogFormat {
  const r = parseLogFormat(flag);
  if (!r.ok) fail(r.message);
  return r.format;
}

// The demo prints a banner; its logs stay quiet unless asked for.
const DEMO_LOG_LEVEL: LogLevel = 'warn';

const cli = yargs(hideBin(process.argv))
  .scriptName('vagt')
  .usage('$0 <command> [options]\n\nSynthetic monitoring of public digital infrastructure, as end users experience it.')
  .command(
    'collector',
    'run the collector: agents\' WebSocket, status, API, metrics and status page on one port',
    (y: Argv) =>
      y
        .option('config', { type: 'string', demandOption: true, describe: 'configuration file (YAML)' })
        .option('listen', { type: 'string', describe: 'HOST:PORT, overrides collector.listen' })
        .option('data-dir', { type: 'string', describe: 'directory of the SQLite database, overrides collector.data_dir' })
        .option('local-agent', { type: 'boolean', default: false, describe: 'also run an agent in-process (id "local")' })
        .options(logOptions),
    async (a) => {
      const format = logFormat(a['log-format']);
      const { runCollectorCommand } = await import('./collector.js');
      await runCollectorCommand({
        config: a.config,
        localAgent: a['local-agent'],
        logLevel: a['log-level'],
        logFormat: format,
        ...(a.listen === undefined ? {} : { listen: a.listen }),
        ...(a['data-dir'] === undefined ? {} : { dataDir: a['data-dir'] }),
      });
    },
  )
  .command(
    'agent',
    'run an agent: receive probes from the collector, run them, stream the results',
    (y: Argv) =>
      y
        .option('collector', { type: 'string', describe: 'ws://HOST:PORT/agent or wss://… (env VAGT_COLLECTOR)' })
        .option('id', { type: 'string', describe: 'this agent\'s id, as in the collector\'s config (env VAGT_AGENT_ID)' })
        .option('token', { type: 'string', describe: 'this agent\'s token (env VAGT_AGENT_TOKEN)' })
        .option('ca', {
          type: 'string',
          describe: 'PEM file of the CA certificates to trust for wss://, instead of the built-in ones: a private CA (env VAGT_CA)',
        })
        .option('data-dir', {
          type: 'string',
          describe: 'directory for the durable outbox and the cached assignment (env VAGT_DATA_DIR; default ./data/agent)',
        })
        .option('outbox-max-mb', { type: 'number', default: 512, describe: 'disk the outbox may use; the oldest unsent results are dropped beyond it' })
        .option('outbox-max-age', { type: 'string', default: '7d', describe: 'unsent results older than this are dropped' })
        .option('concurrency', { type: 'number', default: 32, describe: 'probes in flight at most' })
        .options(logOptions),
    async (a) => {
      const format = logFormat(a['log-format']);
      const { runAgentCommand } = await import('./agent.js');
      runAgentCommand({
        collector: a.collector ?? process.env.VAGT_COLLECTOR,
        id: a.id ?? process.env.VAGT_AGENT_ID,
        token: a.token ?? process.env.VAGT_AGENT_TOKEN,
        ca: a.ca ?? process.env.VAGT_CA,
        dataDir: a['data-dir'] ?? process.env.VAGT_DATA_DIR ?? './data/agent',
        outboxMaxMb: a['outbox-max-mb'],
        outboxMaxAge: a['outbox-max-age'],
        concurrency: a.concurrency,
        logLevel: a['log-level'],
        logFormat: format,
      });
    },
  )
  .command(
    'probe',
    'run the configured probes once, here, and print each result',
    (y: Argv) =>
      y
        .option('config', { type: 'string', demandOption: true, describe: 'configuration file (YAML)' })
        .option('system', { type: 'string', describe: 'only this system\'s probes' })
        .option('probe', { type: 'string', describe: 'only probes with this id' })
        .option('json', { type: 'boolean', default: false, describe: 'print results as JSON lines' }),
    async (a) => {
      const { runProbeCommand } = await import('./probe.js');
      process.exitCode = await runProbeCommand({ config: a.config, system: a.system, probe: a.probe, json: a.json });
    },
  )
  .command(
    'check-config <file>',
    'validate a configuration file; exit 0 when valid, 2 with every problem listed',
    (y: Argv) => y.positional('file', { type: 'string', demandOption: true, describe: 'configuration file (YAML)' }),
    async (a) => {
      const { checkConfig } = await import('../config/check.js');
      process.exitCode = checkConfig(String(a.file), {
        stdout: (s) => process.stdout.write(s.endsWith('\n') ? s : s + '\n'),
        stderr: (s) => process.stderr.write(s.endsWith('\n') ? s : s + '\n'),
      });
    },
  )
  .command(
    'report',
    'uptime per system and service window for one month, against the declared targets',
    (y: Argv) =>
      y
        .option('config', { type: 'string', demandOption: true, describe: 'the collector\'s configuration file (YAML)' })
        .option('month', { type: 'string', demandOption: true, describe: 'the month, YYYY-MM, in collector.timezone' })
        .option('format', { choices: ['table', 'csv', 'json'] as const, default: 'table' as const, describe: 'output format' })
        .option('view', { choices: ['perceived', 'own'] as const, default: 'perceived' as const, describe: 'as end users perceive it, or the system\'s own health' })
        .option('data-dir', { type: 'string', describe: 'the collector\'s data directory, overrides collector.data_dir' }),
    async (a) => {
      const { runReportCommand } = await import('./report.js');
      process.exitCode = await runReportCommand({
        config: a.config,
        month: a.month,
        format: a.format,
        view: a.view,
        dataDir: a['data-dir'],
      });
    },
  )
  .command(
    'demo',
    'the live demo: simulated Danish public systems, a collector and a local agent (what `npm start` runs)',
    (y: Argv) =>
      y
        .option('listen', { type: 'string', default: '127.0.0.1:9400', describe: 'the collector\'s HOST:PORT' })
        .option('base-port', { type: 'number', default: 9401, describe: 'first port of the simulated systems (0: ephemeral)' })
        .option('data-dir', { type: 'string', describe: 'SQLite directory (default ./data/demo)' })
        .option('down', { type: 'string', array: true, default: [] as string[], describe: 'start with these systems down' })
        .option('slow', { type: 'string', array: true, default: [] as string[], describe: 'start slow: ID=DURATION, e.g. virk=3s' })
        .option('error', { type: 'string', array: true, default: [] as string[], describe: 'start answering 500: ID' })
        .options({ ...logOptions, 'log-level': { ...logOptions['log-level'], default: DEMO_LOG_LEVEL } }),
    async (a) => {
      const format = logFormat(a['log-format']);
      const { runDemoCommand } = await import('./demo.js');
      await runDemoCommand({
        listen: a.listen,
        basePort: a['base-port'],
        dataDir: a['data-dir'],
        down: a.down,
        slow: a.slow,
        error: a.error,
        logLevel: a['log-level'],
        logFormat: format,
      });
    },
  )
  .demandCommand(1, 'name a command; see vagt --help')
  .recommendCommands()
  .strict()
  .version(version)
  .help()
  .alias('h', 'help')
  .wrap(Math.min(100, process.stdout.columns || 100))
  .fail((msg, err) => {
    if (err) {
      // An unexpected error in a handler: one line, no stack (set VAGT_DEBUG=1 for it).
      process.stderr.write(`vagt: ${process.env.VAGT_DEBUG ? (err.stack ?? err.message) : err.message}\n`);
      process.exit(EXIT.failed);
    }
    process.stderr.write(`vagt: ${msg}\nRun 'vagt --help' for usage.\n`);
    process.exit(EXIT.usage);
  });

await cli.parseAsync();
