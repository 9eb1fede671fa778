// The cumulative series against its definition: the point of bucket b is the primary estimate of an
// analysis of the rows before the end of b (checked by running that analysis on truncated inputs),
// and the last point is the primary estimate itself (also with caps and for conversions).
import { describe, expect, it } from 'vitest';
import { analyze } from './analyze.js';
import { crossEngineData } from './test-support/crossengine.js';
import { rampScenario } from './test-support/synthetic.js';
import { type CumulativePoint, type Estimate } from './types.js';

function expectPoint(point: CumulativePoint | undefined, estimate: Estimate | null | undefined): void {
  expect(point).toBeDefined();
  expect(estimate).toBeTruthy();
  const close = (a: number | undefined, b: number | undefined): void => expect(Math.abs((a ?? Number.NaN) - (b ?? Number.NaN))).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(b ?? 0)));
  close(point?.difference.estimate, estimate?.difference.estimate);
  close(point?.difference.standardError, estimate?.difference.standardError);
  close(point?.difference.lower, estimate?.difference.lower);
  close(point?.pValue, estimate?.pValue);
  close(point?.relative?.estimate, estimate?.relative?.estimate);
  expect(point?.control.n).toBe(estimate?.control.n);
  expect(point?.treatment.n).toBe(estimate?.treatment.n);
}

describe('cumulative series', () => {
  const data = rampScenario(5, 600, 0.2);
  const options = { experiment: 'ramp', metrics: [{ name: 'revenue', kind: 'sum' as const }] };

  it('each point is the primary estimate of the rows before its end; the last is the primary estimate', async () => {
    const r = await analyze({ ...options, exposures: { rows: data.exposures }, events: { rows: data.events }, cumulative: 'day' });
    const c = r.metrics[0]?.comparisons[0];
    const points = c?.cumulative?.points ?? [];
    expect(c?.cumulative?.interval).toBe('day');
    expect(points.length).toBeGreaterThan(8);
    expect(points.map((p) => p.start)).toEqual([...points.map((p) => p.start)].sort());
    expect(Date.parse(points[1]?.end ?? '') - Date.parse(points[1]?.start ?? '')).toBe(86_400_000);
    expectPoint(points.at(-1), c?.primary);
    // the control and treatment n grow as units arrive
    expect(points[0]?.control.n).toBeLessThan(points.at(-1)?.control.n ?? 0);
    for (const index of [2, 8]) {
      const end = points[index]?.end ?? '';
      const before = <T extends { timestamp: string }>(rows: readonly T[]): T[] => rows.filter((x) => x.timestamp < end);
      const truncated = await analyze({ ...options, exposures: { rows: before(data.exposures) }, events: { rows: before(data.events) } });
      expectPoint(points[index], truncated.metrics[0]?.comparisons[0]?.primary);
    }
  });

  it('with caps and for conversions the last point is still the primary estimate; weeks start on Monday', async () => {
    const d = crossEngineData(false);
    const r = await analyze({
      experiment: 'exp',
      exposures: { rows: d.exposures },
      events: { rows: d.events },
      metrics: [
        { name: 'revenue', kind: 'sum' },
        { name: 'purchase', kind: 'conversion' },
      ],
      cap: { metric: 'revenue', quantile: 0.75, lowerQuantile: 0.25 },
      cumulative: 'week',
      naiveView: false,
    });
    expect(r.metrics[0]?.cap?.lower).toBeGreaterThan(0); // the cap moves units without events too
    for (const m of r.metrics) {
      const c = m.comparisons[0];
      expectPoint(c?.cumulative?.points.at(-1), c?.primary);
      for (const p of c?.cumulative?.points ?? []) expect(new Date(p.start).getUTCDay()).toBe(1);
    }
    const none = await analyze({ experiment: 'exp', exposures: { rows: d.exposures }, events: { rows: d.events }, naiveView: false });
    expect(none.metrics[0]?.comparisons[0]?.cumulative).toBeNull();
    await expect(analyze({ experiment: 'exp', exposures: { rows: d.exposures }, events: { rows: d.events }, cumulative: 'month' as 'day' })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });
});
