import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { assignmentFixture, configFixture, describeStoreConformance, exposureFixture, metricFixture } from '../test-support/store-conformance.js';
import { SQLITE_MIGRATIONS } from './migrations/sqlite.js';
import { SqliteStore } from './sqlite.js';

function tempDir(): { dir: string; cleanup: () => Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'sortition-sqlite-'));
  return { dir, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
}

describeStoreConformance('sqlite (file)', async () => {
  const { dir, cleanup } = tempDir();
  const store = new SqliteStore(join(dir, 'store.db'));
  await store.migrate();
  return { store, cleanup };
});

describeStoreConformance('sqlite (file, writes and checkpoints on the event loop)', async () => {
  const { dir, cleanup } = tempDir();
  const store = new SqliteStore(join(dir, 'store.db'), { writes: 'inline', checkpoints: 'inline' });
  await store.migrate();
  return { store, cleanup };
});

describeStoreConformance('sqlite (:memory:)', async () => {
  const store = new SqliteStore(':memory:');
  await store.migrate();
  return { store };
});

/** A plain second connection to the file, for looking at what the store wrote. */
function withRawDb<T>(file: string, fn: (db: Database.Database) => T): T {
  const db = new Database(file);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('SqliteStore on a file', () => {
  async function withFile(fn: (file: string) => Promise<void>): Promise<void> {
    const { dir, cleanup } = tempDir();
    try {
      await fn(join(dir, 'store.db'));
    } finally {
      await cleanup();
    }
  }

  it('is durable: WAL, synchronous=FULL, foreign keys and a busy timeout on every connection', () =>
    withFile(async (file) => {
      const store = new SqliteStore(file);
      await store.migrate();
      await store.close();
      // journal_mode=WAL is persistent in the file; the others are per connection.
      expect(withRawDb(file, (db) => db.pragma('journal_mode', { simple: true }))).toBe('wal');
      const reopened = new SqliteStore(file, { busyTimeoutMs: 1234 });
      try {
        expect(reopened.connectionSettings()).toEqual({ journalMode: 'wal', synchronous: 2, foreignKeys: true, busyTimeoutMs: 1234, walAutocheckpoint: 0 });
      } finally {
        await reopened.close();
      }
    }));

  it('writes on its own thread: while a write waits for the lock, the event loop goes on and reads are answered', () =>
    withFile(async (file) => {
      const store = new SqliteStore(file);
      await store.migrate();
      await store.insertAssignments([assignmentFixture({ unit: 'before' })]);
      const raw = new Database(file);
      raw.prepare('BEGIN IMMEDIATE').run();
      let written = false;
      const write = store.insertAssignments([assignmentFixture({ unit: 'during' })]).then(() => (written = true));
      try {
        // Inline, this write would hold the event loop in SQLite's busy wait until it timed out.
        expect(await store.getAssignments([{ unitType: 'userId', unit: 'before', experiment: 'exp' }])).toHaveLength(1);
        await new Promise((resolve) => setImmediate(resolve));
        expect(written).toBe(false);
      } finally {
        raw.prepare('COMMIT').run();
        raw.close();
      }
      await write;
      expect(written).toBe(true);
      expect(await store.getAssignments([{ unitType: 'userId', unit: 'during', experiment: 'exp' }])).toHaveLength(1);
      await store.close();
    }));

  it('checkpoints the WAL on its own thread: never inside a commit, and the data reach the database file', () =>
    withFile(async (file) => {
      const store = new SqliteStore(file, { checkpointIntervalMs: 5 });
      try {
        await store.migrate();
        // The service's connection never checkpoints by itself.
        expect(store.connectionSettings().walAutocheckpoint).toBe(0);
        const copied = store.checkpointer!.next();
        await store.insertAssignments(Array.from({ length: 3000 }, (_, i) => assignmentFixture({ unit: `cp_${i}` })));
        const result = await copied;
        expect(result.checkpointed).toBeGreaterThan(0);
        expect(store.checkpointer!.lastError).toBeNull();
      } finally {
        await store.close();
      }
      // After close the WAL is folded in: a connection that ignores the WAL sees every row.
      expect(withRawDb(file, (db) => (db.prepare("SELECT count(*) AS n FROM assignments WHERE unit LIKE 'cp_%'").get() as { n: number }).n)).toBe(3000);
      const inline = new SqliteStore(file, { checkpoints: 'inline' });
      try {
        expect(inline.checkpointer).toBeNull();
        expect(inline.connectionSettings().walAutocheckpoint).toBe(1000);
      } finally {
        await inline.close();
      }
    }));

  it('lets a second store on the same file see the first one’s data and lose the race for a config version', () =>
    withFile(async (file) => {
      const a = new SqliteStore(file);
      const b = new SqliteStore(file);
      try {
        await Promise.all([a.migrate(), b.migrate()]);
        const first = assignmentFixture({ unit: 'Zoë' });
        await a.insertAssignments([first]);
        await a.recordExposures([exposureFixture()]);
        expect(await b.insertAssignments([{ ...first, variant: 'treatment' }])).toEqual([first]);
        expect(await b.getAssignments([{ unitType: 'userId', unit: 'Zoë', experiment: 'exp' }])).toEqual([first]);
        await b.recordExposures([exposureFixture({ at: exposureFixture().at + 1 })]);
        expect((await collect(a.exportExposures({})))[0]).toMatchObject({ count: 2, lastAt: exposureFixture().at + 1 });

        expect(await a.appendConfig(configFixture(1))).toEqual({ ok: true });
        expect(await b.appendConfig(configFixture(1, { author: 'bob' }))).toEqual({ ok: false, reason: 'VERSION_CONFLICT', latest: 1 });
        expect(await b.latestConfig()).toEqual(configFixture(1));
      } finally {
        await a.close();
        await b.close();
      }
    }));

  it('keeps data across close and reopen, and records applied migrations', () =>
    withFile(async (file) => {
      const a = new SqliteStore(file);
      await a.migrate();
      await a.appendConfig(configFixture(1));
      await a.close();
      const b = new SqliteStore(file);
      try {
        await b.migrate();
        expect(await b.getConfig(1)).toEqual(configFixture(1));
        const rows = withRawDb(file, (db) => db.prepare<[], { version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version').all());
        expect(rows).toEqual(SQLITE_MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
      } finally {
        await b.close();
      }
    }));

  it('upgrades a database of the previous release (migrations 1 to 3) and keeps its data', () =>
    withFile(async (file) => {
      withRawDb(file, (db) => {
        db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT');
        for (const m of SQLITE_MIGRATIONS.slice(0, 3)) {
          db.exec(m.up);
          db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, 0)').run(m.version, m.name);
        }
        db.prepare("INSERT INTO config_versions (version, doc, hash, author, reason, created_at, impact) VALUES (1, '{}', 'h', 'a', 'r', 1, 'null')").run();
      });
      const store = new SqliteStore(file);
      try {
        await store.migrate();
        expect((await store.listConfigs()).map((c) => c.version)).toEqual([1]);
        expect(await store.appendMetricEvents([metricFixture()])).toEqual({ stored: 1, duplicates: 0 });
        const rows = withRawDb(file, (db) => db.prepare<[], { version: number }>('SELECT version FROM schema_migrations ORDER BY version').all());
        expect(rows.map((r) => r.version)).toEqual([1, 2, 3, 4]);
      } finally {
        await store.close();
      }
    }));

  it('refuses a database migrated by a newer release', () =>
    withFile(async (file) => {
      const a = new SqliteStore(file);
      try {
        await a.migrate();
        withRawDb(file, (db) => db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, ?, 0)').run('from the future'));
        await expect(a.migrate()).rejects.toThrow(/newer release/);
      } finally {
        await a.close();
      }
    }));

  it('stores the config doc as the exact JSON.stringify text', () =>
    withFile(async (file) => {
      const a = new SqliteStore(file);
      try {
        await a.migrate();
        const record = configFixture(1, { doc: { z: 1, a: [1.5, 'é 😀', null], nested: { b: true, a: false } } });
        await a.appendConfig(record);
        const stored = withRawDb(file, (db) => db.prepare<[], { doc: string }>('SELECT doc FROM config_versions').get());
        expect(stored?.doc).toBe(JSON.stringify(record.doc));
        expect(await a.getConfig(1)).toEqual(record);
      } finally {
        await a.close();
      }
    }));

  it('exports across page boundaries without holding the connection, and rejects wrongly typed values', () =>
    withFile(async (file) => {
      const store = new SqliteStore(file, { exportPageSize: 7 });
      try {
        await store.migrate();
        const rows = Array.from({ length: 50 }, (_, i) => assignmentFixture({ unit: `u${i}`, experiment: i % 2 === 0 ? 'even' : 'odd' }));
        await store.insertAssignments(rows);
        await store.recordExposures(rows.map((r) => exposureFixture({ unit: r.unit, experiment: r.experiment, phase: r.unit.endsWith('3') ? 'b' : 'a' })));
        const seen: string[] = [];
        for await (const a of store.exportAssignments({})) {
          seen.push(a.unit);
          // Writes in the middle of an export must work (no open statement holds the connection).
          if (seen.length === 10) await store.recordExposures([exposureFixture({ unit: 'mid-export' })]);
        }
        expect(seen.sort()).toEqual(rows.map((r) => r.unit).sort());
        expect((await collect(store.exportAssignments({ experiment: 'odd' }))).map((a) => a.unit).sort()).toEqual(
          rows.filter((r) => r.experiment === 'odd').map((r) => r.unit).sort(),
        );
        expect((await collect(store.exportExposures({ experiment: 'even' }))).length).toBe(25);
        expect((await collect(store.exportExposures({}))).length).toBe(51);
        await expect(store.insertAssignments([assignmentFixture({ unit: 'bad', slot: 1.5 })])).rejects.toThrow(/insertAssignments failed/);
      } finally {
        await store.close();
      }
    }));
});
