/**
 * SQLite store (better-sqlite3): one file, durable, safe for several processes on the same file.
 *
 * - Opened in WAL mode with synchronous=FULL: a commit is fsynced to the WAL before the call
 *   returns, so an acknowledged write survives kill -9 and power loss (as far as the file system
 *   honours fsync). foreign_keys is on; busy_timeout makes writers from other processes wait for
 *   the lock instead of failing at once.
 * - better-sqlite3 is synchronous. Every method still returns a promise to match the Store
 *   interface; each write runs as one synchronous BEGIN IMMEDIATE transaction, so calls on the same
 *   connection never interleave and other processes are excluded by SQLite's write lock (taken up
 *   front, which avoids the deadlock-prone read-then-upgrade of a deferred transaction).
 * - WAL checkpoints run on a worker thread with its own connection (sqlite-checkpointer.ts), not
 *   inside a commit on the service's event loop.
 * - Exports page through the table with keyset pagination (pages of EXPORT_PAGE rows, ordered by
 *   the primary key or the by-experiment index) instead of holding a statement iterator open: an
 *   open iterator would make the connection busy and every other call on it fail until the
 *   consumer finished, and it would pin a read snapshot for the whole export.
 */
import Database from 'better-sqlite3';
import { pendingMigrations, type AppliedMigration } from './migrations/plan.js';
import { SQLITE_MIGRATIONS } from './migrations/sqlite.js';
import { StaleConfigError } from './errors.js';
import { Checkpointer } from './sqlite-checkpointer.js';
import { assignmentOutcomes, assignmentProgram, exposureProgram } from './sqlite-programs.js';
import { runInline, SqliteWriter, WriteGuardFailed, type WriteStep } from './sqlite-writer.js';
import { encodeJson } from './records.js';
import {
  configFromRow,
  describe,
  failure,
  SQL,
  type AssignmentCursor,
  type ConfigRow,
  type Prepare,
} from './sqlite-sql.js';
import * as keys from './sqlite-keys.js';
import { INSERT_METRIC_EVENT, metricEventPage, metricEventSteps, metricSummary } from './sqlite-metrics.js';
import type {
  ApiKeyRecord,
  AppendResult,
  AssignmentKey,
  ConfigVersionRecord,
  ConfigVersionSummary,
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

export interface SqliteStoreOptions {
  /** How long a write waits for another connection's lock before failing (default 5000 ms). */
  readonly busyTimeoutMs?: number;
  /** Rows per page when exporting (default 1000). */
  readonly exportPageSize?: number;
  /** Called once when the store is closed (e.g. to release a process lock). */
  readonly onClose?: () => void;
  /**
   * Where WAL checkpoints run: 'background' (default for a file) on a worker thread every
   * checkpointIntervalMs, or 'inline' (SQLite's automatic checkpoint, inside commits).
   */
  readonly checkpoints?: 'background' | 'inline';
  /** Default 250 ms. */
  readonly checkpointIntervalMs?: number;
  /**
   * Where write transactions run: 'thread' (default for a file) on a writer thread with its own
   * connection (sqlite-writer.ts), or 'inline' on the store's connection, blocking the event loop.
   */
  readonly writes?: 'thread' | 'inline';
}

const DEFAULT_BUSY_TIMEOUT_MS = 5000;
/** Statements write programs name (WriteStep.statement). */
const WRITE_STATEMENTS: Readonly<Record<string, string>> = { ...SQL, insertMetricEvent: INSERT_METRIC_EVENT };
const DEFAULT_EXPORT_PAGE = 1000;

export class SqliteStore implements Store {
  readonly driver = 'sqlite';
  readonly singleWriter = true;
  private readonly onClose: (() => void) | undefined;
  private readonly db: Database.Database;
  private readonly exportPageSize: number;
  private readonly statements = new Map<string, Database.Statement<unknown[], unknown>>();
  private readonly prepare: Prepare = (sql) => this.stmt(sql);
  /** The background checkpoint thread; null for 'inline' and in-memory databases. */
  readonly checkpointer: Checkpointer | null = null;
  /** The writer thread; null for 'inline' writes and in-memory databases. */
  private readonly writer: SqliteWriter | null = null;

  constructor(filename: string, options: SqliteStoreOptions = {}) {
    const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    this.onClose = options.onClose;
    this.exportPageSize = options.exportPageSize ?? DEFAULT_EXPORT_PAGE;
    if (!Number.isSafeInteger(this.exportPageSize) || this.exportPageSize < 1) {
      throw new RangeError(`exportPageSize must be a positive integer, got ${this.exportPageSize}`);
    }
    try {
      this.db = new Database(filename, { timeout: busyTimeoutMs });
    } catch (cause) {
      throw new Error(`sqlite store: cannot open ${JSON.stringify(filename)}: ${describe(cause)}`, { cause });
    }
    try {
      this.db.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
      const mode = this.db.pragma('journal_mode = WAL', { simple: true });
      // An in-memory database has no journal file and reports "memory"; a file that cannot use
      // WAL (some network file systems) must not silently fall back to another mode.
      if (!this.db.memory && mode !== 'wal') throw new Error(`journal_mode is ${String(mode)}, expected wal`);
      this.db.pragma('synchronous = FULL');
      this.db.pragma('foreign_keys = ON');
      const background = !this.db.memory && (options.checkpoints ?? 'background') === 'background';
      if (background) {
        this.db.pragma('wal_autocheckpoint = 0');
        this.checkpointer = new Checkpointer(filename, { intervalMs: options.checkpointIntervalMs ?? 250, busyTimeoutMs });
      }
      if (!this.db.memory && (options.writes ?? 'thread') === 'thread') {
        this.writer = new SqliteWriter(filename, { busyTimeoutMs, statements: WRITE_STATEMENTS, noAutoCheckpoint: background });
      }
    } catch (cause) {
      this.db.close();
      throw new Error(`sqlite store: cannot configure ${JSON.stringify(filename)}: ${describe(cause)}`, { cause });
    }
  }

  async migrate(): Promise<void> {
    try {
      // BEGIN IMMEDIATE takes the write lock before reading schema_migrations, so two processes
      // starting at once apply each migration exactly once (the second waits, then finds nothing).
      this.db
        .transaction(() => {
          this.db.exec(SQL.createMigrationsTable);
          const applied = this.stmt<[], AppliedMigration>(SQL.appliedMigrations).all();
          const record = this.stmt<[number, string, number]>(SQL.recordMigration);
          for (const m of pendingMigrations(SQLITE_MIGRATIONS, applied)) {
            this.db.exec(m.up);
            record.run(m.version, m.name, Date.now());
          }
        })
        .immediate();
    } catch (cause) {
      throw failure('migrate', cause);
    }
  }

  /** The durability-relevant settings of this connection, as SQLite reports them (for health checks and tests). */
  connectionSettings(): { journalMode: string; synchronous: number; foreignKeys: boolean; busyTimeoutMs: number; walAutocheckpoint: number } {
    return {
      journalMode: String(this.db.pragma('journal_mode', { simple: true })),
      synchronous: Number(this.db.pragma('synchronous', { simple: true })),
      foreignKeys: Number(this.db.pragma('foreign_keys', { simple: true })) === 1,
      busyTimeoutMs: Number(this.db.pragma('busy_timeout', { simple: true })),
      walAutocheckpoint: Number(this.db.pragma('wal_autocheckpoint', { simple: true })),
    };
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    await this.writer?.close();
    this.db.close();
    await this.checkpointer?.stop();
    this.onClose?.();
  }

  async getAssignments(keys: readonly AssignmentKey[]): Promise<StoredAssignment[]> {
    try {
      // Keys usually share one unit (one request evaluates one unit): one statement per unit.
      const byUnit = new Map<string, { unitType: string; unit: string; experiments: string[] }>();
      for (const k of keys) {
        const id = `${k.unitType}\u0000${k.unit}`;
        const entry = byUnit.get(id);
        if (entry === undefined) byUnit.set(id, { unitType: k.unitType, unit: k.unit, experiments: [k.experiment] });
        else if (!entry.experiments.includes(k.experiment)) entry.experiments.push(k.experiment);
      }
      const select = this.stmt<[string, string, string], StoredAssignment>(SQL.assignmentsByUnitAll);
      const read = (): StoredAssignment[] => [...byUnit.values()].flatMap((u) => select.all(u.unitType, u.unit, JSON.stringify(u.experiments)));
      // Several units are read in one transaction, so from the same snapshot.
      return byUnit.size <= 1 ? read() : this.db.transaction(read).deferred();
    } catch (cause) {
      throw failure('getAssignments', cause);
    }
  }

  async insertAssignments(records: readonly StoredAssignment[]): Promise<StoredAssignment[]> {
    const outcomes = await this.writeAssignments(records.map((assignment) => ({ assignment, exposure: null })), 'insertAssignments');
    return outcomes.map((o) => o.assignment);
  }

  async enroll(enrollments: readonly Enrollment[]): Promise<EnrollOutcome[]> {
    return this.writeAssignments(enrollments, 'enroll');
  }

  private async writeAssignments(enrollments: readonly Enrollment[], op: string): Promise<EnrollOutcome[]> {
    if (enrollments.length === 0) return [];
    const program = assignmentProgram(enrollments);
    return assignmentOutcomes(enrollments, await this.write(op, program.steps, program.oldest), op);
  }

  async recordExposures(events: readonly ExposureInput[]): Promise<void> {
    if (events.length === 0) return;
    await this.write('recordExposures', exposureProgram(events), Number.POSITIVE_INFINITY);
  }

  /** Runs a write program on the writer thread, or inline; a failed guard is a stale config version. */
  private async write(op: string, steps: readonly WriteStep[], oldest: number): Promise<unknown[]> {
    try {
      return this.writer === null ? runInline(this.db, (name) => this.stmt(WRITE_STATEMENTS[name]!), steps) : await this.writer.transaction(steps);
    } catch (cause) {
      if (cause instanceof WriteGuardFailed) throw new StaleConfigError(oldest, cause.value);
      throw failure(op, cause);
    }
  }

  async exposedSlotCounts(experiment: string, phases: readonly string[], slots: number): Promise<Uint32Array> {
    const counts = new Uint32Array(slots);
    if (phases.length === 0 || slots === 0) return counts;
    try {
      const rows = this.stmt<[string, string, number], { slot: number; n: number }>(SQL.exposedSlotCounts).all(experiment, JSON.stringify(phases), slots);
      for (const { slot, n } of rows) counts[slot] = n;
      return counts;
    } catch (cause) {
      throw failure('exposedSlotCounts', cause);
    }
  }

  exportAssignments(filter: ExportFilter): AsyncIterable<StoredAssignment> {
    const { experiment } = filter;
    const limit = this.exportPageSize;
    if (experiment === undefined) {
      return this.paginate<StoredAssignment>(
        'exportAssignments',
        () => this.stmt<[number], StoredAssignment>(SQL.assignmentsFirstPage).all(limit),
        (last) => this.stmt<[...AssignmentCursor, number], StoredAssignment>(SQL.assignmentsNextPage).all(last.unitType, last.unit, last.experiment, last.lineage, limit),
      );
    }
    return this.paginate<StoredAssignment>(
      'exportAssignments',
      () => this.stmt<[string, number], StoredAssignment>(SQL.experimentAssignmentsFirstPage).all(experiment, limit),
      (last) =>
        this.stmt<[string, string, string, string, number], StoredAssignment>(SQL.experimentAssignmentsNextPage).all(experiment, last.unitType, last.unit, last.lineage, limit),
    );
  }

  exportExposures(filter: ExportFilter): AsyncIterable<StoredExposure> {
    const { experiment } = filter;
    const limit = this.exportPageSize;
    if (experiment === undefined) {
      return this.paginate<StoredExposure>(
        'exportExposures',
        () => this.stmt<[number], StoredExposure>(SQL.exposuresFirstPage).all(limit),
        (last) => this.stmt<[string, string, string, string, number], StoredExposure>(SQL.exposuresNextPage).all(last.unitType, last.unit, last.experiment, last.phase, limit),
      );
    }
    return this.paginate<StoredExposure>(
      'exportExposures',
      () => this.stmt<[string, number], StoredExposure>(SQL.experimentExposuresFirstPage).all(experiment, limit),
      (last) =>
        this.stmt<[string, string, string, string, number], StoredExposure>(SQL.experimentExposuresNextPage).all(experiment, last.phase, last.unitType, last.unit, limit),
    );
  }

  async appendMetricEvents(events: readonly MetricEventInput[]): Promise<MetricAppendResult> {
    const changes = await this.write('appendMetricEvents', metricEventSteps(events), Number.POSITIVE_INFINITY);
    const stored = changes.reduce<number>((n, c) => n + (c as number), 0);
    return { stored, duplicates: events.length - stored };
  }

  exportMetricEvents(filter: MetricFilter): AsyncIterable<StoredMetricEvent> {
    const limit = this.exportPageSize;
    return this.paginate<StoredMetricEvent>(
      'exportMetricEvents',
      () => metricEventPage(this.prepare, filter, 0, limit),
      (last) => metricEventPage(this.prepare, filter, last.seq, limit),
    );
  }

  async metricSummary(filter: MetricFilter): Promise<MetricSummary[]> {
    try {
      return metricSummary(this.prepare, filter);
    } catch (cause) {
      throw failure('metricSummary', cause);
    }
  }

  async latestConfig(): Promise<ConfigVersionRecord | null> {
    try {
      const row = this.stmt<[], ConfigRow>(SQL.latestConfig).get();
      return row === undefined ? null : configFromRow(row);
    } catch (cause) {
      throw failure('latestConfig', cause);
    }
  }

  async getConfig(version: number): Promise<ConfigVersionRecord | null> {
    try {
      const row = this.stmt<[number], ConfigRow>(SQL.configByVersion).get(version);
      return row === undefined ? null : configFromRow(row);
    } catch (cause) {
      throw failure(`getConfig(${version})`, cause);
    }
  }

  async listConfigs(): Promise<ConfigVersionSummary[]> {
    try {
      return this.stmt<[], ConfigVersionSummary>(SQL.listConfigs).all();
    } catch (cause) {
      throw failure('listConfigs', cause);
    }
  }

  async appendConfig(record: ConfigVersionRecord): Promise<AppendResult> {
    const doc = encodeJson('sqlite', record.doc, 'config doc');
    const impact = encodeJson('sqlite', record.impact ?? null, 'impact');
    try {
      // The latest+1 check and the insert share one BEGIN IMMEDIATE transaction, so no other
      // connection can publish in between. The primary key on version is the second line of
      // defence (a writer that bypasses this code); its violation is reported as a conflict.
      return this.db
        .transaction((): AppendResult => {
          const latest = this.latestVersion();
          if (record.version !== latest + 1) return { ok: false, reason: 'VERSION_CONFLICT', latest };
          this.stmt<[number, string, string, string, string, number, string]>(SQL.insertConfig).run(
            record.version,
            doc,
            record.hash,
            record.author,
            record.reason,
            record.createdAt,
            impact,
          );
          return { ok: true };
        })
        .immediate();
    } catch (cause) {
      if (!(cause instanceof Database.SqliteError && cause.code === 'SQLITE_CONSTRAINT_PRIMARYKEY')) throw failure(`appendConfig(${record.version})`, cause);
    }
    try {
      return { ok: false, reason: 'VERSION_CONFLICT', latest: this.latestVersion() };
    } catch (cause) {
      throw failure(`appendConfig(${record.version}): reading the latest version after a conflict`, cause);
    }
  }

  async appendLogEntry(entry: LogEntryRecord): Promise<LogAppendResult> {
    try {
      // The size check and the insert share one BEGIN IMMEDIATE transaction; the primary key and
      // the unique config_version make a duplicate insert a no-op, reported as a conflict.
      return this.db
        .transaction((): LogAppendResult => {
          const size = this.logSize();
          if (entry.index !== size) return { ok: false, reason: 'INDEX_CONFLICT', size };
          const changes = this.stmt<[number, string, string, number | null]>(SQL.insertLogEntry).run(entry.index, entry.leaf, entry.leafHash, entry.configVersion).changes;
          return changes === 1 ? { ok: true } : { ok: false, reason: 'INDEX_CONFLICT', size };
        })
        .immediate();
    } catch (cause) {
      throw failure(`appendLogEntry(${entry.index})`, cause);
    }
  }

  async logEntries(from: number): Promise<LogEntryRecord[]> {
    try {
      return this.stmt<[number], LogEntryRecord>(SQL.logEntries).all(from);
    } catch (cause) {
      throw failure('logEntries', cause);
    }
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    return keys.listSigningKeys(this.prepare);
  }

  async insertSigningKey(record: SigningKeyRecord): Promise<boolean> {
    return keys.insertSigningKey(this.prepare, record);
  }

  async rotateSigningKey(retiringKid: string, at: number, next: SigningKeyRecord): Promise<boolean> {
    return keys.rotateSigningKey(this.db, this.prepare, retiringKid, at, next);
  }

  async putLayerSeed(record: LayerSeedRecord): Promise<boolean> {
    return keys.putLayerSeed(this.prepare, record);
  }

  async getLayerSeed(seedCommit: string): Promise<LayerSeedRecord | null> {
    return keys.getLayerSeed(this.prepare, seedCommit);
  }

  async putKey(record: ApiKeyRecord): Promise<void> {
    keys.putKey(this.prepare, record);
  }

  async findKeyByHash(hash: string): Promise<ApiKeyRecord | null> {
    return keys.findKeyByHash(this.prepare, hash);
  }

  async listKeys(): Promise<ApiKeyRecord[]> {
    return keys.listKeys(this.prepare);
  }

  async revokeKey(id: string, at: number): Promise<boolean> {
    return keys.revokeKey(this.prepare, id, at);
  }

  private logSize(): number {
    const row = this.stmt<[], { size: number }>(SQL.logSize).get();
    if (row === undefined) throw new Error('max(idx) returned no row');
    return row.size;
  }

  private latestVersion(): number {
    const row = this.stmt<[], { latest: number }>(SQL.latestVersion).get();
    if (row === undefined) throw new Error('max(version) returned no row');
    return row.latest;
  }

  /** Prepared statements are created on first use (the tables exist only after migrate()) and cached. */
  private stmt<P extends unknown[], R = unknown>(sql: string): Database.Statement<P, R> {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare<unknown[], unknown>(sql);
      this.statements.set(sql, statement);
    }
    // The cache is keyed by SQL text; each call site names the parameter and row types of its SQL.
    return statement as unknown as Database.Statement<P, R>;
  }

  /** Keyset pagination: each page is one short synchronous query; no statement stays open between pages. */
  private async *paginate<T>(op: string, first: () => T[], next: (last: T) => T[]): AsyncGenerator<T> {
    let page: T[];
    try {
      page = first();
    } catch (cause) {
      throw failure(op, cause);
    }
    for (;;) {
      yield* page;
      const last = page.at(-1);
      if (last === undefined || page.length < this.exportPageSize) return;
      try {
        page = next(last);
      } catch (cause) {
        throw failure(op, cause);
      }
    }
  }
}

/** Opens (creating if needed) a SQLite store on `filename` (or ':memory:'); call migrate() before use. */
export function openSqliteStore(filename: string, options: SqliteStoreOptions = {}): SqliteStore {
  return new SqliteStore(filename, options);
}
