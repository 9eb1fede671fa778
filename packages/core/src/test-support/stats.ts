/**
 * Statistical helpers for tests: distribution functions accurate enough to set thresholds at tail
 * probabilities of 1e-6, test statistics (chi-square goodness of fit and independence, Pearson
 * correlation, binomial tails), a seeded PRNG and generators of realistic unit ids.
 *
 * Test-only code: this folder is excluded from the core build and from core's purity lint rules.
 * Nothing here uses Math.random; every generator takes an explicit seed.
 */

// ---------------------------------------------------------------------------------------------
// Special functions
// ---------------------------------------------------------------------------------------------

const LANCZOS_G = 7;
const LANCZOS_COEFFICIENTS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
] as const;
const HALF_LOG_TWO_PI = 0.5 * Math.log(2 * Math.PI);

/**
 * ln Γ(x) for x > 0. Lanczos approximation (g = 7, 9 terms) below 10, relative error ~1e-15; the
 * Stirling series with terms to x^-9 from 10 on, whose truncation error is below 1e-13 there and
 * below 1e-30 for the large arguments (x ≥ 1e3) the tail probabilities below need.
 */
export function lnGamma(x: number): number {
  if (!(x > 0)) throw new RangeError(`lnGamma: x must be > 0, got ${x}`);
  if (x < 10) {
    if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
    const y = x - 1;
    let a = LANCZOS_COEFFICIENTS[0];
    for (let i = 1; i < LANCZOS_COEFFICIENTS.length; i++) a += LANCZOS_COEFFICIENTS[i]! / (y + i);
    const t = y + LANCZOS_G + 0.5;
    return HALF_LOG_TWO_PI + (y + 0.5) * Math.log(t) - t + Math.log(a);
  }
  const inv = 1 / x;
  const inv2 = inv * inv;
  const series = inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 * (1 / 1680 - inv2 * (1 / 1188)))));
  return (x - 0.5) * Math.log(x) - x + HALF_LOG_TWO_PI + series;
}

const MAX_ITERATIONS = 10_000_000;
const EPSILON = 1e-16;
const TINY = 1e-300;

/** ln of x^a e^-x / Γ(a), the common prefactor of both incomplete-gamma expansions. */
function gammaPrefactorLog(a: number, x: number): number {
  return a * Math.log(x) - x - lnGamma(a);
}

/** P(a, x) by its power series; converges for all x, quickly for x < a + 1. */
function gammaPSeries(a: number, x: number): number {
  let term = 1 / a;
  let sum = term;
  for (let n = 1; n < MAX_ITERATIONS; n++) {
    term *= x / (a + n);
    sum += term;
    if (term < sum * EPSILON) return sum * Math.exp(gammaPrefactorLog(a, x));
  }
  throw new Error(`gammaP series did not converge for a=${a}, x=${x}`);
}

/** Q(a, x) by its continued fraction (modified Lentz); converges quickly for x > a + 1. */
function gammaQContinuedFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITERATIONS; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPSILON) return h * Math.exp(gammaPrefactorLog(a, x));
  }
  throw new Error(`gammaQ continued fraction did not converge for a=${a}, x=${x}`);
}

/** Regularized lower incomplete gamma function P(a, x) = γ(a, x) / Γ(a). */
export function regularizedGammaP(a: number, x: number): number {
  if (x <= 0) return 0;
  return x < a + 1 ? gammaPSeries(a, x) : 1 - gammaQContinuedFraction(a, x);
}

/** Regularized upper incomplete gamma function Q(a, x) = 1 − P(a, x), accurate deep in the tail. */
export function regularizedGammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  return x < a + 1 ? 1 - gammaPSeries(a, x) : gammaQContinuedFraction(a, x);
}

// ---------------------------------------------------------------------------------------------
// Distributions and critical values
// ---------------------------------------------------------------------------------------------

/** P(X ≥ x) for X ~ chi-square(df). Exact up to floating point (relative error ~1e-10 at df = 1e5). */
export function chiSquareUpperTail(x: number, df: number): number {
  return regularizedGammaQ(df / 2, x / 2);
}

