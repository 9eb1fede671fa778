import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../encoding/hex.js';
import { hmacSha256, sha256 } from './sha256.js';

describe('sha256 and hmac-sha256 agree with node:crypto bit for bit', () => {
  it('on the FIPS 180-4 examples', () => {
    expect(toHex(sha256(new TextEncoder().encode('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(toHex(sha256(new Uint8Array(0)))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('on random messages of every length around the block boundaries', () => {
    for (let n = 0; n < 200; n++) {
      const message = new Uint8Array(n).map((_, i) => (i * 131 + n * 7) & 0xff);
      expect(toHex(sha256(message))).toBe(createHash('sha256').update(message).digest('hex'));
    }
  });

  it('on random messages and keys (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.uint8Array({ minLength: 0, maxLength: 150 }), (message, key) => {
        expect(toHex(sha256(message))).toBe(createHash('sha256').update(message).digest('hex'));
        expect(toHex(hmacSha256(key, message))).toBe(createHmac('sha256', key).update(message).digest('hex'));
      }),
      { numRuns: 2000, seed: 20261121 },
    );
  });
});
