import { describe, expect, it } from 'vitest';
import { fnv1a, Rng } from './rng.js';

describe('Rng (xoshiro128**)', () => {
  it('produces the reference outputs of xoshiro128** from state {1, 2, 3, 4}', () => {
    // First outputs of the reference C implementation (prng.di.unimi.it/xoshiro128starstar.c) seeded with s = {1, 2, 3, 4}.
    const r = Rng.fromState([1, 2, 3, 4]);
    expect([r.nextUint32(), r.nextUint32(), r.nextUint32(), r.nextUint32()]).toEqual([11520, 0, 5927040, 70819200]);
  });

  it('is deterministic per (seed, label, index) and differs between them', () => {
    const draw = (r: Rng): number[] => Array.from({ length: 5 }, () => r.nextUint32());
    expect(draw(Rng.stream(7, 'user', 3))).toEqual(draw(Rng.stream(7, 'user', 3)));
    const others = [Rng.stream(8, 'user', 3), Rng.stream(7, 'user', 4), Rng.stream(7, 'usex', 3)].map(draw);
    for (const o of others) expect(o).not.toEqual(draw(Rng.stream(7, 'user', 3)));
  });

  it('uniform() lies in [0, 1) and has mean 1/2 and variance 1/12', () => {
    const r = Rng.stream(1, 'uniform');
    const n = 200_000;
    let sum = 0;
    let sumSquares = 0;
    let min = 1;
    let max = 0;
    for (let i = 0; i < n; i++) {
      const u = r.uniform();
      sum += u;
      sumSquares += u * u;
      min = Math.min(min, u);
      max = Math.max(max, u);
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    // Standard error of the mean: sqrt(1/12/n) = 6.5e-4; 6 standard errors (false failure ~2e-9 for a fair generator).
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(6 * Math.sqrt(1 / 12 / n));
    // The variance estimate has sd sqrt(1/180/n) = 1.7e-4; again 6 sd.
    expect(Math.abs(sumSquares / n - (sum / n) ** 2 - 1 / 12)).toBeLessThan(6 * Math.sqrt(1 / 180 / n));
  });

  it('poisson() and gammaInt() have the right means', () => {
    const r = Rng.stream(2, 'draws');
    const n = 100_000;
    let p = 0;
    let g = 0;
    for (let i = 0; i < n; i++) {
      p += r.poisson(0.6);
      g += r.gammaInt(2, 0.5);
    }
    // Poisson(0.6): sd of the mean sqrt(0.6/n) = 2.4e-3; Gamma(2, 0.5): sqrt(0.5/n) = 2.2e-3. 6 sd each.
    expect(Math.abs(p / n - 0.6)).toBeLessThan(6 * Math.sqrt(0.6 / n));
    expect(Math.abs(g / n - 1)).toBeLessThan(6 * Math.sqrt(0.5 / n));
  });

  it('fnv1a matches the published FNV-1a 32-bit values', () => {
    // http://www.isthe.com/chongo/tech/comp/fnv/: FNV-1a 32 of "" and "a" and "foobar".
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(fnv1a('foobar')).toBe(0xbf9cf968);
  });
});
