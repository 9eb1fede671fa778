// Adjusted p-values across the metrics of one experiment; each returned array is in input order.
// Reject hypothesis i at level α when adjusted[i] ≤ α.

/**
 * Holm's step-down adjustment (Holm 1979), controlling the family-wise error rate: with the
 * p-values sorted ascending p₍₁₎ ≤ … ≤ p₍ₘ₎, adjusted p₍ᵢ₎ = max_{j ≤ i} min(1, (m - j + 1) p₍ⱼ₎).
 */
export function holm(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = ascendingOrder(pValues);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach((index, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * (pValues[index] as number)));
    adjusted[index] = running;
  });
  return adjusted;
}

/**
 * Benjamini–Hochberg step-up adjustment (Benjamini & Hochberg 1995), controlling the false
 * discovery rate for independent or positively dependent tests: adjusted
 * p₍ᵢ₎ = min_{j ≥ i} min(1, m p₍ⱼ₎ / j) (scipy.stats.false_discovery_control(method='bh')).
 */
export function benjaminiHochberg(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = ascendingOrder(pValues);
  const adjusted = new Array<number>(m);
  let running = 1;
  for (let rank = m - 1; rank >= 0; rank--) {
    const index = order[rank] as number;
    running = Math.min(running, (m * (pValues[index] as number)) / (rank + 1));
    adjusted[index] = running;
  }
  return adjusted;
}

function ascendingOrder(pValues: readonly number[]): number[] {
  pValues.forEach((p, i) => {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`p-value ${i} must be in [0, 1], got ${p}`);
  });
  return pValues.map((_, i) => i).sort((a, b) => (pValues[a] as number) - (pValues[b] as number) || a - b);
}
