import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireProcessLock, StoreLockedError } from './process-lock.js';

describe('the SQLite process lock', () => {
  it('is held by one process: a second taker is refused with the holder and the fix', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'lock-')), 'db.lock');
    // A live process other than us holds it (the parent of this test process).
    writeFileSync(path, String(process.ppid));
    expect(() => acquireProcessLock(path)).toThrow(StoreLockedError);
    expect(() => acquireProcessLock(path)).toThrow(/held by process \d+.*PostgreSQL/);
    expect(readFileSync(path, 'utf8')).toBe(String(process.ppid));
  });

  it('takes over a lock left by a process that no longer exists, and releases it', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'lock-')), 'db.lock');
    writeFileSync(path, '2147483646');
    const release = acquireProcessLock(path);
    expect(readFileSync(path, 'utf8')).toBe(String(process.pid));
    release();
    expect(existsSync(path)).toBe(false);
  });
});