/** P(X ≤ x) for X ~ chi-square(df). */
export function chiSquareLowerTail(x: number, df: number): number {
  return regularizedGammaP(df / 2, x / 2);
}

/** P(Z ≥ z) for a standard normal Z. Uses Z² ~ chi-square(1), i.e. P(|Z| ≥ z) = Q(1/2, z²/2). */
export function normalUpperTail(z: number): number {
  const twoSided = regularizedGammaQ(0.5, (z * z) / 2);
  return z >= 0 ? twoSided / 2 : 1 - twoSided / 2;
}

/** Solves f(x) = target for a monotone f on [lo, hi] by bisection to full double precision. */
function bisect(f: (x: number) => number, target: number, lo: number, hi: number, increasing: boolean): number {
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (mid === lo || mid === hi) break;
    const above = f(mid) > target;
    if (above === increasing) hi = mid;
    else lo = mid;
  }
  return (lo + hi) / 2;
}

/** z such that P(Z ≥ z) = p, for 0 < p < 1/2. */
export function normalUpperQuantile(p: number): number {
  if (!(p > 0 && p < 0.5)) throw new RangeError(`normalUpperQuantile: p must be in (0, 0.5), got ${p}`);
  return bisect(normalUpperTail, p, 0, 40, false);
}

/** z such that P(|Z| ≥ z) = p: the bound for two-sided normal (and large-sample binomial) checks. */
export function normalTwoSidedQuantile(p: number): number {
  return normalUpperQuantile(p / 2);
}

/**
 * Wilson-Hilferty: (X/df)^(1/3) is approximately normal with mean 1 − 2/(9 df) and variance
 * 2/(9 df). The quantile it gives is very accurate for large df. At a nominal tail probability of
 * 1e-6, the exact tail probability of the Wilson-Hilferty quantile (incomplete gamma function) is
 *   df = 99:     9.33e-7 upper, 8.94e-7 lower  (quantile within 0.3 of the exact 180.79 / 45.83)
 *   df = 9 801:  9.991e-7 both tails           (within 0.03 of the exact quantile)
 *   df = 9 999:  9.991e-7 both tails           (within 0.03)
 *   df = 99 999: 9.9992e-7 both tails          (within 0.01)
 * so at every df used here it errs on the conservative side: a false rejection is below 1e-6.
 * derivation.stats.test.ts re-checks these numbers.
 */
export function chiSquareQuantileWilsonHilferty(df: number, tailProbability: number, tail: 'upper' | 'lower'): number {
  const z = normalUpperQuantile(tailProbability);
  const v = 2 / (9 * df);
  const base = 1 - v + (tail === 'upper' ? z : -z) * Math.sqrt(v);
  return df * base * base * base;
}

/** The exact chi-square quantile with the given upper or lower tail probability (bisection). */
export function chiSquareQuantileExact(df: number, tailProbability: number, tail: 'upper' | 'lower'): number {
  const spread = 60 * Math.sqrt(2 * df) + 200;
  return tail === 'upper'
    ? bisect((x) => chiSquareUpperTail(x, df), tailProbability, df, df + spread, false)
    : bisect((x) => chiSquareLowerTail(x, df), tailProbability, 0, df, true);
}

/** ln of the Binomial(n, p) probability mass at k. */
export function binomialLogPmf(k: number, n: number, p: number): number {
  return lnGamma(n + 1) - lnGamma(k + 1) - lnGamma(n - k + 1) + k * Math.log(p) + (n - k) * Math.log1p(-p);
}

/** P(X ≤ k) for X ~ Binomial(n, p), summed exactly (meant for k not far above the mean). */
export function binomialLowerTail(k: number, n: number, p: number): number {
  let sum = 0;
  for (let j = Math.min(k, n); j >= 0; j--) {
    const term = Math.exp(binomialLogPmf(j, n, p));
    sum += term;
    if (j < n * p && term < sum * 1e-17) break;
  }
  return Math.min(1, sum);
}

/** P(X ≥ k) for X ~ Binomial(n, p), summed exactly (meant for k not far below the mean). */
export function binomialUpperTail(k: number, n: number, p: number): number {
  let sum = 0;
  for (let j = Math.max(k, 0); j <= n; j++) {
    const term = Math.exp(binomialLogPmf(j, n, p));
    sum += term;
    if (j > n * p && term < sum * 1e-17) break;
  }
  return Math.min(1, sum);
}

