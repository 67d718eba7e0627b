// The logger: JSON by default, pretty on a terminal or when asked, and credentials redacted in both.
import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createLogger, parseLogFormat, resolveLogFormat, type LoggerOpts } from '../../lib/log.js';

const SECRET = 'tok-3f9a1c7e5b2d4086';
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[\d+m/;

/** Logs one event with credentials in it and returns what reached the destination. */
async function logged(opts: Omit<LoggerOpts, 'destination'>): Promise<string> {
  let out = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  const log = createLogger({ ...opts, name: 'test', destination: sink });
  log.info({ token: SECRET, headers: { authorization: `Bearer ${SECRET}` }, agent: { token: SECRET }, system: 'mitid' }, 'probe ran');
  // The pretty printer is a stream pipeline: give it a turn.
  for (let i = 0; i < 50 && !out.includes('\n'); i++) await new Promise((r) => setTimeout(r, 10));
  return out;
}

describe('createLogger', () => {
  it('writes one JSON line per event to a stream that is not a terminal', async () => {
    const out = await logged({});
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 30, name: 'test', msg: 'probe ran', system: 'mitid', token: '[redacted]' });
    expect(out).not.toContain(SECRET);
    expect(out).not.toMatch(ANSI);
  });

  it('writes pretty lines when forced, without colours off a terminal, and still redacts', async () => {
    const out = await logged({ format: 'pretty' });
    expect(out).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(test\): probe ran\n/);
    expect(out).toContain('system: "mitid"');
    expect(out).toContain('[redacted]');
    expect(out).not.toContain(SECRET);
    expect(out).not.toMatch(ANSI);
    expect(() => JSON.parse(out) as unknown).toThrow();
  });

  it('is pretty and coloured on a terminal, JSON when told so there', async () => {
    expect(process.env.NO_COLOR).toBeUndefined();
    const tty = await logged({ isTTY: true });
    expect(tty).toMatch(ANSI);
    expect(tty).toContain('probe ran');
    expect(tty).not.toContain(SECRET);
    const json = await logged({ isTTY: true, format: 'json' });
    expect(JSON.parse(json)).toMatchObject({ msg: 'probe ran', token: '[redacted]' });
  });

  it('detects a real terminal on its fd (a pty from script(1))', () => {
    const log = fileURLToPath(new URL('../../dist/lib/log.js', import.meta.url));
    const code = `import { createLogger } from ${JSON.stringify(log)}; createLogger({ name: 'pty' }).info({ token: '${SECRET}' }, 'on a terminal');`;
    const cmd = `${JSON.stringify(process.execPath)} --input-type=module -e ${JSON.stringify(code)}`;
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: undefined },
      timeout: 10_000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(ANSI);
    expect(r.stdout).toContain('on a terminal');
    expect(r.stdout).toContain('[redacted]');
    expect(r.stdout).not.toContain(SECRET);
  });
});

describe('the log format setting', () => {
  it('takes the flag over VAGT_LOG_FORMAT, and auto when neither is set', () => {
    expect(parseLogFormat(undefined, undefined)).toEqual({ ok: true, format: 'auto' });
    expect(parseLogFormat(undefined, '')).toEqual({ ok: true, format: 'auto' });
    expect(parseLogFormat(undefined, 'pretty')).toEqual({ ok: true, format: 'pretty' });
    expect(parseLogFormat('json', 'pretty')).toEqual({ ok: true, format: 'json' });
  });

  it('names the source and the choices for a bad value', () => {
    expect(parseLogFormat(undefined, 'nonsense')).toEqual({ ok: false, message: 'VAGT_LOG_FORMAT: expected auto, json, pretty, got "nonsense"' });
    expect(parseLogFormat('xml', 'json')).toEqual({ ok: false, message: '--log-format: expected auto, json, pretty, got "xml"' });
  });

  it('is pretty only on a terminal when auto', () => {
    expect(resolveLogFormat('auto', true)).toBe('pretty');
    expect(resolveLogFormat('auto', false)).toBe('json');
    expect(resolveLogFormat('json', true)).toBe('json');
    expect(resolveLogFormat('pretty', false)).toBe('pretty');
  });
});
