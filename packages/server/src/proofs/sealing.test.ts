import { toHex } from '@sortition/core';
import { seedCommitment } from '@sortition/proofs';
import { describe, expect, it } from 'vitest';
import { SealingError, SeedSealer } from './sealing.js';

const seed = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);
const commit = toHex(seedCommitment(seed));

describe('sealing committed-layer seeds at rest', () => {
  it('encrypts with AES-256-GCM bound to the commitment, and opens only with the same key and commitment', () => {
    const sealer = SeedSealer.from('ab'.repeat(32));
    expect(sealer.encrypting).toBe(true);
    const sealed = sealer.seal(seed, commit);
    expect(sealed).toMatch(/^aes-256-gcm:v1:[0-9a-f]{24}:[0-9a-f]{96}$/);
    expect(sealed).not.toContain(toHex(seed));
    expect(sealer.seal(seed, commit)).not.toBe(sealed); // fresh IV
    expect(sealer.unseal(sealed, commit)).toEqual(seed);
    expect(() => SeedSealer.from('cd'.repeat(32)).unseal(sealed, commit)).toThrow(SealingError);
    expect(() => sealer.unseal(sealed, 'ee'.repeat(32))).toThrow(/does not decrypt/);
    const flipped = sealed.slice(0, -1) + (sealed.endsWith('0') ? '1' : '0');
    expect(() => sealer.unseal(flipped, commit)).toThrow(/does not decrypt/);
    expect(() => SeedSealer.from(undefined).unseal(sealed, commit)).toThrow(/no sealing key is configured/);
  });

  it('stores plainly without a key (and says so), still checking the seed against its commitment', () => {
    const plain = SeedSealer.from(undefined);
    expect(plain.encrypting).toBe(false);
    const sealed = plain.seal(seed, commit);
    expect(sealed).toBe(`plain:v1:${toHex(seed)}`);
    expect(plain.unseal(sealed, commit)).toEqual(seed);
    expect(() => plain.unseal(sealed, 'ee'.repeat(32))).toThrow(/does not open its commitment/);
    expect(() => SeedSealer.from('short')).toThrow(/32 bytes/);
  });
});
