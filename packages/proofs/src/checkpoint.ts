/**
 * C2SP signed notes (c2sp.org/signed-note) with Ed25519 signatures, and C2SP transparency log
 * checkpoints (c2sp.org/tlog-checkpoint) carried in them.
 *
 * Note:        text (ends in "\n")  "\n"  one or more signature lines
 * Signature:   "— " (U+2014 U+0020) key-name " " base64(keyID[4] || Ed25519 signature[64]) "\n"
 * Key ID:      uint32 big-endian = SHA-256(key-name || 0x0A || 0x01 || public key[32])[0..4)
 * Signed msg:  the UTF-8 bytes of the text, including its final newline
 * Checkpoint:  origin "\n" decimal tree size "\n" base64(root hash) "\n" (extension line "\n")*
 *
 * Verification follows the signed-note rules: signatures from unknown keys (name and key ID not
 * both matching a trusted key) are ignored; a signature from a trusted key that does not verify
 * rejects the note; a note with no verified signature from a trusted key is rejected. Ed25519 is
 * verified strictly (RFC 8032 / FIPS 186-5, zip215: false). Keys and secrets are parameters:
 * this module has no clock, no randomness and no I/O.
 */

import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@sortition/core';
import { base64Decode, base64Encode, concatBytes, utf8Decode, utf8Encode } from './bytes.js';
import { HASH_SIZE } from './merkle.js';

const EM_DASH_PREFIX = '\u2014 ';
const ED25519_TYPE = 0x01;
/** Signature lines accepted in one note (the spec requires at least 16). */
export const MAX_NOTE_SIGNATURES = 64;

/** A trusted key: its name and 32-byte Ed25519 public key. */
export interface NoteVerifierKey {
  readonly name: string;
  readonly publicKey: Uint8Array;
}

/** A signing key: its name and 32-byte Ed25519 secret key (the RFC 8032 seed). */
export interface NoteSignerKey {
  readonly name: string;
  readonly secretKey: Uint8Array;
}

/** One signature line of a note, not yet verified. */
export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
  /** The bytes after the 4-byte key ID. */
  readonly signature: Uint8Array;
}

export type Failure = { readonly ok: false; readonly reason: string };
const failure = (reason: string): Failure => ({ ok: false, reason });

function checkKeyName(name: string): string | undefined {
  if (name.length === 0) return 'key name is empty';
  if (/[\s+]/u.test(name)) return `key name ${JSON.stringify(name)} contains a space or '+'`;
  if (!name.isWellFormed()) return 'key name is not well-formed Unicode';
  return undefined;
}

