// The same analysis in PostgreSQL (for real: the local server, a schema of its own per run) and in
// DuckDB, on the same rows: counts and sums must be identical (the data make every sum exact), and
// every statistic equal to 1e-9. Fails, never skips, when PostgreSQL is not running.
import { escapeIdentifier, type Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, randomSchemaName } from '../test-support/postgres.js';
import { analyze } from './analyze.js';
import { AnalysisError } from './errors.js';
import { analysisSql, analyzePostgres } from './postgres.js';
import { EDGE_CELLS, EDGE_EVENTS, EDGE_EXPOSURES } from './test-support/attribution-edges.js';
import { crossEngineData, type LooseEventRow } from './test-support/crossengine.js';
import { type ExposureRow } from './test-support/synthetic.js';
import { type AnalysisOptions, type AnalysisResult } from './types.js';

let client: Client;
/** Set when PostgreSQL is unreachable: every test then fails with it (rather than being skipped). */
let unavailable: Error | undefined;
const schema = randomSchemaName();
const table = (name: string): string => `${escapeIdentifier(schema)}.${escapeIdentifier(name)}`;

async function insert(name: string, columns: readonly string[], rows: readonly (readonly unknown[])[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) {
    const batch = rows.slice(i, i + 500);
    const values = batch.map((_, r) => `(${columns.map((__, c) => `$${r * columns.length + c + 1}`).join(', ')})`).join(', ');
    await client.query(`INSERT INTO ${table(name)} (${columns.map(escapeIdentifier).join(', ')}) VALUES ${values}`, batch.flat());
  }
}

async function load(prefix: string, data: { exposures: ExposureRow[]; events: LooseEventRow[] }): Promise<{ exposures: string; events: string }> {
  await client.query(`CREATE TABLE ${table(`${prefix}_exposures`)} (unit_id text, experiment text, variant text, "timestamp" timestamptz, phase text, config_version bigint)`);
  await client.query(`CREATE TABLE ${table(`${prefix}_events`)} (unit_id text, "timestamp" timestamptz, metric text, value double precision)`);
  await insert(`${prefix}_exposures`, ['unit_id', 'experiment', 'variant', 'timestamp', 'phase', 'config_version'], data.exposures.map((e) => [e.unit_id, e.experiment, e.variant, e.timestamp, e.phase ?? null, e.config_version ?? null]));
  await insert(`${prefix}_events`, ['unit_id', 'timestamp', 'metric', 'value'], data.events.map((e) => [e.unit_id, e.timestamp, e.metric, e.value]));
  return { exposures: `${schema}.${prefix}_exposures`, events: `${schema}.${prefix}_events` };
}

/** Integers (counts, exact sums) equal; other numbers to 1e-9 relative; everything else equal. */
function expectSame(actual: unknown, expected: unknown, path = '$'): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    if (Number.isNaN(expected) || Number.isNaN(actual)) return void expect(Number.isNaN(actual), path).toBe(Number.isNaN(expected));
    if (Number.isInteger(expected) && Number.isInteger(actual)) return void expect(actual, path).toBe(expected);
    return void expect(Math.abs(actual - expected), path).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));
  }
  if (Array.isArray(expected)) {
    expect(Array.isArray(actual) && actual.length, path).toBe(expected.length);
    expected.forEach((e, i) => expectSame((actual as unknown[])[i], e, `${path}[${i}]`));
    return;
  }
  if (expected !== null && typeof expected === 'object') {
    expect(actual !== null && typeof actual === 'object', path).toBe(true);
    expect(Object.keys(actual as object).sort(), path).toEqual(Object.keys(expected).sort());
    for (const [k, v] of Object.entries(expected)) expectSame((actual as Record<string, unknown>)[k], v, `${path}.${k}`);
    return;
  }
  expect(actual, path).toEqual(expected);
}

const OPTIONS: Omit<AnalysisOptions, 'experiment'> = {
  metrics: [
    { name: 'revenue', kind: 'sum' },
    { name: 'purchase', kind: 'conversion' },
  ],
  config: { phases: { p1: { control: 80, treatment: 20 }, p2: { control: 50, treatment: 50 } } },
  cap: { metric: 'revenue', quantile: 0.75, lowerQuantile: 0.25 },
  cumulative: 'day',
};

