// The performance harness at a tiny scale: it runs, and analyze() computes the same per-arm sums
// as the hand-written query.
import { describe, expect, it } from 'vitest';
import { runPerf } from './perf.js';

describe('runPerf', () => {
  it('runs at 10,000 exposures / 50,000 events and agrees with the hand-written query', async () => {
    const r = await runPerf({ exposures: 10_000, events: 50_000 });
    expect(r.analyzeMs).toBeGreaterThan(0);
    expect(r.handQueryMs).toBeGreaterThan(0);
    expect(r.peakRssBytes).toBeGreaterThan(0);
    expect(r.handSums).toHaveLength(4);
    for (const h of r.handSums) {
      const e = r.engineSums.find((s) => s.arm === h.arm && s.metric === h.metric);
      expect(e?.sum).toBeCloseTo(h.sum, 6);
      expect(e?.n).toBeGreaterThanOrEqual(h.n); // the engine counts units without events too
    }
  });
});
