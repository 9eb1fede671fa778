// Sample ratio mismatch: do the unique units per arm fit the split that was actually in force?
// Test each phase against its own weights (a reweighted phase has a different expected split),
// never against the nominal design.
import { chiSquareSurvival } from './distributions.js';

export type SrmStatus = 'ok' | 'warn' | 'alert' | 'insufficient-data';

export interface SrmThresholds {
  /** Alert when p < alertBelow; default 0.001. */
  readonly alertBelow?: number;
  /** Warn when p < warnBelow; default 0.01. */
  readonly warnBelow?: number;
}

export interface SrmOptions extends SrmThresholds {
  /** Every arm in force must expect at least this many units; default 8. */
  readonly minimumExpectedPerArm?: number;
}

export interface SrmResult {
  readonly total: number;
  /** total · share per arm. */
  readonly expected: number[];
  /** Σ (observed - expected)² / expected over arms in force. */
  readonly chiSquare: number;
  /** Arms in force - 1. */
  readonly df: number;
  readonly pValue: number;
  readonly status: SrmStatus;
}

export const DEFAULT_SRM_ALERT_BELOW = 0.001;
export const DEFAULT_SRM_WARN_BELOW = 0.01;
export const DEFAULT_SRM_MINIMUM_PER_ARM = 8;

/**
 * Pearson's chi-square goodness-of-fit test of unique units per arm against the expected shares
 * (scipy.stats.chisquare). `weights` are the split in force (any positive scale: [50, 50], [1, 3],
 * [0.2, 0.8]); an arm with weight 0 is not in force and is left out, unless it has units, which is
 * a mismatch by definition (chi-square ∞, p = 0). The minimum is checked on expected counts,
 * total · share ≥ 8 for every arm in force, so that an arm that receives nobody is an alert, not
 * "too little data".
 */
export function srmChiSquare(observed: readonly number[], weights: readonly number[], options: SrmOptions = {}): SrmResult {
  const shares = normalizeWeights(observed, weights);
  const total = observed.reduce((a, b) => a + b, 0);
  const expected = shares.map((share) => total * share);
  let chiSquare = 0;
  let inForce = 0;
  observed.forEach((o, i) => {
    const e = expected[i] as number;
    if ((shares[i] as number) > 0) {
      inForce++;
      if (e > 0) chiSquare += ((o - e) * (o - e)) / e;
    } else if (o > 0) {
      chiSquare = Number.POSITIVE_INFINITY;
    }
  });
  const df = inForce - 1;
  const pValue = chiSquare === Number.POSITIVE_INFINITY ? 0 : df > 0 ? chiSquareSurvival(chiSquare, df) : 1;
  const minimum = options.minimumExpectedPerArm ?? DEFAULT_SRM_MINIMUM_PER_ARM;
  const enough = expected.every((e, i) => (shares[i] as number) === 0 || e >= minimum);
  return {
    total,
    expected,
    chiSquare,
    df,
    pValue,
    status: enough || pValue === 0 ? srmStatus(pValue, options) : 'insufficient-data',
  };
}

/** 'alert' below alertBelow (0.001), 'warn' below warnBelow (0.01), else 'ok'. */
export function srmStatus(pValue: number, thresholds: SrmThresholds = {}): Exclude<SrmStatus, 'insufficient-data'> {
  if (pValue < (thresholds.alertBelow ?? DEFAULT_SRM_ALERT_BELOW)) return 'alert';
  if (pValue < (thresholds.warnBelow ?? DEFAULT_SRM_WARN_BELOW)) return 'warn';
  return 'ok';
}

/** Validates counts and weights and returns the weights scaled to sum to 1. */
export function normalizeWeights(observed: readonly number[], weights: readonly number[]): number[] {
  if (observed.length !== weights.length) {
    throw new RangeError(`${observed.length} observed counts but ${weights.length} weights`);
  }
  if (observed.length < 2) throw new RangeError('a sample ratio test needs at least two arms');
  observed.forEach((o, i) => {
    if (!Number.isInteger(o) || o < 0) throw new RangeError(`observed count ${i} must be a non-negative integer, got ${o}`);
  });
  weights.forEach((w, i) => {
    if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`weight ${i} must be finite and non-negative, got ${w}`);
  });
  const sum = weights.reduce((a, b) => a + b, 0);
  if (!(sum > 0)) throw new RangeError('weights must not all be zero');
  return weights.map((w) => w / sum);
}
