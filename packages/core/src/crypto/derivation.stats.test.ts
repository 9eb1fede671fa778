/**
 * Statistical tests of the v1 slot derivation (spec/ALGORITHM.md §3): uniformity of slots over
 * realistic id populations, and independence of the slots of two layers for the same units.
 *
 * Thresholds. Every check is set so that a correct derivation (a uniform, independent MAC) fails
 * it with probability at most ALPHA = 1e-6 per check (per tail where both tails are checked):
 *   - chi-square statistics are compared with Wilson-Hilferty quantiles of chi-square(df) at tail
 *     probability 1e-6. At the df used here (99, 9 801, 9 999, 99 999) the exact tail probability of
 *     those quantiles is 0.89e-6 .. 0.9999e-6, i.e. conservative (the first describe re-checks this
 *     against the exact incomplete gamma function).
 *   - normal checks (share of a half range, correlation) use |z| < 4.8916, the two-sided 1e-6
 *     quantile (4.89 rounded would give 1.008e-6).
 *   - the count of units with equal slots in two layers is Binomial(n, 1/N); it is checked against
 *     exact binomial tails of 0.5e-6 each.
 * Caveat on "exact": Pearson's X² of a multinomial sample is only approximately chi-square. Its mean
 * (k − 1) is exact and its variance 2(k − 1)(1 − 1/n) is slightly smaller; to first order in 1/e
 * (e = expected count per cell) its third cumulant is (8 + 4/e)·k instead of 8k. At the smallest e
 * used (10, for 100 000 slots and 10^6 units) that moves the 1e-6 quantile by less than 1 (out of
 * an excess of ~2 100 over the mean), changing the false-failure rate by under 1% of itself.
 *
 * The seeds and keys are fixed, so the tests are deterministic: they either always pass or always
 * fail. The thresholds say that for a correct hash, a random choice of keys and seeds would have
 * produced a failure of a given check with probability below 1e-6. The file makes 42 such checks
 * of the real derivation (12 goodness-of-fit X², each at both tails: 24; 6 half-share z; 4
 * contingency X², 4 correlations and 4 equal-slot counts), so by the union bound a correct hash
 * fails some check of the file with probability below 4.2e-5.
 *
 * The last describe feeds deliberately flawed mappings through the same helpers and asserts that
 * they are rejected: the checks are not vacuous.
 *
 * Set SORTITION_STATS_REPORT=1 to print every statistic with its threshold.
 */
import { createHash, createHmac } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import {
  binomialLowerTail,
  binomialUpperTail,
  chiSquareIndependence,
  chiSquareLowerTail,
  chiSquareQuantileExact,
  chiSquareQuantileWilsonHilferty,
  type ChiSquareResult,
  chiSquareUniformity,
  chiSquareUpperTail,
  emailLikeIds,
  lnGamma,
  normalTwoSidedQuantile,
  normalUpperQuantile,
  normalUpperTail,
  pearsonCorrelation,
  rangeContingency,
  rangeCounts,
  sequentialUserIds,
  slotCounts,
  splitMix64,
  uuidV4Ids,
  Xoshiro128,
} from '../test-support/stats.js';
import { createSlotFunction, type LayerKeyMaterial } from './derivation.js';
import { HmacKey, hmacInto, PADDING_ROOM } from './sha256.js';

/** Tail probability of every check (per tail where both tails are checked). */
const ALPHA = 1e-6;
/** Two-sided normal quantile at ALPHA: 4.891638... */
const Z = normalTwoSidedQuantile(ALPHA);
const UNITS = 1_000_000;
const SLOT_COUNTS = [10_000, 100_000] as const;
/** Experiments allocate slot ranges; 100 ranges of width N/100 are 1% buckets. */
const RANGES = 100;
const EMAIL_SEED = 20_261_121;
const UUID_SEED = 20_261_122;

type Layer = Omit<LayerKeyMaterial, 'slots'>;

