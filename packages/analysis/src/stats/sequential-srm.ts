// A sequential sample ratio test usable while the experiment runs (Lindon & Malek, "Anytime-valid
// inference for multinomial count data", NeurIPS 2022).
//
// Under H₀ each unit lands in arm i with probability θ₀ᵢ (the split in force). The alternative
// mixes over θ ~ Dirichlet(α) with α = k θ₀ (centred on the null; k the concentration). For counts
// x with n = Σ xᵢ the Bayes factor of the sequence of arrivals is
//
//   BF = [Γ(Σα) / Γ(Σα + n) · Πᵢ Γ(αᵢ + xᵢ) / Γ(αᵢ)] / Πᵢ θ₀ᵢ^xᵢ,
//
// the Dirichlet-multinomial over the multinomial likelihood (the multinomial coefficient cancels,
// so only the counts matter, not the order of arrival). BF is a nonnegative martingale under H₀
// with initial value 1, so P(sup BF ≥ 1/α) ≤ α (Ville) and p_n = min(p_{n-1}, 1/BF_n) is an
// always-valid p-value: it may be checked after every unit and acted on whenever it drops below
// the threshold. A reweighting starts a new test: the martingale is per phase.
import { logGamma } from './distributions.js';
import { normalizeWeights, srmStatus, type SrmStatus, type SrmThresholds } from './srm.js';

export interface SequentialSrmOptions extends SrmThresholds {
  /** k in α = k θ₀; default 100 (the default of Lindon's savvi package). */
  readonly concentration?: number;
  /** The always-valid p-value at the previous look; the new one never exceeds it. */
  readonly previousPValue?: number;
}

export interface SequentialSrmResult {
  readonly total: number;
  /** ln BF (∞ when an arm with weight 0 has units). */
  readonly logBayesFactor: number;
  /** min(previousPValue, 1, 1/BF). */
  readonly pValue: number;
  readonly status: Exclude<SrmStatus, 'insufficient-data'>;
}

export const DEFAULT_SEQUENTIAL_SRM_CONCENTRATION = 100;

export function sequentialSrm(
  observed: readonly number[],
  weights: readonly number[],
  options: SequentialSrmOptions = {},
): SequentialSrmResult {
  const shares = normalizeWeights(observed, weights);
  const k = options.concentration ?? DEFAULT_SEQUENTIAL_SRM_CONCENTRATION;
  if (!(k > 0) || !Number.isFinite(k)) throw new RangeError(`concentration must be positive, got ${k}`);
  const total = observed.reduce((a, b) => a + b, 0);
  let logBayesFactor = 0;
  let alphaSum = 0;
  observed.forEach((x, i) => {
    const share = shares[i] as number;
    if (share === 0) {
      if (x > 0) logBayesFactor = Number.POSITIVE_INFINITY;
      return;
    }
    const alpha = k * share;
    alphaSum += alpha;
    logBayesFactor += logGamma(alpha + x) - logGamma(alpha) - x * Math.log(share);
  });
  if (logBayesFactor !== Number.POSITIVE_INFINITY) {
    logBayesFactor += logGamma(alphaSum) - logGamma(alphaSum + total);
  }
  const pValue = Math.min(options.previousPValue ?? 1, 1, Math.exp(-logBayesFactor));
  return { total, logBayesFactor, pValue, status: srmStatus(pValue, options) };
}
