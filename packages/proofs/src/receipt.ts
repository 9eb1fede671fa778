/**
 * Assignment receipts: compact JWS (RFC 7515) with the fully specified algorithm "Ed25519"
 * (RFC 9864), signed and verified with @noble/curves so that this stays synchronous and isomorphic.
 *
 *   token     = base64url(header) "." base64url(payload) "." base64url(signature)   (no padding)
 *   header    = canonical JSON {"alg":"Ed25519","kid":<key id>,"typ":"sortition-receipt+jws"}
 *   payload   = canonical JSON (RFC 8785) of ReceiptPayload
 *   signature = Ed25519(secret key, ASCII(base64url(header) "." base64url(payload)))   (64 bytes)
 *
 *   unitHash  = hex SHA-256( "sortition/v1/unit" || 0x00 || canonical unit id bytes )  (§2: NFC UTF-8)
 *   attrsHash = hex SHA-256( UTF-8( canonical JSON of the targeting attributes used ) )
 *   checkpoint.rootHash = hex of the 32-byte root of the config log checkpoint the receipt cites
 *
 * Verification pins alg to "Ed25519", rejects "crit", looks the key up by kid, verifies strictly
 * (zip215: false), decodes base64url canonically, and requires the payload to be exactly the
 * canonical JSON of a well-formed ReceiptPayload, so a receipt has one accepted byte string.
 */

import { ed25519 } from '@noble/curves/ed25519.js';
import { canonicalJson, sha256, toHex, unitIdBytes, type Attributes } from '@sortition/core';
import { base64urlDecode, base64urlEncode, concatBytes, utf8Decode, utf8Encode } from './bytes.js';

export const RECEIPT_ALG = 'Ed25519';
export const RECEIPT_TYP = 'sortition-receipt+jws';
export const UNIT_DOMAIN = 'sortition/v1/unit';

export interface ReceiptPayload {
  readonly experiment: string;
  readonly phase: string;
  readonly variant: string;
  readonly slot: number;
  readonly unitHash: string;
  readonly attrsHash: string;
  readonly configVersion: number;
  readonly checkpoint: { readonly size: number; readonly rootHash: string };
  /** Unix time in ms, supplied by the caller. */
  readonly issuedAt: number;
}

export interface ReceiptHeader {
  readonly alg: typeof RECEIPT_ALG;
  readonly kid: string;
  readonly typ: typeof RECEIPT_TYP;
}

export interface ReceiptSigningKey {
  readonly kid: string;
  /** 32-byte Ed25519 secret key (RFC 8032 seed). */
  readonly secretKey: Uint8Array;
  /**
   * Optional faster signer for the same key (e.g. node:crypto on a server). Ed25519 is
   * deterministic, so it must return exactly the bytes @noble/curves would; used instead of it.
   */
  readonly sign?: (message: Uint8Array) => Uint8Array;
}

/** kid -> 32-byte Ed25519 public key. */
export type ReceiptKeySet = ReadonlyMap<string, Uint8Array> | Readonly<Record<string, Uint8Array>>;

/** hex SHA-256("sortition/v1/unit" || 0x00 || canonical unit id bytes). Throws on an invalid unit id. */
export function unitHash(unitId: string): string {
  const bytes = unitIdBytes(unitId);
  if (!(bytes instanceof Uint8Array)) throw new RangeError(bytes.message);
  return toHex(sha256(concatBytes(utf8Encode(UNIT_DOMAIN), Uint8Array.of(0), bytes)));
}

/** hex SHA-256 of the UTF-8 canonical JSON of the attributes (undefined values are dropped). */
export function attrsHash(attributes: Attributes): string {
  return toHex(sha256(utf8Encode(canonicalJson(attributes))));
}

const HEX64 = /^[0-9a-f]{64}$/;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** The first problem with a payload, or undefined if it is well-formed. */
export function receiptPayloadError(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'payload is not a JSON object';
  const p = value as Record<string, unknown>;
  const allowed = ['experiment', 'phase', 'variant', 'slot', 'unitHash', 'attrsHash', 'configVersion', 'checkpoint', 'issuedAt'];
  const extra = Object.keys(p).find((k) => !allowed.includes(k));
  if (extra !== undefined) return `payload has unknown field ${JSON.stringify(extra)}`;
  for (const field of ['experiment', 'phase', 'variant'] as const) {
    if (typeof p[field] !== 'string' || (p[field] as string).length === 0) return `payload.${field} must be a non-empty string`;
  }
  if (!isCount(p.slot)) return 'payload.slot must be a non-negative integer';
  if (typeof p.unitHash !== 'string' || !HEX64.test(p.unitHash)) return 'payload.unitHash must be 64 lower-case hex characters';
  if (typeof p.attrsHash !== 'string' || !HEX64.test(p.attrsHash)) return 'payload.attrsHash must be 64 lower-case hex characters';
  if (!isCount(p.configVersion) || p.configVersion < 1) return 'payload.configVersion must be a positive integer';
  const cp = p.checkpoint;
  if (typeof cp !== 'object' || cp === null || Array.isArray(cp)) return 'payload.checkpoint must be an object';
  const c = cp as Record<string, unknown>;
  const cpExtra = Object.keys(c).find((k) => k !== 'size' && k !== 'rootHash');
  if (cpExtra !== undefined) return `payload.checkpoint has unknown field ${JSON.stringify(cpExtra)}`;
  if (!isCount(c.size) || c.size < 1) return 'payload.checkpoint.size must be a positive integer';
  if (typeof c.rootHash !== 'string' || !HEX64.test(c.rootHash)) return 'payload.checkpoint.rootHash must be 64 lower-case hex characters';
  if (!isCount(p.issuedAt)) return 'payload.issuedAt must be a non-negative integer (unix ms)';
  return undefined;
}