/** A fixed 32-byte key: SHA-256 of a label. */
function fixedKey(label: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(label, 'utf8').digest());
}

/**
 * The layers for slot count n. Each n has its own keys: the slots of one layer at N = 10 000 would
 * otherwise be those at N = 100 000 mod 10 000, and the two sizes would test the same sample.
 */
function layersFor(n: number): { readonly a: Layer; readonly rekeyed: Layer; readonly sameKey: Layer } {
  const key = fixedKey(`sortition/derivation.stats.test/N=${n}/key-1`);
  return {
    /** The layer of every uniformity test and the first layer of every independence pair. */
    a: { layerId: 'layer-a', key },
    /** Same layer id, another key: what a re-keying (epoch change) does. */
    rekeyed: { layerId: 'layer-a', key: fixedKey(`sortition/derivation.stats.test/N=${n}/key-2`) },
    /** Same key, a layer id one byte apart: the layer id alone must separate the layers. */
    sameKey: { layerId: 'layer-b', key },
  };
}

function once<T>(compute: () => T): () => T {
  let value: { readonly v: T } | undefined;
  return () => (value ??= { v: compute() }).v;
}

const ID_SETS = [
  { name: 'sequential ids user_1..user_1000000', ids: once(() => sequentialUserIds(UNITS)) },
  { name: `1,000,000 e-mail-like ids (seed ${EMAIL_SEED})`, ids: once(() => emailLikeIds(UNITS, EMAIL_SEED)) },
  { name: `1,000,000 UUIDv4 ids (seed ${UUID_SEED})`, ids: once(() => uuidV4Ids(UNITS, UUID_SEED)) },
] as const;

function computeSlots(ids: readonly string[], layer: Layer, slots: number): Uint32Array {
  const slotOf = createSlotFunction('v1', { ...layer, slots });
  const out = new Uint32Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const slot = slotOf(ids[i]);
    if (typeof slot !== 'number') throw new Error(`id ${ids[i]} rejected: ${slot.code}`);
    out[i] = slot;
  }
  return out;
}

const slotCache = new Map<string, Uint32Array>();
function slotsFor(idSet: number, layer: Layer, slots: number): Uint32Array {
  const cacheKey = `${idSet}|${layer.layerId}|${Buffer.from(layer.key).toString('hex')}|${slots}`;
  let result = slotCache.get(cacheKey);
  if (result === undefined) {
    const set = ID_SETS[idSet];
    if (set === undefined) throw new RangeError(`no id set ${idSet}`);
    result = computeSlots(set.ids(), layer, slots);
    slotCache.set(cacheKey, result);
  }
  return result;
}

// ------------------------------------------------------------------------------------------------
// Recording, for the optional report.
// ------------------------------------------------------------------------------------------------

interface Observation {
  readonly check: string;
  readonly observed: string;
  readonly accepted: string;
  readonly p: string;
}
const observations: Observation[] = [];
const fmt = (x: number, digits = 1): string => x.toFixed(digits);
const fmtP = (p: number): string => (p < 1e-300 ? '<1e-300' : p.toPrecision(3));

function recordChiSquare(check: string, r: ChiSquareResult, twoSided: boolean): void {
  observations.push({
    check,
    observed: `X²=${fmt(r.statistic)} (df ${r.df})`,
    accepted: twoSided ? `${fmt(r.lowerCritical)} < X² < ${fmt(r.upperCritical)}` : `X² < ${fmt(r.upperCritical)}`,
    p: twoSided ? `upper ${fmtP(r.pUpper)}, lower ${fmtP(r.pLower)}` : `upper ${fmtP(r.pUpper)}`,
  });
}

afterAll(() => {
  if (process.env.SORTITION_STATS_REPORT) console.table(observations);
});

// ------------------------------------------------------------------------------------------------
// Checks shared by the real tests and the negative controls.
// ------------------------------------------------------------------------------------------------

