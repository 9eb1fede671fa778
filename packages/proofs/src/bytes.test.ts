import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { base64Decode, base64Encode, base64urlDecode, base64urlEncode, u64be, utf8Decode, utf8Encode } from './bytes.js';

describe('bytes', () => {
  it('base64 and base64url agree with Buffer and round-trip', () => {
    for (let n = 0; n < 70; n++) {
      const bytes = new Uint8Array(randomBytes(n));
      const std = Buffer.from(bytes).toString('base64');
      const url = Buffer.from(bytes).toString('base64url');
      expect(base64Encode(bytes)).toBe(std);
      expect(base64urlEncode(bytes)).toBe(url);
      expect(base64Decode(std)).toEqual(bytes);
      expect(base64urlDecode(url)).toEqual(bytes);
    }
  });

  it('rejects non-canonical base64', () => {
    expect(base64Decode('AB==')).toBeUndefined(); // trailing bits set
    expect(base64Decode('AA')).toBeUndefined(); // missing padding
    expect(base64Decode('AA=A')).toBeUndefined();
    expect(base64Decode('A===')).toBeUndefined();
    expect(base64urlDecode('AA==')).toBeUndefined();
    expect(base64urlDecode('AB')).toBeUndefined();
    expect(base64urlDecode('A+')).toBeUndefined();
  });

  it('UTF-8 agrees with Buffer and decodes strictly', () => {
    const text = 'a\u00e9\u20ac\u{1f600}\u2014';
    expect(Buffer.from(utf8Encode(text)).toString('utf8')).toBe(text);
    expect(utf8Decode(new Uint8Array(Buffer.from(text)))).toBe(text);
    expect(() => utf8Encode('\ud800')).toThrow(RangeError);
    for (const bad of [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80]]) {
      expect(utf8Decode(Uint8Array.from(bad)), bad.join(',')).toBeUndefined();
    }
  });

  it('encodes uint64 big-endian', () => {
    expect(Buffer.from(u64be(657413)).toString('hex')).toBe('00000000000a0805');
    expect(Buffer.from(u64be(2n ** 64n - 1n)).toString('hex')).toBe('ffffffffffffffff');
    expect(() => u64be(-1)).toThrow(RangeError);
  });
});