beforeAll(async () => {
  try {
    client = await connect();
  } catch (error) {
    unavailable = error as Error;
    return;
  }
  await client.query(`CREATE SCHEMA ${escapeIdentifier(schema)}`);
});
afterAll(async () => {
  if (unavailable !== undefined) return;
  await client.query(`DROP SCHEMA IF EXISTS ${escapeIdentifier(schema)} CASCADE`);
  await client.end();
});

describe('analyzePostgres: the same SQL in PostgreSQL as in DuckDB', () => {
  it('gives the same counts and sums exactly and the same statistics to 1e-9', async () => {
    if (unavailable !== undefined) throw unavailable;
    const data = crossEngineData(false);
    const tables = await load('clean', data);
    const stages: string[] = [];
    const viaPg = await analyzePostgres(client, { ...OPTIONS, experiment: 'exp', tables, onStage: (s) => stages.push(s) });
    const viaDuck = await analyze({ ...OPTIONS, experiment: 'exp', exposures: { rows: data.exposures }, events: { rows: data.events } });
    expect(viaDuck.units.total).toBe(601);
    expect(viaDuck.drift.crossoverUnits).toBeGreaterThan(30);
    expect(viaDuck.metrics[0]?.cap?.cappedAbove).toBeGreaterThan(0);
    // per phase, arm and crossover flag: units; per phase and arm: every sum, exactly
    expect(viaPg.units).toEqual(viaDuck.units);
    for (const [i, m] of viaDuck.metrics.entries()) expect(viaPg.metrics[i]?.statistics).toEqual(m.statistics);
    expect(viaPg.metrics.map((m) => m.cap)).toEqual(viaDuck.metrics.map((m) => m.cap));
    expect(viaPg.drift).toEqual(viaDuck.drift);
    const { inputs: pgInputs, ...pgRest } = viaPg;
    const { inputs: duckInputs, ...duckRest } = viaDuck;
    expectSame(pgRest, duckRest);
    expect(pgInputs.exposures.rows).toBe(duckInputs.exposures.rows);
    expect(pgInputs.events.rows).toBe(duckInputs.events.rows);
    expect(pgInputs.exposures.format).toBe('postgres');
    expect(pgInputs.events.source).toBe(tables.events);
    expect(viaPg.metrics[0]?.comparisons[0]?.cumulative?.points.length).toBeGreaterThan(3);
    expect(stages).toContain('reading the events');
    // nothing is left behind in the session
    const temp = await client.query("SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'sortition\\_%' AND relpersistence = 't'");
    expect(temp.rows[0]).toEqual({ n: 0 });
  });

  it('counts bad rows per rule as DuckDB does, and refuses them unless allowed', async () => {
    if (unavailable !== undefined) throw unavailable;
    const data = crossEngineData(true);
    const tables = await load('bad', data);
    const error = await analyzePostgres(client, { ...OPTIONS, experiment: 'exp', tables }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AnalysisError);
    expect((error as AnalysisError).code).toBe('BAD_ROWS');
    const viaPg = await analyzePostgres(client, { ...OPTIONS, experiment: 'exp', tables, allowBadRows: true });
    const viaDuck = await analyze({ ...OPTIONS, experiment: 'exp', exposures: { rows: data.exposures }, events: { rows: data.events }, allowBadRows: true });
    const rules = (r: AnalysisResult): unknown => [r.inputs.exposures, r.inputs.events].map((i) => ({ rows: i.rows, bad: i.badRows, rules: i.violations.map((v) => [v.rule, v.count, v.examples.length]) }));
    expect(rules(viaPg)).toEqual(rules(viaDuck));
    expect(viaDuck.inputs.events.violations.map((v) => v.rule).sort()).toEqual(['metric_empty', 'timestamp_invalid', 'unit_id_empty', 'value_invalid']);
    expect(viaPg.inputs.exposures.violations[0]?.examples[0]?.values['variant']).toBe('');
    for (const [i, m] of viaDuck.metrics.entries()) expect(viaPg.metrics[i]?.statistics).toEqual(m.statistics);
  });

  it('numbers the metrics the same way without a metric list (every metric found) and with an empty one', async () => {
    if (unavailable !== undefined) throw unavailable;
    const data = crossEngineData(true);
    const tables = await load('dict', data);
    for (const options of [{ naiveView: true }, { metrics: [], naiveView: false }, { cap: { metric: 'purchase', quantile: 0.9 }, cumulative: 'day' as const }]) {
      const viaPg = await analyzePostgres(client, { ...options, experiment: 'exp', tables, allowBadRows: true });
      const viaDuck = await analyze({ ...options, experiment: 'exp', exposures: { rows: data.exposures }, events: { rows: data.events }, allowBadRows: true });
      expect(viaDuck.metrics.map((m) => m.metric)).toEqual(options.metrics === undefined ? ['purchase', 'revenue'] : []);
      expect(viaPg.inputs.events.violations.map((v) => [v.rule, v.count])).toEqual(viaDuck.inputs.events.violations.map((v) => [v.rule, v.count]));
      // (the warnings name the inputs, which differ)
      const { inputs: pgInputs, warnings: pgWarnings, ...pgRest } = viaPg;
      const { inputs: duckInputs, warnings: duckWarnings, ...duckRest } = viaDuck;
      expect(pgInputs.events.rows).toBe(duckInputs.events.rows);
      expect(pgWarnings.map((w) => w.code)).toEqual(duckWarnings.map((w) => w.code));
      expectSame(pgRest, duckRest);
    }
  });

  it('attributes at the edges of the order (ties, before 1970, ±infinity) as DuckDB does', async () => {
    if (unavailable !== undefined) throw unavailable;
    const tables = await load('edge', { exposures: EDGE_EXPOSURES, events: EDGE_EVENTS });
    const viaPg = await analyzePostgres(client, { experiment: 'x', tables });
    expect(viaPg.units.perStratum.map((c) => [c.stratum, c.arm, c.crossover, c.n])).toEqual(EDGE_CELLS);
  });

  it('analysisSql gives the script analyzePostgres runs; PostgreSQL runs it as printed', async () => {
    if (unavailable !== undefined) throw unavailable;
    const sql = analysisSql('postgres', { ...OPTIONS, experiment: 'exp', tables: { exposures: `${schema}.clean_exposures`, events: `${schema}.clean_events` } });
    expect(sql).toMatch(/^BEGIN ISOLATION LEVEL REPEATABLE READ;/);
    expect(sql).toContain('-- result "cells"');
    expect(sql.trimEnd()).toMatch(/ROLLBACK;$/);
    let results: { command: string; fields: unknown[]; rows: Record<string, unknown>[] }[];
    try {
      results = (await client.query(sql)) as unknown as typeof results;
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
    const selects = results.filter((r) => r.command === 'SELECT' && r.fields.length > 0);
    expect(selects.length).toBe((sql.match(/-- result "/g) ?? []).length);
    // the "cells" result: the sufficient statistics per metric and cell
    const cells = selects.find((r) => r.fields.length === 14 && 'sxy' in (r.rows[0] ?? {}));
    expect(cells?.rows.length).toBeGreaterThan(0);
    expect(analysisSql('duckdb', { experiment: 'exp', tables: { exposures: 'exposures', events: 'events' } })).toContain("timezone('UTC', \"timestamp\")");
  });

  it('names a missing table, and refuses a pool', async () => {
    if (unavailable !== undefined) throw unavailable;
    const error = await analyzePostgres(client, { experiment: 'exp', tables: { exposures: `${schema}.nope`, events: `${schema}.clean_events` } }).catch((e: unknown) => e);
    expect((error as AnalysisError).code).toBe('UNREADABLE_INPUT');
    expect((error as AnalysisError).message).toContain('does not exist');
    const pool = { totalCount: 0, query: () => Promise.resolve({ rows: [] }) };
    await expect(analyzePostgres(pool, { experiment: 'exp', tables: { exposures: 'a', events: 'b' } })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });
});
