// The scipy fixture (src/stats/scipy-reference.json, written by scripts/scipy_reference.py) and the
// comparison every reference test uses: relative error at most 1e-6, or |actual| <= 1e-15 where
// the expected value is exactly 0. Set SORTITION_STATS_REPORT=1 to print, per function, how many
// numbers were compared and the worst absolute and relative errors.
import { readFileSync } from 'node:fs';
import { afterAll, expect } from 'vitest';
import type { CovariateStats, MeanStats, ProportionStats, RatioStats } from '../index.js';

export const RELATIVE_TOLERANCE = 1e-6;
export const ZERO_TOLERANCE = 1e-15;

export interface IntervalRef {
  estimate: number;
  standardError: number;
  lower: number;
  upper: number;
}

export interface ProportionCase {
  name: string;
  input: { control: ProportionStats; treatment: ProportionStats; confidence: number };
  expected: {
    control: { proportion: number; standardError: number };
    treatment: { proportion: number; standardError: number };
    pooledStandardError: number;
    z: number;
    pValue: number;
    pValueChi2Contingency: number;
    difference: IntervalRef;
    relative: IntervalRef | null;
  };
}

export interface WelchCase {
  name: string;
  input: { control: MeanStats; treatment: MeanStats; confidence: number };
  expected: {
    control: { mean: number; variance: number; standardError: number };
    treatment: { mean: number; variance: number; standardError: number };
    t: number;
    df: number;
    pValue: number;
    difference: IntervalRef;
    relative: IntervalRef | null;
    fromStats: { t: number; pValue: number };
  };
  raw?: { control: number[]; treatment: number[] };
}

export interface RatioCase {
  name: string;
  input: { control: RatioStats; treatment: RatioStats; confidence: number };
  expected: {
    control: { ratio: number; variance: number };
    treatment: { ratio: number; variance: number };
    z: number;
    pValue: number;
    difference: IntervalRef;
    relative: IntervalRef | null;
  };
}

export interface CupedCase {
  name: string;
  input: { control: CovariateStats; treatment: CovariateStats; confidence: number };
  expected: {
    theta: number;
    fellBack: boolean;
    control: { mean: number; variance: number; unadjustedMean: number };
    treatment: { mean: number; variance: number; unadjustedMean: number };
    t: number;
    df: number;
    pValue: number;
    difference: IntervalRef;
    relative: IntervalRef | null;
    varianceReduction: number;
    unadjusted: { t: number; pValue: number };
  };
}

export interface MsprtCase {
  name: string;
  input: {
    estimate: number;
    variance: number;
    sampleSize: number;
    options: { plannedSampleSize: number; alpha: number; nullValue: number; tau2?: number; previousPValue?: number };
  };
  expected: { tau2: number; logLikelihoodRatio: number; pValue: number; lower: number; upper: number };
}

export interface MultipleTestingCase {
  name: string;
  pValues: number[];
  holm: number[];
  benjaminiHochberg: number[];
}

export interface CappingCase {
  name: string;
  values: number[];
  lowerQuantile: number | null;
  upperQuantile: number | null;
  expected: {
    lower: number | null;
    upper: number | null;
    cappedBelow: number;
    cappedAbove: number;
    cappedSum: number;
    quantiles: Record<string, number>;
  };
}

export interface SrmCase {
  name: string;
  observed: number[];
  weights: number[];
  expected: { expected: number[]; chiSquare: number; df: number; pValue: number; status: string };
}

export interface SequentialSrmCase {
  name: string;
  observed: number[];
  weights: number[];
  concentration: number;
  expected: { logBayesFactor: number; pValue: number; status: string };
}

export interface UdacityCounts {
  control: ProportionStats;
  treatment: ProportionStats;
}

export interface UdacityReference extends UdacityCounts {
  rows: number;
  users: number;
  usersWithSeveralRows: number;
  mismatchedRows: number;
  usersWithMismatchedRows: number;
  crossoverUsers: number;
  crossoverUsersKept: { control: number; treatment: number };
  duplicateRowsAfterMismatchDrop: number;
  cleanRows: number;
  expected: ProportionCase['expected'];
  srm: SrmCase['expected'];
  sequentialSrm: SequentialSrmCase['expected'];
  withoutCrossover: UdacityCounts & { expected: ProportionCase['expected'] };
}

export interface Reference {
  versions: { scipy: string; numpy: string; python: string };
  proportions: ProportionCase[];
  welch: WelchCase[];
  ratios: RatioCase[];
  cuped: CupedCase[];
  msprt: MsprtCase[];
  multipleTesting: MultipleTestingCase[];
  capping: CappingCase[];
  srm: SrmCase[];
  sequentialSrm: SequentialSrmCase[];
  udacity: UdacityReference;
}

export const reference = JSON.parse(
  readFileSync(new URL('../stats/scipy-reference.json', import.meta.url), 'utf8'),
) as Reference;

interface Tally {
  comparisons: number;
  worstAbsolute: number;
  worstRelative: number;
}

const tallies = new Map<string, Tally>();

/** Asserts actual ≈ expected (relative 1e-6; absolute 1e-15 when expected is 0) and records the error under fn. */
export function expectClose(fn: string, label: string, actual: number, expected: number): void {
  const absolute = Math.abs(actual - expected);
  const relative = expected === 0 ? Number.NaN : absolute / Math.abs(expected);
  const ok = expected === 0 ? Math.abs(actual) <= ZERO_TOLERANCE : relative <= RELATIVE_TOLERANCE;
  const tally = tallies.get(fn) ?? { comparisons: 0, worstAbsolute: 0, worstRelative: 0 };
  tally.comparisons++;
  tally.worstAbsolute = Math.max(tally.worstAbsolute, absolute);
  if (!Number.isNaN(relative)) tally.worstRelative = Math.max(tally.worstRelative, relative);
  tallies.set(fn, tally);
  if (!ok) {
    expect.fail(`${fn} ${label}: got ${actual}, scipy reference ${expected} (absolute error ${absolute}, relative ${relative})`);
  }
}

/** Compares an interval field by field. */
export function expectIntervalClose(
  fn: string,
  label: string,
  actual: { estimate: number; standardError: number; lower: number; upper: number } | null,
  expected: IntervalRef | null,
): void {
  if (expected === null || actual === null) {
    expect(actual, `${fn} ${label}`).toBe(expected);
    return;
  }
  for (const key of ['estimate', 'standardError', 'lower', 'upper'] as const) {
    expectClose(fn, `${label}.${key}`, actual[key], expected[key]);
  }
}

afterAll(() => {
  if (process.env['SORTITION_STATS_REPORT'] === undefined || tallies.size === 0) return;
  const lines = [...tallies].map(
    ([fn, t]) => `${fn.padEnd(28)} ${String(t.comparisons).padStart(5)}  worst abs ${t.worstAbsolute.toExponential(2)}  worst rel ${t.worstRelative.toExponential(2)}`,
  );
  console.log(`scipy reference comparisons\n${lines.join('\n')}`);
});