function expectUniform(check: string, counts: ArrayLike<number>): void {
  const r = chiSquareUniformity(counts, ALPHA);
  recordChiSquare(check, r, true);
  expect(r.statistic, `${check}: X² too large (p = ${fmtP(r.pUpper)})`).toBeLessThan(r.upperCritical);
  expect(r.statistic, `${check}: X² too small, too even for a random map (p = ${fmtP(r.pLower)})`).toBeGreaterThan(r.lowerCritical);
}

/** z of the count of slots in [0, N/2) against Binomial(n, 1/2). */
function halfShareZ(slots: ArrayLike<number>, n: number): number {
  let low = 0;
  for (let i = 0; i < slots.length; i++) if (slots[i]! < n / 2) low++;
  return (low - slots.length / 2) / Math.sqrt(slots.length / 4);
}

function equalSlotCount(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let equal = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) equal++;
  return equal;
}

/** Exact two-sided binomial p-values of the equal-slot count: both must exceed ALPHA / 2. */
function equalSlotTails(equal: number, units: number, slots: number): { lower: number; upper: number } {
  return { lower: binomialLowerTail(equal, units, 1 / slots), upper: binomialUpperTail(equal, units, 1 / slots) };
}

// ------------------------------------------------------------------------------------------------

describe('statistical helpers (the thresholds rely on them)', () => {
  it('incomplete gamma and normal tails match closed forms and tabulated values', () => {
    expect(lnGamma(10.5)).toBeCloseTo(Math.log(1_133_278.3889487856), 12);
    expect(lnGamma(5)).toBeCloseTo(Math.log(24), 13);
    expect(lnGamma(100_001)).toBeCloseTo(1_051_299.221899122, 6); // ln(100000!)
    for (const x of [0.5, 3, 30, 80]) expect(chiSquareUpperTail(x, 2) / Math.exp(-x / 2)).toBeCloseTo(1, 12);
    expect(chiSquareUpperTail(3.841458820694124, 1)).toBeCloseTo(0.05, 14);
    expect(chiSquareUpperTail(18.307038053275146, 10)).toBeCloseTo(0.05, 14);
    expect(chiSquareLowerTail(3.9402991361190605, 10)).toBeCloseTo(0.05, 14);
    expect(2 * normalUpperTail(1.959963984540054)).toBeCloseTo(0.05, 14);
    expect(normalUpperQuantile(1e-6)).toBeCloseTo(4.753424308822899, 9);
    expect(Z).toBeCloseTo(4.891638475698, 9);
    expect(2 * normalUpperTail(4.89)).toBeGreaterThan(1e-6); // why the bound is 4.8916, not 4.89
  });

  it('binomial tails are a distribution', () => {
    expect(binomialLowerTail(100, UNITS, 1e-4) + binomialUpperTail(101, UNITS, 1e-4)).toBeCloseTo(1, 8);
    expect(binomialLowerTail(10, UNITS, 1e-5) + binomialUpperTail(11, UNITS, 1e-5)).toBeCloseTo(1, 8);
  });

  it.each([99, 9_801, 9_999, 99_999])(
    'Wilson-Hilferty quantiles at 1e-6 are conservative and close to exact at df %i',
    (df) => {
      for (const tail of ['upper', 'lower'] as const) {
        const approx = chiSquareQuantileWilsonHilferty(df, ALPHA, tail);
        const exactTail = tail === 'upper' ? chiSquareUpperTail(approx, df) : chiSquareLowerTail(approx, df);
        expect(exactTail).toBeLessThanOrEqual(ALPHA);
        expect(exactTail).toBeGreaterThan(df < 1000 ? 0.85 * ALPHA : 0.998 * ALPHA);
        expect(Math.abs(approx - chiSquareQuantileExact(df, ALPHA, tail))).toBeLessThan(df < 1000 ? 0.5 : 0.05);
      }
    },
  );

  it('the PRNG reproduces the reference SplitMix64 and xoshiro128** outputs', () => {
    expect(splitMix64(0n)().toString(16)).toBe('e220a8397b1dcdaf');
    const rng = new Xoshiro128(1, 2, 3, 4);
    expect(Array.from({ length: 6 }, () => rng.nextUint32())).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
    const seeded = Xoshiro128.fromSeed(EMAIL_SEED);
    expect(Array.from({ length: 4 }, () => seeded.nextUint32())).toEqual([7349580, 1030702170, 586537887, 3965154057]);
  });

  it('the id generators produce what they claim', () => {
    const sequential = sequentialUserIds(1000);
    expect([sequential[0], sequential[999]]).toEqual(['user_1', 'user_1000']);
    // emailLikeIds draws until it has `count` distinct ids; UUIDv4s carry 122 random bits.
    const emails = emailLikeIds(20_000, EMAIL_SEED);
    expect(new Set(emails).size).toBe(20_000);
    expect(emails.every((id) => /^[A-Za-z0-9._]+@[a-z0-9.-]+\.[a-z]+$/.test(id))).toBe(true);
    const uuids = uuidV4Ids(20_000, UUID_SEED);
    expect(new Set(uuids).size).toBe(20_000);
    expect(uuids.every((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id))).toBe(true);
  });
});

