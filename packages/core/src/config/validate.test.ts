import { describe, expect, it } from 'vitest';
import type { ConfigDocument } from './schema.js';
import { parseTimestamp, validateConfig } from './validate.js';

const KEY = 'ab'.repeat(32);

function base(): ConfigDocument {
  return {
    schema: 'sortition/config/v1',
    version: 1,
    layers: [{ id: 'checkout', algorithm: 'v1', slots: 10000, key: KEY, unit: 'userId', normalization: 'nfc' }],
    holdouts: [{ id: 'ho', layer: 'checkout', scope: 'layer', ranges: [[9000, 10000]] }],
    experiments: [
      {
        key: 'exp',
        layer: 'checkout',
        variants: [{ key: 'control' }, { key: 'treatment' }],
        phases: [
          { id: 'canary', startsAt: '2026-03-01T00:00:00Z', allocation: { control: [[0, 500]], treatment: [[500, 1000]] } },
          { id: 'full', startsAt: '2026-03-08T00:00:00Z', reason: 'ramp', exclude: ['canary'], allocation: { control: [[0, 4500]], treatment: [[4500, 9000]] } },
        ],
      },
    ],
  };
}

function issuesOf(mutate: (c: ConfigDocument) => void): { path: string; message: string; fix: string }[] {
  const c = structuredClone(base());
  mutate(c);
  const before = JSON.stringify(c);
  const r = validateConfig(c);
  expect(JSON.stringify(c), 'validation must not modify the document').toBe(before);
  return r.ok ? [] : [...r.issues];
}

const exp = (c: ConfigDocument) => c.experiments[0]!;

describe('validateConfig', () => {
  it('accepts a well-formed config with a canary, a partitioned full ramp and a holdout', () => {
    expect(validateConfig(base())).toEqual({ ok: true, config: base() });
  });

  it.each([
    ['a range past the layer', (c: ConfigDocument) => { exp(c).phases[0]!.allocation['control'] = [[0, 10001]]; }, '/experiments/0/phases/0/allocation/control/0', 'past the layer'],
    ['a reversed range', (c: ConfigDocument) => { exp(c).phases[0]!.allocation['control'] = [[500, 400]]; }, '/experiments/0/phases/0/allocation/control/0', 'empty or reversed'],
    ['unsorted ranges', (c: ConfigDocument) => { exp(c).phases[0]!.allocation['control'] = [[100, 200], [0, 50]]; }, '/experiments/0/phases/0/allocation/control/1', 'overlaps or precedes'],
    ['two variants sharing a slot', (c: ConfigDocument) => { exp(c).phases[0]!.allocation['treatment'] = [[499, 1000]]; }, '/experiments/0/phases/0/allocation/treatment', 'both "control" and "treatment"'],
    ['an undeclared variant', (c: ConfigDocument) => { exp(c).phases[0]!.allocation['purple'] = [[2000, 2100]]; }, '/experiments/0/phases/0/allocation/purple', 'does not declare'],
    ['an experiment overlapping a holdout', (c: ConfigDocument) => { exp(c).phases[1]!.allocation['treatment'] = [[4500, 9100]]; }, '/holdouts/0', 'both hold slots [9000, 9100)'],
    ['two experiments overlapping in a layer', (c: ConfigDocument) => { c.experiments.push({ ...structuredClone(exp(c)), key: 'exp2', phases: [{ id: 'p', startsAt: '2026-03-01T00:00:00Z', allocation: { control: [[8000, 8500]] } }] }); }, '/experiments/1', 'both hold slots [8000, 8500)'],
    ['an unknown layer', (c: ConfigDocument) => { exp(c).layer = 'nope'; }, '/experiments/0/layer', 'not declared'],
    ['duplicate experiment keys', (c: ConfigDocument) => { c.experiments.push(structuredClone(exp(c))); }, '/experiments/1/key', 'duplicate experiment'],
    ['duplicate variant keys', (c: ConfigDocument) => { exp(c).variants.push({ key: 'control' }); }, '/experiments/0/variants/2/key', 'duplicate variant'],
    ['phases out of order', (c: ConfigDocument) => { exp(c).phases[1]!.startsAt = '2026-02-01T00:00:00Z'; }, '/experiments/0/phases/1/startsAt', 'no later than'],
    ['a later phase without a reason', (c: ConfigDocument) => { delete exp(c).phases[1]!.reason; }, '/experiments/0/phases/1/reason', 'must say why'],
    ['excluding a later or unknown phase', (c: ConfigDocument) => { exp(c).phases[1]!.exclude = ['full']; }, '/experiments/0/phases/1/exclude/0', 'not an earlier phase'],
    ['re-randomizing in the first phase', (c: ConfigDocument) => { exp(c).phases[0]!.carryover = 'rerandomize'; }, '/experiments/0/phases/0/carryover', 'nothing to re-randomize'],
    ['an impossible date', (c: ConfigDocument) => { exp(c).phases[0]!.startsAt = '2026-02-30T00:00:00Z'; }, '/experiments/0/phases/0/startsAt', 'not a calendar date'],
    ['endsAt before the start', (c: ConfigDocument) => { exp(c).endsAt = '2026-01-01T00:00:00Z'; }, '/experiments/0/endsAt', 'ends before'],
    ['a semver op with a non-semver value', (c: ConfigDocument) => { exp(c).targeting = { attr: 'appVersion', op: 'semver_gte', value: 'v4' }; }, '/experiments/0/targeting/value', 'SemVer'],
    ['a numeric op with a string value', (c: ConfigDocument) => { exp(c).targeting = { all: [{ attr: 'age', op: 'gt', value: '18' }] }; }, '/experiments/0/targeting/all/0/value', 'finite number'],
    ['a local timestamp without Z', (c: ConfigDocument) => { exp(c).phases[0]!.startsAt = '2026-03-01T00:00:00'; }, '/experiments/0/phases/0/startsAt', 'wrong format'],
    ['an upper-case key', (c: ConfigDocument) => { c.layers[0]!.key = KEY.toUpperCase(); }, '/layers/0/key', 'wrong format'],
    ['an unsupported slot count', (c: ConfigDocument) => { (c.layers[0] as { slots: number }).slots = 1000; }, '/layers/0/slots', ''],
  ])('rejects %s, naming the field and a fix', (_what, mutate, path, fragment) => {
    const issues = issuesOf(mutate);
    const hit = issues.find((i) => i.path === path);
    expect(hit, JSON.stringify(issues, null, 1)).toBeDefined();
    expect(hit!.message).toContain(fragment);
    expect(hit!.fix.length).toBeGreaterThan(10);
  });

  it('gives the schema fix for structural errors', () => {
    const issues = issuesOf((c) => { c.layers[0]!.key = 'xyz'; });
    expect(issues[0]).toMatchObject({ path: '/layers/0/key', fix: expect.stringContaining('sortition keygen') as unknown });
  });
});

describe('parseTimestamp', () => {
  it('parses UTC instants exactly and rejects rolled-over dates', () => {
    expect(parseTimestamp('2026-03-14T12:34:56Z')).toBe(Date.UTC(2026, 2, 14, 12, 34, 56));
    expect(parseTimestamp('2026-03-14T12:34:56.5Z')).toBe(Date.UTC(2026, 2, 14, 12, 34, 56, 500));
    expect(parseTimestamp('2024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29));
    expect(parseTimestamp('2026-02-29T00:00:00Z')).toBeNaN();
    expect(parseTimestamp('2026-03-14T24:00:00Z')).toBeNaN();
    expect(parseTimestamp('2026-03-14 12:00:00Z')).toBeNaN();
  });
});
