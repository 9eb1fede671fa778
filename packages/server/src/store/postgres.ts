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
import { escapeIdentifier, Pool, type PoolClient, type QueryResultRow } from 'pg';
import { pendingMigrations, type AppliedMigration } from './migrations/plan.js';
import { POSTGRES_MIGRATIONS } from './migrations/postgres.js';
import {
  assignmentFromRow,
  compareExposureKeys,
  configFromRow,
  configSummaryFromRow,
  exposureFromRow,
  exposureKey,
  failure,
  keyFromRow,
  layerSeedFromRow,
  signingKeyFromRow,
  sqlState,
  toSafeInteger,
  type AssignmentRow,
  type ConfigRow,
  type ConfigSummaryRow,
  type ExposureRow,
  type KeyRow,
  type LayerSeedRow,
  type SigningKeyRow,
} from './postgres-rows.js';
import { checkSchemaName, withDefaultUser } from './postgres-connection.js';
import { statements, type Statements } from './postgres-sql.js';
import { writeAssignments, type AssignmentWriting } from './postgres-assignments.js';
import { watchConfig } from './postgres-watch.js';
import { appendMetricEvents, metricEvents, metricStatements, metricSummary, type MetricStatements, type Query } from './postgres-metrics.js';
import { encodeJson } from './records.js';
import type {
  ApiKeyRecord,
  AppendResult,
  AssignmentKey,
  ConfigVersionRecord,
  ConfigVersionSummary,
  ConfigWatch,
  EnrollOutcome,
  Enrollment,
  ExportFilter,
  ExposureInput,
  LogAppendResult,
  LayerSeedRecord,
  LogEntryRecord,
  MetricAppendResult,
  MetricEventInput,
  MetricFilter,
  MetricSummary,
  SigningKeyRecord,
  StoredMetricEvent,
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

export class PostgresStore implements Store {
  readonly driver = 'postgres';
  readonly singleWriter = false;
  readonly schema: string;
  private readonly pool: Pool;
  private readonly sql: Statements;
  private readonly metricSql: MetricStatements;
  private readonly run: Query = (op, sql, params) => this.query(op, sql, params);
  private readonly writing: AssignmentWriting;
  private readonly exportPageSize: number;
  private closed = false;
  private readonly connectionString: string;

  constructor(connectionString: string, options: PostgresStoreOptions = {}) {
    this.schema = options.schema ?? 'public';
    checkSchemaName(this.schema);
    this.exportPageSize = options.exportPageSize ?? DEFAULT_EXPORT_PAGE;
    if (!Number.isSafeInteger(this.exportPageSize) || this.exportPageSize < 1) {
      throw new RangeError(`exportPageSize must be a positive integer, got ${this.exportPageSize}`);
    }
    this.sql = statements(escapeIdentifier(this.schema));
    this.metricSql = metricStatements(escapeIdentifier(this.schema));
    this.writing = { query: this.run, sql: this.sql, recordExposures: (events) => this.recordExposures(events) };
    this.connectionString = withDefaultUser(connectionString);
    this.pool = new Pool({ connectionString: this.connectionString, max: options.maxConnections ?? 10, application_name: 'sortition' });
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

  watchConfig(onChange: () => void, onError: (error: Error) => void): ConfigWatch {
    return watchConfig(this.connectionString, this.schema, onChange, onError);
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
    const outcomes = await writeAssignments(this.writing, records.map((assignment) => ({ assignment, exposure: null })), false);
    return outcomes.map((o) => o.assignment);
  }

  async enroll(enrollments: readonly Enrollment[]): Promise<EnrollOutcome[]> {
    return writeAssignments(this.writing, enrollments, true);
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

  async appendMetricEvents(events: readonly MetricEventInput[]): Promise<MetricAppendResult> {
    return appendMetricEvents(this.run, this.metricSql, events);
  }

  exportMetricEvents(filter: MetricFilter): AsyncIterable<StoredMetricEvent> {
    return metricEvents(this.run, this.metricSql, filter, this.exportPageSize);
  }

  metricSummary(filter: MetricFilter): Promise<MetricSummary[]> {
    return metricSummary(this.run, this.metricSql, filter);
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
      const result = await this.pool.query(this.sql.appendConfig, [record.version, doc, record.hash, record.author, record.reason, record.createdAt, impact, this.schema]);
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
    return (await this.query<SigningKeyRow>('listSigningKeys', this.sql.listSigningKeys, [])).map(signingKeyFromRow);
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
    const [r] = await this.query<LayerSeedRow>(`getLayerSeed(${seedCommit})`, this.sql.layerSeed, [seedCommit]);
    return r === undefined ? null : layerSeedFromRow(r);
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

export { withDefaultUser };
