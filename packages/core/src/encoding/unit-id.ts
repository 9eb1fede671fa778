/**
 * Unit id canonicalisation (spec/ALGORITHM.md §2): a unit id is a string, normalised to Unicode NFC,
 * well-formed (no lone surrogates), free of control characters, and 1..256 bytes of UTF-8.
 * Errors are returned as data: this runs on the hot path of assign().
 */

export const MAX_UNIT_ID_BYTES = 256;

export type UnitIdErrorCode =
  | 'UNIT_ID_NOT_STRING'
  | 'UNIT_ID_EMPTY'
  | 'UNIT_ID_TOO_LONG'
  | 'UNIT_ID_ILL_FORMED'
  | 'UNIT_ID_CONTROL_CHARACTER';

export interface UnitIdError {
  readonly code: UnitIdErrorCode;
  readonly message: string;
}

function error(code: UnitIdErrorCode, message: string): UnitIdError {
  return { code, message };
}

function isControl(code: number): boolean {
  return code < 0x20 || code === 0x7f;
}

/**
 * Writes the UTF-8 bytes of the canonical form of `id` into `out` at `offset` and returns the byte
 * count, or an error. `out` must have room for MAX_UNIT_ID_BYTES bytes after `offset`.
 */
export function encodeUnitIdInto(id: unknown, out: Uint8Array, offset: number): number | UnitIdError {
  if (typeof id !== 'string') {
    return error(
      'UNIT_ID_NOT_STRING',
      `unit id must be a string, got ${id === null ? 'null' : typeof id}; convert numbers explicitly with unitIdFromInteger()`,
    );
  }
  if (id.length === 0) return error('UNIT_ID_EMPTY', 'unit id is empty; pass a non-empty string');
  // Fast path: printable ASCII is already NFC and is its own UTF-8.
  const n = id.length;
  if (n <= MAX_UNIT_ID_BYTES) {
    let i = 0;
    for (; i < n; i++) {
      const code = id.charCodeAt(i);
      if (code >= 0x7f || code < 0x20) break;
      out[offset + i] = code;
    }
    if (i === n) return n;
  }
  return encodeSlow(id, out, offset);
}

function encodeSlow(id: string, out: Uint8Array, offset: number): number | UnitIdError {
  // Well-formedness must be checked before normalisation: normalize() would keep a lone surrogate,
  // and UTF-8 encoders would turn it into U+FFFD, colliding with a real U+FFFD.
  for (let i = 0; i < id.length; i++) {
    const code = id.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = i + 1 < id.length ? id.charCodeAt(i + 1) : 0;
      if (next < 0xdc00 || next > 0xdfff) {
        return error('UNIT_ID_ILL_FORMED', `unit id has a lone high surrogate at UTF-16 index ${i}; send well-formed Unicode`);
      }
      i++;
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      return error('UNIT_ID_ILL_FORMED', `unit id has a lone low surrogate at UTF-16 index ${i}; send well-formed Unicode`);
    } else if (isControl(code)) {
      return error(
        'UNIT_ID_CONTROL_CHARACTER',
        `unit id has control character U+${code.toString(16).padStart(4, '0')} at UTF-16 index ${i}; strip it before assignment`,
      );
    }
  }
  const nfc = id.normalize('NFC');
  let length = 0;
  for (let i = 0; i < nfc.length; i++) {
    let cp = nfc.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdbff) {
      cp = 0x10000 + ((cp - 0xd800) << 10) + (nfc.charCodeAt(i + 1) - 0xdc00);
      i++;
    }
    const size = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (length + size > MAX_UNIT_ID_BYTES) {
      return error(
        'UNIT_ID_TOO_LONG',
        `unit id is longer than ${MAX_UNIT_ID_BYTES} bytes of UTF-8 after NFC normalisation; use a shorter id or a hash of it`,
      );
    }
    const p = offset + length;
    if (size === 1) out[p] = cp;
    else if (size === 2) {
      out[p] = 0xc0 | (cp >>> 6);
      out[p + 1] = 0x80 | (cp & 0x3f);
    } else if (size === 3) {
      out[p] = 0xe0 | (cp >>> 12);
      out[p + 1] = 0x80 | ((cp >>> 6) & 0x3f);
      out[p + 2] = 0x80 | (cp & 0x3f);
    } else {
      out[p] = 0xf0 | (cp >>> 18);
      out[p + 1] = 0x80 | ((cp >>> 12) & 0x3f);
      out[p + 2] = 0x80 | ((cp >>> 6) & 0x3f);
      out[p + 3] = 0x80 | (cp & 0x3f);
    }
    length += size;
  }
  return length;
}

/** The canonical (NFC) form of a unit id, or an error. For callers that store or display ids. */
export function canonicalUnitId(id: unknown): string | UnitIdError {
  const scratch = new Uint8Array(MAX_UNIT_ID_BYTES);
  const result = encodeUnitIdInto(id, scratch, 0);
  if (typeof result !== 'number') return result;
  return (id as string).normalize('NFC');
}

/** UTF-8 bytes of the canonical form of a unit id, or an error. Allocates; not for the hot path. */
export function unitIdBytes(id: unknown): Uint8Array | UnitIdError {
  const scratch = new Uint8Array(MAX_UNIT_ID_BYTES);
  const result = encodeUnitIdInto(id, scratch, 0);
  return typeof result === 'number' ? scratch.slice(0, result) : result;
}

/**
 * The specified conversion of an integer to a unit id (spec §2.3): the shortest decimal form, with a
 * leading '-' for negatives. Only safe integers (|n| < 2^53) or bigints are accepted, so 1e21 or 0.1
 * can never become an id by accident.
 */
export function unitIdFromInteger(n: number | bigint): string {
  if (typeof n === 'bigint') return n.toString(10);
  if (!Number.isSafeInteger(n)) {
    throw new RangeError(`unitIdFromInteger: ${String(n)} is not a safe integer; pass a bigint or a string id`);
  }
  return Object.is(n, -0) ? '0' : n.toString(10);
}
