/**
 * The key set a bundle is checked against: the keys it carries, or (given the published
 * /.well-known/sortition-keys.json document) the published keys, of which the bundled ones must
 * be a subset. Keys rotate: a set may hold several keys per purpose, each with its validity window
 * [notBefore, notAfter), so a receipt signed before a rotation still verifies with the retired key.
 *
 *   kid             = purpose "-" first 16 hex digits of SHA-256(public key)
 *   noteVerifierKey = origin "+" signed-note key ID (hex) "+" base64(0x01 || public key)  (checkpoint keys)
 */
import { sha256, toHex } from '@sortition/core';
import { base64urlDecode, base64urlEncode } from '../bytes.js';
import { formatVerifierKey, noteKeyId, type NoteVerifierKey } from '../checkpoint.js';
import { BundleShapeError, type BundleKey, type BundleKeySet } from './format.js';

export interface WindowedKey {
  readonly kid: string;
  readonly publicKey: Uint8Array;
  readonly notBefore?: number;
  readonly notAfter?: number;
}

export interface CheckedKeys {
  readonly origin: string;
  /** Checkpoint keys (signed-note name = origin), each with its kid. */
  readonly notes: readonly (NoteVerifierKey & WindowedKey)[];
  readonly receipts: ReadonlyMap<string, WindowedKey>;
}

function checkKey(k: BundleKey, at: string, origin: string): WindowedKey & { purpose: 'checkpoint' | 'receipt' } {
  if (k.alg !== 'Ed25519') throw new BundleShapeError(`${at}/alg is not Ed25519`);
  const pk = base64urlDecode(k.publicKey);
  if (pk?.length !== 32 || base64urlEncode(pk) !== k.publicKey) throw new BundleShapeError(`${at}/publicKey is not canonical base64url of 32 bytes`);
  if (k.kid !== `${k.purpose}-${toHex(sha256(pk)).slice(0, 16)}`) throw new BundleShapeError(`${at}/kid is not "${k.purpose}-" and the first 16 hex digits of SHA-256 of the key`);
  if (k.notBefore !== undefined && k.notAfter !== undefined && k.notAfter < k.notBefore) throw new BundleShapeError(`${at}/notAfter is before notBefore`);
  const windowed = { kid: k.kid, publicKey: pk, ...(k.notBefore === undefined ? {} : { notBefore: k.notBefore }), ...(k.notAfter === undefined ? {} : { notAfter: k.notAfter }) };
  if (k.purpose === 'checkpoint') {
    const expected = formatVerifierKey({ name: origin, publicKey: pk });
    if (k.noteVerifierKey !== expected) throw new BundleShapeError(`${at}/noteVerifierKey is not ${expected}`);
    return { ...windowed, purpose: 'checkpoint' };
  }
  if (k.purpose === 'receipt') {
    if (k.noteVerifierKey !== undefined) throw new BundleShapeError(`${at}/noteVerifierKey is set on a receipt key`);
    return { ...windowed, purpose: 'receipt' };
  }
  throw new BundleShapeError(`${at}/purpose ${JSON.stringify(k.purpose)} is not checkpoint or receipt`);
}

function check(set: BundleKeySet, path: string): CheckedKeys {
  const notes: (NoteVerifierKey & WindowedKey)[] = [];
  const receipts = new Map<string, WindowedKey>();
  const seen = new Set<string>();
  set.keys.forEach((k, i) => {
    const at = `${path}/keys/${i}`;
    if (seen.has(k.kid)) throw new BundleShapeError(`${at}/kid ${k.kid} is listed twice`);
    seen.add(k.kid);
    const { purpose, ...key } = checkKey(k, at, set.origin);
    if (purpose === 'checkpoint') {
      if (notes.some((n) => noteKeyId(set.origin, n.publicKey) === noteKeyId(set.origin, key.publicKey))) throw new BundleShapeError(`${at}: two checkpoint keys share a signed-note key ID`);
      notes.push({ ...key, name: set.origin });
    } else receipts.set(k.kid, key);
  });
  if (notes.length === 0) throw new BundleShapeError(`${path} has no checkpoint key`);
  return { origin: set.origin, notes, receipts };
}

/** Checks the bundled key set and, given one, the published key set it must agree with. */
export function checkKeySets(bundled: BundleKeySet, published?: BundleKeySet): CheckedKeys {
  const mine = check(bundled, '/keys');
  if (published === undefined) return mine;
  const theirs = check(published, 'published keys');
  if (theirs.origin !== mine.origin) throw new BundleShapeError(`/keys/origin ${JSON.stringify(mine.origin)} is not the published origin ${JSON.stringify(theirs.origin)}`);
  for (const k of bundled.keys) {
    const match = published.keys.find((p) => p.kid === k.kid);
    if (match === undefined || match.publicKey !== k.publicKey || match.purpose !== k.purpose) throw new BundleShapeError(`/keys: key ${k.kid} is not one of the published keys`);
  }
  return theirs;
}

/** Whether `at` lies in a key's validity window. */
export function validAt(key: WindowedKey, at: number): boolean {
  return (key.notBefore === undefined || at >= key.notBefore) && (key.notAfter === undefined || at < key.notAfter);
}
