// analyze(): the analysis on an embedded, in-memory DuckDB over files or rows. The SQL is the
// engine-independent script (script.ts); only the reading of the inputs is DuckDB's (load.ts).
// See README.md ("The analysis engine") for every definition.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { runAnalysis } from './core.js';
import { AnalysisError } from './errors.js';
import { prepareInput } from './load.js';
import { duckdbRunner } from './runner.js';
import { TABLES } from './script.js';
import { execute } from './sql.js';
import { type AnalysisResult, type AnalyzeOptions } from './types.js';

export type * from './types.js';

/** Opens an in-memory DuckDB, runs the analysis, and closes everything (also on error). */
export async function analyze(options: AnalyzeOptions): Promise<AnalysisResult> {
  if (typeof options.experiment !== 'string' || options.experiment === '') {
    throw new AnalysisError('INVALID_OPTION', 'experiment must be a non-empty string: pass the experiment key to analyse');
  }
  const config: Record<string, string> = { threads: String(options.duckdb?.threads ?? 2) };
  if (options.duckdb?.memoryLimit !== undefined) config['memory_limit'] = options.duckdb.memoryLimit;
  const scratch = await mkdtemp(join(tmpdir(), 'sortition-analysis-'));
  let instance: DuckDBInstance | undefined;
  let connection: DuckDBConnection | undefined;
  try {
    config['temp_directory'] = join(scratch, 'spill');
    instance = await DuckDBInstance.create(':memory:', config);
    connection = await instance.connect();
    return await analyzeOn(connection, scratch, options);
  } finally {
    connection?.closeSync();
    instance?.closeSync();
    await rm(scratch, { recursive: true, force: true });
  }
}

async function analyzeOn(connection: DuckDBConnection, scratch: string, options: AnalyzeOptions): Promise<AnalysisResult> {
  await execute(connection, "SET TimeZone = 'UTC'");
  options.onStage?.('reading the inputs');
  const exposures = await prepareInput(connection, 'exposures', options.exposures, scratch);
  const events = await prepareInput(connection, 'events', options.events, scratch);
  // A file that DuckDB cannot parse fails in the pass that first reads all of it.
  const unreadable = (kind: 'exposures' | 'events', label: string, error: unknown): AnalysisError =>
    new AnalysisError('UNREADABLE_INPUT', `cannot read ${kind} input ${label}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  return runAnalysis(duckdbRunner(connection), options, { exposures, events }, (step, error) => {
    // The first pass over the exposures: the ENUMs' scan in DuckDB (script-exposures.ts), else the table.
    if (step.name === TABLES.codes || step.name === TABLES.exp) return unreadable('exposures', exposures.base.source, error);
    // Without a metric list the dictionary of metrics is the first pass over the events.
    if (step.name === TABLES.ue || step.name === TABLES.metrics) return unreadable('events', events.base.source, error);
    return error;
  });
}
