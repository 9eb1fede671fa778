/**
 * Offline verification of drand beacons for unchained BLS schemes with signatures on G1
 * (bls-unchained-g1-rfc9380, the "quicknet" chain of the League of Entropy):
 *
 *   msg        = SHA-256( uint64_be(round) )
 *   signature  = 48-byte compressed G1 point; BLS-verified against the chain's 96-byte G2 public key,
 *                hash-to-curve DST "BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_" (RFC 9380)
 *   randomness = SHA-256( signature )
 *   roundTime(r) = genesis + (r - 1) * period        (r >= 1, seconds; here in unix ms)
 *   roundAt(t)   = floor((t - genesis) / period) + 1  (the latest round published at time t)
 *
 * No network: the caller fetches the round JSON and passes it in; the chain key is pinned here.
 */

import { bls12_381 } from '@noble/curves/bls12-381.js';
import { fromHex, sha256, toHex } from '@sortition/core';
import { bytesEqual, u64be } from './bytes.js';

export interface DrandChain {
  /** Chain hash (hex), the chain's identity. */
  readonly hash: string;
  /** BLS public key on G2, compressed (96 bytes, hex). */
  readonly publicKey: string;
  readonly genesisTime: number;
  readonly period: number;
  readonly schemeID: 'bls-unchained-g1-rfc9380';
}

/** League of Entropy quicknet, as published at api.drand.sh/<hash>/info and pinned by drand-client. */
export const QUICKNET: DrandChain = Object.freeze({
  hash: '52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971',
  publicKey:
    '83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a',
  genesisTime: 1692803367,
  period: 3,
  schemeID: 'bls-unchained-g1-rfc9380',
});

export const QUICKNET_DST = 'BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_';

/** A beacon as served by the drand HTTP API (hex strings), or as bytes. */
export interface DrandBeacon {
  readonly round: number;
  readonly signature: string | Uint8Array;
  /** If present it must equal SHA-256(signature). */
  readonly randomness?: string | Uint8Array;
}

function bytesOf(value: string | Uint8Array): Uint8Array | undefined {
  return typeof value === 'string' ? fromHex(value) : value;
}

function checkRound(round: number): void {
  if (!Number.isSafeInteger(round) || round < 1) throw new RangeError(`drand round ${round} must be an integer >= 1`);
}

/** SHA-256(uint64_be(round)): the message signed for an unchained round. */
export function roundMessage(round: number): Uint8Array {
  checkRound(round);
  return sha256(u64be(round));
}

/**
 * Outcomes of the pairing check per (chain key, round, signature): a pure function of its inputs
 * costing tens of milliseconds, remembered so that a verifier re-checking the same bundle (or many
 * bundles of one layer) pays it once.
 */
const verified = new Map<string, boolean>();

/**
 * Verifies a beacon against a chain (default quicknet) and returns its 32-byte randomness, or the
 * reason it is rejected.
 */
export function verifyBeacon(
  beacon: DrandBeacon,
  chain: DrandChain = QUICKNET,
): { ok: true; round: number; randomness: Uint8Array } | { ok: false; reason: string } {
  if (!Number.isSafeInteger(beacon.round) || beacon.round < 1) return { ok: false, reason: `round ${beacon.round} must be an integer >= 1` };
  if (chain.schemeID !== 'bls-unchained-g1-rfc9380') return { ok: false, reason: `unsupported drand scheme ${String(chain.schemeID)}` };
  const signature = bytesOf(beacon.signature);
  if (signature === undefined || signature.length !== 48) return { ok: false, reason: 'signature must be a 48-byte compressed G1 point (96 hex characters)' };
  const publicKey = fromHex(chain.publicKey);
  if (publicKey === undefined || publicKey.length !== 96) return { ok: false, reason: 'chain public key must be a 96-byte compressed G2 point' };
  const randomness = sha256(signature);
  if (beacon.randomness !== undefined) {
    const claimed = bytesOf(beacon.randomness);
    if (claimed === undefined || !bytesEqual(claimed, randomness)) return { ok: false, reason: 'randomness is not SHA-256 of the signature' };
  }
  const memoKey = `${chain.publicKey}:${beacon.round}:${toHex(signature)}`;
  let valid = verified.get(memoKey);
  if (valid === undefined) {
    const bls = bls12_381.shortSignatures;
    try {
      valid = bls.verify(signature, bls.hash(roundMessage(beacon.round), QUICKNET_DST), publicKey);
    } catch (error) {
      return { ok: false, reason: `signature or key is not a valid curve point: ${(error as Error).message}` };
    }
    if (verified.size >= 256) verified.clear();
    verified.set(memoKey, valid);
  }
  if (!valid) return { ok: false, reason: `BLS signature does not verify for round ${beacon.round}` };
  return { ok: true, round: beacon.round, randomness };
}

/** Hex of verified randomness, for logs and launch records. */
export function randomnessHex(randomness: Uint8Array): string {
  return toHex(randomness);
}

/** The unix time in ms at which `round` is published (round 1 at genesis). */
export function roundTime(round: number, chain: DrandChain = QUICKNET): number {
  checkRound(round);
  return (chain.genesisTime + (round - 1) * chain.period) * 1000;
}

/** The latest round published at unix time `unixMs`. Throws before genesis. */
export function roundAt(unixMs: number, chain: DrandChain = QUICKNET): number {
  if (!Number.isFinite(unixMs)) throw new RangeError(`time ${unixMs} is not finite`);
  const genesisMs = chain.genesisTime * 1000;
  if (unixMs < genesisMs) throw new RangeError(`time ${unixMs} is before the chain's genesis ${genesisMs}`);
  return Math.floor((unixMs - genesisMs) / (chain.period * 1000)) + 1;
}
