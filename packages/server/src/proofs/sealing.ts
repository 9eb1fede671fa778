/**
 * Sealing committed-layer seeds at rest. With a sealing key (32 bytes, from the service option or
 * SORTITION_SEALING_KEY as 64 hex digits, kept outside the database) a seed is stored as
 *
 *   "aes-256-gcm:v1:" hex(iv[12]) ":" hex(ciphertext[32] || tag[16])     AAD = ASCII(seedCommit hex)
 *
 * so a copy of the database alone does not reveal it, and a sealed seed cannot be moved to another
 * commitment. Without a sealing key the seed is stored as "plain:v1:" hex(seed) and the service says
 * so (launch responses carry `sealed: false`). Either way the seed is checked against its
 * commitment when unsealed.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { toHex } from '@sortition/core';
import { seedCommitment } from '@sortition/proofs';

export class SealingError extends Error {
  readonly code = 'SEED_UNSEALABLE';
}

export class SeedSealer {
  private constructor(private readonly key: Buffer | null) {}

  /** A sealer from 64 hex digits (or bytes); none (plain storage) when absent. */
  static from(key: string | Uint8Array | undefined): SeedSealer {
    if (key === undefined || key === '') return new SeedSealer(null);
    const bytes = typeof key === 'string' ? (/^[0-9a-fA-F]{64}$/.test(key) ? Buffer.from(key, 'hex') : null) : Buffer.from(key);
    if (bytes?.length !== 32) throw new SealingError('the sealing key must be 32 bytes (64 hex digits)');
    return new SeedSealer(bytes);
  }

  /** Whether seeds are encrypted at rest. */
  get encrypting(): boolean {
    return this.key !== null;
  }

  seal(seed: Uint8Array, seedCommit: string): string {
    if (this.key === null) return `plain:v1:${toHex(seed)}`;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(seedCommit, 'ascii'));
    const body = Buffer.concat([cipher.update(seed), cipher.final(), cipher.getAuthTag()]);
    return `aes-256-gcm:v1:${iv.toString('hex')}:${body.toString('hex')}`;
  }

  /** The seed, checked against its commitment; throws SealingError. */
  unseal(sealed: string, seedCommit: string): Uint8Array {
    let seed: Uint8Array;
    const parts = sealed.split(':');
    if (parts[0] === 'plain' && parts[1] === 'v1' && parts.length === 3) seed = new Uint8Array(Buffer.from(parts[2]!, 'hex'));
    else if (parts[0] === 'aes-256-gcm' && parts[1] === 'v1' && parts.length === 4) {
      if (this.key === null) throw new SealingError(`the seed of commitment ${seedCommit} is encrypted and no sealing key is configured (SORTITION_SEALING_KEY)`);
      const body = Buffer.from(parts[3]!, 'hex');
      try {
        const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(parts[2]!, 'hex'));
        decipher.setAAD(Buffer.from(seedCommit, 'ascii'));
        decipher.setAuthTag(body.subarray(body.length - 16));
        seed = new Uint8Array(Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]));
      } catch (cause) {
        throw new SealingError(`the seed of commitment ${seedCommit} does not decrypt with the configured sealing key`, { cause });
      }
    } else throw new SealingError(`the stored seed of commitment ${seedCommit} is in an unknown format`);
    if (seed.length !== 32 || toHex(seedCommitment(seed)) !== seedCommit) throw new SealingError(`the stored seed does not open its commitment ${seedCommit}`);
    return seed;
  }
}
