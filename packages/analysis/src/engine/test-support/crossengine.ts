// A data set for comparing engines exactly: every value is a multiple of 1/4 (so every sum, square
// and product is exact in binary floating point whatever the order of summation), 601 units (so
// the 0.25 and 0.75 quantiles fall on single order statistics: no interpolation to round), two
// phases with different splits, crossovers, same-instant ties, pre-period events, conversions,
// events of units outside the experiment, another experiment, and optionally a few bad rows.
import { MONDAY, prng, type EventRow, type ExposureRow } from './synthetic.js';

const HOUR = 3_600_000;
const iso = (ms: number): string => new Date(ms).toISOString();

export interface LooseEventRow {
  unit_id: string;
  timestamp: string | null;
  metric: string;
  value: number | string | null;
}

export function crossEngineData(withBadRows: boolean): { exposures: ExposureRow[]; events: LooseEventRow[] } {
  const rng = prng(11);
  const exposures: ExposureRow[] = [];
  const events: LooseEventRow[] = [];
  const quarter = (lo: number, hi: number): number => Math.floor(lo * 4 + rng() * (hi - lo) * 4) / 4;
  for (let i = 0; i < 601; i++) {
    const unit = `u${i}`;
    const phase = i < 300 ? 'p1' : 'p2';
    const variant = rng() < (phase === 'p1' ? 0.8 : 0.5) ? 'control' : 'treatment';
    const other = variant === 'control' ? 'treatment' : 'control';
    const t0 = MONDAY + (phase === 'p1' ? 0 : 4 * 24) * HOUR + Math.floor(rng() * 90 * HOUR);
    exposures.push({ unit_id: unit, experiment: 'exp', variant, timestamp: iso(t0), phase, config_version: 1 });
    if (i % 7 === 0) exposures.push({ unit_id: unit, experiment: 'exp', variant, timestamp: iso(t0 + 5 * HOUR), phase, config_version: 1 });
    if (i % 10 === 3) exposures.push({ unit_id: unit, experiment: 'exp', variant: other, timestamp: iso(t0 + 30 * HOUR), phase: 'p2', config_version: 2 });
    if (i % 10 === 3 && i % 20 === 3) exposures.push({ unit_id: unit, experiment: 'exp', variant, timestamp: iso(t0 + 50 * HOUR), phase: 'p2', config_version: 2 });
    // a same-instant tie in both variants: the smaller name (control) is the first exposure
    if (i % 31 === 4) exposures.push({ unit_id: unit, experiment: 'exp', variant: 'control', timestamp: iso(t0), phase, config_version: 1 });
    exposures.push({ unit_id: unit, experiment: 'other', variant: 'x', timestamp: iso(t0 - 1000), phase });
    const lift = variant === 'treatment' ? 1 : 0;
    if (i % 3 === 0) events.push({ unit_id: unit, timestamp: iso(t0 - 20 * HOUR), metric: 'revenue', value: quarter(0, 8) });
    const k = Math.floor(rng() * 4);
    for (let j = 0; j < k; j++) events.push({ unit_id: unit, timestamp: iso(t0 + Math.floor(rng() * 70 * HOUR)), metric: 'revenue', value: quarter(0, 20) + lift });
    if (i % 5 === 0) events.push({ unit_id: unit, timestamp: iso(t0), metric: 'revenue', value: 2.5 });
    if (rng() < 0.6) events.push({ unit_id: unit, timestamp: iso(t0 + Math.floor(rng() * 60 * HOUR)), metric: 'purchase', value: rng() < 0.3 + 0.1 * lift ? 1 : 0 });
  }
  for (let i = 0; i < 40; i++) events.push({ unit_id: `outsider${i}`, timestamp: iso(MONDAY + i * HOUR), metric: 'revenue', value: 100 });
  if (withBadRows) {
    exposures.push({ unit_id: 'bad1', experiment: 'exp', variant: '', timestamp: iso(MONDAY), phase: 'p1' });
    events.push({ unit_id: '', timestamp: iso(MONDAY + HOUR), metric: 'revenue', value: 1 });
    events.push({ unit_id: 'u1', timestamp: iso(MONDAY + 100 * HOUR), metric: 'revenue', value: 'NaN' });
    events.push({ unit_id: 'u2', timestamp: null, metric: 'revenue', value: 1 });
    events.push({ unit_id: 'u3', timestamp: iso(MONDAY + 100 * HOUR), metric: ' ', value: 1 });
  }
  return { exposures, events };
}

export type { EventRow, ExposureRow };
