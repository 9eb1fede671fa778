import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalUnitId, encodeUnitIdInto, unitIdBytes, unitIdFromInteger } from './unit-id.js';

const hex = (b: Uint8Array | { code: string }): string => (b instanceof Uint8Array ? Buffer.from(b).toString('hex') : b.code);

describe('unit id canonicalisation', () => {
  it('encodes NFC UTF-8 exactly like the platform encoder for well-formed strings (fast-check)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }), (s) => {
        const hasControl = [...s].some((ch) => ch.codePointAt(0)! < 0x20 || ch.codePointAt(0) === 0x7f);
        const nfc = s.normalize('NFC');
        const expected = new TextEncoder().encode(nfc);
        const got = unitIdBytes(s);
        if (hasControl) expect(hex(got)).toBe('UNIT_ID_CONTROL_CHARACTER');
        else if (expected.length > 256) expect(hex(got)).toBe('UNIT_ID_TOO_LONG');
        else expect(hex(got)).toBe(Buffer.from(expected).toString('hex'));
      }),
      { numRuns: 3000, seed: 7 },
    );
  });

  it('rejects every lone surrogate, wherever it is', () => {
    for (const s of ['\ud800', 'a\ud800', '\ud800a', 'a\udfff', '\udc00\ud800', '\ud83d\ude00\ud83d']) {
      expect(hex(unitIdBytes(s)), JSON.stringify(s)).toBe('UNIT_ID_ILL_FORMED');
    }
    expect(hex(unitIdBytes('\ud83d\ude00'))).toBe('f09f9880');
  });

  it('never writes past 256 bytes of the caller buffer', () => {
    const buffer = new Uint8Array(300).fill(0xee);
    expect(encodeUnitIdInto('😀'.repeat(70), buffer, 10)).toMatchObject({ code: 'UNIT_ID_TOO_LONG' });
    expect(buffer.subarray(266).every((b) => b === 0xee)).toBe(true);
  });

  it('returns the canonical string form', () => {
    expect(canonicalUnitId('Jose\u0301')).toBe('Jos\u00e9');
    expect(canonicalUnitId(42)).toMatchObject({ code: 'UNIT_ID_NOT_STRING', message: expect.stringContaining('unitIdFromInteger') as unknown });
  });

  it('converts integers by the specified rule only', () => {
    expect(unitIdFromInteger(8821)).toBe('8821');
    expect(unitIdFromInteger(-5)).toBe('-5');
    expect(unitIdFromInteger(-0)).toBe('0');
    expect(unitIdFromInteger(12345678901234567891n)).toBe('12345678901234567891');
    expect(() => unitIdFromInteger(1e21)).toThrow(/not a safe integer/);
    expect(() => unitIdFromInteger(0.5)).toThrow(/not a safe integer/);
  });
});
