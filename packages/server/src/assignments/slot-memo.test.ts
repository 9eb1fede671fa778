import { assign, compileConfigOrThrow, type AssignInput, type CompiledConfig, type StickyRecord } from '@sortition/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exampleConfig } from '../test-support/service.js';
import { SlotMemo } from './slot-memo.js';
import { emptyUnitState, type UnitState } from './unit-state.js';

const config: CompiledConfig = compileConfigOrThrow(exampleConfig());
/** The same experiments with every layer keyed differently (as a committed layer's derived key makes it). */
const rekeyed: CompiledConfig = (() => {
  const doc = exampleConfig() as { layers: { key: string }[] };
  return compileConfigOrThrow({ ...doc, layers: doc.layers.map((l) => ({ ...l, key: [...l.key].reverse().join('') })) });
})();
const NOW = Date.UTC(2026, 3, 15);
const EXPERIMENTS = [...config.experiments.keys()];

const unitId = fc.oneof(
  fc.stringMatching(/^[a-z0-9_]{1,12}$/),
  fc.constantFrom('José', 'Jose\u0301', 'Ｕser', 'über_1', 'u\u0308ber_1', '😀', '8821'),
);
const attributes = fc.record({ country: fc.constantFrom('DE', 'JP', 'US'), appVersion: fc.constantFrom('4.3.1', '4.1.0', '5.0.0') });

describe('SlotMemo', () => {
  it('answers exactly what assign() answers, for units whose state is reused across ids, configs and records', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(unitId, fc.constantFrom(...EXPERIMENTS), attributes, fc.boolean(), fc.boolean(), fc.boolean()), { minLength: 1, maxLength: 40 }),
        (calls) => {
          const memo = new SlotMemo();
          // One state per NFC id, as the evaluator keys its cache (an id and its NFD spelling share it).
          const states = new Map<string, UnitState>();
          for (const [id, experiment, attrs, useRekeyed, withRecord, peek] of calls) {
            const c = useRekeyed ? rekeyed : config;
            const plain = assign(c, { experiment, units: { userId: id }, attributes: attrs, now: NOW, mode: 'peek' });
            const sticky: StickyRecord | null =
              withRecord && plain.variant !== null ? { experiment, phase: plain.phase!, variant: plain.variant, slot: plain.slot!, layerEpoch: 1, configVersion: 1, assignedAt: NOW } : null;
            const input: AssignInput = { experiment, units: { userId: id }, attributes: attrs, now: NOW, sticky, mode: peek ? 'peek' : 'enroll' };
            let state = states.get(id.normalize('NFC'));
            if (state === undefined) states.set(id.normalize('NFC'), (state = emptyUnitState()));
            expect(memo.assign(c, input, state)).toEqual(assign(c, input));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('remembers a slot per unit and slot function, and computes it once', () => {
    const memo = new SlotMemo();
    const state = emptyUnitState();
    const input: AssignInput = { experiment: 'checkout_v2', units: { userId: 'u_1' }, attributes: { country: 'DE', appVersion: '4.3.1' }, now: NOW };
    const first = memo.assign(config, input, state);
    expect(state.slots).toEqual([config.experiments.get('checkout_v2')!.layer.slotOf, first.slot, ...(state.slots?.slice(2) ?? [])]);
    // A remembered slot is what is answered: plant a different one and see it used.
    state.slots![1] = (first.slot! + 1) % 10_000;
    expect(memo.assign(config, input, state).slot).toBe((first.slot! + 1) % 10_000);
    // Under another key (another slot function) the unit's slot is computed again, and both are kept.
    const other = memo.assign(rekeyed, input, state);
    expect(other.slot).toBe(assign(rekeyed, input).slot);
    expect(state.slots).toContain(rekeyed.experiments.get('checkout_v2')!.layer.slotOf);
  });

  it('leaves slots of other unit ids, and calls outside assign(), to the config', () => {
    const memo = new SlotMemo();
    const state = emptyUnitState();
    const view = memo.view(config);
    const slotOf = view.experiments.get('checkout_v2')!.layer.slotOf;
    expect(slotOf('u_2')).toBe(config.experiments.get('checkout_v2')!.layer.slotOf('u_2'));
    expect(state.slots).toBeNull();
    // A state given for one id is not used for another id in the same call's units.
    const input: AssignInput = { experiment: 'checkout_v2', units: { userId: 'u_3' }, attributes: { country: 'DE', appVersion: '4.3.1' }, now: NOW };
    memo.assign(config, input, state);
    const remembered = [...state.slots!];
    expect(slotOf('u_4')).toBe(config.experiments.get('checkout_v2')!.layer.slotOf('u_4'));
    expect(state.slots).toEqual(remembered);
  });

  it('keeps at most eight slot functions per unit', () => {
    const memo = new SlotMemo();
    const state = emptyUnitState();
    const input: AssignInput = { experiment: 'price_anchor', units: { userId: 'u_5' }, now: NOW };
    for (let v = 0; v < 20; v++) {
      const c = compileConfigOrThrow({ ...exampleConfig(), version: v + 1 });
      expect(memo.assign(c, input, state).slot).toBe(assign(c, input).slot);
    }
    expect(state.slots!.length).toBeLessThanOrEqual(16);
  });

  it('answers units the config cannot slot the way assign() does, and remembers nothing for them', () => {
    const memo = new SlotMemo();
    const state = emptyUnitState();
    for (const id of ['', 'x\ud800', 'a\u0000b', 42]) {
      const input: AssignInput = { experiment: 'checkout_v2', units: { userId: id }, now: NOW };
      expect(memo.assign(config, input, state)).toEqual(assign(config, input));
    }
    expect(state.slots ?? []).toEqual([]);
  });
});
