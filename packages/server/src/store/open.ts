/** Opening a store from a location string: the one place that maps --db values to drivers. */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { MemoryStore } from './memory.js';
import { openPostgresStore } from './postgres.js';
import { acquireProcessLock } from './process-lock.js';
import { openSqliteStore } from './sqlite.js';
import type { Store } from './types.js';

/**
 * `memory:` (nothing persisted), `postgres://...` / `postgresql://...` (PostgreSQL; `?schema=name`
 * selects a schema), `sqlite:PATH` or a plain file path (SQLite; the directory is created, and the
 * file is locked to this process until the store is closed).
 */
export function openStore(location: string): Store {
  if (location === 'memory:') return new MemoryStore();
  if (/^postgres(ql)?:\/\//.test(location)) {
    const url = new URL(location);
    const schema = url.searchParams.get('schema');
    url.searchParams.delete('schema');
    return openPostgresStore(url.toString(), schema === null ? {} : { schema });
  }
  const path = resolve(location.startsWith('sqlite:') ? location.slice('sqlite:'.length) : location);
  mkdirSync(dirname(path), { recursive: true });
  const release = acquireProcessLock(`${path}.lock`);
  try {
    return openSqliteStore(path, { onClose: release });
  } catch (error) {
    release();
    throw error;
  }
}

/** The location as it is safe to print (no password). */
export function describeLocation(location: string): string {
  if (!/^postgres(ql)?:\/\//.test(location)) return location;
  const url = new URL(location);
  if (url.password !== '') url.password = '***';
  return url.toString();
}