function ascii(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** base64url of the canonical header, per kid (the same bytes for every receipt of a key). */
const headers = new Map<string, string>();

/** Signs a receipt, returning the compact JWS. */
export function signReceipt(payload: ReceiptPayload, key: ReceiptSigningKey): string {
  const problem = receiptPayloadError(payload);
  if (problem !== undefined) throw new RangeError(problem);
  if (key.kid.length === 0) throw new RangeError('kid must be non-empty');
  if (key.secretKey.length !== 32) throw new RangeError(`Ed25519 secret key has ${key.secretKey.length} bytes, expected 32`);
  let encodedHeader = headers.get(key.kid);
  if (encodedHeader === undefined) {
    const header: ReceiptHeader = { alg: RECEIPT_ALG, kid: key.kid, typ: RECEIPT_TYP };
    encodedHeader = base64urlEncode(utf8Encode(canonicalJson(header)));
    if (headers.size >= 64) headers.clear();
    headers.set(key.kid, encodedHeader);
  }
  const signingInput = `${encodedHeader}.${base64urlEncode(utf8Encode(canonicalJson(payload)))}`;
  const message = ascii(signingInput);
  const signature = key.sign === undefined ? ed25519.sign(message, key.secretKey) : key.sign(message);
  return `${signingInput}.${base64urlEncode(signature)}`;
}

function lookup(keys: ReceiptKeySet, kid: string): Uint8Array | undefined {
  if (keys instanceof Map) return keys.get(kid);
  const record = keys as Readonly<Record<string, Uint8Array>>;
  return Object.hasOwn(record, kid) ? record[kid] : undefined;
}

function parseJson(bytes: Uint8Array | undefined): unknown {
  if (bytes === undefined) return undefined;
  const text = utf8Decode(bytes);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Verifies a receipt against a key set, returning its header and payload or the reason it fails. */
export function verifyReceipt(
  token: string,
  keys: ReceiptKeySet,
): { ok: true; header: ReceiptHeader; payload: ReceiptPayload } | { ok: false; reason: string } {
  const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });
  const parts = token.split('.');
  if (parts.length !== 3) return fail(`receipt has ${parts.length} parts, expected 3 (compact JWS)`);
  const [h, p, s] = parts as [string, string, string];
  const header = parseJson(base64urlDecode(h));
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return fail('header is not base64url of a JSON object');
  const hd = header as Record<string, unknown>;
  if (hd.alg !== RECEIPT_ALG) return fail(`header alg ${JSON.stringify(hd.alg)} is not "${RECEIPT_ALG}"`);
  if ('crit' in hd) return fail('header has crit extensions, which this verifier does not understand');
  if (hd.typ !== RECEIPT_TYP) return fail(`header typ ${JSON.stringify(hd.typ)} is not "${RECEIPT_TYP}"`);
  if (typeof hd.kid !== 'string') return fail('header has no kid');
  const publicKey = lookup(keys, hd.kid);
  if (publicKey === undefined) return fail(`no key for kid ${JSON.stringify(hd.kid)}`);
  const signature = base64urlDecode(s);
  if (signature === undefined || signature.length !== 64) return fail('signature is not base64url of 64 bytes');
  let valid: boolean;
  try {
    valid = ed25519.verify(signature, ascii(`${h}.${p}`), publicKey, { zip215: false });
  } catch {
    valid = false;
  }
  if (!valid) return fail('signature does not verify');
  const payloadBytes = base64urlDecode(p);
  const payload = parseJson(payloadBytes);
  const problem = receiptPayloadError(payload);
  if (problem !== undefined) return fail(problem);
  if (canonicalJson(payload) !== utf8Decode(payloadBytes!)) return fail('payload is not in canonical JSON form');
  return { ok: true, header: { alg: RECEIPT_ALG, kid: hd.kid, typ: RECEIPT_TYP }, payload: payload as ReceiptPayload };
}
