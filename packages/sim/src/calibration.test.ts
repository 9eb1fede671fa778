import { describe, expect, it } from 'vitest';
import { runCalibration } from './calibration.js';

describe('calibration over replicate worlds', () => {
  it('A/A: Sortition rejects at about 5%, the naive stack finds its phantom lift', async () => {
    const r = await runCalibration({ users: 1000, days: 10, effect: 0, seed: 101, replicates: 40 });
    expect(r.seeds).toHaveLength(40);
    expect(new Set(r.seeds).size).toBe(40);
    expect(r.sortition.rejections.trials + r.sortition.missing).toBe(40);
    // A calibrated test rejects Binomial(40, 0.05) times: P(X >= 9) = 1.3e-4 (2.5e-4 at a true rate of 5.5%).
    expect(r.sortition.rejections.successes).toBeLessThanOrEqual(8);
    // The naive view's mean lift is about +7% whatever the size (the mechanism, not noise); its per-world sd
    // at 1,000 users is about 7 points, so the mean of 40 has sd 1.1 points: below +3% has probability ~2e-4.
    expect(r.naive.meanRelative).toBeGreaterThan(0.03);
    // Sortition's mean lift over 40 worlds: one world's lift has sd ~8 points at this size (4.4 at 3,000 users),
    // the mean of 40 ~1.2 points: 4 points is 3.3 sd (false failure ~1e-3).
    expect(Math.abs(r.sortition.meanRelative)).toBeLessThan(0.04);
  });

  it('with a true effect Sortition has power and is unbiased; the same seed gives the same result', async () => {
    const options = { users: 2000, days: 10, effect: 0.1, seed: 7, replicates: 10 };
    const r = await runCalibration(options);
    // Power at this size is about 0.99 (0.82 at effect 0.06 over 200 worlds): P(X <= 7 | 10, 0.97) = 2.8e-3, 1.1e-4 at 0.99.
    expect(r.sortition.rejections.successes).toBeGreaterThanOrEqual(8);
    expect(r.sortition.meanDifference).toBeGreaterThan(0);
    expect(await runCalibration(options)).toEqual(r);
  });

  it('refuses a replicate count that is not a positive integer', async () => {
    await expect(runCalibration({ users: 1000, days: 10, effect: 0, seed: 1, replicates: 0 })).rejects.toThrow(RangeError);
  });
});
