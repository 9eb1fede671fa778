// Small helpers shared by the engine's SQL: quoting, and reading result rows as plain numbers and
// strings (DuckDB returns BIGINT as bigint, timestamps as objects).
import { type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { AnalysisError } from './errors.js';

/** A SQL string literal: single quotes doubled, so any path or name is safe inside '...'. */
export function quoteLiteral(value: string): string {
  if (value.includes('\u0000')) throw new AnalysisError('INVALID_OPTION', 'strings passed to SQL must not contain NUL characters');
  return `'${value.replaceAll("'", "''")}'`;
}

/** A SQL identifier: double quotes doubled. */
export function quoteIdentifier(name: string): string {
  if (name.includes('\u0000')) throw new AnalysisError('INVALID_OPTION', 'identifiers must not contain NUL characters');
  return `"${name.replaceAll('"', '""')}"`;
}

export type Scalar = string | number | boolean | null;
export type Row = Record<string, Scalar>;

/** Runs a query and returns rows with bigint as number, timestamps and dates as ISO strings. */
export async function queryRows(
  connection: DuckDBConnection,
  sql: string,
  params?: Record<string, DuckDBValue> | DuckDBValue[],
): Promise<Row[]> {
  try {
    const reader = await connection.runAndReadAll(sql, params);
    return reader.getRowObjectsJS().map((row) => {
      const out: Row = {};
      for (const [key, value] of Object.entries(row)) out[key] = toScalar(value);
      return out;
    });
  } catch (error) {
    if (error instanceof AnalysisError) throw error;
    throw new AnalysisError('DUCKDB_ERROR', `DuckDB query failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

export async function execute(connection: DuckDBConnection, sql: string, params?: Record<string, DuckDBValue> | DuckDBValue[]): Promise<void> {
  try {
    await connection.run(sql, params);
  } catch (error) {
    throw new AnalysisError('DUCKDB_ERROR', `DuckDB statement failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

function toScalar(value: unknown): Scalar {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

export function num(row: Row, key: string): number {
  const v = row[key];
  if (typeof v === 'number') return v;
  if (v === null || v === undefined) return 0;
  return Number(v);
}

export function str(row: Row, key: string): string {
  const v = row[key];
  return v === null || v === undefined ? '' : String(v);
}

export function strOrNull(row: Row, key: string): string | null {
  const v = row[key];
  return v === null || v === undefined ? null : String(v);
}
