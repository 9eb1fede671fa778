/**
 * `sortition analyze --postgres URL --exposures-table T --events-table T`: the same analysis in a
 * PostgreSQL warehouse (@sortition/analysis's analyzePostgres: one session, one transaction rolled
 * back at the end, only temp tables written), and `--print-sql`: the SQL it runs, for review or to
 * run elsewhere. The connection string never appears in output or errors.
 */
import { userInfo } from 'node:os';
import { AnalysisError, analysisSql, analyzePostgres, describePostgresTables, type AnalysisOptions, type AnalysisResult, type PostgresClient } from '@sortition/analysis';
import { CliError } from '../config-file.js';

export interface PostgresSource {
  readonly url: string;
  readonly exposuresTable: string;
  readonly eventsTable: string;
}

/** Without a user in the URL and without $PGUSER/$USER, the OS user (what psql does). */
export function withDefaultUser(url: string, env: NodeJS.ProcessEnv = process.env): string {
  const parsed = URL.parse(url);
  if (parsed === null || !/^postgres(ql)?:$/.test(parsed.protocol)) {
    throw new CliError('INVALID_ARGUMENT', '--postgres must be a connection URL: postgres://[user[:password]@]host[:port]/database');
  }
  if (parsed.username !== '' || (env['PGUSER'] ?? '') !== '' || (env['USER'] ?? '') !== '') return url;
  parsed.username = encodeURIComponent(userInfo().username);
  return parsed.toString();
}

interface ClosableClient extends PostgresClient {
  connect(): Promise<unknown>;
  end(): Promise<void>;
}

async function withClient<T>(url: string, run: (client: PostgresClient) => Promise<T>): Promise<T> {
  // node-postgres is loaded only for --postgres, so file analyses never need it.
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: withDefaultUser(url), connectionTimeoutMillis: 10_000, application_name: 'sortition analyze' }) as unknown as ClosableClient;
  try {
    await client.connect();
  } catch (error) {
    throw new CliError('POSTGRES_UNREACHABLE', `cannot connect to PostgreSQL (--postgres): ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

export async function analyzeInPostgres(source: PostgresSource, options: AnalysisOptions): Promise<AnalysisResult> {
  return withClient(source.url, (client) => analyzePostgres(client, { ...options, tables: { exposures: source.exposuresTable, events: source.eventsTable } }));
}

/**
 * The SQL the analysis runs in PostgreSQL: for the tables' column types when a URL is given (read
 * from the catalog, nothing else), else for the documented default types.
 */
export async function postgresSql(source: Omit<PostgresSource, 'url'> & { readonly url?: string | undefined }, options: AnalysisOptions): Promise<string> {
  const tables = { exposures: source.exposuresTable, events: source.eventsTable };
  try {
    if (source.url === undefined) {
      return `-- column types assumed (pass --postgres URL to read them from the tables): timestamp timestamptz, value double precision, config_version bigint, phase text\n${analysisSql('postgres', { ...options, tables })}`;
    }
    const described = await withClient(source.url, (client) => describePostgresTables(client, tables));
    return analysisSql('postgres', { ...options, tables: described.tables, columns: described.columns });
  } catch (error) {
    if (error instanceof AnalysisError) throw new CliError(error.code, error.message, { cause: error, exitCode: 2 });
    throw error;
  }
}
