// `npm run schema`: writes config/vagt.schema.json from the zod schema. Run it after changing
// config/schema.ts; tests/config/json-schema.test.ts fails until the committed file matches.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configJsonSchemaText } from './json-schema.js';

// npm runs scripts in the package root, and the file lives in the source tree, not in dist/.
const file = join(process.cwd(), 'config', 'vagt.schema.json');
writeFileSync(file, configJsonSchemaText());
process.stdout.write(`wrote ${file}\n`);
