// The conversion flags of the events pass (one bit_or: bit 1 after the first exposure, bit 2
// before), read back per cell as conversions, pre-period conversions and both, and in the naive
// view, on DuckDB with hand-countable rows.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { scriptFor } from './core.js';
import { prepareInput } from './load.js';
import { readResults, runSteps, type EngineData } from './pipeline.js';
import { duckdbRunner } from './runner.js';

const T0 = Date.UTC(2024, 0, 10);
const at = (hours: number): string => new Date(T0 + hours * 3_600_000).toISOString();

const exposures = [
  { unit_id: 'pre-only', experiment: 'x', variant: 'a', timestamp: at(0) },
  { unit_id: 'post-only', experiment: 'x', variant: 'a', timestamp: at(0) },
  { unit_id: 'both', experiment: 'x', variant: 'a', timestamp: at(0) },
  { unit_id: 'zero-after', experiment: 'x', variant: 'a', timestamp: at(0) },
  // A crossover unit: its positive event falls after its switch to b.
  { unit_id: 'flip', experiment: 'x', variant: 'a', timestamp: at(0) },
  { unit_id: 'flip', experiment: 'x', variant: 'b', timestamp: at(2) },
];
const events = [
  { unit_id: 'pre-only', timestamp: at(-1), metric: 'm', value: 3 },
  { unit_id: 'pre-only', timestamp: at(1), metric: 'm', value: 0 },
  { unit_id: 'post-only', timestamp: at(-1), metric: 'm', value: -2 },
  { unit_id: 'post-only', timestamp: at(1), metric: 'm', value: 5 },
  { unit_id: 'both', timestamp: at(-1), metric: 'm', value: 1 },
  { unit_id: 'both', timestamp: at(1), metric: 'm', value: 1 },
  { unit_id: 'zero-after', timestamp: at(1), metric: 'm', value: 0 },
  { unit_id: 'flip', timestamp: at(1), metric: 'm', value: 0 },
  { unit_id: 'flip', timestamp: at(3), metric: 'm', value: 4 },
];

async function engineData(): Promise<EngineData> {
  const scratch = await mkdtemp(join(tmpdir(), 'sortition-flags-'));
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run("SET TimeZone = 'UTC'");
    const ex = await prepareInput(connection, 'exposures', { rows: exposures }, scratch);
    await prepareInput(connection, 'events', { rows: events }, scratch);
    const steps = scriptFor(duckdbRunner(connection).dialect, { experiment: 'x', metrics: [{ name: 'm', kind: 'conversion' }] }, ex.rules);
    return readResults(await runSteps(duckdbRunner(connection), steps));
  } finally {
    connection.closeSync();
    instance.closeSync();
    await rm(scratch, { recursive: true, force: true });
  }
}

describe('conversion flags of the events pass', () => {
  it('counts conversions after, before and both per cell, and in the naive view', async () => {
    const data = await engineData();
    const stable = data.cells.find((c) => !c.crossover);
    expect(stable).toMatchObject({ arm: 'a', unitsWithEvents: 4, eventRows: 7, conversions: 2, preConversions: 2, bothConversions: 1 });
    const crossover = data.cells.find((c) => c.crossover);
    expect(crossover).toMatchObject({ arm: 'a', unitsWithEvents: 1, eventRows: 2, conversions: 1, preConversions: 0, bothConversions: 0 });
    expect(data.naive?.map((n) => ({ variant: n.variant, conversions: n.conversions })).sort((p, q) => p.variant.localeCompare(q.variant))).toEqual([
      { variant: 'a', conversions: 0 },
      { variant: 'b', conversions: 1 },
    ]);
  });
});
