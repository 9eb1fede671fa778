// `sortition analyze --postgres URL --exposures-table T --events-table T` against the machine's
// PostgreSQL (a schema of its own per run, dropped afterwards): the same report as from files, and
// `--print-sql`. Fails, never skips, when PostgreSQL is not running.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAnalyze, runAnalyze, type AnalyzeReport } from './analyze.js';
import { withDefaultUser } from './analyze-postgres.js';

const URL_ = process.env['SORTITION_TEST_PG'] ?? 'postgres://127.0.0.1:5432/test';
const schema = `sortition_cli_${randomBytes(6).toString('hex')}`;
let client: pg.Client;
let unavailable: Error | undefined;
let dir: string;

const day = (d: number, hour: number): string => `2026-03-0${d}T${String(hour).padStart(2, '0')}:00:00Z`;

/** 300 units over two phases; 40 cross over in phase p2; revenue values in quarters (exact sums). */
function rows(): { exposures: string[][]; events: (string | number)[][] } {
  const exposures: string[][] = [];
  const events: (string | number)[][] = [];
  for (let i = 0; i < 300; i++) {
    const variant = i % 2 === 0 ? 'control' : 'treatment';
    const first = 1 + (i % 4);
    exposures.push([`u${i}`, 'checkout', variant, day(first, 9), first <= 2 ? 'p1' : 'p2', '1']);
    if (i < 40) exposures.push([`u${i}`, 'checkout', variant === 'control' ? 'treatment' : 'control', day(5, 9), 'p2', '2']);
    events.push([`u${i}`, day(first, 10), 'revenue', ((i * 7) % 40) / 4 + (variant === 'treatment' ? 1 : 0)]);
    if (i % 3 === 0) events.push([`u${i}`, day(first, 12), 'purchase', 1]);
  }
  return { exposures, events };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sortition-cli-pg-'));
  const data = rows();
  await writeFile(join(dir, 'exposures.csv'), ['unit_id,experiment,variant,timestamp,phase,config_version', ...data.exposures.map((r) => r.join(','))].join('\n'));
  await writeFile(join(dir, 'events.csv'), ['unit_id,timestamp,metric,value', ...data.events.map((r) => r.join(','))].join('\n'));
  client = new pg.Client({ connectionString: withDefaultUser(URL_), connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    unavailable = new Error(`Cannot use PostgreSQL at ${URL_} (${error instanceof Error ? error.message : String(error)}); these tests need it and do not skip`, { cause: error });
    return;
  }
  const q = (name: string): string => `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(name)}`;
  await client.query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
  await client.query(`CREATE TABLE ${q('exposures')} (unit_id text, experiment text, variant text, "timestamp" timestamptz, phase text, config_version integer)`);
  await client.query(`CREATE TABLE ${q('events')} (unit_id text, "timestamp" timestamptz, metric text, value numeric)`);
  for (const r of data.exposures) await client.query(`INSERT INTO ${q('exposures')} VALUES ($1, $2, $3, $4, $5, $6)`, r);
  for (const r of data.events) await client.query(`INSERT INTO ${q('events')} VALUES ($1, $2, $3, $4)`, r);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  if (unavailable !== undefined) return;
  await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  await client.end();
});

async function run(args: string[]): Promise<{ stdout: string; exitCode: number }> {
  const outputs: { stdout: string; exitCode: number }[] = [];
  const program = new Command('sortition').exitOverride();
  registerAnalyze(program, (o) => outputs.push(o));
  await program.parseAsync(['analyze', ...args], { from: 'user' });
  return outputs[0] ?? { stdout: '', exitCode: -1 };
}

describe('sortition analyze --postgres', () => {
  it('gives the report the files give (JSON), from tables with integer and numeric columns', async () => {
    if (unavailable !== undefined) throw unavailable;
    const common = ['--experiment', 'checkout', '--metric', 'revenue', '--metric', 'purchase:conversion', '--split', 'control:1,treatment:1', '--format', 'json'];
    const fromPg = JSON.parse((await run(['--postgres', URL_, '--exposures-table', `${schema}.exposures`, '--events-table', `${schema}.events`, ...common])).stdout) as AnalyzeReport;
    const fromFiles = JSON.parse((await run(['--exposures', join(dir, 'exposures.csv'), '--events', join(dir, 'events.csv'), ...common])).stdout) as AnalyzeReport;
    expect(fromPg.units).toEqual(fromFiles.units);
    expect(fromPg.units.total).toBe(300);
    expect(fromPg.drift).toEqual(fromFiles.drift);
    expect(fromPg.metrics.map((m) => m.statistics)).toEqual(fromFiles.metrics.map((m) => m.statistics));
    const pgPrimary = fromPg.metrics[0]?.comparisons[0]?.primary;
    const filePrimary = fromFiles.metrics[0]?.comparisons[0]?.primary;
    expect(pgPrimary?.difference.estimate).toBeCloseTo(filePrimary?.difference.estimate ?? Number.NaN, 12);
    expect(pgPrimary?.pValue).toBeCloseTo(filePrimary?.pValue ?? Number.NaN, 12);
    expect(fromPg.metrics[0]?.comparisons[0]?.cumulative?.points.length).toBe(fromFiles.metrics[0]?.comparisons[0]?.cumulative?.points.length);
    expect(fromPg.inputs.exposures.format).toBe('postgres');
  });

  it('--print-sql prints the script for the tables (their column types read from the catalog) and runs nothing', async () => {
    if (unavailable !== undefined) throw unavailable;
    const out = await run(['--print-sql', '--postgres', URL_, '--exposures-table', `${schema}.exposures`, '--events-table', `${schema}.events`, '--experiment', 'checkout', '--cumulative', 'week']);
    expect(out.stdout).toMatch(/^BEGIN ISOLATION LEVEL REPEATABLE READ;/);
    expect(out.stdout).toContain(`FROM ${schema}.events`);
    expect(out.stdout).toContain('CAST("value" AS DOUBLE PRECISION)');
    expect(out.stdout).toContain("date_trunc('week', e.ts)");
    expect(out.stdout).not.toContain(URL_);
    const assumed = await run(['--print-sql', '--exposures-table', 'a.exposures', '--events-table', 'a.events', '--experiment', 'checkout']);
    expect(assumed.stdout).toMatch(/^-- column types assumed/);
  });

  it('refuses files and tables together, tables without --postgres, and --postgres without --experiment', async () => {
    await expect(run(['--postgres', URL_, '--exposures-table', 'a', '--events-table', 'b', '--exposures', 'x.csv', '--experiment', 'e'])).rejects.toThrow(/not both/);
    await expect(run(['--exposures-table', 'a', '--events-table', 'b', '--experiment', 'e'])).rejects.toThrow(/need --postgres/);
    await expect(runAnalyze({ postgres: { url: URL_, exposuresTable: 'a', eventsTable: 'b' } })).rejects.toThrow(/needs --experiment/);
    await expect(run(['--postgres', 'mysql://x/y', '--exposures-table', 'a', '--events-table', 'b', '--experiment', 'e'])).rejects.toThrow(/connection URL/);
  });
});
