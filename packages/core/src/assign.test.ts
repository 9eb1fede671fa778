import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assign, type AssignInput } from './assign.js';
import { compileConfigOrThrow } from './config/compile.js';
import type { ConfigDocument } from './config/schema.js';

const KEY = '5e'.repeat(32);
const doc: ConfigDocument = {
  schema: 'sortition/config/v1',
  version: 4,
  layers: [{ id: 'checkout', algorithm: 'v1', slots: 10000, key: KEY, unit: 'userId', normalization: 'nfc' }],
  experiments: [
    {
      key: 'exp',
      layer: 'checkout',
      variants: [{ key: 'control', value: { color: 'blue' } }, { key: 'treatment', value: { color: 'green' } }],
      targeting: { attr: 'country', op: 'eq', value: 'DE' },
      phases: [{ id: 'main', startsAt: '2026-03-01T00:00:00Z', allocation: { control: [[0, 5000]], treatment: [[5000, 10000]] } }],
    },
  ],
};
const NOW = Date.UTC(2026, 2, 14);
const input = (unit: unknown, extra: Partial<AssignInput> = {}): AssignInput => ({ experiment: 'exp', units: { userId: unit }, attributes: { country: 'DE' }, now: NOW, ...extra });

describe('assign', () => {
  const config = compileConfigOrThrow(structuredClone(doc));

  it('is pure: same answer twice, inputs and config untouched', () => {
    const before = JSON.stringify(config.doc);
    const i = input('user_1');
    const frozen = JSON.stringify(i);
    const a = assign(config, i);
    const b = assign(config, i);
    expect(a).toEqual(b);
    expect(JSON.stringify(i)).toBe(frozen);
    expect(JSON.stringify(config.doc)).toBe(before);
  });

  it('returns effects as data on a first assignment, and none in peek mode', () => {
    const enrolled = assign(config, input('user_1'));
    expect(enrolled.reason).toBe('ASSIGNED');
    expect(enrolled.stickyWrite).toEqual({ experiment: 'exp', phase: 'main', variant: enrolled.variant, slot: enrolled.slot, layerEpoch: 1, configVersion: 4, assignedAt: NOW });
    expect(enrolled.exposure).toMatchObject({ unit: 'user_1', unitType: 'userId', experiment: 'exp', variant: enrolled.variant, first: true, at: NOW });
    const peeked = assign(config, input('user_1', { mode: 'peek' }));
    expect({ ...peeked, stickyWrite: null, exposure: null }).toEqual({ ...enrolled, stickyWrite: null, exposure: null });
    expect(peeked.stickyWrite).toBeNull();
    expect(peeked.exposure).toBeNull();
  });

  it('lets the stored record, not a re-evaluation, decide a returning unit', () => {
    const first = assign(config, input('user_1'));
    const other = first.variant === 'control' ? 'treatment' : 'control';
    const back = assign(config, input('user_1', { sticky: { ...first.stickyWrite!, variant: other } }));
    expect(back).toMatchObject({ reason: 'STICKY', variant: other, stickyStatus: 'honored', stickyWrite: null });
    expect(back.exposure).toMatchObject({ variant: other, first: false });
  });

  it('keeps a sticky unit even when targeting no longer matches, and says so', () => {
    const first = assign(config, input('user_1'));
    const back = assign(config, input('user_1', { attributes: { country: 'US' }, sticky: first.stickyWrite }));
    expect(back).toMatchObject({ reason: 'STICKY', targeting: 'excluded', variant: first.variant });
    expect(assign(config, input('user_1', { attributes: { country: 'US' } }))).toMatchObject({ reason: 'TARGETING_EXCLUDED', variant: null, exposure: null });
  });

  it('reports the canonical NFC id in exposures', () => {
    const nfd = assign(config, input('Jose\u0301'));
    const nfc = assign(config, input('Jos\u00e9'));
    expect(nfd.slot).toBe(nfc.slot);
    expect(nfd.exposure?.unit).toBe('Jos\u00e9');
  });

  it('serves the configured variant value', () => {
    const r = assign(config, input('user_1'));
    expect(r.value).toEqual(r.variant === 'control' ? { color: 'blue' } : { color: 'green' });
  });

  it('splits close to 50/50 (binomial bound, z < 4.89)', () => {
    let treated = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) if (assign(config, input(`u${i}`)).variant === 'treatment') treated++;
    expect(Math.abs(treated - n / 2) / Math.sqrt(n / 4)).toBeLessThan(4.89);
  });

  it('never throws, whatever it is given (errors are data)', () => {
    fc.assert(
      fc.property(fc.anything(), fc.anything(), fc.anything(), fc.oneof(fc.double(), fc.constant(NOW)), (experiment, unit, attrs, now) => {
        const r = assign(config, { experiment: experiment as string, units: { userId: unit }, attributes: attrs as AssignInput['attributes'] & object, now });
        expect(['ERROR', 'ASSIGNED', 'TARGETING_EXCLUDED', 'NOT_STARTED']).toContain(r.reason);
        if (r.reason === 'ERROR') expect(r.error?.message.length).toBeGreaterThan(10);
      }),
      { numRuns: 2000, seed: 3 },
    );
  });
});
