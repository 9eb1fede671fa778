import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_ROOT,
  consistencyProof,
  inclusionProof,
  leafHash,
  nodeHash,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from './merkle.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const VECTOR_DIR = join(REPO_ROOT, '../shared/data/transparency-dev-merkle');

interface InclusionVector {
  leafIdx: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

interface ConsistencyVector {
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

function jsonFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...jsonFiles(path));
    else if (name.endsWith('.json')) out.push(path);
  }
  return out;
}

function load<T>(kind: string): [string, T][] {
  const dir = join(VECTOR_DIR, kind);
  if (!existsSync(dir)) return [];
  return jsonFiles(dir).map((file) => [relative(VECTOR_DIR, file), JSON.parse(readFileSync(file, 'utf8')) as T]);
}

const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
const inclusionVectors = load<InclusionVector>('inclusion');
const consistencyVectors = load<ConsistencyVector>('consistency');

describe('transparency-dev/merkle vectors', () => {
  it('the vector folder is present (../shared/data/transparency-dev-merkle from the repo root)', () => {
    if (!existsSync(VECTOR_DIR)) {
      throw new Error(`transparency-dev Merkle vectors are missing: expected them at ${VECTOR_DIR}; restore /work/shared/data/transparency-dev-merkle`);
    }
    expect(inclusionVectors.length, 'no inclusion vectors found').toBeGreaterThan(0);
    expect(consistencyVectors.length, 'no consistency vectors found').toBeGreaterThan(0);
    // 196 at the time of writing: 98 inclusion and 98 consistency cases.
    expect(inclusionVectors.length + consistencyVectors.length).toBeGreaterThanOrEqual(196);
  });

  it.each(inclusionVectors)('inclusion %s', (_file, v) => {
    const result = verifyInclusion(v.leafIdx, v.treeSize, b64(v.leafHash), (v.proof ?? []).map(b64), b64(v.root));
    expect(result.ok, `${v.desc}: ${result.ok ? 'accepted' : result.reason}`).toBe(!v.wantErr);
  });

  it.each(consistencyVectors)('consistency %s', (_file, v) => {
    const result = verifyConsistency(v.size1, v.size2, (v.proof ?? []).map(b64), b64(v.root1), b64(v.root2));
    expect(result.ok, `${v.desc}: ${result.ok ? 'accepted' : result.reason}`).toBe(!v.wantErr);
  });
});

const nodeSha = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(createHash('sha256').update(Buffer.concat(parts)).digest());

function leaves(n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => leafHash(Uint8Array.of(i, i >> 8, 0xab)));
}

function flipped(hashes: readonly Uint8Array[], which: number, bit: number): Uint8Array[] {
  return hashes.map((h, i) => {
    if (i !== which) return h;
    const copy = h.slice();
    copy[bit >> 3]! ^= 1 << (bit & 7);
    return copy;
  });
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = bytes.slice();
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}

/** Every bit for trees of up to 8 leaves; eight bits per hash (one per 4-byte word, position varying with the size) for larger ones, to bound run time. */
function bitsToFlip(n: number): number[] {
  return n <= 8 ? Array.from({ length: 256 }, (_, i) => i) : Array.from({ length: 8 }, (_, i) => i * 32 + ((n + i) % 32));
}

describe('hashing', () => {
  it('matches node:crypto SHA-256 with the RFC 9162 prefixes', () => {
    const data = Uint8Array.from([1, 2, 3]);
    expect(leafHash(data)).toEqual(nodeSha(Uint8Array.of(0), data));
    const a = leafHash(Uint8Array.of(1));
    const b = leafHash(Uint8Array.of(2));
    expect(nodeHash(a, b)).toEqual(nodeSha(Uint8Array.of(1), a, b));
    expect(EMPTY_ROOT).toEqual(nodeSha());
    expect(rootFromLeafHashes([])).toEqual(EMPTY_ROOT);
  });

  it('computes the RFC 6962 reference roots (transparency-dev leaf set)', () => {
    // Leaves and roots from transparency-dev/merkle testonly/constants.go (RFC 6962 test data).
    const data = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
    const hashes = data.map((hex) => leafHash(new Uint8Array(Buffer.from(hex, 'hex'))));
    const roots = [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
      'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
      '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
      '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
      'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
      '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
    ];
    roots.forEach((root, i) => {
      expect(Buffer.from(rootFromLeafHashes(hashes.slice(0, i + 1))).toString('hex'), `root of ${i + 1} leaves`).toBe(root);
    });
  });
});

