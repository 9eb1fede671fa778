/** Rows of the PostgreSQL store (postgres.ts) as pg returns them, their conversion to records, and error helpers. */
import type { ApiKeyRecord, ConfigVersionRecord, ConfigVersionSummary, ExposureInput, LayerSeedRecord, SigningKeyRecord, StoredAssignment, StoredExposure } from './types.js';
import { decodeJson } from './records.js';

export interface AssignmentRow {
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

export interface ExposureRow {
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

export interface ConfigSummaryRow {
  readonly version: number;
  readonly hash: string;
  readonly author: string;
  readonly reason: string;
  readonly created_at: string;
}

export interface ConfigRow extends ConfigSummaryRow {
  readonly doc: string;
  readonly impact: string;
}

export interface KeyRow {
  readonly id: string;
  readonly kind: string;
  readonly hash: string;
  readonly label: string;
  readonly created_at: string;
  readonly revoked_at: string | null;
}

export function assignmentKey(k: { unitType: string; unit: string; experiment: string; lineage: string }): string {
  return JSON.stringify([k.unitType, k.unit, k.experiment, k.lineage]);
}

export function exposureKey(e: ExposureInput): string {
  return JSON.stringify([e.unitType, e.unit, e.experiment, e.phase]);
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareAssignmentKeys(a: StoredAssignment, b: StoredAssignment): number {
  return compareStrings(a.unitType, b.unitType) || compareStrings(a.unit, b.unit) || compareStrings(a.experiment, b.experiment) || compareStrings(a.lineage, b.lineage);
}

export function compareExposureKeys(a: ExposureInput, b: ExposureInput): number {
  return compareStrings(a.unitType, b.unitType) || compareStrings(a.unit, b.unit) || compareStrings(a.experiment, b.experiment) || compareStrings(a.phase, b.phase);
}

export function assignmentFromRow(row: AssignmentRow): StoredAssignment {
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

export function exposureFromRow(row: ExposureRow): StoredExposure {
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

export function configSummaryFromRow(row: ConfigSummaryRow): ConfigVersionSummary {
  return { version: row.version, hash: row.hash, author: row.author, reason: row.reason, createdAt: toSafeInteger(row.created_at, 'created_at') };
}

export function configFromRow(row: ConfigRow): ConfigVersionRecord {
  return {
    ...configSummaryFromRow(row),
    doc: decodeJson('postgres', row.doc, `config ${row.version} doc`),
    impact: decodeJson('postgres', row.impact, `config ${row.version} impact`),
  };
}

export function keyFromRow(row: KeyRow): ApiKeyRecord {
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

export interface SigningKeyRow {
  readonly kid: string;
  readonly purpose: string;
  readonly alg: string;
  readonly public_key: string;
  readonly private_key: string;
  readonly created_at: string;
  readonly rotated_at: string | null;
}

export function signingKeyFromRow(r: SigningKeyRow): SigningKeyRecord {
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
}

export interface LayerSeedRow {
  readonly seed_commit: string;
  readonly layer: string;
  readonly epoch: number;
  readonly sealed: string;
  readonly created_at: string;
}

export function layerSeedFromRow(r: LayerSeedRow): LayerSeedRecord {
  return { seedCommit: r.seed_commit, layer: r.layer, epoch: r.epoch, sealed: r.sealed, createdAt: toSafeInteger(r.created_at, 'created_at') };
}

/** pg returns BIGINT (and count(*)) as a decimal string; refuse values a JS number cannot hold exactly. */
export function toSafeInteger(value: string | number, column: string): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n) || (typeof value === 'string' && !/^-?\d+$/.test(value))) {
    throw new RangeError(`postgres store: ${column} = ${String(value)} is not a safe integer`);
  }
  return n;
}


/** The SQLSTATE of a PostgreSQL error (pg's DatabaseError carries it as `code`). */
export function sqlState(cause: unknown): string | undefined {
  if (!(cause instanceof Error) || !('code' in cause)) return undefined;
  const { code } = cause;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

export function failure(op: string, cause: unknown): Error {
  const code = sqlState(cause);
  return new Error(`postgres store: ${op} failed: ${describe(cause)}${code === undefined ? '' : ` (SQLSTATE ${code})`}`, { cause });
}
