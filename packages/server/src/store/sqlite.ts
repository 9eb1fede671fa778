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
 * - Exports page through the table with keyset pagination (pages of EXPORT_PAGE rows, ordered by
 *   the primary key or the by-experiment index) instead of holding a statement iterator open: an
 *   open iterator would make the connection busy and every other call on it fail until the
 *   consumer finished, and it would pin a read snapshot for the whole export.
 */
import Database from 'better-sqlite3';
import { pendingMigrations, type AppliedMigration } from './migrations/plan.js';
import { SQLITE_MIGRATIONS } from './migrations/sqlite.js';
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
  KeyKind,
  LogAppendResult,
  LayerSeedRecord,
  LogEntryRecord,
  SigningKeyRecord,
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
}

const DEFAULT_BUSY_TIMEOUT_MS = 5000;
const DEFAULT_EXPORT_PAGE = 1000;

const ASSIGNMENT_COLUMNS = `unit_type AS unitType, unit, experiment, lineage, phase, variant, slot,
  layer_epoch AS layerEpoch, config_version AS configVersion, assigned_at AS assignedAt`;
const EXPOSURE_COLUMNS = `unit_type AS unitType, unit, experiment, phase, variant, slot,
  config_version AS configVersion, first_at AS at, source, count, last_at AS lastAt`;
const CONFIG_SUMMARY_COLUMNS = 'version, hash, author, reason, created_at AS createdAt';
const KEY_COLUMNS = 'id, kind, hash, label, created_at AS createdAt, revoked_at AS revokedAt';

