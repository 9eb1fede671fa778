#!/usr/bin/env node
// Writes spec/schema/config.schema.json from the TypeBox schema in src/config/schema.ts (via dist).
// A test fails when the committed file and the schema in code disagree. Run after `npm run build`:
//   node packages/core/scripts/gen-config-schema.mjs
import { writeFileSync } from 'node:fs';
import { ConfigSchema } from '../dist/index.js';

const target = new URL('../../../spec/schema/config.schema.json', import.meta.url);
const schema = { $schema: 'http://json-schema.org/draft-07/schema#', ...JSON.parse(JSON.stringify(ConfigSchema)) };
writeFileSync(target, `${JSON.stringify(schema, null, 2)}\n`);
console.log(`wrote ${target.pathname}`);