// ---------------------------------------------------------------------------------------------
// Test statistics
// ---------------------------------------------------------------------------------------------

export interface ChiSquareResult {
  /** Pearson's X². */
  readonly statistic: number;
  readonly df: number;
  /** Exact P(X ≥ statistic) under H0 (chi-square approximation to the sampling distribution). */
  readonly pUpper: number;
  /** Exact P(X ≤ statistic) under H0. */
  readonly pLower: number;
  /** Wilson-Hilferty critical values with tail probability `alpha` each. */
  readonly upperCritical: number;
  readonly lowerCritical: number;
  /** statistic > upperCritical: the counts deviate more than chance allows. */
  readonly tooLarge: boolean;
  /** statistic < lowerCritical: the counts are more even than chance allows (a non-random map). */
  readonly tooSmall: boolean;
}

function chiSquareResult(statistic: number, df: number, alpha: number): ChiSquareResult {
  const upperCritical = chiSquareQuantileWilsonHilferty(df, alpha, 'upper');
  const lowerCritical = chiSquareQuantileWilsonHilferty(df, alpha, 'lower');
  return {
    statistic,
    df,
    pUpper: chiSquareUpperTail(statistic, df),
    pLower: chiSquareLowerTail(statistic, df),
    upperCritical,
    lowerCritical,
    tooLarge: statistic > upperCritical,
    tooSmall: statistic < lowerCritical,
  };
}

/** Chi-square goodness of fit of `counts` against the uniform distribution over its cells. */
export function chiSquareUniformity(counts: ArrayLike<number>, alpha: number): ChiSquareResult {
  const k = counts.length;
  let total = 0;
  for (let i = 0; i < k; i++) total += counts[i]!;
  const expected = total / k;
  let statistic = 0;
  for (let i = 0; i < k; i++) {
    const d = counts[i]! - expected;
    statistic += d * d;
  }
  return chiSquareResult(statistic / expected, k - 1, alpha);
}

/**
 * Chi-square test of independence for a rows × cols contingency table (row-major), with expected
 * counts from the observed margins and (rows − 1)(cols − 1) degrees of freedom.
 */
export function chiSquareIndependence(table: ArrayLike<number>, rows: number, cols: number, alpha: number): ChiSquareResult {
  if (table.length !== rows * cols) throw new RangeError('table size does not match rows × cols');
  const rowSums = new Float64Array(rows);
  const colSums = new Float64Array(cols);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = table[r * cols + c]!;
      rowSums[r]! += v;
      colSums[c]! += v;
      total += v;
    }
  }
  let statistic = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const expected = (rowSums[r]! * colSums[c]!) / total;
      const d = table[r * cols + c]! - expected;
      statistic += (d * d) / expected;
    }
  }
  return chiSquareResult(statistic, (rows - 1) * (cols - 1), alpha);
}

/** Count of each slot value 0..slots-1. */
export function slotCounts(values: ArrayLike<number>, slots: number): Uint32Array {
  const counts = new Uint32Array(slots);
  for (let i = 0; i < values.length; i++) counts[values[i]!]!++;
  return counts;
}

/** Counts per slot range [j·N/buckets, (j+1)·N/buckets): the ranges experiments allocate. */
export function rangeCounts(values: ArrayLike<number>, slots: number, buckets: number): Uint32Array {
  const width = slots / buckets;
  if (!Number.isInteger(width)) throw new RangeError(`${buckets} buckets do not divide ${slots} slots`);
  const counts = new Uint32Array(buckets);
  for (let i = 0; i < values.length; i++) counts[Math.floor(values[i]! / width)]!++;
  return counts;
}

/** buckets × buckets table of (range of a, range of b), row-major. */
export function rangeContingency(a: ArrayLike<number>, b: ArrayLike<number>, slots: number, buckets: number): Uint32Array {
  if (a.length !== b.length) throw new RangeError('samples differ in length');
  const width = slots / buckets;
  if (!Number.isInteger(width)) throw new RangeError(`${buckets} buckets do not divide ${slots} slots`);
  const table = new Uint32Array(buckets * buckets);
  for (let i = 0; i < a.length; i++) table[Math.floor(a[i]! / width) * buckets + Math.floor(b[i]! / width)]!++;
  return table;
}

