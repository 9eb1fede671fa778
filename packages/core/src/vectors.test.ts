/** Runs every spec vector against the TypeScript core. */
import { describe, expect, it } from 'vitest';
import { loadVectors, vectorTime, vectorValidator, vectorsOfKind } from '../../../spec/index.js';
import { assign } from './assign.js';
import { compileConfigOrThrow } from './config/compile.js';
import { validateConfig } from './config/validate.js';
import { createSlotFunction } from './crypto/derivation.js';
import { fromHex, toHex } from './encoding/hex.js';
import { unitIdBytes } from './encoding/unit-id.js';
import { plan } from './planner/plan.js';

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
    it.each(vector.cases.map((c, i) => [i, c] as const))('case %i', (_i, c) => {
      const layer = vector.layers[c.layer]!;
      const slotOf = createSlotFunction(layer.algorithm, { layerId: layer.id, key: fromHex(layer.key)!, slots: layer.slots });
      const slot = slotOf(c.unit);
      if ('error' in c.expected) {
        expect(typeof slot === 'number' ? slot : slot.code, c.explanation).toBe(c.expected.error);
      } else {
        expect(slot, c.explanation).toBe(c.expected.slot);
        const bytes = unitIdBytes(c.unit);
        expect(bytes instanceof Uint8Array ? toHex(bytes) : bytes.code).toBe(c.expected.canonicalUtf8Hex);
      }
    });
  });

  describe.each(vectorsOfKind('assign').map((v) => [v.name, v] as const))('assign: %s', (_name, vector) => {
    const config = compileConfigOrThrow(vector.config);
    it.each(vector.cases.map((c, i) => [i, c] as const))('case %i', (_i, c) => {
      const { sticky, now, ...rest } = c.input;
      const r = assign(config, {
        ...rest,
        now: vectorTime(now),
        ...(sticky === undefined ? {} : { sticky: { ...sticky, assignedAt: vectorTime(sticky.assignedAt) } }),
      });
      expect(
        {
          variant: r.variant,
          reason: r.reason,
          error: r.error?.code ?? null,
          slot: r.slot,
          layer: r.layer,
          phase: r.phase,
          targeting: r.targeting,
          holdout: r.holdout,
          stickyStatus: r.stickyStatus,
          writesSticky: r.stickyWrite !== null,
          emitsExposure: r.exposure !== null,
        },
        c.explanation,
      ).toEqual(c.expected);
    });
  });

  describe.each(vectorsOfKind('change').map((v) => [v.name, v] as const))('change: %s', (_name, vector) => {
    it('moves exactly the listed units and gives the expected verdict', () => {
      const current = compileConfigOrThrow(vector.current);
      const proposed = compileConfigOrThrow(vector.proposed);
      const moved: { unit: string; from: string; to: string | null }[] = [];
      const entered: { unit: string; to: string }[] = [];
      for (const unit of vector.units) {
        const input = { experiment: vector.experiment, units: { [vector.unitType]: unit }, now: vectorTime(vector.now), mode: 'peek' as const };
        const a = assign(current, input).variant;
        const b = assign(proposed, input).variant;
        if (a !== null && a !== b) moved.push({ unit, from: a, to: b });
        if (a === null && b !== null) entered.push({ unit, to: b });
      }
      expect(moved, vector.explanation).toEqual(vector.expected.moved);
      expect(entered).toEqual(vector.expected.entered);
      const report = plan(vector.current, vector.proposed, { now: vectorTime(vector.now) });
      expect(report.verdict, vector.explanation).toBe(vector.expected.verdict);
      const publish = report.experiments.find((e) => e.experiment === vector.experiment)?.transitions[0];
      expect(publish?.movedSlots ?? 0).toBe(vector.expected.movedSlots);
    });
  });
});
