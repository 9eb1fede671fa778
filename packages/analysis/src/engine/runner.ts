// Where the script runs: an embedded DuckDB connection or a PostgreSQL session, behind one small
// interface, and the script's results read into plain records (pipeline.ts).
import { type DuckDBConnection } from '@duckdb/node-api';
import { duckdbDialect, postgresDialect, type Dialect } from './dialect.js';
import { AnalysisError } from './errors.js';
import { execute, queryRows, type Row, type Scalar } from './sql.js';

export interface SqlRunner {
  readonly dialect: Dialect;
  query(sql: string): Promise<Row[]>;
  execute(sql: string): Promise<void>;
}

export function duckdbRunner(connection: DuckDBConnection): SqlRunner {
  return { dialect: duckdbDialect, query: (sql) => queryRows(connection, sql), execute: (sql) => execute(connection, sql) };
}

/**
 * What the engine needs of a PostgreSQL client: `query(text)` resolving to `{ rows }`. A `pg`
 * Client or a PoolClient checked out of a Pool fits; a Pool does not (the script's temp tables
 * live in one session).
 */
export interface PostgresClient {
  query(text: string): Promise<{ rows: readonly Record<string, unknown>[] }>;
}

export function postgresRunner(client: PostgresClient): SqlRunner {
  const run = async (sql: string): Promise<Row[]> => {
    try {
      const result = await client.query(sql);
      return result.rows.map((row) => {
        const out: Row = {};
        for (const [key, value] of Object.entries(row)) out[key] = toScalar(value);
        return out;
      });
    } catch (error) {
      throw new AnalysisError('POSTGRES_ERROR', `PostgreSQL query failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  };
  return {
    dialect: postgresDialect,
    query: run,
    execute: async (sql) => {
      await run(sql);
    },
  };
}

/** node-postgres returns BIGINT and NUMERIC as strings; num() in sql.ts reads them as numbers. */
function toScalar(value: unknown): Scalar {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return value.toISOString();
  return String(value);
}
