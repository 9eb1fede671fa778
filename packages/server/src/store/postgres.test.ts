import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { assignmentFixture, configFixture, describeStoreConformance, exposureFixture, metricFixture } from '../test-support/store-conformance.js';
import { dropSchema, queryOnce, randomSchemaName, requirePostgres, START_POSTGRES_HINT, testDatabaseUrl } from '../test-support/postgres.js';
import { POSTGRES_MIGRATIONS } from './migrations/postgres.js';
import { withDefaultUser } from './postgres-connection.js';
import { PostgresStore } from './postgres.js';
import type { StoredAssignment } from './types.js';

const url = testDatabaseUrl();

/** A migrated store in a fresh schema. If PostgreSQL is down, fails with the message saying how to start it. */
async function freshStore(options: { exportPageSize?: number } = {}): Promise<{ store: PostgresStore; schema: string; cleanup: () => Promise<void> }> {
  const schema = randomSchemaName();
  const store = new PostgresStore(url, { schema, ...options });
  try {
    await store.migrate();
  } catch (cause) {
    await store.close();
    await requirePostgres(url); // throws the "how to start it" error when the server is down
    throw cause;
  }
  return { store, schema, cleanup: () => dropSchema(url, schema) };
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('PostgreSQL test database', () => {
  it(`is reachable at ${url} (start it with: ${START_POSTGRES_HINT})`, () => requirePostgres(url));

  it('reports an unreachable server with the command that starts it', async () => {
    const error = await requirePostgres('postgres://127.0.0.1:1/test').then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(START_POSTGRES_HINT);
  });
});

describeStoreConformance('postgres', async () => {
  const { store, cleanup } = await freshStore();
  return { store, cleanup };
});

describe('PostgresStore', () => {
  it('migrates once when several instances start at once, and records the migration', async () => {
    await requirePostgres(url);
    const schema = randomSchemaName();
    const stores = Array.from({ length: 4 }, () => new PostgresStore(url, { schema, maxConnections: 2 }));
    try {
      await Promise.all(stores.map((s) => s.migrate()));
      await Promise.all(stores.map((s) => s.migrate()));
      const rows = await queryOnce<{ version: number; name: string }>(url, `SELECT version, name FROM "${schema}".schema_migrations ORDER BY version`);
      expect(rows).toEqual(POSTGRES_MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await dropSchema(url, schema);
    }
  });

  it('a first assignment under version v and the publication of v + 1 exclude each other', async () => {
    await requirePostgres(url);
    const schema = randomSchemaName();
    const store = new PostgresStore(url, { schema });
    const publisher = new pg.Client({ connectionString: withDefaultUser(url) });
    /** Resolves once some backend of this database waits for a lock (the statement under test blocked). */
    const blocked = async (): Promise<void> => {
      for (;;) {
        const rows = await queryOnce(url, `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
        if (rows.length > 0) return;
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    try {
      await store.migrate();
      await publisher.connect();
      expect(await store.appendConfig(configFixture(1))).toEqual({ ok: true });
      // A publication of version 2 in flight: an insert under version 1 waits for it, then is refused.
      await publisher.query('BEGIN');
      await publisher.query(`UPDATE "${schema}".config_head SET version = 2 WHERE id = 1`);
      const underOld = store.insertAssignments([assignmentFixture({ unit: 'racing', configVersion: 1 })]).then(
        () => 'stored',
        (error: unknown) => (error as { code?: string }).code,
      );
      await blocked();
      await publisher.query(`INSERT INTO "${schema}".config_versions (version, doc, hash, author, reason, created_at, impact) VALUES (2, '{}', 'h', 'a', 'r', 1, 'null')`);
      await publisher.query('COMMIT');
      expect(await underOld).toBe('STALE_CONFIG');
      expect(await store.getAssignments([{ unitType: 'userId', unit: 'racing', experiment: 'exp' }])).toEqual([]);

      // An insert under version 2 in flight: publishing version 3 waits until it commits.
      await publisher.query('BEGIN');
      await publisher.query(
        `WITH head AS (SELECT version FROM "${schema}".config_head WHERE id = 1 FOR SHARE)
         INSERT INTO "${schema}".assignments (unit_type, unit, experiment, lineage, phase, variant, slot, layer_epoch, config_version, assigned_at)
         SELECT 'userId', 'held', 'exp', 'main', 'main', 'control', 1, 1, 2, 1 FROM head WHERE head.version <= 2`,
      );
      const publishing = store.appendConfig(configFixture(3));
      await blocked();
      expect(await store.latestConfig()).toMatchObject({ version: 2 });
      await publisher.query('COMMIT');
      expect(await publishing).toEqual({ ok: true });
      expect((await store.getAssignments([{ unitType: 'userId', unit: 'held', experiment: 'exp' }])).map((a) => a.configVersion)).toEqual([2]);
    } finally {
      await publisher.end();
      await store.close();
      await dropSchema(url, schema);
    }
  });

  it('upgrades a schema of the previous release (migrations 1 to 3) and keeps its data', async () => {
    await requirePostgres(url);
    const schema = randomSchemaName();
    await queryOnce(url, `CREATE SCHEMA "${schema}"`);
    await queryOnce(url, `CREATE TABLE "${schema}".schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`);
    for (const m of POSTGRES_MIGRATIONS.slice(0, 3)) {
      await queryOnce(url, m.up(`"${schema}"`));
      await queryOnce(url, `INSERT INTO "${schema}".schema_migrations (version, name, applied_at) VALUES ($1, $2, 0)`, [m.version, m.name]);
    }
    await queryOnce(url, `INSERT INTO "${schema}".config_versions (version, doc, hash, author, reason, created_at, impact) VALUES (1, '{}', 'h', 'a', 'r', 1, 'null')`);
    const store = new PostgresStore(url, { schema });
    try {
      await store.migrate();
      expect((await store.listConfigs()).map((c) => c.version)).toEqual([1]);
      expect(await store.appendMetricEvents([metricFixture({ id: 'x' }), metricFixture({ id: 'x' })])).toEqual({ stored: 1, duplicates: 1 });
      const rows = await queryOnce<{ version: number }>(url, `SELECT version FROM "${schema}".schema_migrations ORDER BY version`);
      expect(rows.map((r) => r.version)).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version));
      // The config head (migration 5) starts at the stored history's latest version.
      expect(await queryOnce(url, `SELECT id, version FROM "${schema}".config_head`)).toEqual([{ id: 1, version: 1 }]);
      expect(await store.appendConfig(configFixture(1))).toEqual({ ok: false, reason: 'VERSION_CONFLICT', latest: 1 });
      expect(await store.appendConfig(configFixture(2))).toEqual({ ok: true });
      await expect(store.insertAssignments([assignmentFixture({ configVersion: 1 })])).rejects.toMatchObject({ code: 'STALE_CONFIG', configVersion: 1, latest: 2 });
    } finally {
      await store.close();
      await dropSchema(url, schema);
    }
  });

  it('refuses a database migrated by a newer release', async () => {
    const { store, schema, cleanup } = await freshStore();
    try {
      await queryOnce(url, `INSERT INTO "${schema}".schema_migrations (version, name, applied_at) VALUES (999, 'from the future', 0)`);
      await expect(store.migrate()).rejects.toThrow(/newer release/);
    } finally {
      await store.close();
      await cleanup();
    }
  });

  it('stores the config doc as the exact JSON.stringify text, not normalized JSONB', async () => {
    const { store, schema, cleanup } = await freshStore();
    try {
      const record = configFixture(1, { doc: { z: 1, a: [1.5, 'é 😀', null], nested: { b: true, a: false }, dup: 'x' } });
      expect(await store.appendConfig(record)).toEqual({ ok: true });
      const [row] = await queryOnce<{ doc: string }>(url, `SELECT doc FROM "${schema}".config_versions WHERE version = 1`);
      expect(row?.doc).toBe(JSON.stringify(record.doc));
      expect(await store.getConfig(1)).toEqual(record);
    } finally {
      await store.close();
      await cleanup();
    }
  });

  it('exports across page boundaries, by experiment and in full', async () => {
    const { store, cleanup } = await freshStore({ exportPageSize: 7 });
    try {
      const rows = Array.from({ length: 50 }, (_, i) => assignmentFixture({ unit: `u${i}`, experiment: i % 2 === 0 ? 'even' : 'odd' }));
      await store.insertAssignments(rows);
      await store.recordExposures(rows.map((r) => exposureFixture({ unit: r.unit, experiment: r.experiment, phase: r.unit.endsWith('3') ? 'b' : 'a' })));
      expect((await collect(store.exportAssignments({}))).map((a) => a.unit).sort()).toEqual(rows.map((r) => r.unit).sort());
      expect((await collect(store.exportAssignments({ experiment: 'odd' }))).map((a) => a.unit).sort()).toEqual(
        rows.filter((r) => r.experiment === 'odd').map((r) => r.unit).sort(),
      );
      expect((await collect(store.exportExposures({ experiment: 'even' }))).length).toBe(25);
      expect((await collect(store.exportExposures({}))).length).toBe(50);
    } finally {
      await store.close();
      await cleanup();
    }
  });

  it('aggregates repeats within one exposure batch: first fields kept, count summed, lastAt the max', async () => {
    const { store, cleanup } = await freshStore();
    try {
      const first = exposureFixture({ at: 5000 });
      await store.recordExposures([first, exposureFixture({ at: 9000, variant: 'treatment' }), exposureFixture({ at: 7000, source: 'sdk' })]);
      await store.recordExposures([exposureFixture({ at: 6000 }), exposureFixture({ at: 8000 })]);
      expect(await collect(store.exportExposures({}))).toEqual([{ ...first, count: 5, lastAt: 9000 }]);
    } finally {
      await store.close();
      await cleanup();
    }
  });

  it('wraps database errors with context and rethrows them', async () => {
    const { store, cleanup } = await freshStore();
    try {
      await expect(store.insertAssignments([assignmentFixture({ slot: 1.5 })])).rejects.toThrow(/postgres store: insertAssignments failed: .*SQLSTATE 22P02/);
      await store.putKey({ id: 'k1', kind: 'sdk', hash: 'h', label: 'a', createdAt: 1, revokedAt: null });
      await expect(store.putKey({ id: 'k2', kind: 'sdk', hash: 'h', label: 'b', createdAt: 2, revokedAt: null })).rejects.toThrow(/putKey\(k2\) failed.*23505/);
    } finally {
      await store.close();
      await cleanup();
    }
  });
});

describe('PostgresStore across processes (two pools on one schema)', () => {
  it('agrees on every winner when two instances insert the same 2,000 fresh keys concurrently', async () => {
    const { store: a, schema, cleanup } = await freshStore();
    const b = new PostgresStore(url, { schema });
    try {
      const units = Array.from({ length: 2000 }, (_, i) => `race_${i}`);
      const batches = (variant: string): StoredAssignment[][] =>
        Array.from({ length: units.length / 100 }, (_, i) => units.slice(i * 100, (i + 1) * 100).map((unit) => assignmentFixture({ unit, variant })));
      // Same keys, different variants; b walks the batches backwards and each batch reversed, so
      // the two writers meet in the middle and every batch overlaps a concurrent one in the other order.
      const fromA = batches('control').map((batch) => a.insertAssignments(batch));
      const fromB = batches('treatment')
        .reverse()
        .map((batch) => b.insertAssignments([...batch].reverse()));
      const [resultsA, resultsB] = await Promise.all([Promise.all(fromA), Promise.all(fromB)]);

      const winnerOf = (results: StoredAssignment[][]): Map<string, StoredAssignment> => new Map(results.flat().map((r) => [r.unit, r]));
      const winnersA = winnerOf(resultsA);
      const winnersB = winnerOf(resultsB);
      expect(winnersA.size).toBe(2000);
      expect(winnersB.size).toBe(2000);
      for (const unit of units) expect(winnersB.get(unit)).toEqual(winnersA.get(unit));
      // Both writers won some keys: the two really raced (each starts on keys the other reaches last).
      expect(new Set([...winnersA.values()].map((r) => r.variant))).toEqual(new Set(['control', 'treatment']));

      const [count] = await queryOnce<{ n: string }>(url, `SELECT count(*) AS n FROM "${schema}".assignments`);
      expect(Number(count?.n)).toBe(2000);
      const stored = await a.getAssignments(units.map((unit) => ({ unitType: 'userId', unit, experiment: 'exp' })));
      expect(new Map(stored.map((r) => [r.unit, r]))).toEqual(winnersA);
    } finally {
      await a.close();
      await b.close();
      await cleanup();
    }
  });

  it('lets exactly one of two instances win each config version', async () => {
    const { store: a, schema, cleanup } = await freshStore();
    const b = new PostgresStore(url, { schema });
    try {
      for (let version = 1; version <= 20; version++) {
        const results = await Promise.all([a.appendConfig(configFixture(version, { author: 'a' })), b.appendConfig(configFixture(version, { author: 'b' }))]);
        expect(results.filter((r) => r.ok).length).toBe(1);
        expect(results.find((r) => !r.ok)).toEqual({ ok: false, reason: 'VERSION_CONFLICT', latest: version });
      }
      expect((await b.listConfigs()).map((c) => c.version)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    } finally {
      await a.close();
      await b.close();
      await cleanup();
    }
  });
});