/** The signed-note key ID of an Ed25519 key: SHA-256(name || "\n" || 0x01 || publicKey)[:4], big-endian. */
export function noteKeyId(name: string, publicKey: Uint8Array): number {
  const bad = checkKeyName(name);
  if (bad !== undefined) throw new RangeError(bad);
  if (publicKey.length !== 32) throw new RangeError(`Ed25519 public key has ${publicKey.length} bytes, expected 32`);
  const h = sha256(concatBytes(utf8Encode(name), Uint8Array.of(0x0a, ED25519_TYPE), publicKey));
  return ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** The verifier key string of golang.org/x/mod/sumdb/note: "name+keyid(hex)+base64(0x01 || publicKey)". */
export function formatVerifierKey(key: NoteVerifierKey): string {
  return `${key.name}+${hex8(noteKeyId(key.name, key.publicKey))}+${base64Encode(concatBytes(Uint8Array.of(ED25519_TYPE), key.publicKey))}`;
}

/** Parses a verifier key string ("name+keyid+base64(0x01 || publicKey)"), checking its key ID. */
export function parseVerifierKey(text: string): { ok: true; key: NoteVerifierKey } | Failure {
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  if (second < 0) return failure('verifier key must be name+keyid+key');
  const name = text.slice(0, first);
  const idHex = text.slice(first + 1, second);
  const bad = checkKeyName(name);
  if (bad !== undefined) return failure(bad);
  if (!/^[0-9a-f]{8}$/.test(idHex)) return failure(`verifier key ID ${JSON.stringify(idHex)} is not 8 lower-case hex digits`);
  const raw = base64Decode(text.slice(second + 1));
  if (raw === undefined) return failure('verifier key material is not canonical base64');
  if (raw.length !== 33 || raw[0] !== ED25519_TYPE) return failure('verifier key is not an Ed25519 key (type 0x01 and 32 bytes)');
  const publicKey = raw.slice(1);
  if (hex8(noteKeyId(name, publicKey)) !== idHex) return failure(`verifier key ID ${idHex} does not match the key`);
  return { ok: true, key: { name, publicKey } };
}

function checkNoteText(text: string): string | undefined {
  if (!text.isWellFormed()) return 'note is not well-formed Unicode';
  // eslint-disable-next-line no-control-regex
  const control = /[\u0000-\u0009\u000b-\u001f]/.exec(text);
  if (control) return `note contains control character U+${control[0].charCodeAt(0).toString(16).padStart(4, '0')}`;
  return undefined;
}

/** Signs note text (which must end in a newline) with each signer, returning the whole note. */
export function signNote(text: string, signers: readonly NoteSignerKey[]): string {
  const bad = checkNoteText(text);
  if (bad !== undefined) throw new RangeError(bad);
  if (!text.endsWith('\n')) throw new RangeError('note text must end with a newline');
  if (signers.length === 0) throw new RangeError('a note needs at least one signer');
  const message = utf8Encode(text);
  let out = `${text}\n`;
  for (const signer of signers) {
    if (signer.secretKey.length !== 32) throw new RangeError(`Ed25519 secret key of ${signer.name} has ${signer.secretKey.length} bytes, expected 32`);
    const publicKey = ed25519.getPublicKey(signer.secretKey);
    const id = noteKeyId(signer.name, publicKey);
    const idBytes = Uint8Array.of(id >>> 24, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff);
    const signature = ed25519.sign(message, signer.secretKey);
    out += `${EM_DASH_PREFIX}${signer.name} ${base64Encode(concatBytes(idBytes, signature))}\n`;
  }
  return out;
}

/** Splits a note into its text and signature lines without verifying anything. */
export function parseNote(note: string): { ok: true; text: string; signatures: NoteSignature[] } | Failure {
  const bad = checkNoteText(note);
  if (bad !== undefined) return failure(bad);
  if (!note.endsWith('\n')) return failure('note does not end with a newline');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) return failure('note has no blank line between text and signatures');
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split('\n');
  if (lines.length === 1 && lines[0] === '') return failure('note has no signature lines');
  if (lines.length > MAX_NOTE_SIGNATURES) return failure(`note has ${lines.length} signature lines, more than ${MAX_NOTE_SIGNATURES}`);
  const signatures: NoteSignature[] = [];
  for (const [i, line] of lines.entries()) {
    if (!line.startsWith(EM_DASH_PREFIX)) return failure(`signature line ${i + 1} does not start with an em dash and a space`);
    const fields = line.slice(EM_DASH_PREFIX.length).split(' ');
    if (fields.length !== 2) return failure(`signature line ${i + 1} is not "— <name> <base64>"`);
    const [name, b64] = fields as [string, string];
    const badName = checkKeyName(name);
    if (badName !== undefined) return failure(`signature line ${i + 1}: ${badName}`);
    const raw = base64Decode(b64);
    if (raw === undefined) return failure(`signature line ${i + 1}: signature is not canonical base64`);
    if (raw.length < 5) return failure(`signature line ${i + 1}: signature has ${raw.length} bytes, fewer than a key ID and one byte`);
    const keyId = ((raw[0]! << 24) | (raw[1]! << 16) | (raw[2]! << 8) | raw[3]!) >>> 0;
    signatures.push({ name, keyId, signature: raw.slice(4) });
  }
  return { ok: true, text, signatures };
}

/**
 * Verifies a note against trusted keys. Returns its text and the keys whose signatures verified,
 * or the reason it is rejected.
 */
