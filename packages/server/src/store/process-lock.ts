/**
 * One serving process per SQLite file: `sortition serve` takes `<file>.lock` (holding its pid)
 * before opening the database, so the evaluator may trust that no other process writes
 * assignments behind its back. A lock left by a process that no longer exists is taken over.
 */
import { openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';

export class StoreLockedError extends Error {
  readonly code = 'STORE_LOCKED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreLockedError';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock or throws StoreLockedError; returns the release function. */
export function acquireProcessLock(path: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(readFileSync(path, 'utf8').trim());
      if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
        throw new StoreLockedError(`${path} is held by process ${holder}: an SQLite database is served by one process at a time; stop it, or use PostgreSQL (--db postgres://...) for several instances`, { cause: error });
      }
      rmSync(path, { force: true });
    }
  }
  throw new StoreLockedError(`could not take ${path}; another process is starting on the same database`);
}
