// Validation in SQL: every rule counted with examples and row numbers; analysis refuses bad rows
// unless allowBadRows is set; missing columns name the column and the fix; CSV, JSONL and Parquet.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from './analyze.js';
import { AnalysisError } from './errors.js';
import { detectFormat } from './load.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sortition-load-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const EXPOSURES_CSV = [
  'unit_type,unit_id,experiment,phase,variant,slot,config_version,timestamp,source,count,last_at',
  'userId,a,exp,p1,control,1,1,2024-01-01T00:00:00Z,server,1,2024-01-01T00:00:00Z', // row 1 ok
  'userId,,exp,p1,control,1,1,2024-01-01T00:00:00Z,server,1,', // row 2 unit_id empty
  'userId,b,exp,p1,treatment,1,1,not-a-time,server,1,', // row 3 timestamp
  'userId,c, ,p1,treatment,1,1,1704067200000,server,1,', // row 4 experiment empty
  'userId,d,exp,p1,,1,1,2024-01-01T00:00:00+02:00,server,1,', // row 5 variant empty
  'userId,e,exp,p1,treatment,1,v2,2024-01-01T00:00:00Z,server,1,', // row 6 config_version
  'userId,f,exp,p1,treatment,1,1,2024-02-30T00:00:00Z,server,1,', // row 7 timestamp (no Feb 30)
  'userId,g,exp,p1,control,1,,2024-01-02,sdk,1,', // row 8 ok (config_version empty is allowed)
  'userId,h,exp,p1,treatment,1,1,1704067200000,sdk,1,', // row 9 ok (epoch ms)
].join('\n');

const EVENTS_JSONL = [
  { unit_id: 'a', timestamp: '2024-01-02T00:00:00Z', metric: 'revenue', value: 3 },
  { unit_id: 'g', timestamp: 1704153600000, metric: 'revenue', value: '2.5' },
  { unit_id: 'h', timestamp: '2024-01-02T00:00:00Z', metric: 'revenue', value: 'NaN' }, // line 3 value
  { unit_id: 'h', timestamp: '2024-01-02T00:00:00Z', metric: '', value: 1 }, // line 4 metric
  { timestamp: '2024-01-02T00:00:00Z', metric: 'revenue', value: 1 }, // line 5 unit_id
  { unit_id: 'a', timestamp: 'yesterday', metric: 'revenue', value: 1 }, // line 6 timestamp
  { unit_id: 'a', timestamp: '2024-01-02T00:00:00Z', metric: 'revenue', value: null }, // line 7 value
  { unit_id: 'h', timestamp: '2024-01-02T00:00:00Z', metric: 'revenue', value: 4 },
]
  .map((r) => JSON.stringify(r))
  .join('\n');

