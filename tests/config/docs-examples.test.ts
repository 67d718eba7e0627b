// Every probe example in docs/probes.md is a valid probe: wrapped in a system, it passes the same
// loader as `vagt check-config`, and together they cover every probe type.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { loadConfigText } from '../../config/load.js';

const doc = readFileSync(new URL('../../docs/probes.md', import.meta.url), 'utf8');
const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');

describe('docs/probes.md examples', () => {
  it('cover every probe type', () => {
    const types = blocks.flatMap((b) => (YAML.parse(b) as { type: string }[]).map((p) => p.type));
    expect(new Set(types)).toEqual(new Set(['http', 'tcp', 'flow', 'page', 'dns', 'tls']));
  });

  it.each(blocks.map((b, i) => [i, b] as const))('example %i passes check-config', (_i, block) => {
    const probes = YAML.parse(block) as unknown[];
    const text = YAML.stringify({ systems: [{ id: 'example', name: 'Example', probes }] });
    const r = loadConfigText(text, { env: {} });
    expect(r.ok ? [] : r.problems).toEqual([]);
  });
});
