// Writes the OpenAPI document generated from the route definitions to openapi.json
// (run by `pnpm build` after tsc; test/unit/openapi.test.ts fails when the file is stale).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openApiDocumentText } from '../dist/index.js';

const target = fileURLToPath(new URL('../openapi.json', import.meta.url));
writeFileSync(target, openApiDocumentText());
console.log(`wrote ${target}`);
