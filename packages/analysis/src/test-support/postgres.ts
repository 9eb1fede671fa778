// The PostgreSQL the tests use: $SORTITION_TEST_PG or the local one (trust auth, database `test`),
// a clear failure when it is not running (the tests fail, never skip), and throwaway schemas.
import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import pg from 'pg';

export const START_POSTGRES_HINT = 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start';

/** The test database; without a user in the URL and without $PGUSER/$USER, the OS user (as psql does). */
export function testDatabaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  const url = new URL(env['SORTITION_TEST_PG'] ?? 'postgres://127.0.0.1:5432/test');
  if (url.username === '' && (env['PGUSER'] ?? '') === '' && (env['USER'] ?? '') === '') url.username = encodeURIComponent(userInfo().username);
  return url.toString();
}

export function randomSchemaName(): string {
  return `sortition_analysis_${randomBytes(6).toString('hex')}`;
}

/** A connected client; fails with how to start PostgreSQL when it cannot connect. */
export async function connect(url = testDatabaseUrl()): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (cause) {
    const redacted = new URL(url);
    if (redacted.password !== '') redacted.password = '***';
    throw new Error(
      `Cannot use PostgreSQL at ${redacted.toString()}: ${cause instanceof Error ? cause.message : String(cause)}. The PostgreSQL tests need a running server and do not skip. ` +
        `Start the local one with: ${START_POSTGRES_HINT} (or point SORTITION_TEST_PG at another database).`,
      { cause },
    );
  }
  return client;
}
