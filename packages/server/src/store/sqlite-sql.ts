/** The SQL of the SQLite store (sqlite.ts), its row shapes, and their conversion to records. */
import type Database from 'better-sqlite3';
import type { ApiKeyRecord, ConfigVersionRecord, StoredAssignment } from './types.js';
import { decodeJson } from './records.js';

const ASSIGNMENT_COLUMNS = `unit_type AS unitType, unit, experiment, lineage, phase, variant, slot,
  layer_epoch AS layerEpoch, config_version AS configVersion, assigned_at AS assignedAt`;
const EXPOSURE_COLUMNS = `unit_type AS unitType, unit, experiment, phase, variant, slot,
  config_version AS configVersion, first_at AS at, source, count, last_at AS lastAt`;
const CONFIG_SUMMARY_COLUMNS = 'version, hash, author, reason, created_at AS createdAt';
const KEY_COLUMNS = 'id, kind, hash, label, created_at AS createdAt, revoked_at AS revokedAt';

/** The store's prepared-statement cache (SqliteStore.stmt): statements by SQL text, typed at each call site. */
export type Prepare = <P extends unknown[], R = unknown>(sql: string) => Database.Statement<P, R>;

export const SQL = {
  insertAssignment: `INSERT INTO assignments
      (unit_type, unit, experiment, lineage, phase, variant, slot, layer_epoch, config_version, assigned_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (unit_type, unit, experiment, lineage) DO NOTHING`,
  assignmentByKey: `SELECT ${ASSIGNMENT_COLUMNS} FROM assignments
    WHERE unit_type = ? AND unit = ? AND experiment = ? AND lineage = ?`,
  assignmentsByUnitAll: `SELECT ${ASSIGNMENT_COLUMNS} FROM assignments
    WHERE unit_type = ? AND unit = ? AND experiment IN (SELECT value FROM json_each(?)) ORDER BY experiment, lineage`,
  // The exposure of an enrollment, for the assignment stored under its key (the winner): the
  // winner's variant and slot in the enrollment's phase, and nothing if the winner is of another
  // phase (records.ts, enrollmentExposure). Params: config version, at, source, at, then the key and
  // the enrollment's phase.
  recordEnrollmentExposure: `INSERT INTO exposures
      (unit_type, unit, experiment, phase, variant, slot, config_version, first_at, source, count, last_at)
    SELECT a.unit_type, a.unit, a.experiment, a.phase, a.variant, a.slot, ?, ?, ?, 1, ? FROM assignments a
    WHERE a.unit_type = ? AND a.unit = ? AND a.experiment = ? AND a.lineage = ? AND a.phase = ?
    ON CONFLICT (unit_type, unit, experiment, phase) DO UPDATE
      SET count = count + excluded.count, last_at = max(last_at, excluded.last_at)`,
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

export interface ConfigRow {
  readonly version: number;
  readonly hash: string;
  readonly author: string;
  readonly reason: string;
  readonly createdAt: number;
  readonly doc: string;
  readonly impact: string;
}

export interface KeyRow {
  readonly id: string;
  readonly kind: string;
  readonly hash: string;
  readonly label: string;
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

export type AssignmentCursor = readonly [unitType: string, unit: string, experiment: string, lineage: string];

export type AssignmentRowValues = [string, string, string, string, string, string, number, number, number, number];

export function assignmentValues(r: StoredAssignment): AssignmentRowValues {
  return [r.unitType, r.unit, r.experiment, r.lineage, r.phase, r.variant, r.slot, r.layerEpoch, r.configVersion, r.assignedAt];
}

export function configFromRow(row: ConfigRow): ConfigVersionRecord {
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

export function keyFromRow(row: KeyRow): ApiKeyRecord {
  if (row.kind !== 'admin' && row.kind !== 'sdk' && row.kind !== 'read') throw new Error(`api key ${row.id} has unknown kind ${JSON.stringify(row.kind)}`);
  return { id: row.id, kind: row.kind, hash: row.hash, label: row.label, createdAt: row.createdAt, revokedAt: row.revokedAt };
}


export function describeKey(k: StoredAssignment): string {
  return JSON.stringify([k.unitType, k.unit, k.experiment, k.lineage]);
}

export function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

export function failure(op: string, cause: unknown): Error {
  return new Error(`sqlite store: ${op} failed: ${describe(cause)}`, { cause });
}
