import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { compileConfig } from './compile.js';
import { compileTrustedConfig } from './trusted.js';

const examples = new URL('../../../../examples/', import.meta.url);
const docs = readdirSync(examples)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => parse(readFileSync(new URL(f, examples), 'utf8')) as Record<string, unknown>);

describe('compileTrustedConfig (no schema validator)', () => {
  it('compiles every valid example to the same tables as compileConfig', () => {
    for (const doc of docs) {
      const full = compileConfig(doc);
      const trusted = compileTrustedConfig(doc);
      expect(full.ok && trusted.ok).toBe(true);
      if (!full.ok || !trusted.ok) continue;
      for (const [key, e] of full.config.experiments) {
        const t = trusted.config.experiments.get(key)!;
        expect(t.phases.map((p) => Buffer.from(p.table).toString('base64'))).toEqual(e.phases.map((p) => Buffer.from(p.table).toString('base64')));
      }
    }
  });

  it.each([
    ['a numeric slot range given as strings', (d: Record<string, unknown>) => (((d['experiments'] as Record<string, unknown>[])[0]!['phases'] as Record<string, unknown>[])[0]!['allocation'] = { control: [['0', '500']] }), '/experiments/0/phases/0/allocation/control/0/0'],
    ['an unsupported slot count', (d: Record<string, unknown>) => (((d['layers'] as Record<string, unknown>[])[0]!)['slots'] = 1000), '/layers/0/slots'],
    ['a key that is not hex', (d: Record<string, unknown>) => (((d['layers'] as Record<string, unknown>[])[0]!)['key'] = 'zz'), '/layers/0/key'],
    ['an unknown operator', (d: Record<string, unknown>) => ((d['experiments'] as Record<string, unknown>[])[0]!['targeting'] = { attr: 'a', op: 'like', value: 'x' }), '/experiments/0/targeting/op'],
    ['no phases', (d: Record<string, unknown>) => ((d['experiments'] as Record<string, unknown>[])[0]!['phases'] = []), '/experiments/0/phases'],
  ])('refuses %s and names the field, as the full validator does', (_what, mutate, path) => {
    const doc = structuredClone(docs[0]!);
    mutate(doc);
    const trusted = compileTrustedConfig(doc);
    expect(trusted.ok).toBe(false);
    if (!trusted.ok) expect(trusted.issues[0]!.path).toBe(path);
    expect(compileConfig(doc).ok).toBe(false);
  });

  it('applies the cross-field rules too', () => {
    const doc = structuredClone(docs[0]!);
    ((doc['experiments'] as Record<string, unknown>[])[0]!['phases'] as Record<string, unknown>[])[0]!['allocation'] = { control: [[0, 600]], treatment: [[500, 1000]] };
    const trusted = compileTrustedConfig(doc);
    expect(trusted.ok).toBe(false);
    if (!trusted.ok) expect(trusted.issues[0]!.message).toContain('both');
  });
});
