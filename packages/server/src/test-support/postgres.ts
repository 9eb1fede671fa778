/**
 * Helpers for tests that need a real PostgreSQL: where it is, a clear failure when it is not
 * running (PostgreSQL tests never skip silently), and throwaway schemas.
 */
import { randomBytes } from 'node:crypto';
import { Client, escapeIdentifier, type QueryResultRow } from 'pg';
import { withDefaultUser } from '../store/postgres.js';

export const START_POSTGRES_HINT = 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start';

/** The test database: $SORTITION_TEST_PG, or the local one with trust auth. */
export function testDatabaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env['SORTITION_TEST_PG'] ?? 'postgres://127.0.0.1:5432/test';
}

/** A fresh schema name that no other test (or concurrent test run) uses. */
export function randomSchemaName(prefix = 'sortition_test'): string {
  return `${prefix}_${randomBytes(8).toString('hex')}`;
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch (cause) {
    return `<unparseable connection string: ${cause instanceof Error ? cause.message : String(cause)}>`;
  }
}

/** Runs one statement on a short-lived connection (for setup, cleanup and looking at stored rows). */
export async function queryOnce<R extends QueryResultRow>(url: string, sql: string, params: readonly unknown[] = []): Promise<R[]> {
  const client = new Client({ connectionString: withDefaultUser(url), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return (await client.query<R>(sql, [...params])).rows;
  } finally {
    await client.end();
  }
}

/** Resolves if PostgreSQL answers a query at `url`; otherwise fails with a message saying how to start it. */
export async function requirePostgres(url: string): Promise<void> {
  try {
    await queryOnce(url, 'SELECT 1');
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new Error(
      `Cannot use PostgreSQL at ${redact(url)}: ${reason}. The PostgreSQL tests need a running server and do not skip. ` +
        `If it is not running, start the local one with: ${START_POSTGRES_HINT} ` +
        `(or point SORTITION_TEST_PG at another database, e.g. postgres://postgres@127.0.0.1:5432/test).`,
      { cause },
    );
  }
}

/** Drops a test schema and everything in it. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  await queryOnce(url, `DROP SCHEMA IF EXISTS ${escapeIdentifier(schema)} CASCADE`);
}
