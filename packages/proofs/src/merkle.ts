/**
 * RFC 9162 §2.1 Merkle tree hashing with SHA-256, inclusion and consistency proofs.
 *
 *   MTH({})          = SHA-256()                               (the empty string)
 *   leaf hash        = SHA-256(0x00 || d)
 *   node hash        = SHA-256(0x01 || left || right)
 *   MTH(D[n]), n > 1 = node(MTH(D[0:k]), MTH(D[k:n])), k = the largest power of two < n
 *
 * Generation follows the recursive PATH and SUBPROOF definitions of RFC 9162 §2.1.3.1 and
 * §2.1.4.1. Verification is the iterative algorithm of §2.1.3.2 and §2.1.4.2, with the edge cases
 * of transparency-dev/merkle (its test vectors are the conformance suite): a consistency proof
 * from an empty tree is rejected as meaningless, equal sizes need an empty proof and equal roots,
 * and a proof of the wrong length is rejected before any hashing.
 *
 * Tree sizes and indices are numbers (safe integers); the bit arithmetic uses bigint so trees
 * beyond 2^32 leaves work.
 */

import { sha256 } from '@sortition/core';
import { bytesEqual, concatBytes } from './bytes.js';

export const HASH_SIZE = 32;

/** MTH of the empty tree: SHA-256 of the empty string. */
export const EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0));

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

/** The outcome of a proof verification: `reason` says what failed. */
export type VerifyResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const OK: VerifyResult = { ok: true };
function fail(reason: string): VerifyResult {
  return { ok: false, reason };
}

/** SHA-256(0x00 || data). */
export function leafHash(data: Uint8Array): Uint8Array {
  return sha256(concatBytes(LEAF_PREFIX, data));
}

/** SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(concatBytes(NODE_PREFIX, left, right));
}

/** The largest power of two strictly less than n (n >= 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function mth(hashes: readonly Uint8Array[], from: number, to: number): Uint8Array {
  const n = to - from;
  if (n === 0) return EMPTY_ROOT;
  if (n === 1) return hashes[from]!;
  const k = splitPoint(n);
  return nodeHash(mth(hashes, from, from + k), mth(hashes, from + k, to));
}

function checkHashes(hashes: readonly Uint8Array[]): void {
  hashes.forEach((h, i) => {
    if (h.length !== HASH_SIZE) throw new RangeError(`leaf hash ${i} has ${h.length} bytes, expected ${HASH_SIZE}`);
  });
}

/** MTH of a tree given its leaf hashes (use leafHash() on each entry first). */
export function rootFromLeafHashes(hashes: readonly Uint8Array[]): Uint8Array {
  checkHashes(hashes);
  return mth(hashes, 0, hashes.length);
}

/** RFC 9162 PATH(index, D[n]) for the tree of all `hashes`: the audit path, leaf level first. */
export function inclusionProof(hashes: readonly Uint8Array[], index: number): Uint8Array[] {
  checkHashes(hashes);
  if (!Number.isSafeInteger(index) || index < 0 || index >= hashes.length) {
    throw new RangeError(`leaf index ${index} is outside a tree of ${hashes.length} leaves`);
  }
  const path = (m: number, from: number, to: number): Uint8Array[] => {
    const n = to - from;
    if (n === 1) return [];
    const k = splitPoint(n);
    return m < k
      ? [...path(m, from, from + k), mth(hashes, from + k, to)]
      : [...path(m - k, from + k, to), mth(hashes, from, from + k)];
  };
  return path(index, 0, hashes.length);
}

/**
 * RFC 9162 PROOF(size1, D[n]) from the tree of the first `size1` leaves to the tree of all
 * `hashes`. Requires 0 < size1 <= n; equal sizes give the empty proof.
 */
export function consistencyProof(hashes: readonly Uint8Array[], size1: number): Uint8Array[] {
  checkHashes(hashes);
  const n = hashes.length;
  if (!Number.isSafeInteger(size1) || size1 < 1 || size1 > n) {
    throw new RangeError(`old size ${size1} must be between 1 and the tree size ${n} (a proof from the empty tree is meaningless)`);
  }
  const subproof = (m: number, from: number, to: number, complete: boolean): Uint8Array[] => {
    const size = to - from;
    if (m === size) return complete ? [] : [mth(hashes, from, to)];
    const k = splitPoint(size);
    return m <= k
      ? [...subproof(m, from, from + k, complete), mth(hashes, from + k, to)]
      : [...subproof(m - k, from + k, to, false), mth(hashes, from, from + k)];
  };
  return size1 === n ? [] : subproof(size1, 0, n, true);
}

function bitLength(x: bigint): number {
  let n = 0;
  while (x > 0n) {
    x >>= 1n;
    n++;
  }
  return n;
}

function popCount(x: bigint): number {
  let n = 0;
  while (x > 0n) {
    n += Number(x & 1n);
    x >>= 1n;
  }
  return n;
}

function trailingZeros(x: bigint): number {
  let n = 0;
  while (x > 0n && (x & 1n) === 0n) {
    x >>= 1n;
    n++;
  }
  return n;
}

