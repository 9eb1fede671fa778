// Exposures at the edges of the attribution order (ties on the timestamp, before 1970, ±infinity),
// one cell per unit: attribution.test.ts and postgres.test.ts.
import { type ExposureRow } from './synthetic.js';

const exposure = (unit: string, variant: string, timestamp: string, phase: string): ExposureRow => ({ unit_id: unit, experiment: 'x', variant, timestamp, phase });

/** Each unit's expected (phase, arm) is its own cell, so the per-cell counts name every unit's attribution. */
export const EDGE_EXPOSURES: ExposureRow[] = [
  // same timestamp: 'B' < 'b' in byte order
  exposure('tie-variant', 'b', '2024-01-01T00:00:00Z', 'p1'),
  exposure('tie-variant', 'B', '2024-01-01T00:00:00Z', 'p1'),
  // same timestamp and variant: 'P2' < 'p0'; before 1970; a later exposure in a smaller variant does not count
  exposure('tie-phase', 'é', '1969-12-31T23:59:59.999999Z', 'p0'),
  exposure('tie-phase', 'é', '1969-12-31T23:59:59.999999Z', 'P2'),
  exposure('tie-phase', 'a', '1970-01-01T00:00:00Z', 'P2'),
  // same timestamp and variant after 1970 (the packed order in DuckDB): 'Q9' < 'q1'
  exposure('tie-phase-packed', 'v', '2024-01-05T00:00:00.000001Z', 'q1'),
  exposure('tie-phase-packed', 'v', '2024-01-05T00:00:00.000001Z', 'Q9'),
  exposure('tie-phase-packed', 'v', '2024-01-05T00:00:00.000002Z', 'P2'),
  // one microsecond apart, before 1970
  exposure('pre-1970', 'z', '1950-01-01T00:00:00.000001Z', 'p3'),
  exposure('pre-1970', 'a', '1950-01-01T00:00:00.000002Z', 'p3'),
  // -infinity first, infinity last
  exposure('infinite', 'y', '-infinity', 'p4'),
  exposure('infinite', 'a', '1900-01-01T00:00:00Z', 'p4'),
  exposure('late', 'x', 'infinity', 'p5'),
  exposure('late', 'w', '2024-01-02T00:00:00Z', 'p5'),
];

/** Each unit's (phase, arm, crossover, units), in byte order of phase then arm. */
export const EDGE_CELLS = [
  ['P2', 'é', true, 1],
  ['Q9', 'v', false, 1],
  ['p1', 'B', true, 1],
  ['p3', 'z', true, 1],
  ['p4', 'y', true, 1],
  ['p5', 'w', true, 1],
] as const;

export const EDGE_EVENTS = [{ unit_id: 'late', timestamp: '2024-01-03T00:00:00Z', metric: 'm', value: 1 }];
