/** Connection details of the PostgreSQL store (postgres.ts): the default user name and schema names. */
import { userInfo } from 'node:os';

/**
 * Fills in the user name the way libpq does when the connection string has none: $PGUSER, else
 * the operating-system user. pg itself only falls back to $USER, which is unset under some service
 * managers and in containers, and then fails with "no PostgreSQL user name specified".
 */
export function withDefaultUser(connectionString: string, env: NodeJS.ProcessEnv = process.env): string {
  if ((env['PGUSER'] ?? '') !== '' || (env['USER'] ?? '') !== '' || !/^postgres(ql)?:\/\//.test(connectionString)) return connectionString;
  const url = URL.parse(connectionString);
  if (url === null || url.username !== '' || url.hostname === '') return connectionString;
  url.username = encodeURIComponent(userInfo().username);
  return url.toString();
}

export function checkSchemaName(schema: string): void {
  // PostgreSQL silently truncates identifiers to 63 bytes, which would map two names to one schema.
  if (schema.length === 0 || Buffer.byteLength(schema, 'utf8') > 63 || schema.includes('\u0000')) {
    throw new RangeError(`postgres store: invalid schema name ${JSON.stringify(schema)} (1 to 63 bytes, no NUL)`);
  }
}
