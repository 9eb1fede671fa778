import { execFileSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { toHex } from '../encoding/hex.js';
import { compress as resolvedCompress } from '#sha256-compress';
import { compress as compactCompress } from './sha256-compress-compact.js';
import { compress as unrolledCompress } from './sha256-compress.js';
import * as sha256Module from './sha256.js';

/** sha256.js again, with "#sha256-compress" bound to the compact (browser) compression. */
async function withCompactCompression(): Promise<typeof sha256Module> {
  vi.resetModules();
  vi.doMock('#sha256-compress', () => ({ compress: compactCompress }));
  try {
    return await import('./sha256.js');
  } finally {
    vi.doUnmock('#sha256-compress');
    vi.resetModules();
  }
}

const implementations = [
  ['unrolled (Node)', sha256Module, unrolledCompress],
  ['compact (browser)', await withCompactCompression(), compactCompress],
] as const;

describe.each(implementations)('sha256 and hmac-sha256 with the %s compression agree with node:crypto bit for bit', (_name, { sha256, hmacSha256, compress }, expected) => {
  it('uses that compression', () => {
    expect(compress).toBe(expected);
  });

  it('on the FIPS 180-4 examples', () => {
    expect(toHex(sha256(new TextEncoder().encode('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(toHex(sha256(new Uint8Array(0)))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(toHex(sha256(new TextEncoder().encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')))).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  });

  it('on the RFC 4231 HMAC-SHA256 test cases 1, 2 and 6 (a key longer than a block)', () => {
    const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
    expect(toHex(hmacSha256(new Uint8Array(20).fill(0x0b), bytes('Hi There')))).toBe('b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7');
    expect(toHex(hmacSha256(bytes('Jefe'), bytes('what do ya want for nothing?')))).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
    expect(toHex(hmacSha256(new Uint8Array(131).fill(0xaa), bytes('Test Using Larger Than Block-Size Key - Hash Key First')))).toBe(
      '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    );
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

describe('the two compressions', () => {
  const int32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });

  it('give the same output for any state, block and offset, and leave the block untouched', () => {
    fc.assert(
      fc.property(fc.array(int32, { minLength: 8, maxLength: 8 }), fc.array(int32, { minLength: 16, maxLength: 48 }), fc.nat(32), (state, block, rawOffset) => {
        const offset = rawOffset % (block.length - 15);
        const w = Int32Array.from(block);
        const a = new Int32Array(8);
        const b = new Int32Array(8);
        unrolledCompress(Int32Array.from(state), w, a, offset);
        compactCompress(Int32Array.from(state), w, b, offset);
        expect(b).toEqual(a);
        expect(w).toEqual(Int32Array.from(block));
        // In place (out = state), as HmacKey chains blocks.
        const inPlace = Int32Array.from(state);
        compactCompress(inPlace, w, inPlace, offset);
        expect(inPlace).toEqual(a);
      }),
      { numRuns: 3000, seed: 7 },
    );
  });

  it('the compact one is the small one (the reason it exists)', () => {
    expect(compactCompress.toString().length * 10).toBeLessThan(unrolledCompress.toString().length);
  });
});

describe('"#sha256-compress" resolves to the unrolled compression in Node and the compact one for browsers', () => {
  const coreDir = fileURLToPath(new URL('../../', import.meta.url));
  const resolveWith = (args: string[]): string =>
    execFileSync(process.execPath, [...args, '--input-type=module', '-e', "process.stdout.write(import.meta.resolve('#sha256-compress'))"], { cwd: coreDir, encoding: 'utf8' });

  it('under the test runner (source condition, no browser condition)', () => {
    expect(resolvedCompress).toBe(unrolledCompress);
  });

  it("by Node's own resolver: dist/ by default, the compact build with the browser condition, sources with source", () => {
    expect(resolveWith([])).toMatch(/\/packages\/core\/dist\/crypto\/sha256-compress\.js$/);
    expect(resolveWith(['--conditions=browser'])).toMatch(/\/packages\/core\/dist\/crypto\/sha256-compress-compact\.js$/);
    expect(resolveWith(['--conditions=source'])).toMatch(/\/packages\/core\/src\/crypto\/sha256-compress\.ts$/);
    expect(resolveWith(['--conditions=source', '--conditions=browser'])).toMatch(/\/packages\/core\/src\/crypto\/sha256-compress-compact\.ts$/);
  });
});