describe.each(ID_SETS.map((set, index) => ({ ...set, index })))('uniformity of v1 slots over $name', ({ name, index }) => {
  describe.each(SLOT_COUNTS.map((n) => ({ n })))('N = $n', ({ n }) => {
    const allLower = chiSquareQuantileWilsonHilferty(n - 1, ALPHA, 'lower');
    const allUpper = chiSquareQuantileWilsonHilferty(n - 1, ALPHA, 'upper');
    const rangeLower = chiSquareQuantileWilsonHilferty(RANGES - 1, ALPHA, 'lower');
    const rangeUpper = chiSquareQuantileWilsonHilferty(RANGES - 1, ALPHA, 'upper');

    it(`chi-square over all ${n} slots, df ${n - 1}: ${fmt(allLower)} < X² < ${fmt(allUpper)} (1e-6 per tail)`, () => {
      expectUniform(`${name}, N=${n}, all slots`, slotCounts(slotsFor(index, layersFor(n).a, n), n));
    });

    it(`chi-square over ${RANGES} ranges of width ${n / RANGES}, df ${RANGES - 1}: ${fmt(rangeLower)} < X² < ${fmt(rangeUpper)} (1e-6 per tail)`, () => {
      expectUniform(`${name}, N=${n}, ${RANGES} ranges`, rangeCounts(slotsFor(index, layersFor(n).a, n), n, RANGES));
    });

    it(`share of units in [0, ${n / 2}) is 1/2 within |z| < ${Z.toFixed(4)} (two-sided 1e-6)`, () => {
      const z = halfShareZ(slotsFor(index, layersFor(n).a, n), n);
      observations.push({ check: `${name}, N=${n}, half share`, observed: `z=${z.toFixed(3)}`, accepted: `|z| < ${Z.toFixed(4)}`, p: fmtP(2 * normalUpperTail(Math.abs(z))) });
      expect(Math.abs(z)).toBeLessThan(Z);
    });
  });
});

