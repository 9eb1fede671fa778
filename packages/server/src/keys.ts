/**
 * API keys: 32 random bytes, shown once, stored only as a SHA-256 hash. Keys carry their kind in a
 * prefix so a leaked key is recognisable (e.g. by secret scanners): sk_admin_, sk_sdk_, sk_read_.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ApiKeyRecord, KeyKind, Store } from './store/types.js';

const PREFIX: Readonly<Record<KeyKind, string>> = { admin: 'sk_admin_', sdk: 'sk_sdk_', read: 'sk_read_' };

export function hashKey(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export interface CreatedKey {
  readonly secret: string;
  readonly record: ApiKeyRecord;
}

export async function createKey(store: Store, kind: KeyKind, label: string, now: number): Promise<CreatedKey> {
  const secret = `${PREFIX[kind]}${randomBytes(32).toString('base64url')}`;
  const record: ApiKeyRecord = { id: randomBytes(8).toString('hex'), kind, hash: hashKey(secret), label, createdAt: now, revokedAt: null };
  await store.putKey(record);
  return { secret, record };
}

/**
 * What a key may do. Admin implies read and sdk; read may see history and exports; sdk may evaluate
 * and track (report metric events).
 */
export type Permission = 'config:write' | 'config:read' | 'evaluate' | 'track' | 'export';

const GRANTS: Readonly<Record<KeyKind, readonly Permission[]>> = {
  admin: ['config:write', 'config:read', 'evaluate', 'track', 'export'],
  read: ['config:read', 'export'],
  sdk: ['evaluate', 'track'],
};

export function allows(kind: KeyKind, permission: Permission): boolean {
  return GRANTS[kind].includes(permission);
}