/** Pearson's correlation coefficient. Under independence √n·r is approximately standard normal. */
export function pearsonCorrelation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (b.length !== n) throw new RangeError('samples differ in length');
  let meanA = 0;
  let meanB = 0;
  for (let i = 0; i < n; i++) {
    meanA += a[i]!;
    meanB += b[i]!;
  }
  meanA /= n;
  meanB /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - meanA;
    const db = b[i]! - meanB;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return sab / Math.sqrt(saa * sbb);
}

// ---------------------------------------------------------------------------------------------
// Seeded PRNG and id generators
// ---------------------------------------------------------------------------------------------

const MASK_64 = (1n << 64n) - 1n;

/** SplitMix64 (Steele, Lea, Flood 2014), used only to expand a seed into generator state. */
export function splitMix64(seed: bigint): () => bigint {
  let state = BigInt.asUintN(64, seed);
  return () => {
    state = (state + 0x9e3779b97f4a7c15n) & MASK_64;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK_64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK_64;
    return z ^ (z >> 31n);
  };
}

/** xoshiro128** 1.1 (Blackman and Vigna): a 32-bit generator with 128 bits of state. */
export class Xoshiro128 {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(s0: number, s1: number, s2: number, s3: number) {
    if ((s0 | s1 | s2 | s3) === 0) throw new RangeError('xoshiro128** state must not be all zero');
    this.s0 = s0 >>> 0;
    this.s1 = s1 >>> 0;
    this.s2 = s2 >>> 0;
    this.s3 = s3 >>> 0;
  }

  /** State from two SplitMix64 outputs of `seed` (low word first), as the authors recommend. */
  static fromSeed(seed: number | bigint): Xoshiro128 {
    const next = splitMix64(BigInt(seed));
    const a = next();
    const b = next();
    return new Xoshiro128(Number(a & 0xffffffffn), Number(a >> 32n), Number(b & 0xffffffffn), Number(b >> 32n));
  }

  /** Next uniform integer in [0, 2^32). */
  nextUint32(): number {
    const s1 = this.s1;
    const times5 = Math.imul(s1, 5);
    const result = Math.imul((times5 << 7) | (times5 >>> 25), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 = s1 ^ this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return result;
  }

  /** Uniform integer in [0, bound), without modulo bias (rejection sampling). */
  nextInt(bound: number): number {
    if (!Number.isInteger(bound) || bound < 1 || bound > 2 ** 32) throw new RangeError(`bad bound ${bound}`);
    const limit = 2 ** 32 - (2 ** 32 % bound);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % bound;
    }
  }

  pick<T>(items: readonly T[]): T {
    return items[this.nextInt(items.length)]!;
  }
}

/** "user_1" .. "user_<count>", the ids of a typical auto-increment table. */
export function sequentialUserIds(count: number): string[] {
  const ids = new Array<string>(count);
  for (let i = 0; i < count; i++) ids[i] = `user_${i + 1}`;
  return ids;
}

