/**
 * PostgreSQL store (pg Pool): shared by any number of service processes.
 *
 * - Every statement names its tables schema-qualified (`"schema".table`), so the store does not
 *   depend on the connection's search_path and several stores (tests, services) can share one
 *   database in separate schemas.
 * - Durability is PostgreSQL's default: synchronous_commit is left alone, so a statement's promise
 *   resolves only after its commit record is flushed.
 * - Writes are batched: insertAssignments and recordExposures send each batch as arrays and
 *   expand them server side with unnest(), one statement (and so one atomic transaction and one
 *   round trip) per batch.
 * - Rows a batch writes are deduplicated and sorted by key in JS first. Sorting makes every writer
 *   lock keys in the same order, so two overlapping batches cannot deadlock on each other (one
 *   waits for the other instead); deduplicating is required by ON CONFLICT DO UPDATE, which may
 *   not touch the same row twice in one statement, and makes "first occurrence wins" explicit.
 * - Exports use keyset pagination on the primary key or the by-experiment index, one short query
 *   per page, so neither side holds the table in memory and no connection is pinned.
 */
import { userInfo } from 'node:os';
import { escapeIdentifier, Pool, type PoolClient, type QueryResultRow } from 'pg';
import { pendingMigrations, type AppliedMigration } from './migrations/plan.js';
import { POSTGRES_MIGRATIONS } from './migrations/postgres.js';
import { copyAssignment, decodeJson, encodeJson, enrollmentExposure } from './records.js';
import type {
  ApiKeyRecord,
  AppendResult,
  AssignmentKey,
  ConfigVersionRecord,
  ConfigVersionSummary,
  Enrollment,
  ExportFilter,
  ExposureInput,
  LogAppendResult,
  LayerSeedRecord,
  LogEntryRecord,
  SigningKeyRecord,
  Store,
  StoredAssignment,
  StoredExposure,
} from './types.js';

export interface PostgresStoreOptions {
  /** Schema holding the tables (created by migrate() if missing). Default "public". */
  readonly schema?: string;
  /** Pool size (default 10). */
  readonly maxConnections?: number;
  /** Rows per page when exporting (default 1000). */
  readonly exportPageSize?: number;
  /**
   * Called when an idle pooled connection fails (for example the server restarted); the pool
   * drops that connection and opens a new one when needed. Default: a process warning.
   */
  readonly onIdleConnectionError?: (error: Error) => void;
}

const DEFAULT_EXPORT_PAGE = 1000;
/** First half of the advisory lock key for migrations ("SORT"); the second half is hashtext(schema). */
const MIGRATION_LOCK_CLASS = 0x534f5254;
/** How often a batch statement is retried after a deadlock or serialization failure (it rolled back as a whole, so a retry is safe). */
const MAX_ATTEMPTS = 3;
const RETRYABLE = new Set(['40P01', '40001']);

interface AssignmentRow {
  readonly unit_type: string;
  readonly unit: string;
  readonly experiment: string;
  readonly lineage: string;
  readonly phase: string;
  readonly variant: string;
  readonly slot: number;
  readonly layer_epoch: number;
  readonly config_version: number;
  readonly assigned_at: string;
}

interface ExposureRow {
  readonly unit_type: string;
  readonly unit: string;
  readonly experiment: string;
  readonly phase: string;
  readonly variant: string;
  readonly slot: number;
  readonly config_version: number;
  readonly first_at: string;
  readonly source: string;
  readonly count: string;
  readonly last_at: string;
}

interface ConfigSummaryRow {
  readonly version: number;
  readonly hash: string;
  readonly author: string;
  readonly reason: string;
  readonly created_at: string;
}

interface ConfigRow extends ConfigSummaryRow {
  readonly doc: string;
  readonly impact: string;
}

interface KeyRow {
  readonly id: string;
  readonly kind: string;
  readonly hash: string;
  readonly label: string;
  readonly created_at: string;
  readonly revoked_at: string | null;
}

const ASSIGNMENT_COLUMNS = 'unit_type, unit, experiment, lineage, phase, variant, slot, layer_epoch, config_version, assigned_at';
const EXPOSURE_COLUMNS = 'unit_type, unit, experiment, phase, variant, slot, config_version, first_at, source, count, last_at';
const CONFIG_SUMMARY_COLUMNS = 'version, hash, author, reason, created_at';
const KEY_COLUMNS = 'id, kind, hash, label, created_at, revoked_at';

