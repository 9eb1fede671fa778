import { fileURLToPath } from 'node:url';
import { describeLocation, openStore, startService, type RunningService } from '@sortition/server';
import { readConfigDocument } from '../config-file.js';
import { CliError } from '../config-file.js';

export interface ServeOptions {
  readonly host: string;
  readonly port: number;
  readonly db: string;
  readonly logger: boolean;
}

export interface ServeResult {
  readonly service: RunningService;
  readonly db: string;
}

export function serveDefaults(env: NodeJS.ProcessEnv): ServeOptions {
  const port = Number(env['SORTITION_PORT'] ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError('INVALID_ARGUMENT', `SORTITION_PORT=${env['SORTITION_PORT']} is not a port; use 0-65535`);
  return { host: env['SORTITION_HOST'] ?? '127.0.0.1', port, db: env['SORTITION_DB'] ?? './data/sortition.db', logger: env['SORTITION_LOG'] === '1' };
}

/** Starts the service; on an empty history it publishes examples/checkout.yaml as version 1. */
export async function runServe(options: ServeOptions): Promise<ServeResult> {
  const example = (await readConfigDocument(fileURLToPath(new URL('../../../../examples/checkout.yaml', import.meta.url)))) as Record<string, unknown>;
  let store;
  try {
    store = openStore(options.db);
  } catch (error) {
    if ((error as { code?: string }).code === 'STORE_LOCKED') throw new CliError('STORE_LOCKED', (error as Error).message, { cause: error });
    throw error;
  }
  try {
    const service = await startService({ store, host: options.host, port: options.port, logger: options.logger, bootstrapConfig: { ...example, version: 1 } });
    return { service, db: describeLocation(options.db) };
  } catch (error) {
    await store.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new CliError('PORT_IN_USE', `${options.host}:${options.port} is already in use; pass --port or set SORTITION_PORT`, { cause: error });
    if (code === 'ECONNREFUSED') throw new CliError('DB_UNREACHABLE', `cannot reach the database at ${describeLocation(options.db)}; is it running?`, { cause: error });
    throw error;
  }
}