describe('generated proofs, every tree up to 64 leaves', () => {
  it('inclusion proofs verify for every (index, size) and fail with any flipped bit', () => {
    let checked = 0;
    const accepted: string[] = [];
    for (let n = 1; n <= 64; n++) {
      const hashes = leaves(n);
      const root = rootFromLeafHashes(hashes);
      for (let m = 0; m < n; m++) {
        const leaf = hashes[m]!;
        const proof = inclusionProof(hashes, m);
        const ok = verifyInclusion(m, n, leaf, proof, root);
        expect(ok.ok, `leaf ${m} of ${n}: ${ok.ok ? '' : ok.reason}`).toBe(true);
        for (const bit of bitsToFlip(n)) {
          for (let p = 0; p < proof.length; p++) {
            if (verifyInclusion(m, n, leaf, flipped(proof, p, bit), root).ok) accepted.push(`leaf ${m} of ${n}, proof[${p}] bit ${bit}`);
          }
          if (verifyInclusion(m, n, flipBit(leaf, bit), proof, root).ok) accepted.push(`leaf ${m} of ${n}, leaf bit ${bit}`);
          if (verifyInclusion(m, n, leaf, proof, flipBit(root, bit)).ok) accepted.push(`leaf ${m} of ${n}, root bit ${bit}`);
        }
        if (n > 1) {
          expect(verifyInclusion((m + 1) % n, n, leaf, proof, root).ok, `wrong index for leaf ${m} of ${n}`).toBe(false);
          expect(verifyInclusion(m, n, leaf, proof.slice(0, -1), root).ok).toBe(false);
        }
        expect(verifyInclusion(m, n, leaf, [...proof, leaf], root).ok).toBe(false);
        checked++;
      }
    }
    expect(checked).toBe((64 * 65) / 2);
    expect(accepted, 'tampered proofs that were accepted').toEqual([]);
  });

  it('consistency proofs verify for every (size1, size2) and fail with any flipped bit', () => {
    let checked = 0;
    const accepted: string[] = [];
    const all = leaves(64);
    for (let n = 1; n <= 64; n++) {
      const hashes = all.slice(0, n);
      const root2 = rootFromLeafHashes(hashes);
      for (let m = 1; m <= n; m++) {
        const root1 = rootFromLeafHashes(hashes.slice(0, m));
        const proof = consistencyProof(hashes, m);
        const ok = verifyConsistency(m, n, proof, root1, root2);
        expect(ok.ok, `${m} -> ${n}: ${ok.ok ? '' : ok.reason}`).toBe(true);
        for (const bit of bitsToFlip(n)) {
          for (let p = 0; p < proof.length; p++) {
            if (verifyConsistency(m, n, flipped(proof, p, bit), root1, root2).ok) accepted.push(`${m} -> ${n}, proof[${p}] bit ${bit}`);
          }
          if (verifyConsistency(m, n, proof, flipBit(root1, bit), root2).ok) accepted.push(`${m} -> ${n}, root1 bit ${bit}`);
          if (verifyConsistency(m, n, proof, root1, flipBit(root2, bit)).ok) accepted.push(`${m} -> ${n}, root2 bit ${bit}`);
        }
        if (m < n) {
          expect(verifyConsistency(m, n, proof.slice(1), root1, root2).ok).toBe(false);
          expect(verifyConsistency(m, n, [...proof, root1], root1, root2).ok).toBe(false);
          if (m + 1 < n) expect(verifyConsistency(m + 1, n, proof, root1, root2).ok).toBe(false);
        }
        checked++;
      }
    }
    expect(checked).toBe((64 * 65) / 2);
    expect(accepted, 'tampered proofs that were accepted').toEqual([]);
  });

  it('generation rejects out-of-range arguments', () => {
    expect(() => inclusionProof(leaves(3), 3)).toThrow(RangeError);
    expect(() => consistencyProof(leaves(3), 0)).toThrow(/meaningless/);
    expect(() => consistencyProof(leaves(3), 4)).toThrow(RangeError);
    expect(() => rootFromLeafHashes([new Uint8Array(31)])).toThrow(/31 bytes/);
  });

  it('handles sizes beyond 2^32 in verification arithmetic', () => {
    // A leaf at index 2^32 in a tree of 2^32 + 1 leaves: the proof is one hash (the left subtree).
    const left = leafHash(Uint8Array.of(9));
    const leaf = leafHash(Uint8Array.of(7));
    const root = nodeHash(left, leaf);
    expect(verifyInclusion(2 ** 32, 2 ** 32 + 1, leaf, [left], root).ok).toBe(true);
    expect(verifyInclusion(2 ** 53, 2 ** 53 + 1, leaf, [left], root).ok).toBe(false);
  });
});
