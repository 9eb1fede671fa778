/** Runs every spec vector against the TypeScript core. */
import { describe, expect, it } from 'vitest';
import { loadVectors, vectorValidator, vectorsOfKind } from '../../../spec/index.js';
import { runVectors } from '../../../spec/runner.js';
import { validateConfig } from './config/validate.js';

describe('spec vectors', () => {
  const all = loadVectors();
  const validate = vectorValidator();

  it('exist for every kind and are valid against vector.schema.json', () => {
    expect(new Set(all.map((v) => v.vector.kind))).toEqual(new Set(['slot', 'assign', 'change']));
    for (const { file, vector } of all) {
      expect(validate(vector), file).toEqual([]);
      expect(file).toBe(`${vector.name}.json`);
    }
  });

  it('carry valid configs', () => {
    for (const v of vectorsOfKind('assign')) expect(validateConfig(v.config).ok, v.name).toBe(true);
    for (const v of vectorsOfKind('change')) {
      expect(validateConfig(v.current).ok, v.name).toBe(true);
      expect(validateConfig(v.proposed).ok, v.name).toBe(true);
    }
  });

  describe.each(vectorsOfKind('slot').map((v) => [v.name, v] as const))('slot: %s', (_name, vector) => {
    const [outcome] = runVectors([vector]);
    it.each(vector.cases.map((c, i) => [i, c] as const))('case %i', (i, c) => {
      const got = outcome?.kind === 'slot' ? outcome.cases[i] : undefined;
      if ('error' in c.expected) {
        expect(got?.slot, c.explanation).toBe(c.expected.error);
      } else {
        expect(got?.slot, c.explanation).toBe(c.expected.slot);
        expect(got?.canonicalUtf8Hex).toBe(c.expected.canonicalUtf8Hex);
      }
    });
  });

  describe.each(vectorsOfKind('assign').map((v) => [v.name, v] as const))('assign: %s', (_name, vector) => {
    const [outcome] = runVectors([vector]);
    it.each(vector.cases.map((c, i) => [i, c] as const))('case %i', (i, c) => {
      expect(outcome?.kind === 'assign' ? outcome.cases[i] : undefined, c.explanation).toEqual(c.expected);
    });
  });

  describe.each(vectorsOfKind('change').map((v) => [v.name, v] as const))('change: %s', (_name, vector) => {
    it('moves exactly the listed units and gives the expected verdict', () => {
      const [outcome] = runVectors([vector]);
      const got = outcome?.kind === 'change' ? outcome.result : undefined;
      expect(got?.moved, vector.explanation).toEqual(vector.expected.moved);
      expect(got?.entered).toEqual(vector.expected.entered);
      expect(got?.verdict, vector.explanation).toBe(vector.expected.verdict);
      expect(got?.movedSlots).toBe(vector.expected.movedSlots);
    });
  });
});
