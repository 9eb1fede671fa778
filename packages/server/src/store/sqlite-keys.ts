/** Key material in the SQLite store (sqlite.ts): service signing keys, committed-layer seeds and API keys. */
import type Database from 'better-sqlite3';
import { failure, keyFromRow, SQL, type KeyRow, type Prepare } from './sqlite-sql.js';
import type { ApiKeyRecord, KeyKind, LayerSeedRecord, SigningKeyRecord } from './types.js';

export function listSigningKeys(prepare: Prepare): SigningKeyRecord[] {
  try {
    return prepare<[], SigningKeyRecord>(SQL.listSigningKeys).all();
  } catch (cause) {
    throw failure('listSigningKeys', cause);
  }
}

export function insertSigningKey(prepare: Prepare, record: SigningKeyRecord): boolean {
  try {
    return (
      prepare<[string, string, string, string, string, number, number | null]>(SQL.insertSigningKey).run(
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

export function rotateSigningKey(db: Database.Database, prepare: Prepare, retiringKid: string, at: number, next: SigningKeyRecord): boolean {
  try {
    return db
      .transaction((): boolean => {
        if (next.rotatedAt !== null) return false;
        if (prepare<[number, string, string]>(SQL.retireSigningKey).run(at, retiringKid, next.purpose).changes !== 1) return false;
        const inserted = prepare<[string, string, string, string, string, number, null]>(SQL.insertSigningKey).run(next.kid, next.purpose, next.alg, next.publicKey, next.privateKey, next.createdAt, null).changes;
        if (inserted !== 1) throw new Error(`signing key ${next.kid} exists already`);
        return true;
      })
      .immediate();
  } catch (cause) {
    throw failure(`rotateSigningKey(${retiringKid} -> ${next.kid})`, cause);
  }
}

export function putLayerSeed(prepare: Prepare, record: LayerSeedRecord): boolean {
  try {
    return prepare<[string, string, number, string, number]>(SQL.insertLayerSeed).run(record.seedCommit, record.layer, record.epoch, record.sealed, record.createdAt).changes === 1;
  } catch (cause) {
    throw failure(`putLayerSeed(${record.seedCommit})`, cause);
  }
}

export function getLayerSeed(prepare: Prepare, seedCommit: string): LayerSeedRecord | null {
  try {
    return prepare<[string], LayerSeedRecord>(SQL.layerSeed).get(seedCommit) ?? null;
  } catch (cause) {
    throw failure(`getLayerSeed(${seedCommit})`, cause);
  }
}

export function putKey(prepare: Prepare, record: ApiKeyRecord): void {
  try {
    prepare<[string, KeyKind, string, string, number, number | null]>(SQL.putKey).run(
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

export function findKeyByHash(prepare: Prepare, hash: string): ApiKeyRecord | null {
  try {
    const row = prepare<[string], KeyRow>(SQL.keyByHash).get(hash);
    return row === undefined ? null : keyFromRow(row);
  } catch (cause) {
    throw failure('findKeyByHash', cause);
  }
}

export function listKeys(prepare: Prepare): ApiKeyRecord[] {
  try {
    return prepare<[], KeyRow>(SQL.listKeys).all().map(keyFromRow);
  } catch (cause) {
    throw failure('listKeys', cause);
  }
}

export function revokeKey(prepare: Prepare, id: string, at: number): boolean {
  try {
    return prepare<[number, string]>(SQL.revokeKey).run(at, id).changes > 0;
  } catch (cause) {
    throw failure(`revokeKey(${id})`, cause);
  }
}