describe.each([
  { pair: 'different keys, same layer id (a re-keyed layer)', which: 'rekeyed' },
  { pair: 'same key, layer ids layer-a / layer-b', which: 'sameKey' },
] as const)('independence of two layers, $pair, over user_1..user_1000000', ({ pair, which }) => {
  describe.each(SLOT_COUNTS.map((n) => ({ n })))('N = $n', ({ n }) => {
    const first = layersFor(n).a;
    const other = layersFor(n)[which];
    const df = (RANGES - 1) * (RANGES - 1);
    const upper = chiSquareQuantileWilsonHilferty(df, ALPHA, 'upper');

    it(`contingency chi-square of (range in layer 1, range in layer 2), ${RANGES}x${RANGES}, df ${df}: X² < ${fmt(upper)} (1e-6)`, () => {
      const table = rangeContingency(slotsFor(0, first, n), slotsFor(0, other, n), n, RANGES);
      const r = chiSquareIndependence(table, RANGES, RANGES, ALPHA);
      recordChiSquare(`${pair}, N=${n}, contingency`, r, false);
      expect(r.statistic, `p = ${fmtP(r.pUpper)}`).toBeLessThan(r.upperCritical);
    });

    it(`correlation of the two slots: |r| < ${Z.toFixed(4)}/sqrt(n) = ${(Z / Math.sqrt(UNITS)).toFixed(5)} (two-sided 1e-6)`, () => {
      const r = pearsonCorrelation(slotsFor(0, first, n), slotsFor(0, other, n));
      const z = r * Math.sqrt(UNITS);
      observations.push({ check: `${pair}, N=${n}, correlation`, observed: `r=${r.toFixed(6)} (z=${z.toFixed(3)})`, accepted: `|z| < ${Z.toFixed(4)}`, p: fmtP(2 * normalUpperTail(Math.abs(z))) });
      expect(Math.abs(z)).toBeLessThan(Z);
    });

    it(`units with equal slots in both layers ~ Binomial(${UNITS}, 1/${n}): exact tails > 0.5e-6 each`, () => {
      const equal = equalSlotCount(slotsFor(0, first, n), slotsFor(0, other, n));
      const tails = equalSlotTails(equal, UNITS, n);
      observations.push({ check: `${pair}, N=${n}, equal slots`, observed: `${equal} (mean ${UNITS / n})`, accepted: 'both tails > 5e-7', p: `lower ${fmtP(tails.lower)}, upper ${fmtP(tails.upper)}` });
      expect(tails.lower).toBeGreaterThan(ALPHA / 2);
      expect(tails.upper).toBeGreaterThan(ALPHA / 2);
    });
  });
});

