import { compileConfig, countSlots, plan, type ConfigDocument, type SlotRange } from '@sortition/core';
import { describe, expect, it } from 'vitest';
import { EditError, maxCoverage, proposeAllocation, proposeExperiment, startTime } from './edit.js';

const NOW = Date.parse('2026-04-15T00:00:00Z');
const KEY = (c: string): string => c.repeat(64);

/** A checkout layer with a 5% holdout and a canary → partitioned full ramp, and a pricing layer. */
const CONFIG = {
  schema: 'sortition/config/v1',
  version: 3,
  layers: [
    { id: 'checkout', algorithm: 'v1', slots: 10000, key: KEY('a'), unit: 'userId', normalization: 'nfc' },
    { id: 'pricing', algorithm: 'v1', slots: 100000, key: KEY('b'), unit: 'userId', normalization: 'nfc' },
  ],
  holdouts: [{ id: 'longterm', layer: 'checkout', scope: 'layer', ranges: [[9500, 10000]] }],
  experiments: [
    {
      key: 'checkout_v2',
      layer: 'checkout',
      variants: [{ key: 'control' }, { key: 'treatment' }],
      phases: [
        { id: 'canary', startsAt: '2026-03-01T00:00:00Z', allocation: { control: [[0, 500]], treatment: [[500, 1000]] } },
        { id: 'full', startsAt: '2026-03-08T00:00:00Z', reason: 'ramp', exclude: ['canary'], allocation: { control: [[1000, 3000]], treatment: [[3000, 5000]] } },
      ],
    },
    {
      key: 'price_anchor',
      layer: 'pricing',
      variants: [{ key: 'monthly_first' }, { key: 'annual_first' }],
      phases: [{ id: 'main', startsAt: '2026-04-01T00:00:00Z', allocation: { monthly_first: [[0, 25000]], annual_first: [[25000, 50000]] } }],
    },
  ],
} as unknown as ConfigDocument;

const slots = (doc: ConfigDocument, exp: string, phase: string): Record<string, number> =>
  Object.fromEntries(Object.entries(doc.experiments.find((e) => e.key === exp)!.phases.find((p) => p.id === phase)!.allocation).map(([v, r]) => [v, countSlots(r as SlotRange[])]));

