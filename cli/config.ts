import { loadConfigFile } from '../config/load.js';
import { formatDiagnostic } from '../config/diagnostics.js';
import type { Config } from '../config/schema.js';
import { EXIT } from './output.js';

/** Loads a config file or prints every problem and exits 2 (CONTRACT §2). */
export function loadConfigOrExit(path: string): Config {
  const result = loadConfigFile(path);
  if (result.ok) return result.config;
  for (const p of result.problems) process.stderr.write(`${path}: ${formatDiagnostic(p)}\n`);
  process.exit(EXIT.usage);
}