const SQL = {
  insertAssignment: `INSERT INTO assignments
      (unit_type, unit, experiment, lineage, phase, variant, slot, layer_epoch, config_version, assigned_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (unit_type, unit, experiment, lineage) DO NOTHING`,
  assignmentByKey: `SELECT ${ASSIGNMENT_COLUMNS} FROM assignments
    WHERE unit_type = ? AND unit = ? AND experiment = ? AND lineage = ?`,
  assignmentsByUnitAll: `SELECT ${ASSIGNMENT_COLUMNS} FROM assignments
    WHERE unit_type = ? AND unit = ? AND experiment IN (SELECT value FROM json_each(?)) ORDER BY experiment, lineage`,
  recordExposure: `INSERT INTO exposures
      (unit_type, unit, experiment, phase, variant, slot, config_version, first_at, source, count, last_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (unit_type, unit, experiment, phase) DO UPDATE
      SET count = count + excluded.count, last_at = max(last_at, excluded.last_at)`,
  // A unit counts once, in its lowest in-range slot (a unit has one slot per lineage, so the min
  // only matters for inconsistent data).
  exposedSlotCounts: `SELECT slot, count(*) AS n FROM (
      SELECT min(slot) AS slot FROM exposures
      WHERE experiment = ? AND phase IN (SELECT value FROM json_each(?)) AND slot >= 0 AND slot < ?
      GROUP BY unit_type, unit
    ) GROUP BY slot`,
  assignmentsFirstPage: `SELECT ${ASSIGNMENT_COLUMNS} FROM assignments
    ORDER BY unit_type, unit, experiment, lineage LIMIT ?`,
  assignmentsNextPage: `SELECT ${ASSIGNMENT_COLUMNS} FROM assignments
    WHERE (unit_type, unit, experiment, lineage) > (?, ?, ?, ?)
    ORDER BY unit_type, unit, experiment, lineage LIMIT ?`,
  experimentAssignmentsFirstPage: `SELECT ${ASSIGNMENT_COLUMNS} FROM assignments
    WHERE experiment = ? ORDER BY unit_type, unit, lineage LIMIT ?`,
  experimentAssignmentsNextPage: `SELECT ${ASSIGNMENT_COLUMNS} FROM assignments
    WHERE experiment = ? AND (unit_type, unit, lineage) > (?, ?, ?)
    ORDER BY unit_type, unit, lineage LIMIT ?`,
  exposuresFirstPage: `SELECT ${EXPOSURE_COLUMNS} FROM exposures
    ORDER BY unit_type, unit, experiment, phase LIMIT ?`,
  exposuresNextPage: `SELECT ${EXPOSURE_COLUMNS} FROM exposures
    WHERE (unit_type, unit, experiment, phase) > (?, ?, ?, ?)
    ORDER BY unit_type, unit, experiment, phase LIMIT ?`,
  experimentExposuresFirstPage: `SELECT ${EXPOSURE_COLUMNS} FROM exposures
    WHERE experiment = ? ORDER BY phase, unit_type, unit LIMIT ?`,
  experimentExposuresNextPage: `SELECT ${EXPOSURE_COLUMNS} FROM exposures
    WHERE experiment = ? AND (phase, unit_type, unit) > (?, ?, ?)
    ORDER BY phase, unit_type, unit LIMIT ?`,
  latestVersion: 'SELECT coalesce(max(version), 0) AS latest FROM config_versions',
  configByVersion: `SELECT ${CONFIG_SUMMARY_COLUMNS}, doc, impact FROM config_versions WHERE version = ?`,
  latestConfig: `SELECT ${CONFIG_SUMMARY_COLUMNS}, doc, impact FROM config_versions ORDER BY version DESC LIMIT 1`,
  listConfigs: `SELECT ${CONFIG_SUMMARY_COLUMNS} FROM config_versions ORDER BY version`,
  insertConfig: `INSERT INTO config_versions (version, doc, hash, author, reason, created_at, impact)
    VALUES (?, ?, ?, ?, ?, ?, ?)`,
  logSize: 'SELECT coalesce(max(idx) + 1, 0) AS size FROM log_entries',
  insertLogEntry: `INSERT INTO log_entries (idx, leaf, leaf_hash, config_version) VALUES (?, ?, ?, ?)
    ON CONFLICT DO NOTHING`,
  logEntries: `SELECT idx AS "index", leaf, leaf_hash AS leafHash, config_version AS configVersion
    FROM log_entries WHERE idx >= ? ORDER BY idx`,
  listSigningKeys: `SELECT kid, purpose, alg, public_key AS publicKey, private_key AS privateKey,
    created_at AS createdAt, rotated_at AS rotatedAt FROM signing_keys ORDER BY created_at, kid`,
  insertSigningKey: `INSERT INTO signing_keys (kid, purpose, alg, public_key, private_key, created_at, rotated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  retireSigningKey: 'UPDATE signing_keys SET rotated_at = ? WHERE kid = ? AND purpose = ? AND rotated_at IS NULL',
  insertLayerSeed: `INSERT INTO layer_seeds (seed_commit, layer, epoch, sealed, created_at) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT DO NOTHING`,
  layerSeed: `SELECT seed_commit AS seedCommit, layer, epoch, sealed, created_at AS createdAt FROM layer_seeds WHERE seed_commit = ?`,
  putKey: `INSERT INTO api_keys (id, kind, hash, label, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, hash = excluded.hash, label = excluded.label,
      created_at = excluded.created_at, revoked_at = excluded.revoked_at`,
  keyByHash: `SELECT ${KEY_COLUMNS} FROM api_keys WHERE hash = ?`,
  listKeys: `SELECT ${KEY_COLUMNS} FROM api_keys ORDER BY created_at, id`,
  revokeKey: 'UPDATE api_keys SET revoked_at = ? WHERE id = ?',
  createMigrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
      version    INTEGER PRIMARY KEY,
      name       TEXT    NOT NULL,
      applied_at INTEGER NOT NULL
    ) STRICT`,
  appliedMigrations: 'SELECT version, name FROM schema_migrations ORDER BY version',
  recordMigration: 'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',
} as const;

interface ConfigRow {
  readonly version: number;
  readonly hash: string;
  readonly author: string;
  readonly reason: string;
  readonly createdAt: number;
  readonly doc: string;
  readonly impact: string;
}

interface KeyRow {
  readonly id: string;
  readonly kind: string;
  readonly hash: string;
  readonly label: string;
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

type AssignmentCursor = readonly [unitType: string, unit: string, experiment: string, lineage: string];

export class SqliteStore implements Store {
  readonly driver = 'sqlite';
  readonly singleWriter = true;
  private readonly onClose: (() => void) | undefined;
  private readonly db: Database.Database;
  private readonly exportPageSize: number;
  private readonly statements = new Map<string, Database.Statement<unknown[], unknown>>();

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
  connectionSettings(): { journalMode: string; synchronous: number; foreignKeys: boolean; busyTimeoutMs: number } {
    return {
      journalMode: String(this.db.pragma('journal_mode', { simple: true })),
      synchronous: Number(this.db.pragma('synchronous', { simple: true })),
      foreignKeys: Number(this.db.pragma('foreign_keys', { simple: true })) === 1,
      busyTimeoutMs: Number(this.db.pragma('busy_timeout', { simple: true })),
    };
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    this.db.close();
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
    try {
      const insert = this.stmt<AssignmentRowValues>(SQL.insertAssignment);
      const select = this.stmt<[string, string, string, string], StoredAssignment>(SQL.assignmentByKey);
      return this.db
        .transaction(() =>
          records.map((r): StoredAssignment => {
            // Inserted: the input is what is stored. Otherwise an earlier row (possibly from this
            // same batch, so a duplicate resolves to its first occurrence) is the winner.
            if (insert.run(...assignmentValues(r)).changes === 1) return copyAssignment(r);
            const winner = select.get(r.unitType, r.unit, r.experiment, r.lineage);
            if (winner === undefined) throw new Error(`no stored assignment after a conflicting insert for ${describeKey(r)}`);
            return winner;
          }),
        )
        .immediate();
    } catch (cause) {
      throw failure('insertAssignments', cause);
    }
  }

  async enroll(enrollments: readonly Enrollment[]): Promise<StoredAssignment[]> {
    try {
      const insert = this.stmt<AssignmentRowValues>(SQL.insertAssignment);
      const select = this.stmt<[string, string, string, string], StoredAssignment>(SQL.assignmentByKey);
      const upsert = this.stmt<[string, string, string, string, string, number, number, number, string, number, number]>(SQL.recordExposure);
      // One transaction, so one commit (one fsync) covers the batch's assignments and exposures.
      return this.db
        .transaction(() =>
          enrollments.map((e): StoredAssignment => {
            const r = e.assignment;
            let winner: StoredAssignment;
            if (insert.run(...assignmentValues(r)).changes === 1) winner = copyAssignment(r);
            else {
              const stored = select.get(r.unitType, r.unit, r.experiment, r.lineage);
              if (stored === undefined) throw new Error(`no stored assignment after a conflicting insert for ${describeKey(r)}`);
              winner = stored;
            }
            const x = enrollmentExposure(e, winner);
            if (x !== null) upsert.run(x.unitType, x.unit, x.experiment, x.phase, x.variant, x.slot, x.configVersion, x.at, x.source, x.count ?? 1, x.at);
            return winner;
          }),
        )
        .immediate();
    } catch (cause) {
      throw failure('enroll', cause);
    }
  }

  async recordExposures(events: readonly ExposureInput[]): Promise<void> {
    try {
      const upsert = this.stmt<[string, string, string, string, string, number, number, number, string, number, number]>(SQL.recordExposure);
      this.db
        .transaction(() => {
          for (const e of events) upsert.run(e.unitType, e.unit, e.experiment, e.phase, e.variant, e.slot, e.configVersion, e.at, e.source, e.count ?? 1, e.at);
        })
        .immediate();
    } catch (cause) {
      throw failure('recordExposures', cause);
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
    try {
      return this.stmt<[], SigningKeyRecord>(SQL.listSigningKeys).all();
    } catch (cause) {
      throw failure('listSigningKeys', cause);
    }
  }

  async insertSigningKey(record: SigningKeyRecord): Promise<boolean> {
    try {
      return (
        this.stmt<[string, string, string, string, string, number, number | null]>(SQL.insertSigningKey).run(
          record.kid,
          record.purpose,
          record.alg,
          record.publicKey,
          record.privateKey,
          record.createdAt,
          record.rotatedAt,
        ).changes === 1
      );
    } catch (cause) {
      throw failure(`insertSigningKey(${record.kid})`, cause);
    }
  }

  async rotateSigningKey(retiringKid: string, at: number, next: SigningKeyRecord): Promise<boolean> {
    try {
      return this.db
        .transaction((): boolean => {
          if (next.rotatedAt !== null) return false;
          if (this.stmt<[number, string, string]>(SQL.retireSigningKey).run(at, retiringKid, next.purpose).changes !== 1) return false;
          const inserted = this.stmt<[string, string, string, string, string, number, null]>(SQL.insertSigningKey).run(next.kid, next.purpose, next.alg, next.publicKey, next.privateKey, next.createdAt, null).changes;
          if (inserted !== 1) throw new Error(`signing key ${next.kid} exists already`);
          return true;
        })
        .immediate();
    } catch (cause) {
      throw failure(`rotateSigningKey(${retiringKid} -> ${next.kid})`, cause);
    }
  }

  async putLayerSeed(record: LayerSeedRecord): Promise<boolean> {
    try {
      return this.stmt<[string, string, number, string, number]>(SQL.insertLayerSeed).run(record.seedCommit, record.layer, record.epoch, record.sealed, record.createdAt).changes === 1;
    } catch (cause) {
      throw failure(`putLayerSeed(${record.seedCommit})`, cause);
    }
  }

  async getLayerSeed(seedCommit: string): Promise<LayerSeedRecord | null> {
    try {
      return this.stmt<[string], LayerSeedRecord>(SQL.layerSeed).get(seedCommit) ?? null;
    } catch (cause) {
      throw failure(`getLayerSeed(${seedCommit})`, cause);
    }
  }

  async putKey(record: ApiKeyRecord): Promise<void> {
    try {
      this.stmt<[string, KeyKind, string, string, number, number | null]>(SQL.putKey).run(
        record.id,
        record.kind,
        record.hash,
        record.label,
        record.createdAt,
        record.revokedAt,
      );
    } catch (cause) {
      throw failure(`putKey(${record.id})`, cause);
    }
  }

  async findKeyByHash(hash: string): Promise<ApiKeyRecord | null> {
    try {
      const row = this.stmt<[string], KeyRow>(SQL.keyByHash).get(hash);
      return row === undefined ? null : keyFromRow(row);
    } catch (cause) {
      throw failure('findKeyByHash', cause);
    }
  }

  async listKeys(): Promise<ApiKeyRecord[]> {
    try {
      return this.stmt<[], KeyRow>(SQL.listKeys).all().map(keyFromRow);
    } catch (cause) {
      throw failure('listKeys', cause);
    }
  }

  async revokeKey(id: string, at: number): Promise<boolean> {
    try {
      return this.stmt<[number, string]>(SQL.revokeKey).run(at, id).changes > 0;
    } catch (cause) {
      throw failure(`revokeKey(${id})`, cause);
    }
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

type AssignmentRowValues = [string, string, string, string, string, string, number, number, number, number];

function assignmentValues(r: StoredAssignment): AssignmentRowValues {
  return [r.unitType, r.unit, r.experiment, r.lineage, r.phase, r.variant, r.slot, r.layerEpoch, r.configVersion, r.assignedAt];
}

function configFromRow(row: ConfigRow): ConfigVersionRecord {
  return {
    version: row.version,
    doc: decodeJson('sqlite', row.doc, `config ${row.version} doc`),
    hash: row.hash,
    author: row.author,
    reason: row.reason,
    createdAt: row.createdAt,
    impact: decodeJson('sqlite', row.impact, `config ${row.version} impact`),
  };
}

function keyFromRow(row: KeyRow): ApiKeyRecord {
  if (row.kind !== 'admin' && row.kind !== 'sdk' && row.kind !== 'read') throw new Error(`api key ${row.id} has unknown kind ${JSON.stringify(row.kind)}`);
  return { id: row.id, kind: row.kind, hash: row.hash, label: row.label, createdAt: row.createdAt, revokedAt: row.revokedAt };
}


function describeKey(k: StoredAssignment): string {
  return JSON.stringify([k.unitType, k.unit, k.experiment, k.lineage]);
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

function failure(op: string, cause: unknown): Error {
  return new Error(`sqlite store: ${op} failed: ${describe(cause)}`, { cause });
}