describe('the checks reject flawed mappings (negative controls, same helpers and sample sizes)', () => {
  it.each(SLOT_COUNTS.map((n) => ({ n })))('(i * 7) mod $n over i = 1..1000000 is too even: rejected at the lower tail', ({ n }) => {
    const slots = new Uint32Array(UNITS);
    for (let i = 0; i < UNITS; i++) slots[i] = ((i + 1) * 7) % n;
    for (const [what, counts] of [
      ['all slots', slotCounts(slots, n)],
      [`${RANGES} ranges`, rangeCounts(slots, n, RANGES)],
    ] as const) {
      const r = chiSquareUniformity(counts, ALPHA);
      recordChiSquare(`control (i*7)%${n}, ${what}`, r, true);
      expect(r.tooSmall).toBe(true);
      expect(r.tooLarge).toBe(false);
    }
  });

  it('the low 16 bits of the v1 MAC mod 10000 (slots < 5536 get 7/65536, the rest 6/65536): rejected', () => {
    const n = 10_000;
    const layer = layersFor(n).a;
    const ids = ID_SETS[0].ids();
    const real = slotsFor(0, layer, n);
    // msg(0) of §3.1 in a scratch buffer, MAC'd with the same HMAC engine as v1 (cross-checked
    // against node:crypto and against the real slots below).
    const hmac = new HmacKey(layer.key);
    const layerBytes = Buffer.from(layer.layerId, 'ascii');
    const unitOffset = 2 + layerBytes.length + 2;
    const message = new Uint8Array(unitOffset + 256 + 4 + PADDING_ROOM);
    const mac = new Int32Array(8);
    const biased = new Uint32Array(UNITS);
    for (let i = 0; i < UNITS; i++) {
      const id = ids[i]!; // ASCII: its UTF-8 bytes are its char codes
      message[0] = 0x01;
      message[1] = layerBytes.length;
      message.set(layerBytes, 2);
      message[unitOffset - 2] = id.length >>> 8;
      message[unitOffset - 1] = id.length & 0xff;
      for (let j = 0; j < id.length; j++) message[unitOffset + j] = id.charCodeAt(j);
      message.fill(0, unitOffset + id.length, unitOffset + id.length + 4); // counter 0
      const length = unitOffset + id.length + 4;
      if (i < 1000) {
        const reference = createHmac('sha256', layer.key).update(message.subarray(0, length)).digest();
        // The control differs from v1 only in the bits it reduces mod N.
        expect(reference.readUIntBE(0, 6) % n).toBe(real[i]);
        hmacInto(hmac, message, length, mac);
        expect(mac[1]! >>> 16).toBe(reference.readUInt16BE(4));
      } else {
        hmacInto(hmac, message, length, mac);
      }
      biased[i] = (mac[1]! >>> 16) % n; // bytes 4..5 of the MAC: the low 16 bits of chunk x_0
    }
    for (const [what, counts] of [
      ['all slots', slotCounts(biased, n)],
      [`${RANGES} ranges`, rangeCounts(biased, n, RANGES)],
    ] as const) {
      const r = chiSquareUniformity(counts, ALPHA);
      recordChiSquare(`control low16(MAC)%${n}, ${what}`, r, true);
      expect(r.tooLarge).toBe(true);
    }
    const z = halfShareZ(biased, n);
    observations.push({ check: 'control low16(MAC)%10000, half share', observed: `z=${z.toFixed(1)}`, accepted: `|z| < ${Z.toFixed(4)}`, p: fmtP(2 * normalUpperTail(Math.abs(z))) });
    expect(Math.abs(z)).toBeGreaterThan(Z);
  });

  describe('dependent second layers (N = 10000)', () => {
    const n = 10_000;
    const first = (): Uint32Array => slotsFor(0, layersFor(n).a, n);
    const independent = (): Uint32Array => slotsFor(0, layersFor(n).rekeyed, n);

    function verdicts(label: string, second: Uint32Array): { contingency: boolean; correlation: boolean; equal: boolean } {
      const a = first();
      const r = chiSquareIndependence(rangeContingency(a, second, n, RANGES), RANGES, RANGES, ALPHA);
      recordChiSquare(`control ${label}, contingency`, r, false);
      const z = pearsonCorrelation(a, second) * Math.sqrt(UNITS);
      observations.push({ check: `control ${label}, correlation`, observed: `z=${z.toFixed(2)}`, accepted: `|z| < ${Z.toFixed(4)}`, p: fmtP(2 * normalUpperTail(Math.abs(z))) });
      const equal = equalSlotCount(a, second);
      const tails = equalSlotTails(equal, UNITS, n);
      observations.push({ check: `control ${label}, equal slots`, observed: `${equal}`, accepted: 'both tails > 5e-7', p: `upper ${fmtP(tails.upper)}` });
      return { contingency: r.tooLarge, correlation: Math.abs(z) >= Z, equal: Math.min(tails.lower, tails.upper) <= ALPHA / 2 };
    }

    it('a second layer with the same slots (a derivation that ignored key and layer id): all three reject', () => {
      expect(verdicts('identical slots', first())).toEqual({ contingency: true, correlation: true, equal: true });
    });

    it('slot2 = slot1 * 7919 mod N: the contingency table rejects what the correlation misses', () => {
      const a = first();
      const second = a.map((s) => (s * 7919) % n);
      // The equal-slot count rejects too: 0 and 5000 are fixed points (7918 s = 0 mod 10000), so
      // about 200 units keep their slot where 100 are expected.
      expect(verdicts('slot*7919 mod N', second)).toEqual({ contingency: true, correlation: false, equal: true });
    });

    it('1% of units leak their first-layer slot into the second layer: all three reject', () => {
      const a = first();
      const b = independent();
      const second = b.map((s, i) => (i % 100 === 0 ? a[i]! : s));
      expect(verdicts('1% leak', second)).toEqual({ contingency: true, correlation: true, equal: true });
    });

    it('the independent control itself (re-keyed layer) passes the same three checks', () => {
      expect(verdicts('re-keyed (real)', independent())).toEqual({ contingency: false, correlation: false, equal: false });
    });
  });
});
