// Table-driven, as blackbox_exporter tests its config package: every file in invalid/ is loaded
// and its problems must be exactly the lines of the sibling .expected file.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../config/diagnostics.js';
import { loadConfigFile } from '../../config/load.js';

const dir = join(import.meta.dirname, 'invalid');
const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();
// The only variable the fixtures may rely on; everything else they reference is unset.
const env = { VAGT_TEST_TOKEN: '0123456789abcdef0123' };

describe('invalid configurations', () => {
  it('has an .expected file for every fixture and a fixture for every .expected file', () => {
    const expected = readdirSync(dir).filter((f) => f.endsWith('.expected'));
    expect(expected.map((f) => f.replace(/\.expected$/, '.yaml')).sort()).toEqual(cases);
    expect(cases.length).toBeGreaterThanOrEqual(20);
  });

  it.each(cases)('%s', (file) => {
    const expectedFile = join(dir, file.replace(/\.yaml$/, '.expected'));
    expect(existsSync(expectedFile)).toBe(true);
    const want = readFileSync(expectedFile, 'utf8').split('\n').filter((l) => l !== '');
    expect(want.length).toBeGreaterThan(0);

    const result = loadConfigFile(join(dir, file), { env });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map(formatDiagnostic)).toEqual(want);
    // Sorted by line, every one placed.
    const lines = result.problems.map((p) => p.line ?? 0);
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
  });
});
