// Bad input never gives a stack trace: one clear line on stderr and an exit code.
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export function fail(message: string, code: number = EXIT.usage): never {
  process.stderr.write(`vagt: ${message}\n`);
  process.exit(code);
}