/** All SQL of the store, with the quoted schema name filled in once. */
function statements(s: string) {
  return {
    getAssignments: `SELECT ${ASSIGNMENT_COLUMNS.split(', ').map((c) => `a.${c}`).join(', ')}
      FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS k(unit_type, unit, experiment, ord)
      JOIN ${s}.assignments a ON a.unit_type = k.unit_type AND a.unit = k.unit AND a.experiment = k.experiment
      ORDER BY k.ord, a.lineage`,
    // RETURNING lists only the rows this statement inserted; the others lost to an earlier row.
    insertAssignments: `INSERT INTO ${s}.assignments (${ASSIGNMENT_COLUMNS})
      SELECT ${ASSIGNMENT_COLUMNS}
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                  $7::integer[], $8::integer[], $9::integer[], $10::bigint[])
        WITH ORDINALITY AS t(${ASSIGNMENT_COLUMNS}, ord)
      ORDER BY ord
      ON CONFLICT (unit_type, unit, experiment, lineage) DO NOTHING
      RETURNING unit_type, unit, experiment, lineage`,
    assignmentsByFullKey: `SELECT ${ASSIGNMENT_COLUMNS.split(', ').map((c) => `a.${c}`).join(', ')}
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS k(unit_type, unit, experiment, lineage)
      JOIN ${s}.assignments a USING (unit_type, unit, experiment, lineage)`,
    recordExposures: `INSERT INTO ${s}.exposures AS e (${EXPOSURE_COLUMNS})
      SELECT ${EXPOSURE_COLUMNS}
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::integer[],
                  $7::integer[], $8::bigint[], $9::text[], $10::bigint[], $11::bigint[])
        WITH ORDINALITY AS t(${EXPOSURE_COLUMNS}, ord)
      ORDER BY ord
      ON CONFLICT (unit_type, unit, experiment, phase) DO UPDATE
        SET count = e.count + EXCLUDED.count, last_at = greatest(e.last_at, EXCLUDED.last_at)`,
    // A unit counts once, in its lowest in-range slot (a unit has one slot per lineage, so the min
    // only matters for inconsistent data).
    exposedSlotCounts: `SELECT slot, count(*) AS n FROM (
        SELECT min(slot) AS slot FROM ${s}.exposures
        WHERE experiment = $1 AND phase = ANY($2::text[]) AND slot >= 0 AND slot < $3
        GROUP BY unit_type, unit
      ) u GROUP BY slot`,
    assignmentsFirstPage: `SELECT ${ASSIGNMENT_COLUMNS} FROM ${s}.assignments
      ORDER BY unit_type, unit, experiment, lineage LIMIT $1`,
    assignmentsNextPage: `SELECT ${ASSIGNMENT_COLUMNS} FROM ${s}.assignments
      WHERE (unit_type, unit, experiment, lineage) > ($2, $3, $4, $5)
      ORDER BY unit_type, unit, experiment, lineage LIMIT $1`,
    experimentAssignmentsFirstPage: `SELECT ${ASSIGNMENT_COLUMNS} FROM ${s}.assignments
      WHERE experiment = $2 ORDER BY unit_type, unit, lineage LIMIT $1`,
    experimentAssignmentsNextPage: `SELECT ${ASSIGNMENT_COLUMNS} FROM ${s}.assignments
      WHERE experiment = $2 AND (unit_type, unit, lineage) > ($3, $4, $5)
      ORDER BY unit_type, unit, lineage LIMIT $1`,
    exposuresFirstPage: `SELECT ${EXPOSURE_COLUMNS} FROM ${s}.exposures
      ORDER BY unit_type, unit, experiment, phase LIMIT $1`,
    exposuresNextPage: `SELECT ${EXPOSURE_COLUMNS} FROM ${s}.exposures
      WHERE (unit_type, unit, experiment, phase) > ($2, $3, $4, $5)
      ORDER BY unit_type, unit, experiment, phase LIMIT $1`,
    experimentExposuresFirstPage: `SELECT ${EXPOSURE_COLUMNS} FROM ${s}.exposures
      WHERE experiment = $2 ORDER BY phase, unit_type, unit LIMIT $1`,
    experimentExposuresNextPage: `SELECT ${EXPOSURE_COLUMNS} FROM ${s}.exposures
      WHERE experiment = $2 AND (phase, unit_type, unit) > ($3, $4, $5)
      ORDER BY phase, unit_type, unit LIMIT $1`,
    latestVersion: `SELECT coalesce(max(version), 0) AS latest FROM ${s}.config_versions`,
    latestConfig: `SELECT ${CONFIG_SUMMARY_COLUMNS}, doc, impact FROM ${s}.config_versions ORDER BY version DESC LIMIT 1`,
    configByVersion: `SELECT ${CONFIG_SUMMARY_COLUMNS}, doc, impact FROM ${s}.config_versions WHERE version = $1`,
    listConfigs: `SELECT ${CONFIG_SUMMARY_COLUMNS} FROM ${s}.config_versions ORDER BY version`,
    // No lock and no explicit transaction are needed: this is one statement, so one transaction.
    // - No gap: the row is inserted only if the statement's snapshot shows max(version) = $1 - 1,
    //   that is, version $1 - 1 is committed (versions are never deleted).
    // - No duplicate: version is the primary key. When two publishers race for the same version,
    //   the second insert waits for the first transaction; if it commits, ON CONFLICT DO NOTHING
    //   skips the row (0 rows: VERSION_CONFLICT), if it rolls back, the second one is inserted.
    // Under REPEATABLE READ or SERIALIZABLE (if a DBA made that the default) the loser gets a
    // serialization failure instead, which appendConfig also reports as VERSION_CONFLICT.
    // An advisory lock or SERIALIZABLE would add round trips and serialize publishers for nothing.
    appendConfig: `WITH latest AS (SELECT coalesce(max(version), 0) AS v FROM ${s}.config_versions)
      INSERT INTO ${s}.config_versions (version, doc, hash, author, reason, created_at, impact)
      SELECT $1::integer, $2::text, $3::text, $4::text, $5::text, $6::bigint, $7::text FROM latest WHERE latest.v + 1 = $1::integer
      ON CONFLICT (version) DO NOTHING
      RETURNING version`,
    // As appendConfig: one statement, inserted only if the snapshot's size equals the index; the
    // primary key and the unique config_version turn a racing duplicate into 0 rows.
    appendLogEntry: `WITH size AS (SELECT coalesce(max(idx) + 1, 0) AS n FROM ${s}.log_entries)
      INSERT INTO ${s}.log_entries (idx, leaf, leaf_hash, config_version)
      SELECT $1::bigint, $2::text, $3::text, $4::integer FROM size WHERE size.n = $1::bigint
      ON CONFLICT DO NOTHING
      RETURNING idx`,
    logSize: `SELECT coalesce(max(idx) + 1, 0) AS size FROM ${s}.log_entries`,
    logEntries: `SELECT idx, leaf, leaf_hash, config_version FROM ${s}.log_entries WHERE idx >= $1 ORDER BY idx`,
    listSigningKeys: `SELECT kid, purpose, alg, public_key, private_key, created_at, rotated_at FROM ${s}.signing_keys ORDER BY created_at, kid`,
    insertSigningKey: `INSERT INTO ${s}.signing_keys (kid, purpose, alg, public_key, private_key, created_at, rotated_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING kid`,
    // One statement: the insert runs only if the update retired the current key of that purpose.
    rotateSigningKey: `WITH retired AS (
        UPDATE ${s}.signing_keys SET rotated_at = $2 WHERE kid = $1 AND purpose = $4 AND rotated_at IS NULL RETURNING kid)
      INSERT INTO ${s}.signing_keys (kid, purpose, alg, public_key, private_key, created_at, rotated_at)
      SELECT $3, $4, $5, $6, $7, $8, NULL FROM retired RETURNING kid`,
    insertLayerSeed: `INSERT INTO ${s}.layer_seeds (seed_commit, layer, epoch, sealed, created_at) VALUES ($1, $2, $3, $4, $5)
      ON CONFLICT DO NOTHING RETURNING seed_commit`,
    layerSeed: `SELECT seed_commit, layer, epoch, sealed, created_at FROM ${s}.layer_seeds WHERE seed_commit = $1`,
    putKey: `INSERT INTO ${s}.api_keys (${KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)
      ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, hash = EXCLUDED.hash, label = EXCLUDED.label,
        created_at = EXCLUDED.created_at, revoked_at = EXCLUDED.revoked_at`,
    keyByHash: `SELECT ${KEY_COLUMNS} FROM ${s}.api_keys WHERE hash = $1`,
    listKeys: `SELECT ${KEY_COLUMNS} FROM ${s}.api_keys ORDER BY created_at, id`,
    revokeKey: `UPDATE ${s}.api_keys SET revoked_at = $2 WHERE id = $1`,
    createMigrationsTable: `CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (
        version    integer PRIMARY KEY,
        name       text    NOT NULL,
        applied_at bigint  NOT NULL
      )`,
    appliedMigrations: `SELECT version, name FROM ${s}.schema_migrations ORDER BY version`,
    recordMigration: `INSERT INTO ${s}.schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
  } as const;
}

type Statements = ReturnType<typeof statements>;

export class PostgresStore implements Store {
  readonly driver = 'postgres';
  readonly singleWriter = false;
  readonly schema: string;
  private readonly pool: Pool;
  private readonly sql: Statements;
  private readonly exportPageSize: number;
  private closed = false;

  constructor(connectionString: string, options: PostgresStoreOptions = {}) {
    this.schema = options.schema ?? 'public';
    checkSchemaName(this.schema);
    this.exportPageSize = options.exportPageSize ?? DEFAULT_EXPORT_PAGE;
    if (!Number.isSafeInteger(this.exportPageSize) || this.exportPageSize < 1) {
      throw new RangeError(`exportPageSize must be a positive integer, got ${this.exportPageSize}`);
    }
    this.sql = statements(escapeIdentifier(this.schema));
    this.pool = new Pool({ connectionString: withDefaultUser(connectionString), max: options.maxConnections ?? 10, application_name: 'sortition' });
    const onIdleError =
      options.onIdleConnectionError ??
      ((error: Error) => process.emitWarning(`postgres store: an idle connection failed and was dropped: ${error.message}`, { code: 'SORTITION_PG_IDLE_ERROR' }));
    // Without a listener, an idle connection's error (server restart, network) would crash the process.
    this.pool.on('error', onIdleError);
  }

  async migrate(): Promise<void> {
    try {
      await this.transaction(async (client) => {
        // Two processes starting at once: the second blocks here until the first commits, then
        // finds nothing pending. The key is fixed per schema, so unrelated schemas do not wait.
        await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [MIGRATION_LOCK_CLASS, this.schema]);
        const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.schema]);
        // Only create when missing: CREATE SCHEMA IF NOT EXISTS still needs CREATE on the database.
        if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${escapeIdentifier(this.schema)}`);
        await client.query(this.sql.createMigrationsTable);
        const applied = await client.query<{ version: number; name: string }>(this.sql.appliedMigrations);
        const rows: AppliedMigration[] = applied.rows.map((r) => ({ version: r.version, name: r.name }));
        for (const m of pendingMigrations(POSTGRES_MIGRATIONS, rows)) {
          await client.query(m.up(escapeIdentifier(this.schema)));
          await client.query(this.sql.recordMigration, [m.version, m.name, Date.now()]);
        }
      });
    } catch (cause) {
      throw failure(`migrate (schema ${this.schema})`, cause);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  async getAssignments(keys: readonly AssignmentKey[]): Promise<StoredAssignment[]> {
    if (keys.length === 0) return [];
    const rows = await this.query<AssignmentRow>('getAssignments', this.sql.getAssignments, [
      keys.map((k) => k.unitType),
      keys.map((k) => k.unit),
      keys.map((k) => k.experiment),
    ]);
    return rows.map(assignmentFromRow);
  }

  async insertAssignments(records: readonly StoredAssignment[]): Promise<StoredAssignment[]> {
    if (records.length === 0) return [];
    // First occurrence of each key, in a global key order (see the header on deadlocks).
    const firsts = new Map<string, StoredAssignment>();
    for (const r of records) {
      const key = assignmentKey(r);
      if (!firsts.has(key)) firsts.set(key, r);
    }
    const unique = [...firsts.values()].sort(compareAssignmentKeys);

    const inserted = await this.query<Pick<AssignmentRow, 'unit_type' | 'unit' | 'experiment' | 'lineage'>>('insertAssignments', this.sql.insertAssignments, [
      unique.map((r) => r.unitType),
      unique.map((r) => r.unit),
      unique.map((r) => r.experiment),
      unique.map((r) => r.lineage),
      unique.map((r) => r.phase),
      unique.map((r) => r.variant),
      unique.map((r) => r.slot),
      unique.map((r) => r.layerEpoch),
      unique.map((r) => r.configVersion),
      unique.map((r) => r.assignedAt),
    ]);
    const winners = new Map<string, StoredAssignment>();
    for (const row of inserted) {
      const key = assignmentKey({ unitType: row.unit_type, unit: row.unit, experiment: row.experiment, lineage: row.lineage });
      const input = firsts.get(key);
      if (input === undefined) throw new Error(`postgres store: insertAssignments: the database returned a key that was not sent: ${key}`);
      winners.set(key, copyAssignment(input));
    }

    // The rest lost to a row that was committed before our insert finished (ON CONFLICT waits for
    // a concurrent inserter's transaction). This is a new statement, so under READ COMMITTED it
    // takes a new snapshot that includes that row; rows are never updated or deleted, so what it
    // reads is the permanent winner.
    const losers = unique.filter((r) => !winners.has(assignmentKey(r)));
    if (losers.length > 0) {
      const rows = await this.query<AssignmentRow>('insertAssignments (reading winners)', this.sql.assignmentsByFullKey, [
        losers.map((r) => r.unitType),
        losers.map((r) => r.unit),
        losers.map((r) => r.experiment),
        losers.map((r) => r.lineage),
      ]);
      for (const row of rows) {
        const stored = assignmentFromRow(row);
        winners.set(assignmentKey(stored), stored);
      }
    }

    return records.map((r) => {
      const winner = winners.get(assignmentKey(r));
      if (winner === undefined) throw new Error(`postgres store: insertAssignments: no stored assignment after a conflicting insert for ${assignmentKey(r)}`);
      return winner;
    });
  }

  async enroll(enrollments: readonly Enrollment[]): Promise<StoredAssignment[]> {
    // Two batched statements, each its own commit: PostgreSQL groups concurrent commits itself, and
    // the exposure must name the winner, which is known only after the insert.
    const winners = await this.insertAssignments(enrollments.map((e) => e.assignment));
    const exposures = enrollments.flatMap((e, i) => enrollmentExposure(e, winners[i]!) ?? []);
    if (exposures.length > 0) await this.recordExposures(exposures);
    return winners;
  }

  async recordExposures(events: readonly ExposureInput[]): Promise<void> {
    if (events.length === 0) return;
    // Pre-aggregate: ON CONFLICT DO UPDATE cannot touch the same row twice in one statement.
    // The first occurrence's fields are kept; repeats only add to count and raise lastAt.
    const byKey = new Map<string, { first: ExposureInput; count: number; lastAt: number }>();
    for (const e of events) {
      const key = exposureKey(e);
      const seen = byKey.get(key);
      if (seen === undefined) byKey.set(key, { first: e, count: e.count ?? 1, lastAt: e.at });
      else {
        seen.count += e.count ?? 1;
        seen.lastAt = Math.max(seen.lastAt, e.at);
      }
    }
    const rows = [...byKey.values()].sort((a, b) => compareExposureKeys(a.first, b.first));
    await this.query('recordExposures', this.sql.recordExposures, [
      rows.map((r) => r.first.unitType),
      rows.map((r) => r.first.unit),
      rows.map((r) => r.first.experiment),
      rows.map((r) => r.first.phase),
      rows.map((r) => r.first.variant),
      rows.map((r) => r.first.slot),
      rows.map((r) => r.first.configVersion),
      rows.map((r) => r.first.at),
      rows.map((r) => r.first.source),
      rows.map((r) => r.count),
      rows.map((r) => r.lastAt),
    ]);
  }

  async exposedSlotCounts(experiment: string, phases: readonly string[], slots: number): Promise<Uint32Array> {
    const counts = new Uint32Array(slots);
    if (phases.length === 0 || slots === 0) return counts;
    const rows = await this.query<{ slot: number; n: string }>('exposedSlotCounts', this.sql.exposedSlotCounts, [experiment, [...phases], slots]);
    for (const { slot, n } of rows) counts[slot] = toSafeInteger(n, 'exposed unit count');
    return counts;
  }

  exportAssignments(filter: ExportFilter): AsyncIterable<StoredAssignment> {
    const { experiment } = filter;
    const limit = this.exportPageSize;
    const page = (sql: string, params: unknown[]) => this.query<AssignmentRow>('exportAssignments', sql, params).then((rows) => rows.map(assignmentFromRow));
    if (experiment === undefined) {
      return this.paginate(
        () => page(this.sql.assignmentsFirstPage, [limit]),
        (last) => page(this.sql.assignmentsNextPage, [limit, last.unitType, last.unit, last.experiment, last.lineage]),
      );
    }
    return this.paginate(
      () => page(this.sql.experimentAssignmentsFirstPage, [limit, experiment]),
      (last) => page(this.sql.experimentAssignmentsNextPage, [limit, experiment, last.unitType, last.unit, last.lineage]),
    );
  }

  exportExposures(filter: ExportFilter): AsyncIterable<StoredExposure> {
    const { experiment } = filter;
    const limit = this.exportPageSize;
    const page = (sql: string, params: unknown[]) => this.query<ExposureRow>('exportExposures', sql, params).then((rows) => rows.map(exposureFromRow));
    if (experiment === undefined) {
      return this.paginate(
        () => page(this.sql.exposuresFirstPage, [limit]),
        (last) => page(this.sql.exposuresNextPage, [limit, last.unitType, last.unit, last.experiment, last.phase]),
      );
    }
    return this.paginate(
      () => page(this.sql.experimentExposuresFirstPage, [limit, experiment]),
      (last) => page(this.sql.experimentExposuresNextPage, [limit, experiment, last.phase, last.unitType, last.unit]),
    );
  }

  async latestConfig(): Promise<ConfigVersionRecord | null> {
    const [row] = await this.query<ConfigRow>('latestConfig', this.sql.latestConfig, []);
    return row === undefined ? null : configFromRow(row);
  }

  async getConfig(version: number): Promise<ConfigVersionRecord | null> {
    if (!Number.isSafeInteger(version) || version < 1 || version > 0x7fffffff) return null;
    const [row] = await this.query<ConfigRow>(`getConfig(${version})`, this.sql.configByVersion, [version]);
    return row === undefined ? null : configFromRow(row);
  }

  async listConfigs(): Promise<ConfigVersionSummary[]> {
    const rows = await this.query<ConfigSummaryRow>('listConfigs', this.sql.listConfigs, []);
    return rows.map(configSummaryFromRow);
  }

  async appendConfig(record: ConfigVersionRecord): Promise<AppendResult> {
    const doc = encodeJson('postgres', record.doc, 'config doc');
    const impact = encodeJson('postgres', record.impact ?? null, 'impact');
    if (!Number.isSafeInteger(record.version) || record.version < 1 || record.version > 0x7fffffff) {
      return { ok: false, reason: 'VERSION_CONFLICT', latest: await this.latestVersion() };
    }
    try {
      const result = await this.pool.query(this.sql.appendConfig, [record.version, doc, record.hash, record.author, record.reason, record.createdAt, impact]);
      if (result.rowCount === 1) return { ok: true };
    } catch (cause) {
      // 23505 cannot come from this statement (ON CONFLICT DO NOTHING) but is the same outcome;
      // 40001 is the loser's error under REPEATABLE READ / SERIALIZABLE. Anything else is a failure.
      const code = sqlState(cause);
      if (code !== '23505' && code !== '40001') throw failure(`appendConfig(${record.version})`, cause);
    }
    return { ok: false, reason: 'VERSION_CONFLICT', latest: await this.latestVersion() };
  }

  async appendLogEntry(entry: LogEntryRecord): Promise<LogAppendResult> {
    try {
      const result = await this.pool.query(this.sql.appendLogEntry, [entry.index, entry.leaf, entry.leafHash, entry.configVersion]);
      if (result.rowCount === 1) return { ok: true };
    } catch (cause) {
      const code = sqlState(cause);
      if (code !== '23505' && code !== '40001') throw failure(`appendLogEntry(${entry.index})`, cause);
    }
    const [row] = await this.query<{ size: string }>('reading the log size', this.sql.logSize, []);
    return { ok: false, reason: 'INDEX_CONFLICT', size: toSafeInteger(row?.size ?? '0', 'log size') };
  }

  async logEntries(from: number): Promise<LogEntryRecord[]> {
    const rows = await this.query<{ idx: string; leaf: string; leaf_hash: string; config_version: number | null }>('logEntries', this.sql.logEntries, [from]);
    return rows.map((r) => ({ index: toSafeInteger(r.idx, 'idx'), leaf: r.leaf, leafHash: r.leaf_hash, configVersion: r.config_version }));
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    const rows = await this.query<{ kid: string; purpose: string; alg: string; public_key: string; private_key: string; created_at: string; rotated_at: string | null }>(
      'listSigningKeys',
      this.sql.listSigningKeys,
      [],
    );
    return rows.map((r) => {
      if ((r.purpose !== 'checkpoint' && r.purpose !== 'receipt') || r.alg !== 'Ed25519') throw new Error(`postgres store: signing key ${r.kid} has unknown purpose or alg`);
      return {
        kid: r.kid,
        purpose: r.purpose,
        alg: r.alg,
        publicKey: r.public_key,
        privateKey: r.private_key,
        createdAt: toSafeInteger(r.created_at, 'created_at'),
        rotatedAt: r.rotated_at === null ? null : toSafeInteger(r.rotated_at, 'rotated_at'),
      };
    });
  }

  async insertSigningKey(record: SigningKeyRecord): Promise<boolean> {
    const rows = await this.query(`insertSigningKey(${record.kid})`, this.sql.insertSigningKey, [
      record.kid,
      record.purpose,
      record.alg,
      record.publicKey,
      record.privateKey,
      record.createdAt,
      record.rotatedAt,
    ]);
    return rows.length === 1;
  }

  async rotateSigningKey(retiringKid: string, at: number, next: SigningKeyRecord): Promise<boolean> {
    if (next.rotatedAt !== null) return false;
    const rows = await this.query(`rotateSigningKey(${retiringKid} -> ${next.kid})`, this.sql.rotateSigningKey, [retiringKid, at, next.kid, next.purpose, next.alg, next.publicKey, next.privateKey, next.createdAt]);
    return rows.length === 1;
  }

  async putLayerSeed(record: LayerSeedRecord): Promise<boolean> {
    const rows = await this.query(`putLayerSeed(${record.seedCommit})`, this.sql.insertLayerSeed, [record.seedCommit, record.layer, record.epoch, record.sealed, record.createdAt]);
    return rows.length === 1;
  }

  async getLayerSeed(seedCommit: string): Promise<LayerSeedRecord | null> {
    const [r] = await this.query<{ seed_commit: string; layer: string; epoch: number; sealed: string; created_at: string }>(`getLayerSeed(${seedCommit})`, this.sql.layerSeed, [seedCommit]);
    return r === undefined ? null : { seedCommit: r.seed_commit, layer: r.layer, epoch: r.epoch, sealed: r.sealed, createdAt: toSafeInteger(r.created_at, 'created_at') };
  }

  async putKey(record: ApiKeyRecord): Promise<void> {
    await this.query(`putKey(${record.id})`, this.sql.putKey, [record.id, record.kind, record.hash, record.label, record.createdAt, record.revokedAt]);
  }

  async findKeyByHash(hash: string): Promise<ApiKeyRecord | null> {
    const [row] = await this.query<KeyRow>('findKeyByHash', this.sql.keyByHash, [hash]);
    return row === undefined ? null : keyFromRow(row);
  }

  async listKeys(): Promise<ApiKeyRecord[]> {
    return (await this.query<KeyRow>('listKeys', this.sql.listKeys, [])).map(keyFromRow);
  }

  async revokeKey(id: string, at: number): Promise<boolean> {
    try {
      const result = await this.pool.query(this.sql.revokeKey, [id, at]);
      return (result.rowCount ?? 0) > 0;
    } catch (cause) {
      throw failure(`revokeKey(${id})`, cause);
    }
  }

  private async latestVersion(): Promise<number> {
    const [row] = await this.query<{ latest: number }>('reading the latest config version', this.sql.latestVersion, []);
    if (row === undefined) throw new Error('postgres store: max(version) returned no row');
    return row.latest;
  }

  /**
   * One autocommitted statement, retried (up to MAX_ATTEMPTS) after a deadlock or serialization
   * failure. Every statement sent through here is safe to repeat: it either rolled back as a
   * whole or only reads.
   */
  private async query<R extends QueryResultRow>(op: string, sql: string, params: readonly unknown[]): Promise<R[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.pool.query<R>(sql, [...params])).rows;
      } catch (cause) {
        const code = sqlState(cause);
        if (attempt >= MAX_ATTEMPTS || code === undefined || !RETRYABLE.has(code)) throw failure(op, cause);
      }
    }
  }

  private async transaction<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (cause) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        // The connection is in an unknown state: release(error) destroys it instead of pooling it.
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
      throw cause;
    } finally {
      client.release(broken);
    }
  }

  private async *paginate<T>(first: () => Promise<T[]>, next: (last: T) => Promise<T[]>): AsyncGenerator<T> {
    let page = await first();
    for (;;) {
      yield* page;
      const last = page.at(-1);
      if (last === undefined || page.length < this.exportPageSize) return;
      page = await next(last);
    }
  }
}

