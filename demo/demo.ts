// `vagt demo`: the simulator, a collector with an in-process agent, and the text the CLI prints.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { startCollector, type Collector } from '../collector/collector.js';
import { SqliteStore } from '../collector/store/sqlite.js';
import type { Config } from '../config/schema.js';
import { demoConfig } from './demo-config.js';
import { startInternalMonitor } from './internal-monitor.js';
import { seedHistory } from './seed-history.js';
import type { Fault } from './faults.js';
import { startSimulator, type Simulator } from './simulator.js';
import { DEMO_BASE_PORT, DEMO_USER } from './systems.js';

export { demoConfig, DEMO_CONFIG_PATH } from './demo-config.js';
export { demoBanner, type BannerInput } from './banner.js';
export { parseFaultFlags, type Fault, type FaultMode } from './faults.js';
export { startSimulator, type Simulator, type SimulatedSystem } from './simulator.js';
export { SYSTEM_IDS as DEMO_SYSTEM_IDS, DEMO_USER } from './systems.js';

export interface Demo {
  collector: Collector;
  simulator: Simulator;
  config: Config;
  close(): Promise<void>;
}

/**
 * Starts the simulator, then the collector with its local agent. Prints nothing: the CLI shows
 * demoBanner(). Defaults: collector on 127.0.0.1:9400, systems on 9401.., data in ./data/demo.
 */
export async function runDemo(opts: {
  listen?: string;
  basePort?: number;
  dataDir?: string;
  faults?: Record<string, Fault>;
  /** Probe interval override, e.g. "1s" for tests. */
  interval?: string;
  /** Days of made-up history written into a new database (default 90; 0 for none). */
  historyDays?: number;
  logger: Logger;
}): Promise<Demo> {
  // The demo's flows log in with agent-side secrets; the simulator's demo login is public, so the
  // in-process agent gets it unless the environment says otherwise.
  process.env.DEMO_USER ??= DEMO_USER.user;
  process.env.DEMO_PASSWORD ??= DEMO_USER.password;
  const simulator = await startSimulator({
    basePort: opts.basePort ?? DEMO_BASE_PORT,
    logger: opts.logger,
    ...(opts.faults === undefined ? {} : { faults: opts.faults }),
  });
  const monitorToken = randomBytes(24).toString('base64url');
  try {
    const config = demoConfig(simulator, {
      // Lets the demo's user announce service windows; random per run unless set.
      adminToken: process.env.VAGT_ADMIN_TOKEN ?? randomBytes(16).toString('hex'),
      monitorToken,
      ...(opts.listen === undefined ? {} : { listen: opts.listen }),
      ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }),
      ...(opts.interval === undefined ? {} : { interval: opts.interval }),
    });
    const days = opts.historyDays ?? 90;
    const dbPath = join(config.collector.data_dir, 'vagt.db');
    if (days > 0 && !existsSync(dbPath)) {
      // A new demo database gets a made-up past, so the 90-day bars show what a running vagt shows.
      const store = SqliteStore.open(dbPath);
      try {
        await seedHistory(store, { systems: config.systems, days, now: Date.now() - 60_000 });
      } finally {
        await store.close();
      }
    }
    const collector = await startCollector({
      config,
      listen: config.collector.listen,
      dataDir: config.collector.data_dir,
      localAgent: true,
      logger: opts.logger,
    });
    const source = config.agents.find((a) => a.external !== undefined);
    const monitor =
      source === undefined
        ? undefined
        : startInternalMonitor({
            collectorUrl: collector.url,
            token: monitorToken,
            systems: source.external?.systems ?? [],
            simulator,
            intervalMs: config.defaults.interval,
            logger: opts.logger,
          });
    let closing: Promise<void> | undefined;
    return {
      collector,
      simulator,
      config,
      close() {
        // The collector first, so the agent does not record the simulator's shutdown as an outage.
        closing ??= (monitor?.stop() ?? Promise.resolve()).then(() => collector.close()).finally(() => simulator.close());
        return closing;
      },
    };
  } catch (err) {
    await simulator.close();
    throw err;
  }
}
