/**
 * Slot derivations, versioned (spec/ALGORITHM.md §3). A layer names the derivation it uses; every
 * version ever published stays callable so that old assignments can always be re-derived.
 */
import { asciiBytes } from '../encoding/hex.js';
import { encodeUnitIdInto, MAX_UNIT_ID_BYTES, type UnitIdError } from '../encoding/unit-id.js';
import { HmacKey, PADDING_ROOM } from './sha256.js';

export type DerivationVersion = 'v1';
export const DERIVATION_VERSIONS: readonly DerivationVersion[] = ['v1'];

/** Slot counts a layer may have. Fixed for the layer's life. */
export const SLOT_COUNTS = [10_000, 100_000] as const;
export type SlotCount = (typeof SLOT_COUNTS)[number];

export interface LayerKeyMaterial {
  /** Layer id: 1..64 characters of [a-z0-9_.-], starting with a letter or digit. */
  readonly layerId: string;
  /** The layer's 32-byte key. */
  readonly key: Uint8Array;
  /** N, the number of slots. */
  readonly slots: number;
}

/** Maps a unit id to its slot in [0, N), or returns why the id is unusable. */
export type SlotFunction = (unitId: unknown) => number | UnitIdError;

const TWO_48 = 2 ** 48;
const TWO_32 = 2 ** 32;
const V1_DOMAIN = 0x01;

/**
 * v1: slot = first accepted 48-bit chunk of HMAC-SHA256(key, msg(counter)) mod N, where
 * msg(c) = 0x01 ‖ u8(len layerId) ‖ layerId ‖ u16be(len unitId) ‖ unitId ‖ u32be(c), and a chunk x is
 * accepted when x < 2^48 − (2^48 mod N). Exactly uniform; all arithmetic is exact in IEEE doubles.
 */
function createV1(material: LayerKeyMaterial): SlotFunction {
  const { layerId, key, slots } = material;
  if (key.length !== 32) throw new RangeError(`layer ${layerId}: key must be 32 bytes, got ${key.length}`);
  if (!Number.isSafeInteger(slots) || slots < 1 || slots > TWO_32) {
    throw new RangeError(`layer ${layerId}: slot count ${slots} out of range`);
  }
  const layerBytes = asciiBytes(layerId);
  if (layerBytes.length < 1 || layerBytes.length > 64) throw new RangeError(`layer id must be 1..64 bytes`);
  const hmac = new HmacKey(key);
  const unitOffset = 2 + layerBytes.length + 2;
  const maxLength = unitOffset + MAX_UNIT_ID_BYTES + 4;
  // The message is written straight into big-endian 32-bit words: on a little-endian platform byte p
  // of the message lives at index p ^ 3 of the words' bytes, so no packing pass is needed.
  const words = new Int32Array(((maxLength + PADDING_ROOM + 63) >>> 6) * 16);
  const bytes = new Uint8Array(words.buffer);
  const swap = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 3 : 0;
  const put = (p: number, value: number): void => {
    bytes[p ^ swap] = value;
  };
  put(0, V1_DOMAIN);
  put(1, layerBytes.length);
  layerBytes.forEach((b, i) => put(2 + i, b));
  const scratch = new Uint8Array(MAX_UNIT_ID_BYTES);
  const out = new Int32Array(8);
  const limit = TWO_48 - (TWO_48 % slots);

  return (unitId: unknown): number | UnitIdError => {
    // Printable ASCII is written directly; anything else goes through the canonicalising encoder.
    let unitLength = -1;
    if (typeof unitId === 'string' && unitId.length > 0 && unitId.length <= MAX_UNIT_ID_BYTES) {
      const n = unitId.length;
      let i = 0;
      for (; i < n; i++) {
        const code = unitId.charCodeAt(i);
        if (code >= 0x7f || code < 0x20) break;
        bytes[(unitOffset + i) ^ swap] = code;
      }
      if (i === n) unitLength = n;
    }
    if (unitLength < 0) {
      const encoded = encodeUnitIdInto(unitId, scratch, 0);
      if (typeof encoded !== 'number') return encoded;
      unitLength = encoded;
      for (let i = 0; i < unitLength; i++) bytes[(unitOffset + i) ^ swap] = scratch[i]!;
    }
    put(unitOffset - 2, unitLength >>> 8);
    put(unitOffset - 1, unitLength & 0xff);
    const counterOffset = unitOffset + unitLength;
    const length = counterOffset + 4;
    // SHA-256 padding for the inner hash (64 key-pad bytes precede the message).
    const padded = ((length + 9 + 63) >>> 6) << 6;
    put(length, 0x80);
    for (let p = length + 1; p < padded - 4; p++) bytes[p ^ swap] = 0;
    words[(padded >>> 2) - 1] = (64 + length) * 8;
    for (let counter = 0; ; counter++) {
      put(counterOffset, counter >>> 24);
      put(counterOffset + 1, (counter >>> 16) & 0xff);
      put(counterOffset + 2, (counter >>> 8) & 0xff);
      put(counterOffset + 3, counter & 0xff);
      hmac.macWords(words, padded >>> 6, out);
      const x = chunkAccept(out, limit);
      if (x >= 0) return x % slots;
    }
  };
}

/**
 * The first of the five 48-bit big-endian chunks of the MAC (bytes 0-5, 6-11, ..., 24-29) that is
 * below `limit`, or -1 if all are rejected. Exported for tests of the rejection path.
 */
export function chunkAccept(words: Int32Array, limit: number): number {
  const w0 = words[0]! >>> 0;
  const w1 = words[1]! >>> 0;
  let x = w0 * 65536 + (w1 >>> 16);
  if (x < limit) return x;
  x = (w1 & 0xffff) * TWO_32 + (words[2]! >>> 0);
  if (x < limit) return x;
  const w4 = words[4]! >>> 0;
  x = (words[3]! >>> 0) * 65536 + (w4 >>> 16);
  if (x < limit) return x;
  x = (w4 & 0xffff) * TWO_32 + (words[5]! >>> 0);
  if (x < limit) return x;
  x = (words[6]! >>> 0) * 65536 + (words[7]! >>> 16);
  if (x < limit) return x;
  return -1;
}

const FACTORIES: Readonly<Record<DerivationVersion, (material: LayerKeyMaterial) => SlotFunction>> = {
  v1: createV1,
};

/** A slot function for one layer under the named derivation version. */
export function createSlotFunction(version: DerivationVersion, material: LayerKeyMaterial): SlotFunction {
  const factory = FACTORIES[version];
  if (factory === undefined) throw new RangeError(`unknown derivation version ${String(version)}`);
  return factory(material);
}
