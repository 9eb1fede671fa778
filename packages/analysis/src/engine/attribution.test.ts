// The first exposure of a unit at the edges of the attribution order (ts, then variant, then phase,
// in byte order): ties on the timestamp, timestamps before 1970 and ±infinity (dialect.ts,
// firstExposure; postgres.test.ts runs the same rows in PostgreSQL).
import { describe, expect, it } from 'vitest';
import { analyze } from './analyze.js';
import { EDGE_CELLS, EDGE_EVENTS, EDGE_EXPOSURES } from './test-support/attribution-edges.js';

describe('attribution to the first exposure', () => {
  it('orders by timestamp, then variant, then phase in byte order, before 1970 and at ±infinity too', async () => {
    const r = await analyze({ exposures: { rows: EDGE_EXPOSURES }, events: { rows: EDGE_EVENTS }, experiment: 'x' });
    expect(r.units.total).toBe(EDGE_CELLS.length);
    expect(r.units.perStratum.map((c) => [c.stratum, c.arm, c.crossover, c.n])).toEqual(EDGE_CELLS);
  });
});
