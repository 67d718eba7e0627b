// The last assignment the collector sent, kept in the data directory, so an agent that restarts
// while the collector is out of reach keeps probing what it was told to (offline operation).
// Written atomically (temp file + rename) and readable only by the agent's user: probe requests
// may carry credentials from the configuration.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { errorMessage } from '../lib/errors.js';
import type { AssignmentMessage } from '../protocol/messages.js';
import { parseCollectorMessage } from '../protocol/validate.js';

export class AssignmentCache {
  readonly path: string;

  constructor(dir: string) {
    this.path = join(dir, 'assignment.json');
  }

  save(m: AssignmentMessage, log: Logger): void {
    const tmp = `${this.path}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify(m), { mode: 0o600 });
      renameSync(tmp, this.path);
    } catch (err) {
      log.warn({ err: errorMessage(err), path: this.path }, 'could not cache the assignment; a restart without the collector will probe nothing');
    }
  }

  /** The cached assignment, or undefined when there is none or it does not validate. */
  load(log: Logger): AssignmentMessage | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return undefined;
    }
    const parsed = parseCollectorMessage(text);
    if (!parsed.ok || parsed.value.type !== 'assignment') {
      log.warn({ path: this.path, problem: parsed.ok ? 'not an assignment' : parsed.error }, 'ignoring an unreadable cached assignment');
      return undefined;
    }
    return parsed.value;
  }
}
