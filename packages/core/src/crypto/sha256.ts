/**
 * SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104) in portable TypeScript.
 *
 * The core must run unchanged in Node, browsers and edge runtimes and `assign()` is synchronous,
 * so WebCrypto (async) and node:crypto (Node only) are not options on the hot path. This module is
 * checked bit for bit against node:crypto on random inputs in sha256.test.ts.
 *
 * Speed comes from two things: the compression works on 32-bit words with no allocation, and HmacKey
 * caches the states after the key's inner and outer pad blocks, so a short message costs exactly two
 * compressions. The compression comes from "#sha256-compress" (package.json "imports"): generated and
 * unrolled by default (Node's throughput), a loop of about a twentieth of the size under the
 * "browser" condition (bundle size). Both are generated from one table and checked against each other.
 */

import { compress } from '#sha256-compress';

export { compress };

const IV = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

/** Absorbs the 64-byte blocks of `bytes[from..to)` into `state`; `w` is 64-word scratch. */
function absorbBlocks(state: Int32Array, w: Int32Array, bytes: Uint8Array, from: number, to: number): void {
  for (let base = from; base < to; base += 64) {
    for (let j = 0; j < 16; j++) {
      const p = base + j * 4;
      w[j] = (bytes[p]! << 24) | (bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) | bytes[p + 3]!;
    }
    compress(state, w);
  }
}

/**
 * Writes SHA-256 padding after `bytes[0..length)` in place and returns the padded length (a multiple
 * of 64). `prefixBytes` counts message bytes absorbed before this buffer (for the length field).
 * The buffer must have room for `length + 72` bytes.
 */
function padInPlace(bytes: Uint8Array, length: number, prefixBytes: number): number {
  const padded = ((length + 9 + 63) >>> 6) << 6;
  bytes[length] = 0x80;
  for (let i = length + 1; i < padded - 8; i++) bytes[i] = 0;
  const bits = (prefixBytes + length) * 8;
  const high = Math.floor(bits / 4294967296);
  bytes[padded - 8] = high >>> 24;
  bytes[padded - 7] = (high >>> 16) & 0xff;
  bytes[padded - 6] = (high >>> 8) & 0xff;
  bytes[padded - 5] = high & 0xff;
  bytes[padded - 4] = bits >>> 24;
  bytes[padded - 3] = (bits >>> 16) & 0xff;
  bytes[padded - 2] = (bits >>> 8) & 0xff;
  bytes[padded - 1] = bits & 0xff;
  return padded;
}

/** Room a caller must leave after a message in a scratch buffer passed to hmacInto. */
export const PADDING_ROOM = 72;

function wordsToBytes(words: Int32Array): Uint8Array {
  const out = new Uint8Array(words.length * 4);
  for (let i = 0; i < words.length; i++) {
    const v = words[i]!;
    out[i * 4] = v >>> 24;
    out[i * 4 + 1] = (v >>> 16) & 0xff;
    out[i * 4 + 2] = (v >>> 8) & 0xff;
    out[i * 4 + 3] = v & 0xff;
  }
  return out;
}

/** SHA-256 of `bytes`. Not for the hot path (allocates); used for commitments and key preparation. */
export function sha256(bytes: Uint8Array): Uint8Array {
  const buffer = new Uint8Array(bytes.length + PADDING_ROOM);
  buffer.set(bytes);
  const padded = padInPlace(buffer, bytes.length, 0);
  const state = IV.slice();
  absorbBlocks(state, new Int32Array(16), buffer, 0, padded);
  return wordsToBytes(state);
}

/**
 * An HMAC-SHA256 key with its inner and outer pad states precomputed, so each MAC of a message of up
 * to 55 bytes costs two compressions. Instances hold scratch buffers: use one per key, from one
 * synchronous caller at a time (JavaScript's run-to-completion makes that automatic).
 *
 * Only what slot derivation needs is a method (methods cannot be tree-shaken, and this class is in
 * every browser bundle); byte-oriented MACs are the functions `hmacInto` and `hmacSha256` below.
 */
export class HmacKey {
  private readonly inner: Int32Array;
  private readonly outer: Int32Array;
  private readonly state = new Int32Array(8);
  private readonly w = new Int32Array(16);

  /** `key` is at most 64 bytes (a longer key is hashed first: `hmacSha256` does that). */
  constructor(key: Uint8Array) {
    if (key.length > 64) throw new RangeError(`HmacKey takes at most 64 key bytes (got ${key.length}); hash a longer key first`);
    const block = new Uint8Array(64);
    block.set(key);
    this.inner = IV.slice();
    this.outer = IV.slice();
    for (const [chain, pad] of [
      [this.inner, 0x36363636],
      [this.outer, 0x5c5c5c5c],
    ] as const) {
      for (let j = 0; j < 16; j++) {
        const p = j * 4;
        this.w[j] = ((block[p]! << 24) | (block[p + 1]! << 16) | (block[p + 2]! << 8) | block[p + 3]!) ^ pad;
      }
      compress(chain, this.w);
    }
  }

  /**
   * HMAC-SHA256 of a message the caller has already laid out as `blocks` padded 64-byte blocks of
   * big-endian words in `words` (padding computed as if 64 key-pad bytes preceded the message), into
   * `out` as 8 big-endian 32-bit words. The hot path of slot derivation uses this to skip byte
   * packing entirely.
   */
  macWords(words: Int32Array, blocks: number, out: Int32Array): void {
    const w = this.w;
    const state = this.state;
    // Inner hash: continue from the cached ipad state without copying it.
    let chain = this.inner;
    for (let b = 0; b < blocks; b++) {
      compress(chain, words, state, b * 16);
      chain = state;
    }
    // Outer hash: the opad state absorbs the 32-byte inner digest, padded into one block.
    for (let j = 0; j < 8; j++) w[j] = state[j]!;
    w[8] = 0x80000000 | 0;
    w[9] = 0;
    w[10] = 0;
    w[11] = 0;
    w[12] = 0;
    w[13] = 0;
    w[14] = 0;
    w[15] = (64 + 32) * 8;
    compress(this.outer, w, out);
  }
}

/** hmacInto's scratch, grown on demand (created lazily, so bundles that never call it drop it). */
let scratchWords: Int32Array | null = null;

/**
 * Computes HMAC-SHA256(key, message[0..length)) into `out` as 8 big-endian 32-bit words.
 * `message` is the caller's scratch buffer: it must have PADDING_ROOM bytes free after `length`,
 * which this call overwrites with padding.
 */
export function hmacInto(key: HmacKey, message: Uint8Array, length: number, out: Int32Array): void {
  const padded = padInPlace(message, length, 64);
  let words = scratchWords;
  if (words === null || words.length < padded >>> 2) words = scratchWords = new Int32Array(padded >>> 2);
  for (let i = 0; i < padded >>> 2; i++) {
    const p = i * 4;
    words[i] = (message[p]! << 24) | (message[p + 1]! << 16) | (message[p + 2]! << 8) | message[p + 3]!;
  }
  key.macWords(words, padded >>> 6, out);
}

/** HMAC-SHA256(key, message) as bytes (RFC 2104: a key longer than a block is hashed first). Allocates; not for the hot path. */
export function hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array {
  const out = new Int32Array(8);
  const buffer = new Uint8Array(message.length + PADDING_ROOM);
  buffer.set(message);
  hmacInto(new HmacKey(key.length > 64 ? sha256(key) : key), buffer, message.length, out);
  return wordsToBytes(out);
}
