// The committed JSON Schema is what the zod schema generates, and every shipped example passes it
// in a real validator (ajv, in node_modules through eslint; it knows draft-07, so the test also
// checks that the schema uses no keyword draft-07 lacks: unknown keywords would be ignored).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import Ajv from 'ajv';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { configJsonSchema, configJsonSchemaText } from '../../config/json-schema.js';
import { configSchema } from '../../config/schema.js';

const root = join(import.meta.dirname, '..', '..');
const schemaFile = join(root, 'config', 'vagt.schema.json');
const examples = [
  ...readdirSync(join(root, 'config', 'examples'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => join(root, 'config', 'examples', f)),
  join(root, 'config', 'demo.yaml'),
];

/** Keywords draft-07 (ajv 6) knows, plus annotations. */
const DRAFT7 = new Set(
  ('$schema $id title description default type properties required additionalProperties propertyNames items ' +
    'minItems maxItems anyOf oneOf allOf not enum const pattern format minLength maxLength minimum maximum ' +
    'exclusiveMinimum exclusiveMaximum multipleOf')
    .split(' '),
);

function keywords(schema: unknown, out = new Set<string>(), inProperties = false): Set<string> {
  if (Array.isArray(schema)) for (const s of schema) keywords(s, out);
  else if (typeof schema === 'object' && schema !== null)
    for (const [k, v] of Object.entries(schema)) {
      if (!inProperties) out.add(k);
      if (k === 'default' || k === 'enum' || k === 'const') continue;
      keywords(v, out, !inProperties && k === 'properties');
    }
  return out;
}

function validator(): (data: unknown) => string[] {
  // ajv 6 has no 2020-12 meta-schema to check the schema against; the keyword check below stands in.
  const { $schema: _drop, ...schema } = configJsonSchema();
  const ajv = new Ajv({ allErrors: true });
  const validate = ajv.compile(schema);
  return (data) => (validate(data) ? [] : (validate.errors ?? []).map((e) => `${e.dataPath} ${e.message ?? ''}`));
}

describe('config/vagt.schema.json', () => {
  it('is what the zod schema generates', () => {
    const committed = readFileSync(schemaFile, 'utf8');
    expect(committed === configJsonSchemaText(), 'config/vagt.schema.json is out of date: run `npm run schema` and commit it').toBe(true);
  });

  it('is draft 2020-12 with an id and a title, and uses only keywords a validator checks', () => {
    const schema = configJsonSchema();
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toBe('urn:vagt:config');
    expect(schema.title).toBe('vagt configuration');
    expect([...keywords(schema)].filter((k) => !DRAFT7.has(k))).toEqual([]);
    // The top-level keys are the zod schema's.
    expect(Object.keys(schema.properties as object)).toEqual(Object.keys(configSchema.shape));
  });

  it.each(examples.map((f) => [relative(root, f), f]))('%s passes it and names it in its first line', (_name, file) => {
    const text = readFileSync(file, 'utf8');
    const ref = relative(dirname(file), schemaFile);
    expect(text.split('\n')[0]).toBe(`# yaml-language-server: $schema=${ref}`);
    expect(validator()(YAML.parse(text))).toEqual([]);
  });

  it('accepts ${env:NAME} where the collector substitutes a string, and rejects what the collector rejects', () => {
    const validate = validator();
    const base = (over: Record<string, unknown>): unknown => ({
      collector: { admin_token: '${env:ADMIN}', public_url: '${env:PUBLIC_URL}', retention: '7d' },
      agents: [{ id: 'kbh-1', token: '${env:T}' }],
      systems: [
        {
          id: 'mitid',
          name: 'MitID',
          probes: [{ id: 'front', type: 'http', url: '${env:MITID_URL}/login', interval: '30s' }],
          ...over,
        },
      ],
      notifications: [{ id: 'hook', type: 'webhook', url: '${env:HOOK}', hold: '${env:HOLD}' }],
    });
    expect(validate(base({}))).toEqual([]);
    // Substitution always gives a string: a number cannot come from the environment.
    expect(validate(base({ retries: '${env:RETRIES}' }))).not.toEqual([]);
    // Keys are never interpolated.
    expect(validate(base({ depends_on: { '${env:DEP}': 'critical' } }))).not.toEqual([]);
    expect(validate(base({ probes: [{ id: 'front', type: 'http', url: 'https://x.dk/', timeout: '30 seconds' }] }))).not.toEqual([]);
    expect(validate(base({ probes: [{ id: 'front', type: 'ftp', url: 'https://x.dk/' }] }))).not.toEqual([]);
    expect(validate(base({ colour: 'red' }))).not.toEqual([]);
    expect(validate(base({ probes: [{ id: 'Front', type: 'http', url: 'https://x.dk/' }] }))).not.toEqual([]);
  });

  it('lists the six probe types', () => {
    const text = readFileSync(schemaFile, 'utf8');
    for (const t of ['http', 'tcp', 'dns', 'tls', 'flow', 'page']) expect(text).toContain(`"const": "${t}"`);
  });
});
