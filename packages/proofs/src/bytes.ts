/**
 * Byte helpers without runtime globals: lib is ES2024 only (no TextEncoder, atob or Buffer), so
 * UTF-8 and base64 are implemented here, strictly. Decoders reject anything that would not
 * re-encode to the same text, so a signed or hashed value has exactly one accepted spelling.
 */

/** Concatenation of byte arrays. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Byte-wise equality (not constant time: every value compared here is public). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** UTF-8 bytes of a well-formed string. Throws RangeError on a lone surrogate. */
export function utf8Encode(text: string): Uint8Array {
  // ASCII (every receipt, header and leaf in practice): one byte per code unit.
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes;
  }
  if (!text.isWellFormed()) throw new RangeError('string has a lone surrogate and has no UTF-8 encoding');
  const out: number[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  }
  return Uint8Array.from(out);
}

/** The string of strict UTF-8 bytes (no overlongs, surrogates or values above U+10FFFF), or undefined. */
export function utf8Decode(bytes: Uint8Array): string | undefined {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b0 = bytes[i]!;
    let cp: number;
    let size: number;
    if (b0 < 0x80) {
      cp = b0;
      size = 1;
    } else if (b0 >= 0xc2 && b0 <= 0xdf) {
      cp = b0 & 0x1f;
      size = 2;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      cp = b0 & 0x0f;
      size = 3;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      cp = b0 & 0x07;
      size = 4;
    } else return undefined;
    if (i + size > bytes.length) return undefined;
    for (let k = 1; k < size; k++) {
      const b = bytes[i + k]!;
      if ((b & 0xc0) !== 0x80) return undefined;
      cp = (cp << 6) | (b & 0x3f);
    }
    if (size === 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) return undefined;
    if (size === 4 && (cp < 0x10000 || cp > 0x10ffff)) return undefined;
    out += String.fromCodePoint(cp);
    i += size;
  }
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function encode(bytes: Uint8Array, alphabet: string, pad: boolean): string {
  let out = '';
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + alphabet[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + (pad ? '==' : '');
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + (pad ? '=' : '');
  }
  return out;
}

function decode(text: string, alphabet: string, pad: boolean): Uint8Array | undefined {
  let body = text;
  if (pad) {
    if (text.length % 4 !== 0) return undefined;
    if (text.endsWith('==')) body = text.slice(0, -2);
    else if (text.endsWith('=')) body = text.slice(0, -1);
  }
  if (body.length % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((body.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < body.length; i++) {
    const v = alphabet.indexOf(body[i]!);
    if (v < 0) return undefined;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  // Non-canonical: leftover bits must be zero (so each byte string has exactly one encoding).
  if ((acc & ((1 << bits) - 1)) !== 0) return undefined;
  return out;
}

/** Standard padded base64 (RFC 4648 §4). */
export function base64Encode(bytes: Uint8Array): string {
  return encode(bytes, B64, true);
}

/** Bytes of canonical padded base64, or undefined. */
export function base64Decode(text: string): Uint8Array | undefined {
  return decode(text, B64, true);
}

/** Unpadded base64url (RFC 4648 §5), as JWS uses. */
export function base64urlEncode(bytes: Uint8Array): string {
  return encode(bytes, B64URL, false);
}

/** Bytes of canonical unpadded base64url, or undefined. */
export function base64urlDecode(text: string): Uint8Array | undefined {
  return decode(text, B64URL, false);
}

/** 8-byte big-endian encoding of a non-negative safe integer or bigint below 2^64. */
export function u64be(value: number | bigint): Uint8Array {
  let v = BigInt(value);
  if (v < 0n || v >= 1n << 64n) throw new RangeError(`${String(value)} does not fit in uint64`);
  const out = new Uint8Array(8);
  for (let i = 7; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}
