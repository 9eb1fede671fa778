// The Udacity landing-page test (../shared/data/ab_data.csv beside the checkout) through the engine:
// the standard cleaning done in DuckDB SQL (drop rows whose group and landing_page disagree, then
// keep each user's first remaining row in file order), written as Parquet exposures and conversion
// events. Without the cleaning, drift forensics finds the 1,895 users logged in both groups. The
// test fails, never skips, when the file is missing.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from './analyze.js';

const REPO_ROOT = new URL('../../../../', import.meta.url);
const AB_DATA = fileURLToPath(new URL('../shared/data/ab_data.csv', REPO_ROOT));
const lit = (s: string): string => `'${s.replaceAll("'", "''")}'`;

let dir: string;
beforeAll(async () => {
  if (!existsSync(AB_DATA)) throw new Error(`${AB_DATA} is missing: put the Udacity ab_data.csv in ../shared/data/ beside the checkout`);
  dir = await mkdtemp(join(tmpdir(), 'sortition-udacity-'));
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const connection = await instance.connect();
  try {
    await connection.run(`CREATE TABLE raw AS SELECT row_number() OVER () AS rn, * FROM read_csv(${lit(AB_DATA)}, header = true, all_varchar = true)`);
    await connection.run(`CREATE TABLE cleaned AS
      SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY user_id ORDER BY rn) AS k FROM raw
                     WHERE ("group" = 'treatment') = (landing_page = 'new_page'))
      WHERE k = 1`);
    const exposures = (table: string): string => `SELECT user_id AS unit_id, 'landing_page' AS experiment, "group" AS variant, timestamp FROM ${table}`;
    const events = (table: string): string => `SELECT user_id AS unit_id, timestamp, 'converted' AS metric, 1.0 AS value FROM ${table} WHERE converted = '1'`;
    await connection.run(`COPY (${exposures('cleaned')}) TO ${lit(join(dir, 'exposures.parquet'))} (FORMAT parquet)`);
    await connection.run(`COPY (${events('cleaned')}) TO ${lit(join(dir, 'events.parquet'))} (FORMAT parquet)`);
    await connection.run(`COPY (${exposures('raw')}) TO ${lit(join(dir, 'raw-exposures.csv'))} (FORMAT csv, HEADER)`);
    await connection.run(`COPY (${events('raw')}) TO ${lit(join(dir, 'raw-events.csv'))} (FORMAT csv, HEADER)`);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
});
afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('the Udacity data through the engine', () => {
  it('after cleaning: 17,489/145,274 vs 17,264/145,310, z = -1.3109, SRM ok', async () => {
    const r = await analyze({
      exposures: { path: join(dir, 'exposures.parquet') },
      events: { path: join(dir, 'events.parquet') },
      experiment: 'landing_page',
      metrics: [{ name: 'converted', kind: 'conversion' }],
      config: { split: { control: 50, treatment: 50 } },
      naiveView: false,
    });
    const stats = r.metrics[0]?.statistics ?? [];
    expect(stats.map((s) => [s.arm, s.conversions, s.n])).toEqual([
      ['control', 17_489, 145_274],
      ['treatment', 17_264, 145_310],
    ]);
    const primary = r.metrics[0]?.comparisons[0]?.primary;
    const stratum = primary?.strata[0];
    expect(primary?.strata).toHaveLength(1);
    // the stratum's test is the library's pooled-SE z-test: z = -1.3109
    expect(((stratum?.difference.estimate ?? 0) / Math.sqrt(((17_489 + 17_264) / 290_584) * (1 - (17_489 + 17_264) / 290_584) * (1 / 145_274 + 1 / 145_310))).toFixed(4)).toBe('-1.3109');
    expect(stratum?.pValue.toFixed(4)).toBe('0.1899');
    expect(primary?.control.estimate).toBeCloseTo(0.1203863, 7);
    expect(primary?.treatment.estimate).toBeCloseTo(0.1188081, 7);
    expect(r.drift.crossoverUnits).toBe(0);
    expect(r.srm[0]?.chiSquare?.toFixed(4)).toBe('0.0045');
    expect(r.srm[0]?.status).toBe('ok');
  });

  it('without cleaning: drift forensics reports the 1,895 crossover users', async () => {
    const r = await analyze({
      exposures: { path: join(dir, 'raw-exposures.csv') },
      events: { path: join(dir, 'raw-events.csv') },
      experiment: 'landing_page',
      metrics: [{ name: 'converted', kind: 'conversion' }],
      naiveView: false,
    });
    expect(r.units.total).toBe(290_584);
    expect(r.drift.crossoverUnits).toBe(1_895);
    expect(r.drift.warning).toBe(false); // 0.65% < 1%
    expect(r.drift.flipMatrix.reduce((a, f) => a + f.units, 0)).toBe(1_895);
    expect(r.drift.firstFlipDay).not.toBeNull();
  });
});