describe('load: validation rules in SQL', () => {
  it('refuses bad rows with counts and examples per rule, naming the rows', async () => {
    await writeFile(join(dir, 'exposures.csv'), EXPOSURES_CSV);
    await writeFile(join(dir, 'events.jsonl'), EVENTS_JSONL);
    const error = await analyze({ exposures: { path: join(dir, 'exposures.csv') }, events: { path: join(dir, 'events.jsonl') }, experiment: 'exp' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AnalysisError);
    expect((error as AnalysisError).code).toBe('BAD_ROWS');
    expect((error as AnalysisError).message).toContain('allowBadRows');

    const r = await analyze({ exposures: { path: join(dir, 'exposures.csv') }, events: { path: join(dir, 'events.jsonl') }, experiment: 'exp', allowBadRows: true });
    const ex = r.inputs.exposures;
    expect(ex.format).toBe('csv');
    expect(ex.rows).toBe(9);
    expect(ex.badRows).toBe(6);
    const rules = Object.fromEntries(ex.violations.map((v) => [v.rule, { count: v.count, rows: v.examples.map((e) => e.row) }]));
    expect(rules).toEqual({
      unit_id_empty: { count: 1, rows: [2] },
      experiment_empty: { count: 1, rows: [4] },
      variant_empty: { count: 1, rows: [5] },
      timestamp_invalid: { count: 2, rows: [3, 7] },
      config_version_invalid: { count: 1, rows: [6] },
    });
    expect(ex.violations.find((v) => v.rule === 'timestamp_invalid')?.examples[0]?.values['timestamp']).toBe('not-a-time');
    expect(ex.optionalColumns).toEqual(['phase', 'config_version', 'source']);

    const ev = r.inputs.events;
    expect(ev.format).toBe('jsonl');
    expect(ev.badRows).toBe(5);
    expect(Object.fromEntries(ev.violations.map((v) => [v.rule, { count: v.count, rows: v.examples.map((e) => e.row) }]))).toEqual({
      unit_id_empty: { count: 1, rows: [5] },
      metric_empty: { count: 1, rows: [4] },
      timestamp_invalid: { count: 1, rows: [6] },
      value_invalid: { count: 2, rows: [3, 7] },
    });
    expect(r.inputs.excludedBadRows).toEqual({ exposures: 6, events: 5 });
    expect(r.warnings.map((w) => w.code)).toContain('BAD_ROWS_EXCLUDED');
    // valid rows only: a, g, h
    expect(r.units.total).toBe(3);
    const stats = r.metrics[0]?.statistics ?? [];
    expect(stats.find((s) => s.arm === 'control')?.sum).toBe(5.5);
    expect(stats.find((s) => s.arm === 'treatment')?.sum).toBe(4);
  });

  it('keeps at most five examples per rule', async () => {
    const rows = Array.from({ length: 12 }, (_, i) => ({ unit_id: `u${i}`, experiment: 'exp', variant: i % 2 === 0 ? 'control' : 'treatment', timestamp: i < 8 ? 'bad' : '2024-01-01T00:00:00Z' }));
    const r = await analyze({ exposures: { rows }, events: { rows: [{ unit_id: 'u9', timestamp: '2024-01-02T00:00:00Z', metric: 'm', value: 1 }] }, experiment: 'exp', allowBadRows: true });
    const v = r.inputs.exposures.violations[0];
    expect(v?.count).toBe(8);
    expect(v?.examples.map((e) => e.row)).toEqual([1, 2, 3, 4, 5]);
  });

  it('names a missing column and the fix', async () => {
    await writeFile(join(dir, 'no-variant.csv'), 'unit_id,experiment,timestamp\na,exp,2024-01-01T00:00:00Z\n');
    const error = await analyze({ exposures: { path: join(dir, 'no-variant.csv') }, events: { rows: [{ unit_id: 'a', timestamp: 0, metric: 'm', value: 1 }] }, experiment: 'exp' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AnalysisError);
    expect((error as AnalysisError).code).toBe('MISSING_COLUMN');
    expect((error as AnalysisError).message).toMatch(/no column "variant".*Fix: add a "variant" column/);
  });

  it('reads Parquet with typed columns (epoch-ms BIGINT timestamps, DOUBLE values)', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const exposuresPath = join(dir, "it's exposures.parquet");
    const eventsPath = join(dir, 'events.parquet');
    try {
      await connection.run(`COPY (SELECT 'u' || i AS unit_id, 'exp' AS experiment, CASE WHEN i % 2 = 0 THEN 'control' ELSE 'treatment' END AS variant, 1704067200000 + i AS timestamp FROM range(10) t(i)) TO '${exposuresPath.replaceAll("'", "''")}' (FORMAT parquet)`);
      await connection.run(`COPY (SELECT 'u' || i AS unit_id, 1704067300000 AS timestamp, 'revenue' AS metric, CAST(i AS DOUBLE) AS value FROM range(10) t(i)) TO '${eventsPath}' (FORMAT parquet)`);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
    const r = await analyze({ exposures: { path: exposuresPath }, events: { path: eventsPath }, experiment: 'exp', config: { split: { control: 1, treatment: 1 } } });
    expect(r.inputs.exposures.format).toBe('parquet');
    expect(r.units.total).toBe(10);
    const stats = r.metrics[0]?.statistics ?? [];
    expect(stats.find((s) => s.arm === 'control')?.sum).toBe(0 + 2 + 4 + 6 + 8);
    expect(stats.find((s) => s.arm === 'treatment')?.sum).toBe(1 + 3 + 5 + 7 + 9);
    expect(r.srm[0]?.status).toBe('insufficient-data');
  });

  it('counts a config_version that is not an integer, where DuckDB would round it or read an exponent', async () => {
    const header = 'unit_id,experiment,variant,timestamp,config_version';
    const versions = ['1.5', '1e3', ' 7 ', '-3', '+4', '2.0', '99999999999999999999', '12'];
    const csv = [header, ...versions.map((v, i) => `u${i},exp,${i % 2 === 0 ? 'control' : 'treatment'},2024-01-01T00:00:00Z,${v}`)].join('\n');
    await writeFile(join(dir, 'versions.csv'), csv);
    const events = { rows: [{ unit_id: 'u0', timestamp: '2024-01-02T00:00:00Z', metric: 'm', value: 1 }] };
    const r = await analyze({ exposures: { path: join(dir, 'versions.csv') }, events, experiment: 'exp', allowBadRows: true });
    const v = r.inputs.exposures.violations.find((x) => x.rule === 'config_version_invalid');
    // 1.5, 1e3, 2.0 (text: digits only) and a value beyond BIGINT; ' 7 ', -3, +4 and 12 are integers.
    expect(v?.count).toBe(4);
    expect(v?.examples.map((e) => e.row)).toEqual([1, 2, 6, 7]);

    // Typed Parquet: a DOUBLE with a fraction is refused, an integral DOUBLE is its integer, a BIGINT is never checked.
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const doubles = join(dir, 'versions-double.parquet');
    const bigints = join(dir, 'versions-bigint.parquet');
    try {
      await connection.run(`COPY (SELECT 'u' || i AS unit_id, 'exp' AS experiment, CASE WHEN i % 2 = 0 THEN 'control' ELSE 'treatment' END AS variant, 1704067200000 + i AS timestamp, CAST(i AS DOUBLE) + CASE WHEN i = 3 THEN 0.5 ELSE 0 END AS config_version FROM range(6) t(i)) TO '${doubles}' (FORMAT parquet)`);
      await connection.run(`COPY (SELECT 'u' || i AS unit_id, 'exp' AS experiment, CASE WHEN i % 2 = 0 THEN 'control' ELSE 'treatment' END AS variant, 1704067200000 + i AS timestamp, CAST(i AS BIGINT) AS config_version FROM range(6) t(i)) TO '${bigints}' (FORMAT parquet)`);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
    const d = await analyze({ exposures: { path: doubles }, events, experiment: 'exp', allowBadRows: true });
    expect(d.inputs.exposures.violations.map((x) => [x.rule, x.count, x.examples.map((e) => e.values['config_version'])])).toEqual([['config_version_invalid', 1, ['3.5']]]);
    const b = await analyze({ exposures: { path: bigints }, events, experiment: 'exp' });
    expect(b.inputs.exposures.badRows).toBe(0);
  });

  it('takes an id of spaces as empty, and one that only starts with a space as an id', async () => {
    const rows = [
      { unit_id: '   ', experiment: 'exp', variant: 'control', timestamp: '2024-01-01T00:00:00Z' },
      { unit_id: ' a', experiment: 'exp', variant: 'control', timestamp: '2024-01-01T00:00:00Z' },
      { unit_id: 'b', experiment: 'exp', variant: ' ', timestamp: '2024-01-01T00:00:00Z' },
      { unit_id: 'c', experiment: 'exp', variant: 'treatment ', timestamp: '2024-01-01T00:00:00Z' },
      { unit_id: '', experiment: 'exp', variant: 'treatment', timestamp: '2024-01-01T00:00:00Z' },
    ];
    const events = [
      { unit_id: ' a', timestamp: '2024-01-02T00:00:00Z', metric: '  ', value: 1 },
      { unit_id: ' a', timestamp: '2024-01-02T00:00:00Z', metric: ' m', value: 2 },
      { unit_id: '  ', timestamp: '2024-01-02T00:00:00Z', metric: 'm', value: 3 },
    ];
    const r = await analyze({ exposures: { rows }, events: { rows: events }, experiment: 'exp', allowBadRows: true });
    const counts = (v: readonly { rule: string; count: number }[]): Record<string, number> => Object.fromEntries(v.map((x) => [x.rule, x.count]));
    expect(counts(r.inputs.exposures.violations)).toEqual({ unit_id_empty: 2, variant_empty: 1 });
    expect(counts(r.inputs.events.violations)).toEqual({ unit_id_empty: 1, metric_empty: 1 });
    expect(r.units.total).toBe(2);
    expect(r.metrics.map((m) => m.metric)).toEqual([' m']);
  });

  it('picks the format by extension, or fails naming the fix', () => {
    expect(detectFormat({ path: 'x.CSV' })).toBe('csv');
    expect(detectFormat({ path: 'x.ndjson' })).toBe('jsonl');
    expect(detectFormat({ path: 'x.txt', format: 'parquet' })).toBe('parquet');
    expect(() => detectFormat({ path: 'x.txt' })).toThrow(/pass \{ format/);
  });
});