describe('proposeAllocation', () => {
  it('ramps the phase in force into free slots only: nobody moves, the planner calls it safe', () => {
    const { doc, moved, entered } = proposeAllocation(CONFIG, { experiment: 'checkout_v2', coverage: 8000, weights: { control: 1, treatment: 1 }, newVariants: [], newPhase: null }, NOW);
    expect(doc.version).toBe(4);
    expect(slots(doc, 'checkout_v2', 'full')).toEqual({ control: 4000, treatment: 4000 });
    expect(moved).toBe(0);
    expect(entered).toBe(4000);
    // The canary's slots (excluded by the full phase) and the holdout stay out.
    const full = doc.experiments[0]!.phases[1]!.allocation;
    for (const ranges of Object.values(full)) for (const [a, b] of ranges) expect(a >= 1000 && b <= 9500).toBe(true);
    expect(plan(CONFIG, doc, { now: NOW }).verdict).toBe('safe');
    expect(CONFIG.version).toBe(3);
  });

  it('reweights with the fewest moves, which the planner refuses while the phase may hold exposed units', () => {
    const { doc, moved } = proposeAllocation(CONFIG, { experiment: 'price_anchor', coverage: 50000, weights: { monthly_first: 40, annual_first: 60 }, newVariants: [], newPhase: null }, NOW);
    expect(slots(doc, 'price_anchor', 'main')).toEqual({ monthly_first: 20000, annual_first: 30000 });
    expect(moved).toBe(5000);
    expect(plan(CONFIG, doc, { now: NOW }).verdict).toBe('refused');
  });

  it('declares the same reweight as a re-randomizing phase, which the planner accepts', () => {
    const newPhase = { id: 'reweighted', startsAt: '2026-04-16T00:00:00Z', reason: 'more annual-first data', carryover: 'rerandomize' as const, exclude: [] };
    const { doc } = proposeAllocation(CONFIG, { experiment: 'price_anchor', coverage: 50000, weights: { monthly_first: 40, annual_first: 60 }, newVariants: [], newPhase }, NOW);
    const phases = doc.experiments[1]!.phases;
    expect(phases.map((p) => p.id)).toEqual(['main', 'reweighted']);
    expect(phases[1]).toMatchObject({ carryover: 'rerandomize', reason: 'more annual-first data' });
    expect(slots(doc, 'price_anchor', 'main')).toEqual({ monthly_first: 25000, annual_first: 25000 });
    const report = plan(CONFIG, doc, { now: NOW });
    expect(report.verdict).toBe('declared');
    expect(compileConfig(doc).ok).toBe(true);
  });

  it('adds a variant with its weight', () => {
    const { doc } = proposeAllocation(CONFIG, { experiment: 'price_anchor', coverage: 60000, weights: { monthly_first: 25000, annual_first: 25000, quarterly_first: 10000 }, newVariants: [{ key: 'quarterly_first' }], newPhase: null }, NOW);
    expect(doc.experiments[1]!.variants.map((v) => v.key)).toEqual(['monthly_first', 'annual_first', 'quarterly_first']);
    expect(slots(doc, 'price_anchor', 'main')).toEqual({ monthly_first: 25000, annual_first: 25000, quarterly_first: 10000 });
  });

  it('adds a variant to a running experiment through a scheduled phase; the running phase gives it no slots, so the planner accepts it', () => {
    const newPhase = { id: 'three_way', startsAt: '2026-04-16T00:00:00Z', reason: 'add quarterly', carryover: 'rerandomize' as const, exclude: [] };
    const { doc } = proposeAllocation(CONFIG, { experiment: 'price_anchor', coverage: 60000, weights: { monthly_first: 1, annual_first: 1, quarterly_first: 1 }, newVariants: [{ key: 'quarterly_first' }], newPhase }, NOW);
    expect(slots(doc, 'price_anchor', 'main')['quarterly_first'] ?? 0).toBe(0);
    const report = plan(CONFIG, doc, { now: NOW });
    expect(report.experiments.find((e) => e.experiment === 'price_anchor')!.reasons).toEqual([]);
    expect(report.verdict).toBe('declared');
    // The same variant given slots in the running phase instead is refused.
    const inRunning = proposeAllocation(CONFIG, { experiment: 'price_anchor', coverage: 60000, weights: { monthly_first: 25000, annual_first: 25000, quarterly_first: 10000 }, newVariants: [{ key: 'quarterly_first' }], newPhase: null }, NOW);
    expect(plan(CONFIG, inRunning.doc, { now: NOW }).verdict).toBe('refused');
  });

  it('names the field and the fix for requests it cannot turn into a config', () => {
    const attempt = (change: Partial<Parameters<typeof proposeAllocation>[1]>): EditError => {
      try {
        proposeAllocation(CONFIG, { experiment: 'checkout_v2', coverage: 4000, weights: { control: 1, treatment: 1 }, newVariants: [], newPhase: null, ...change }, NOW);
      } catch (error) {
        if (error instanceof EditError) return error;
        throw error;
      }
      throw new Error('expected an EditError');
    };
    expect(attempt({ coverage: 9000 })).toMatchObject({ field: 'coverage', message: expect.stringContaining('8500 of the layer') as unknown });
    expect(attempt({ weights: { control: 0, treatment: 0 } }).field).toBe('weight-control');
    expect(attempt({ weights: { control: -1, treatment: 1 } }).field).toBe('weight-control');
    expect(attempt({ newVariants: [{ key: 'Bad Key' }] }).field).toBe('new-variant');
    const phase = { id: 'again', startsAt: '2026-04-01T00:00:00Z', reason: 'x', carryover: 'sticky' as const, exclude: [] };
    expect(attempt({ newPhase: phase })).toMatchObject({ field: 'phase-start', message: expect.stringContaining('past') as unknown });
    expect(attempt({ newPhase: { ...phase, startsAt: '2026-05-01T00:00:00Z', reason: ' ' } }).field).toBe('reason');
    expect(attempt({ newPhase: { ...phase, id: 'full', startsAt: '2026-05-01T00:00:00Z' } }).field).toBe('phase-id');
  });

  it('knows how many slots an experiment may hold', () => {
    expect(maxCoverage(CONFIG, 'checkout_v2', ['canary'])).toBe(8500);
    expect(maxCoverage(CONFIG, 'checkout_v2', [])).toBe(9500);
    expect(maxCoverage(CONFIG, 'price_anchor', [])).toBe(100000);
  });
});

describe('proposeExperiment', () => {
  it('places a new experiment in slots nobody holds; the planner calls it safe', () => {
    const { doc } = proposeExperiment(CONFIG, { key: 'one_click', layer: 'checkout', description: ' Buy now ', variants: [{ key: 'control', weight: 50 }, { key: 'one_click', weight: 50 }], coverage: 2000, startsAt: '2026-04-15T00:00:00Z', targeting: undefined });
    const exp = doc.experiments.find((e) => e.key === 'one_click')!;
    expect(exp).toMatchObject({ layer: 'checkout', description: 'Buy now', variants: [{ key: 'control' }, { key: 'one_click' }] });
    expect(exp.phases[0]!.allocation).toEqual({ control: [[5000, 6000]], one_click: [[6000, 7000]] });
    expect(plan(CONFIG, doc, { now: NOW })).toMatchObject({ verdict: 'safe', allowed: true });
  });

  it('refuses keys that exist or do not match the pattern, and more traffic than is free', () => {
    const base = { layer: 'checkout', description: '', variants: [{ key: 'a', weight: 1 }], coverage: 100, startsAt: '2026-04-15T00:00:00Z', targeting: undefined };
    expect(() => proposeExperiment(CONFIG, { ...base, key: 'checkout_v2' })).toThrow(/already exists/);
    expect(() => proposeExperiment(CONFIG, { ...base, key: 'Nope!' })).toThrow(EditError);
    expect(() => proposeExperiment(CONFIG, { ...base, key: 'x', coverage: 5000 })).toThrow(/only 4500 of layer checkout/);
    expect(() => proposeExperiment(CONFIG, { ...base, key: 'x', variants: [{ key: 'a', weight: 1 }, { key: 'a', weight: 1 }] })).toThrow(/listed twice/);
  });
});

describe('small helpers', () => {
  it('picks start times on whole minutes', () => {
    expect(startTime(Date.parse('2026-04-15T10:00:30.500Z'), 60_000)).toBe('2026-04-15T10:02:00Z');
  });
});
