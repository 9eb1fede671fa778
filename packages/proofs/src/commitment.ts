/**
 * Committed layers: the layer key is derived from a secret seed, committed to before a public
 * randomness beacon round is published, and bound to that round's randomness, so the operator can
 * neither choose the key after seeing the units nor keep it from being checked once revealed.
 *
 * Byte layouts (spec/ALGORITHM.md §4.1; "||" is concatenation, ASCII strings have no
 * terminator, u8(x) is one unsigned byte):
 *
 *   seed        = 32 bytes from a CSPRNG, one per (layer, epoch); secret until revealed
 *   seedCommit  = SHA-256( "sortition/v1/seed" || 0x00 || seed )                  (32 bytes)
 *                 17 + 1 + 32 = 50 bytes of input
 *   beacon      = the 32-byte randomness of the drand quicknet round R named in the launch record
 *                 (randomness = SHA-256(BLS signature), verified as in drand.ts)
 *   layerKey K  = HMAC-SHA256( key = seed,
 *                              msg = "sortition/v1/layer-key" || 0x00 || beacon
 *                                    || u8(len(L)) || L )                            (32 bytes)
 *                 L = the layer id, ASCII, 1..64 bytes (§5.2); msg is 22 + 1 + 32 + 1 + len(L) bytes
 *
 * K then feeds §3 unchanged. A reveal is checked by recomputing seedCommit from the revealed seed,
 * verifying round R against the pinned chain key, and recomputing K.
 */

import { hmacSha256, sha256 } from '@sortition/core';
import { bytesEqual, concatBytes, utf8Encode } from './bytes.js';

export const SEED_DOMAIN = 'sortition/v1/seed';
export const LAYER_KEY_DOMAIN = 'sortition/v1/layer-key';
export const OPERATOR_BEACON_DOMAIN = 'sortition/v1/operator-beacon';
export const SEED_SIZE = 32;
export const BEACON_RANDOMNESS_SIZE = 32;

const LAYER_ID = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

function ascii(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) throw new RangeError(`expected ASCII, found U+${code.toString(16)} at index ${i}`);
    out[i] = code;
  }
  return out;
}

function checkLength(name: string, bytes: Uint8Array, size: number): void {
  if (bytes.length !== size) throw new RangeError(`${name} has ${bytes.length} bytes, expected ${size}`);
}

/** seedCommit = SHA-256("sortition/v1/seed" || 0x00 || seed), for a 32-byte seed. */
export function seedCommitment(seed: Uint8Array): Uint8Array {
  checkLength('seed', seed, SEED_SIZE);
  return sha256(concatBytes(ascii(SEED_DOMAIN), Uint8Array.of(0), seed));
}

/** The message HMAC'd under the seed: "sortition/v1/layer-key" || 0x00 || beacon || u8(len(L)) || L. */
export function layerKeyMessage(beaconRandomness: Uint8Array, layerId: string): Uint8Array {
  checkLength('beacon randomness', beaconRandomness, BEACON_RANDOMNESS_SIZE);
  if (!LAYER_ID.test(layerId)) throw new RangeError(`layer id ${JSON.stringify(layerId)} must match ${LAYER_ID.source}`);
  const id = ascii(layerId);
  return concatBytes(ascii(LAYER_KEY_DOMAIN), Uint8Array.of(0), beaconRandomness, Uint8Array.of(id.length), id);
}

/** layerKey = HMAC-SHA256(seed, layerKeyMessage(beaconRandomness, layerId)). */
export function deriveLayerKey(seed: Uint8Array, beaconRandomness: Uint8Array, layerId: string): Uint8Array {
  checkLength('seed', seed, SEED_SIZE);
  return hmacSha256(seed, layerKeyMessage(beaconRandomness, layerId));
}

/**
 * The beacon randomness of an operator-supplied beacon string (used instead of a drand round when
 * none can be fetched; weaker: nothing shows the operator did not choose it after the launch):
 * SHA-256("sortition/v1/operator-beacon" || 0x00 || UTF-8(value)).
 */
export function operatorBeaconRandomness(value: string): Uint8Array {
  if (value.length === 0) throw new RangeError('an operator beacon must not be empty');
  return sha256(concatBytes(ascii(OPERATOR_BEACON_DOMAIN), Uint8Array.of(0), utf8Encode(value)));
}

/** Whether a revealed seed opens the commitment. */
export function verifySeedReveal(seed: Uint8Array, commitment: Uint8Array): boolean {
  return seed.length === SEED_SIZE && commitment.length === 32 && bytesEqual(seedCommitment(seed), commitment);
}

export interface CommittedLayerReveal {
  readonly layerId: string;
  readonly seed: Uint8Array;
  /** The seedCommit from the launch record. */
  readonly commitment: Uint8Array;
  /** Randomness of the beacon round named in the launch record, already verified (see drand.ts). */
  readonly beaconRandomness: Uint8Array;
  /** The key the layer was served with, if claimed; it must equal the derived key. */
  readonly layerKey?: Uint8Array;
}

/** Checks a reveal end to end and returns the derived layer key, or the reason it fails. */
export function verifyCommittedLayer(
  reveal: CommittedLayerReveal,
): { ok: true; layerKey: Uint8Array } | { ok: false; reason: string } {
  if (reveal.seed.length !== SEED_SIZE) return { ok: false, reason: `seed has ${reveal.seed.length} bytes, expected ${SEED_SIZE}` };
  if (!verifySeedReveal(reveal.seed, reveal.commitment)) return { ok: false, reason: 'revealed seed does not match the commitment' };
  let layerKey: Uint8Array;
  try {
    layerKey = deriveLayerKey(reveal.seed, reveal.beaconRandomness, reveal.layerId);
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
  if (reveal.layerKey !== undefined && !bytesEqual(reveal.layerKey, layerKey)) {
    return { ok: false, reason: 'claimed layer key is not the one derived from the seed and the beacon' };
  }
  return { ok: true, layerKey };
}