const FIRST_NAMES = [
  'james', 'mary', 'john', 'patricia', 'robert', 'jennifer', 'michael', 'linda', 'william', 'elizabeth',
  'david', 'barbara', 'richard', 'susan', 'joseph', 'jessica', 'thomas', 'sarah', 'charles', 'karen',
  'maria', 'jose', 'anna', 'li', 'wei', 'fatima', 'mohammed', 'olga', 'ivan', 'yuki', 'hiroshi', 'priya',
  'arjun', 'chloe', 'lucas', 'emma', 'noah', 'sofia', 'mateo', 'lea', 'jan', 'eva', 'piotr', 'agnieszka',
  'lars', 'ingrid', 'kwame', 'amara', 'chen', 'mei',
] as const;
const LAST_NAMES = [
  'smith', 'johnson', 'williams', 'brown', 'jones', 'garcia', 'miller', 'davis', 'rodriguez', 'martinez',
  'hernandez', 'lopez', 'gonzalez', 'wilson', 'anderson', 'thomas', 'taylor', 'moore', 'jackson', 'martin',
  'lee', 'wang', 'zhang', 'kumar', 'singh', 'nguyen', 'kim', 'park', 'mueller', 'schmidt', 'schneider',
  'novak', 'kowalski', 'ivanov', 'rossi', 'russo', 'dubois', 'moreau', 'silva', 'santos', 'tanaka',
  'suzuki', 'sato', 'okafor', 'mensah', 'haddad', 'cohen', 'larsen', 'nielsen', 'oconnor',
] as const;
const DOMAINS = [
  'gmail.com', 'gmail.com', 'gmail.com', 'gmail.com', 'yahoo.com', 'yahoo.com', 'outlook.com', 'hotmail.com',
  'icloud.com', 'proton.me', 'gmx.de', 'web.de', 'mail.ru', 'qq.com', 'example.org', 'acme-corp.com',
  'university.edu', 'orange.fr', 'libero.it', 'yandex.ru',
] as const;
const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyz0123456789';

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function emailLike(rng: Xoshiro128): string {
  const first = rng.pick(FIRST_NAMES);
  const last = rng.pick(LAST_NAMES);
  const domain = rng.pick(DOMAINS);
  switch (rng.nextInt(7)) {
    case 0:
      return `${first}.${last}@${domain}`;
    case 1:
      return `${first}.${last}${1 + rng.nextInt(9999)}@${domain}`;
    case 2:
      return `${first.charAt(0)}${last}${rng.nextInt(100)}@${domain}`;
    case 3:
      return `${first}_${last}${1950 + rng.nextInt(60)}@${domain}`;
    case 4:
      return `${first}${1 + rng.nextInt(99_999)}@${domain}`;
    case 5: // Mixed case, as typed by users into systems that do not lower-case e-mail addresses.
      return `${capitalise(first)}.${capitalise(last)}${rng.nextInt(1000)}@${domain}`;
    default: {
      let local = '';
      const length = 6 + rng.nextInt(7);
      for (let i = 0; i < length; i++) local += ALPHANUMERIC.charAt(rng.nextInt(ALPHANUMERIC.length));
      return `${local}@${domain}`;
    }
  }
}

/**
 * `count` distinct e-mail-like ids from a seeded generator. Distinct, because a real unit id names
 * one unit: repeated ids would land in the same slot and inflate the chi-square statistic.
 */
export function emailLikeIds(count: number, seed: number): string[] {
  const rng = Xoshiro128.fromSeed(seed);
  const seen = new Set<string>();
  const ids: string[] = [];
  while (ids.length < count) {
    const id = emailLike(rng);
    if (!seen.has(id)) {
      seen.add(id);
      ids.push(id);
    }
  }
  return ids;
}

const HEX4 = Array.from({ length: 65_536 }, (_, i) => i.toString(16).padStart(4, '0'));

/** One RFC 9562 version-4 UUID in lower-case 8-4-4-4-12 form, from 128 generator bits. */
export function uuidV4(rng: Xoshiro128): string {
  const w0 = rng.nextUint32();
  const w1 = rng.nextUint32();
  const w2 = rng.nextUint32();
  const w3 = rng.nextUint32();
  return (
    HEX4[w0 >>> 16]! + HEX4[w0 & 0xffff]! + '-' +
    HEX4[w1 >>> 16]! + '-' +
    HEX4[(w1 & 0x0fff) | 0x4000]! + '-' + // version 4: high nibble of byte 6
    HEX4[((w2 >>> 16) & 0x3fff) | 0x8000]! + '-' + // variant 0b10: top bits of byte 8
    HEX4[w2 & 0xffff]! + HEX4[w3 >>> 16]! + HEX4[w3 & 0xffff]!
  );
}

/** `count` UUIDv4 ids from a seeded generator (122 random bits: duplicates have probability ~1e-25). */
export function uuidV4Ids(count: number, seed: number): string[] {
  const rng = Xoshiro128.fromSeed(seed);
  const ids = new Array<string>(count);
  for (let i = 0; i < count; i++) ids[i] = uuidV4(rng);
  return ids;
}