/** Splits an inclusion proof length into the inner part (below the fork) and the border part. */
function decompose(index: bigint, size: bigint): { inner: number; border: number } {
  const inner = bitLength(index ^ (size - 1n));
  const border = popCount(index >> BigInt(inner));
  return { inner, border };
}

function chainInner(seed: Uint8Array, proof: readonly Uint8Array[], index: bigint): Uint8Array {
  let h = seed;
  proof.forEach((p, i) => {
    h = ((index >> BigInt(i)) & 1n) === 0n ? nodeHash(h, p) : nodeHash(p, h);
  });
  return h;
}

function chainInnerRight(seed: Uint8Array, proof: readonly Uint8Array[], index: bigint): Uint8Array {
  let h = seed;
  proof.forEach((p, i) => {
    if (((index >> BigInt(i)) & 1n) === 1n) h = nodeHash(p, h);
  });
  return h;
}

function chainBorderRight(seed: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  let h = seed;
  for (const p of proof) h = nodeHash(p, h);
  return h;
}

function sizeError(name: string, value: number): string | undefined {
  return Number.isSafeInteger(value) && value >= 0 ? undefined : `${name} ${value} is not a non-negative safe integer`;
}

function proofHashError(proof: readonly Uint8Array[]): string | undefined {
  const bad = proof.findIndex((p) => p.length !== HASH_SIZE);
  return bad < 0 ? undefined : `proof hash ${bad} has ${proof[bad]!.length} bytes, expected ${HASH_SIZE}`;
}

/**
 * The root implied by an inclusion proof, or the reason there is none.
 * Requires 0 <= index < size and a 32-byte leaf hash.
 */
export function rootFromInclusionProof(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
): { ok: true; root: Uint8Array } | { ok: false; reason: string } {
  const bad = sizeError('leaf index', index) ?? sizeError('tree size', size);
  if (bad !== undefined) return { ok: false, reason: bad };
  if (index >= size) return { ok: false, reason: `leaf index ${index} is beyond tree size ${size}` };
  if (leaf.length !== HASH_SIZE) return { ok: false, reason: `leaf hash has ${leaf.length} bytes, expected ${HASH_SIZE}` };
  const { inner, border } = decompose(BigInt(index), BigInt(size));
  if (proof.length !== inner + border) {
    return { ok: false, reason: `inclusion proof has ${proof.length} hashes, expected ${inner + border} for leaf ${index} of ${size}` };
  }
  const badHash = proofHashError(proof);
  if (badHash !== undefined) return { ok: false, reason: badHash };
  const root = chainBorderRight(chainInner(leaf, proof.slice(0, inner), BigInt(index)), proof.slice(inner));
  return { ok: true, root };
}

/** Verifies that `leaf` (a leaf hash) is entry `index` of the tree of `size` leaves with `root`. */
export function verifyInclusion(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): VerifyResult {
  const result = rootFromInclusionProof(index, size, leaf, proof);
  if (!result.ok) return fail(result.reason);
  return bytesEqual(result.root, root) ? OK : fail('inclusion proof does not lead to the expected root');
}

/**
 * Verifies that the tree of `size2` leaves with `root2` extends the tree of `size1` leaves with
 * `root1`. Requires 0 < size1 <= size2.
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): VerifyResult {
  const bad = sizeError('size1', size1) ?? sizeError('size2', size2);
  if (bad !== undefined) return fail(bad);
  if (size2 < size1) return fail(`size2 (${size2}) is smaller than size1 (${size1})`);
  if (size1 === 0) return fail('a consistency proof from the empty tree is meaningless');
  if (size1 === size2) {
    if (proof.length > 0) return fail('sizes are equal but the proof is not empty');
    return bytesEqual(root1, root2) ? OK : fail('sizes are equal but the roots differ');
  }
  if (proof.length === 0) return fail('empty consistency proof');
  const badHash = proofHashError(proof);
  if (badHash !== undefined) return fail(badHash);

  const m = BigInt(size1);
  const { inner: fullInner, border } = decompose(m - 1n, BigInt(size2));
  const shift = trailingZeros(m);
  const inner = fullInner - shift;
  // The proof starts with the root of the largest perfect subtree ending at size1, unless size1 is
  // itself a power of two (then that subtree is the old tree and root1 stands for it).
  let seed = proof[0]!;
  let start = 1;
  if (m === 1n << BigInt(shift)) {
    seed = root1;
    start = 0;
  }
  if (proof.length !== start + inner + border) {
    return fail(`consistency proof has ${proof.length} hashes, expected ${start + inner + border} for ${size1} -> ${size2}`);
  }
  const rest = proof.slice(start);
  const mask = (m - 1n) >> BigInt(shift);
  const hash1 = chainBorderRight(chainInnerRight(seed, rest.slice(0, inner), mask), rest.slice(inner));
  if (!bytesEqual(hash1, root1)) return fail('consistency proof does not lead to the old root');
  const hash2 = chainBorderRight(chainInner(seed, rest.slice(0, inner), mask), rest.slice(inner));
  if (!bytesEqual(hash2, root2)) return fail('consistency proof does not lead to the new root');
  return OK;
}
