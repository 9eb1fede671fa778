import { readdirSync, readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigSchema } from './schema.js';
import { validateConfig } from './validate.js';

const root = new URL('../../../../', import.meta.url);
const published = JSON.parse(readFileSync(new URL('spec/schema/config.schema.json', root), 'utf8')) as Record<string, unknown>;
const examples = readdirSync(new URL('examples/', root))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => ({ file: f, doc: parse(readFileSync(new URL(`examples/${f}`, root), 'utf8')) as unknown }));

function ajvValidator(): (doc: unknown) => boolean {
  const ajv = new Ajv({ strict: true, allowUnionTypes: true });
  ajv.addKeyword({ keyword: 'fix', schemaType: 'string' });
  const validate = ajv.compile(published);
  return (doc) => validate(doc);
}

describe('the published config JSON Schema', () => {
  it('is exactly the schema the code validates with (regenerate with packages/core/scripts/gen-config-schema.mjs)', () => {
    const { $schema, ...rest } = published;
    expect($schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(rest).toEqual(JSON.parse(JSON.stringify(ConfigSchema)));
  });

  it('compiles under a strict independent validator (ajv) and accepts every example', () => {
    const validate = ajvValidator();
    expect(examples.length).toBeGreaterThanOrEqual(4);
    for (const { file, doc } of examples) expect(validate(doc), file).toBe(true);
  });

  it('agrees with validateConfig on structurally broken documents', () => {
    const validate = ajvValidator();
    const good = examples.find((e) => e.file === 'checkout.yaml')!.doc as Record<string, unknown>;
    const layers = good['layers'] as Record<string, unknown>[];
    const broken: unknown[] = [
      null,
      [],
      { ...good, schema: 'sortition/config/v2' },
      { ...good, version: -1 },
      { ...good, version: 1.5 },
      { ...good, extra: true },
      { ...good, layers: [{ ...layers[0], slots: 1000 }] },
      { ...good, layers: [{ ...layers[0], key: 'ABC' }] },
      { ...good, layers: [{ ...layers[0], algorithm: 'v2' }] },
      { ...good, layers: [{ ...layers[0], id: 'Bad Id' }] },
      { ...good, experiments: [{ key: 'x', layer: 'checkout', variants: [], phases: [] }] },
    ];
    for (const doc of broken) {
      const ours = validateConfig(doc);
      expect(validate(doc), JSON.stringify(doc)?.slice(0, 80)).toBe(false);
      expect(ours.ok).toBe(false);
    }
  });
});
