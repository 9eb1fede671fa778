// The cumulative series of the primary estimate: the script returns, per metric, phase, arm and
// bucket, the units first exposed in the bucket and the increments of Σy, Σy² and conversions
// (script-events.ts, seriesStep); here they are accumulated bucket by bucket and each prefix goes
// through the same stratified estimate as the headline, so the last point is the primary estimate.
import { type SeriesInterval } from './dialect.js';
import { emptyArm, stratified, type Arm } from './estimate.js';
import { type SeriesRow, type UnitRow } from './pipeline.js';
import { type CumulativePoint, type CumulativeSeries, type MetricKind } from './types.js';

const INTERVAL_MS: Readonly<Record<SeriesInterval, number>> = { hour: 3_600_000, day: 86_400_000, week: 7 * 86_400_000 };

export interface SeriesInput {
  readonly metric: string;
  readonly kind: MetricKind;
  readonly control: string;
  readonly treatment: string;
  readonly confidence: number;
  readonly interval: SeriesInterval;
  readonly units: readonly UnitRow[];
  readonly series: readonly SeriesRow[];
  /** y of a unit without events after capping (0 unless the metric is capped and 0 lies outside the thresholds). */
  readonly zeroOutcome: number;
}

export function cumulativeSeries(input: SeriesInput): CumulativeSeries {
  const rows = input.series.filter((r) => r.metric === input.metric);
  const buckets = [...new Set([...input.units.flatMap((u) => (u.bucket === null ? [] : [u.bucket])), ...rows.map((r) => r.bucket)])].sort((a, b) => a - b);
  const state = new Map<string, Map<string, Arm>>();
  const arm = (stratum: string, name: string): Arm => {
    let arms = state.get(stratum);
    if (arms === undefined) state.set(stratum, (arms = new Map()));
    let a = arms.get(name);
    if (a === undefined) arms.set(name, (a = emptyArm()));
    return a;
  };
  const unitsAt = groupBy(input.units, (u) => u.bucket ?? Number.NaN);
  const rowsAt = groupBy(rows, (r) => r.bucket);
  const z = input.zeroOutcome;
  const points: CumulativePoint[] = [];
  for (const bucket of buckets) {
    for (const u of unitsAt.get(bucket) ?? []) {
      const a = arm(u.stratum, u.arm);
      a.n += u.n;
      // Every unit starts at y = 0 (capped: z); its events then add cap(y_b) − cap(y_{b−1}).
      a.sum += u.n * z;
      a.sumSquares += u.n * z * z;
    }
    for (const r of rowsAt.get(bucket) ?? []) {
      const a = arm(r.stratum, r.arm);
      a.sum += r.dy;
      a.sumSquares += r.dyy;
      a.conversions += r.dconv;
    }
    const estimate = stratified(state, input.control, input.treatment, input.kind, input.confidence, false);
    if (estimate === null) continue;
    points.push({
      start: new Date(bucket).toISOString(),
      end: new Date(bucket + INTERVAL_MS[input.interval]).toISOString(),
      control: estimate.control,
      treatment: estimate.treatment,
      difference: estimate.difference,
      relative: estimate.relative,
      pValue: estimate.pValue,
    });
  }
  return { interval: input.interval, points };
}

function groupBy<T>(items: readonly T[], key: (item: T) => number): Map<number, T[]> {
  const out = new Map<number, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list === undefined) out.set(k, [item]);
    else list.push(item);
  }
  return out;
}
