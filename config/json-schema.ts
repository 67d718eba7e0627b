// The published JSON Schema of the configuration file (config/vagt.schema.json), generated from
// the same zod schema the collector validates with, so editors and the collector cannot disagree.
// It describes the file as written (zod's input side): durations are strings like "30s".
import { z } from 'zod';
import { configSchema, duration } from './schema.js';

/** A name, not an address: the file is found through the modeline in each YAML file, not by $id. */
export const SCHEMA_ID = 'urn:vagt:config';

/** `${env:NAME}` as config/interpolate.ts resolves it; somewhere inside a string value. */
const ENV_REF_PATTERN = '\\$\\{env:[A-Za-z_][A-Za-z0-9_]*\\}';

/** lib/duration.ts's grammar; parseDuration trims first. */
const DURATION_PATTERN = '^\\s*(?:\\d+(?:\\.\\d+)?(?:ms|s|m|h|d))+\\s*$';

const SECTIONS: Record<string, string> = {
  collector: 'The collector: where it listens, where it keeps its data, TLS, SMTP.',
  agents: 'The agents allowed to connect, each with its id and token (or the token\'s SHA-256).',
  defaults: 'Defaults for every probe and system: interval, timeout, retries, quorum, incident priorities.',
  systems: 'The monitored systems, their dependencies, service targets and probes.',
  notifications: 'Where status changes are sent: webhook, e-mail, Slack, Teams.',
  maintenance: 'Announced service windows.',
};

type Json = Record<string, unknown>;

/**
 * Constrained strings (a pattern, a format, a length, a choice) also accept a value holding an
 * `${env:NAME}` reference: the collector substitutes it before validating, so only the result can
 * be judged. Numbers and booleans stay strict: a substitution is always a string, which the
 * collector rejects there too (docs/configuration.md, Interpolation).
 */
function allowEnvRef(schema: Json): void {
  if (schema.type !== 'string' || schema.const !== undefined) return;
  // The shortest reference, ${env:X}, is 8 characters: a shorter minimum is met anyway.
  const constrained = ['pattern', 'format', 'enum'].some((k) => k in schema) || (typeof schema.minLength === 'number' && schema.minLength > 8);
  if (!constrained) return;
  const strict = { ...schema };
  const description = strict.description;
  delete strict.description;
  delete strict.default;
  for (const k of Object.keys(schema)) if (k !== 'description' && k !== 'default') delete schema[k];
  schema.anyOf = [strict, { type: 'string', pattern: ENV_REF_PATTERN }];
  if (description !== undefined) schema.description = description;
}

/** Applies allowEnvRef below every value schema; keys (propertyNames) are never interpolated. */
function withEnvRefs(schema: Json): Json {
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'propertyNames' || typeof v !== 'object' || v === null) continue;
    if (Array.isArray(v)) for (const item of v) if (typeof item === 'object' && item !== null) withEnvRefs(item as Json);
    if (!Array.isArray(v)) withEnvRefs(v as Json);
  }
  allowEnvRef(schema);
  return schema;
}

export function configJsonSchema(): Json {
  const generated = z.toJSONSchema(configSchema, {
    target: 'draft-2020-12',
    io: 'input',
    // Refinements (valid regex, DNS server address) have no JSON Schema form; the collector checks them.
    unrepresentable: 'any',
    override(ctx) {
      const json = ctx.jsonSchema as Json;
      if (ctx.zodSchema === duration) {
        json.pattern = DURATION_PATTERN;
        json.description = 'A duration like 500ms, 30s, 5m, 1h or 1h30m.';
      }
    },
  }) as Json;
  // A copy, so that a schema zod reused in several places is edited in each place alone.
  const { $schema, ...rest } = withEnvRefs(JSON.parse(JSON.stringify(generated)) as Json);
  const properties = rest.properties as Record<string, Json>;
  for (const [key, description] of Object.entries(SECTIONS)) {
    const p = properties[key];
    if (p !== undefined) p.description = description;
  }
  return {
    $schema,
    $id: SCHEMA_ID,
    title: 'vagt configuration',
    description: 'The configuration file of vagt (docs/configuration.md). Check a file with `vagt check-config FILE`.',
    ...rest,
  };
}

/** The committed file's text: two-space indent, a final newline. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
