// Request bodies against a zod schema: one 400 `invalid_body` naming every field at fault, with
// the problems as data (`error.problems`), the same for every route that takes a body.
import type { z } from 'zod';
import { formatPath } from '../../config/diagnostics.js';
import { schemaErrorMap, schemaProblems } from '../../config/issues.js';
import { HttpError } from '../http.js';

/** A body against a schema, or 400 `invalid_body` whose message names every field at fault. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(body, { error: schemaErrorMap, reportInput: true });
  if (parsed.success) return parsed.data;
  const problems = schemaProblems(parsed.error.issues).map((p) => ({ path: formatPath(p.path), message: p.message }));
  throw new HttpError(400, 'invalid_body', `${what} has ${problems.length} problem(s): ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, {
    extra: { problems },
  });
}
