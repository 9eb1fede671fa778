// The analysis in a PostgreSQL warehouse: the same script as analyze() (script.ts, in the
// PostgreSQL dialect) over the team's exposures and events tables, in one session and one
// transaction that is rolled back at the end, so nothing but temp tables is ever written and they
// disappear with it. analysisSql() returns that SQL as text, to review or to run elsewhere.
import { runAnalysis, scriptFor } from './core.js';
import { dialectFor, type DialectName } from './dialect.js';
import { AnalysisError } from './errors.js';
import { postgresRunner, type PostgresClient } from './runner.js';
import { renderScript, type Step } from './script.js';
import { quoteLiteral, str, type Row } from './sql.js';
import { tableSource, type ColumnTypes } from './table-source.js';
import { type AnalysisOptions, type AnalysisResult, type InputKind } from './types.js';

export interface PostgresTables {
  /** A table or view with the exposures columns (`unit_id, experiment, variant, timestamp`, optional `phase, config_version, source`); may be schema-qualified. */
  readonly exposures: string;
  /** A table or view with the events columns (`unit_id, timestamp, metric, value`). */
  readonly events: string;
}

export interface PostgresAnalyzeOptions extends AnalysisOptions {
  readonly tables: PostgresTables;
}

/** Column name → SQL type, per input, for analysisSql() (which cannot look at the tables). */
export interface PostgresColumnTypes {
  readonly exposures?: Readonly<Record<string, string>>;
  readonly events?: Readonly<Record<string, string>>;
}

/** What analysisSql() assumes when not told: typed columns with every optional exposures column present. */
export const DEFAULT_COLUMN_TYPES: Required<PostgresColumnTypes> = {
  exposures: { unit_id: 'text', experiment: 'text', variant: 'text', timestamp: 'timestamp with time zone', phase: 'text', config_version: 'bigint' },
  events: { unit_id: 'text', metric: 'text', timestamp: 'timestamp with time zone', value: 'double precision' },
};

/**
 * Runs the analysis on `client` (a connected `pg` Client, or a PoolClient; not a Pool: the temp
 * tables live in one session; not inside a transaction of the caller's). Needs SELECT on the two
 * tables and the TEMPORARY privilege on the database.
 */
export async function analyzePostgres(client: PostgresClient, options: PostgresAnalyzeOptions): Promise<AnalysisResult> {
  if (typeof (client as { totalCount?: unknown }).totalCount === 'number') {
    throw new AnalysisError('INVALID_OPTION', 'analyzePostgres needs one session: pass a connected Client (or pool.connect()), not a Pool');
  }
  const runner = postgresRunner(client);
  await runner.execute('BEGIN ISOLATION LEVEL REPEATABLE READ');
  let result: AnalysisResult;
  try {
    await runner.execute('SET LOCAL standard_conforming_strings = on');
    options.onStage?.('reading the table definitions');
    const sources = await Promise.all(
      (['exposures', 'events'] as const).map(async (kind) => {
        const { relation, types } = await describeTable(runner.query, options.tables[kind], kind);
        const source = tableSource(runner.dialect, kind, relation, types, relation);
        await runner.execute(source.sql);
        return { base: { kind, source: relation, format: 'postgres' as const, optionalColumns: source.optionalColumns }, rules: source.rules, checked: kind === 'exposures' ? 'sortition_exposures_src' : 'sortition_events_src' };
      }),
    );
    const [exposures, events] = sources as [(typeof sources)[number], (typeof sources)[number]];
    result = await runAnalysis(runner, options, { exposures, events });
  } catch (error) {
    // Roll back (the temp tables go with it) and report the analysis's error, not the rollback's.
    await runner.execute('ROLLBACK').catch((rollbackError: unknown) => process.emitWarning(`analyzePostgres: ROLLBACK failed after an error: ${String(rollbackError)}`));
    throw error;
  }
  await runner.execute('ROLLBACK');
  return result;
}

/** The table's canonical (quoted, schema-qualified when needed) name and its columns' types. */
async function describeTable(query: (sql: string) => Promise<Row[]>, table: string, kind: InputKind): Promise<{ relation: string; types: ColumnTypes }> {
  if (typeof table !== 'string' || table.trim() === '') throw new AnalysisError('INVALID_OPTION', `tables.${kind}: name the ${kind} table (e.g. analytics.${kind})`);
  const found = await query(`SELECT to_regclass(${quoteLiteral(table)})::text AS name, to_regclass(${quoteLiteral(table)})::oid AS oid`);
  const row = found[0];
  const relation = row === undefined ? '' : str(row, 'name');
  if (row === undefined || relation === '') throw new AnalysisError('UNREADABLE_INPUT', `${kind} table ${table} does not exist (or is not visible on the search_path): name it as [schema.]table`);
  const oid = str(row, 'oid');
  const columns = await query(`SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = ${Number(oid)} AND attnum > 0 AND NOT attisdropped ORDER BY attnum`);
  return { relation, types: new Map(columns.map((c) => [String(c['name']), String(c['type'])])) };
}

/** The column types of the two tables, as analysisSql() takes them (read from the catalog on `client`). */
export async function describePostgresTables(client: PostgresClient, tables: PostgresTables): Promise<{ tables: PostgresTables; columns: PostgresColumnTypes }> {
  const runner = postgresRunner(client);
  const exposures = await describeTable(runner.query, tables.exposures, 'exposures');
  const events = await describeTable(runner.query, tables.events, 'events');
  return {
    tables: { exposures: exposures.relation, events: events.relation },
    columns: { exposures: Object.fromEntries(exposures.types), events: Object.fromEntries(events.types) },
  };
}

/**
 * The whole analysis as SQL text for `dialect` over the two tables, as analyzePostgres() would run
 * it (PostgreSQL: one transaction, rolled back; DuckDB: temp objects in the session). `columns`
 * gives the tables' column types (default: DEFAULT_COLUMN_TYPES). The named results are the
 * sufficient statistics analyze() turns into estimates.
 */
export function analysisSql(dialect: DialectName, options: PostgresAnalyzeOptions & { readonly columns?: PostgresColumnTypes }): string {
  const d = dialectFor(dialect);
  const sources = (['exposures', 'events'] as const).map((kind) => {
    const given = options.columns?.[kind] ?? DEFAULT_COLUMN_TYPES[kind];
    const relation = options.tables[kind];
    // A plain or quoted [schema.]table name (as describePostgresTables returns it); nothing else reaches the SQL.
    const part = '(?:[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"\\u0000]|"")+")';
    if (typeof relation !== 'string' || !new RegExp(`^${part}(?:\\.${part})?$`).test(relation)) {
      throw new AnalysisError('INVALID_OPTION', `tables.${kind}: "${String(relation)}" is not a [schema.]table name`);
    }
    return tableSource(d, kind, relation, new Map(Object.entries(given)), relation);
  });
  const [exposures, events] = sources as [(typeof sources)[number], (typeof sources)[number]];
  const steps: Step[] = [
    { name: 'sortition_exposures_src', returnsRows: false, comment: 'the exposures, typed', sql: exposures.sql },
    { name: 'sortition_events_src', returnsRows: false, comment: 'the events, typed', sql: events.sql },
    ...scriptFor(d, options, exposures.rules),
  ];
  const body = renderScript(steps);
  return dialect === 'postgres' ? `BEGIN ISOLATION LEVEL REPEATABLE READ;\nSET LOCAL standard_conforming_strings = on;\n\n${body}\nROLLBACK;\n` : `SET TimeZone = 'UTC';\n\n${body}`;
}