/** A store on `connectionString` (e.g. postgres://127.0.0.1:5432/app) in `options.schema`; call migrate() before use. */
export function openPostgresStore(connectionString: string, options: PostgresStoreOptions = {}): PostgresStore {
  return new PostgresStore(connectionString, options);
}

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

function checkSchemaName(schema: string): void {
  // PostgreSQL silently truncates identifiers to 63 bytes, which would map two names to one schema.
  if (schema.length === 0 || Buffer.byteLength(schema, 'utf8') > 63 || schema.includes('\u0000')) {
    throw new RangeError(`postgres store: invalid schema name ${JSON.stringify(schema)} (1 to 63 bytes, no NUL)`);
  }
}

function assignmentKey(k: { unitType: string; unit: string; experiment: string; lineage: string }): string {
  return JSON.stringify([k.unitType, k.unit, k.experiment, k.lineage]);
}

function exposureKey(e: ExposureInput): string {
  return JSON.stringify([e.unitType, e.unit, e.experiment, e.phase]);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareAssignmentKeys(a: StoredAssignment, b: StoredAssignment): number {
  return compareStrings(a.unitType, b.unitType) || compareStrings(a.unit, b.unit) || compareStrings(a.experiment, b.experiment) || compareStrings(a.lineage, b.lineage);
}

function compareExposureKeys(a: ExposureInput, b: ExposureInput): number {
  return compareStrings(a.unitType, b.unitType) || compareStrings(a.unit, b.unit) || compareStrings(a.experiment, b.experiment) || compareStrings(a.phase, b.phase);
}

function assignmentFromRow(row: AssignmentRow): StoredAssignment {
  return {
    unitType: row.unit_type,
    unit: row.unit,
    experiment: row.experiment,
    lineage: row.lineage,
    phase: row.phase,
    variant: row.variant,
    slot: row.slot,
    layerEpoch: row.layer_epoch,
    configVersion: row.config_version,
    assignedAt: toSafeInteger(row.assigned_at, 'assigned_at'),
  };
}

function exposureFromRow(row: ExposureRow): StoredExposure {
  return {
    unitType: row.unit_type,
    unit: row.unit,
    experiment: row.experiment,
    phase: row.phase,
    variant: row.variant,
    slot: row.slot,
    configVersion: row.config_version,
    at: toSafeInteger(row.first_at, 'first_at'),
    source: row.source,
    count: toSafeInteger(row.count, 'count'),
    lastAt: toSafeInteger(row.last_at, 'last_at'),
  };
}

function configSummaryFromRow(row: ConfigSummaryRow): ConfigVersionSummary {
  return { version: row.version, hash: row.hash, author: row.author, reason: row.reason, createdAt: toSafeInteger(row.created_at, 'created_at') };
}

function configFromRow(row: ConfigRow): ConfigVersionRecord {
  return {
    ...configSummaryFromRow(row),
    doc: decodeJson('postgres', row.doc, `config ${row.version} doc`),
    impact: decodeJson('postgres', row.impact, `config ${row.version} impact`),
  };
}

function keyFromRow(row: KeyRow): ApiKeyRecord {
  if (row.kind !== 'admin' && row.kind !== 'sdk' && row.kind !== 'read') throw new Error(`postgres store: api key ${row.id} has unknown kind ${JSON.stringify(row.kind)}`);
  return {
    id: row.id,
    kind: row.kind,
    hash: row.hash,
    label: row.label,
    createdAt: toSafeInteger(row.created_at, 'created_at'),
    revokedAt: row.revoked_at === null ? null : toSafeInteger(row.revoked_at, 'revoked_at'),
  };
}

/** pg returns BIGINT (and count(*)) as a decimal string; refuse values a JS number cannot hold exactly. */
function toSafeInteger(value: string | number, column: string): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n) || (typeof value === 'string' && !/^-?\d+$/.test(value))) {
    throw new RangeError(`postgres store: ${column} = ${String(value)} is not a safe integer`);
  }
  return n;
}


/** The SQLSTATE of a PostgreSQL error (pg's DatabaseError carries it as `code`). */
function sqlState(cause: unknown): string | undefined {
  if (!(cause instanceof Error) || !('code' in cause)) return undefined;
  const { code } = cause;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

function failure(op: string, cause: unknown): Error {
  const code = sqlState(cause);
  return new Error(`postgres store: ${op} failed: ${describe(cause)}${code === undefined ? '' : ` (SQLSTATE ${code})`}`, { cause });
}