export function openNote(
  note: string,
  trusted: readonly NoteVerifierKey[],
): { ok: true; text: string; verifiedBy: NoteVerifierKey[] } | Failure {
  const parsed = parseNote(note);
  if (!parsed.ok) return parsed;
  const known = trusted.map((key) => ({ key, id: noteKeyId(key.name, key.publicKey) }));
  const message = utf8Encode(parsed.text);
  const verifiedBy: NoteVerifierKey[] = [];
  for (const sig of parsed.signatures) {
    const match = known.find((k) => k.key.name === sig.name && k.id === sig.keyId);
    if (match === undefined) continue;
    if (verifiedBy.includes(match.key)) return failure(`note has two signatures from ${sig.name}`);
    let valid = false;
    try {
      valid = sig.signature.length === 64 && ed25519.verify(sig.signature, message, match.key.publicKey, { zip215: false });
    } catch {
      valid = false;
    }
    if (!valid) return failure(`signature by ${sig.name} (key ID ${hex8(sig.keyId)}) does not verify`);
    verifiedBy.push(match.key);
  }
  if (verifiedBy.length === 0) return failure('note has no signature from a trusted key');
  return { ok: true, text: parsed.text, verifiedBy };
}

/** The body of a C2SP tlog checkpoint. */
export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  readonly extensions?: readonly string[];
}

/** The note text of a checkpoint: origin, size, base64 root hash and extension lines, each ending in "\n". */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  const lines = [checkpoint.origin, String(checkpoint.size), base64Encode(checkpoint.rootHash), ...(checkpoint.extensions ?? [])];
  const text = `${lines.join('\n')}\n`;
  const parsed = parseCheckpoint(text);
  if (!parsed.ok) throw new RangeError(`cannot format checkpoint: ${parsed.reason}`);
  return text;
}

/** Parses checkpoint note text (without signatures). Errors name the line at fault. */
export function parseCheckpoint(text: string): { ok: true; checkpoint: Checkpoint } | Failure {
  const bad = checkNoteText(text);
  if (bad !== undefined) return failure(`checkpoint ${bad}`);
  if (!text.endsWith('\n')) return failure('checkpoint text does not end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) return failure(`checkpoint has ${lines.length} lines, expected at least origin, tree size and root hash`);
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) return failure('checkpoint origin (line 1) is empty');
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) return failure(`checkpoint tree size (line 2) ${JSON.stringify(sizeText)} is not a decimal without leading zeros`);
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) return failure(`checkpoint tree size (line 2) ${sizeText} exceeds 2^53 - 1`);
  const rootHash = base64Decode(rootText);
  if (rootHash === undefined) return failure(`checkpoint root hash (line 3) ${JSON.stringify(rootText)} is not canonical base64`);
  if (rootHash.length !== HASH_SIZE) return failure(`checkpoint root hash (line 3) has ${rootHash.length} bytes, expected ${HASH_SIZE}`);
  const empty = extensions.findIndex((line) => line.length === 0);
  if (empty >= 0) return failure(`checkpoint extension line ${empty + 4} is empty`);
  return { ok: true, checkpoint: extensions.length > 0 ? { origin, size, rootHash, extensions } : { origin, size, rootHash } };
}

/** Formats and signs a checkpoint; the log's key name should equal the origin. */
export function signCheckpoint(checkpoint: Checkpoint, signers: readonly NoteSignerKey[]): string {
  return signNote(formatCheckpoint(checkpoint), signers);
}

/**
 * Verifies a signed checkpoint against trusted keys and parses it. With `origin`, the checkpoint
 * must name that log.
 */
export function verifyCheckpoint(
  note: string,
  trusted: readonly NoteVerifierKey[],
  options: { readonly origin?: string } = {},
): { ok: true; checkpoint: Checkpoint; verifiedBy: NoteVerifierKey[] } | Failure {
  const opened = openNote(note, trusted);
  if (!opened.ok) return opened;
  const parsed = parseCheckpoint(opened.text);
  if (!parsed.ok) return parsed;
  if (options.origin !== undefined && parsed.checkpoint.origin !== options.origin) {
    return failure(`checkpoint origin ${JSON.stringify(parsed.checkpoint.origin)} is not the expected ${JSON.stringify(options.origin)}`);
  }
  return { ok: true, checkpoint: parsed.checkpoint, verifiedBy: opened.verifiedBy };
}

/** Decodes note text bytes (for callers holding raw bytes): strict UTF-8 or undefined. */
export function noteFromBytes(bytes: Uint8Array): string | undefined {
  return utf8Decode(bytes);
}
