/**
 * Service signing keys: Ed25519 keys for log checkpoints and for assignment receipts, generated on
 * first start and kept in the store (table signing_keys). Several instances sharing a store agree
 * on them: the store keeps one current key per purpose, so an instance that loses the insert race
 * reads the winner's key.
 *
 * Keys carry ids and validity windows and rotate. A key signs from its creation (notBefore) until
 * it is rotated out (notAfter). rotate() retires the current key at `now + grace` and stores its
 * successor valid from that same instant, so every instance (each re-reads the keys in its
 * background poll) switches at the same time; the signer is always chosen by the clock. Retired keys
 * stay published with their windows, so receipts and checkpoints they signed keep verifying.
 *
 * Published at /.well-known/sortition-keys.json (publicKeySet): kid, alg, purpose, public key,
 * validity window (notBefore/notAfter in unix ms, created/rotated as RFC 3339), and for checkpoint
 * keys the signed-note verifier key (whose key ID is the one in each checkpoint's signature line).
 * Private keys never appear in any response: publicKeySet() builds its output from an allow-list.
 */
import { createHash, createPrivateKey, generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { formatVerifierKey, type NoteSignerKey, type ReceiptSigningKey } from '@sortition/proofs';
import type { SigningKeyPurpose, SigningKeyRecord, Store } from '../store/types.js';

/** The C2SP log origin (first checkpoint line) and the signed-note key name of the checkpoint key. */
export const DEFAULT_LOG_ORIGIN = 'sortition.local/log';

export interface PublishedKey {
  readonly kid: string;
  readonly alg: 'Ed25519';
  readonly purpose: SigningKeyPurpose;
  /** base64url (no padding) of the 32-byte public key, as in a JWK "x". */
  readonly publicKey: string;
  /** The same key as a JWK (kty OKP, crv Ed25519). */
  readonly jwk: { readonly kty: 'OKP'; readonly crv: 'Ed25519'; readonly x: string; readonly kid: string; readonly alg: 'Ed25519'; readonly use: 'sig' };
  /** For checkpoint keys: the signed-note verifier key "name+keyid+base64(0x01 || key)". */
  readonly noteVerifierKey?: string;
  /** Unix ms from which the key signs. */
  readonly notBefore: number;
  /** Unix ms from which it no longer signs (rotated out), or null while current. */
  readonly notAfter: number | null;
  readonly created: string;
  readonly rotated: string | null;
}

export interface PublicKeySet {
  readonly origin: string;
  readonly keys: readonly PublishedKey[];
}

export class KeyRotationError extends Error {
  readonly code = 'KEY_ROTATION_CONFLICT';
}

function bytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

function generate(purpose: SigningKeyPurpose, now: number): SigningKeyRecord {
  const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  if (jwk.d === undefined || jwk.x === undefined) throw new Error('node:crypto returned an Ed25519 JWK without d or x');
  const publicKey = Buffer.from(jwk.x, 'base64url');
  const kid = `${purpose}-${createHash('sha256').update(publicKey).digest('hex').slice(0, 16)}`;
  return { kid, purpose, alg: 'Ed25519', publicKey: publicKey.toString('hex'), privateKey: Buffer.from(jwk.d, 'base64url').toString('hex'), createdAt: now, rotatedAt: null };
}

export class ServiceKeys {
  /** Per kid: the decoded secret and the node:crypto signer (built once, not per receipt). */
  private readonly signers = new Map<string, ReceiptSigningKey>();
  private constructor(
    private all: readonly SigningKeyRecord[],
    readonly origin: string,
    private readonly store: Store,
  ) {}

  /** Loads the keys, generating and storing any current key that is missing. */
  static async load(store: Store, now: number, origin = DEFAULT_LOG_ORIGIN): Promise<ServiceKeys> {
    let keys = await store.listSigningKeys();
    for (const purpose of ['checkpoint', 'receipt'] as const) {
      if (!keys.some((k) => k.purpose === purpose && k.rotatedAt === null)) await store.insertSigningKey(generate(purpose, now));
    }
    keys = await store.listSigningKeys();
    const loaded = new ServiceKeys(keys, origin, store);
    loaded.signing('checkpoint', now);
    loaded.signing('receipt', now);
    return loaded;
  }

  /** Re-reads the keys (another instance may have rotated). */
  async refresh(): Promise<void> {
    this.all = await this.store.listSigningKeys();
  }

  /**
   * The key that signs for `purpose` at `now`: the one whose window [createdAt, rotatedAt) holds
   * it. Before the first key's creation (a clock set back) the earliest key signs.
   */
  signing(purpose: SigningKeyPurpose, now: number): SigningKeyRecord {
    const mine = this.all.filter((k) => k.purpose === purpose);
    const key = mine.find((k) => k.createdAt <= now && (k.rotatedAt === null || now < k.rotatedAt)) ?? (mine.every((k) => now < k.createdAt) ? mine[0] : undefined);
    if (key === undefined) throw new Error(`no ${purpose} signing key is valid at ${new Date(now).toISOString()}`);
    return key;
  }

  /** The kid of the checkpoint key in force at `now` (cheap: the log re-signs only when it changes). */
  checkpointKid(now: number): string {
    return this.signing('checkpoint', now).kid;
  }

  checkpointSigner(now: number): NoteSignerKey & { readonly kid: string } {
    const key = this.signing('checkpoint', now);
    return { name: this.origin, secretKey: bytes(key.privateKey), kid: key.kid };
  }

  receiptSigner(now: number): ReceiptSigningKey {
    const key = this.signing('receipt', now);
    let signer = this.signers.get(key.kid);
    if (signer === undefined) {
      // node:crypto signs about 17x faster than @noble/curves here, with identical bytes (RFC 8032).
      const secretKey = bytes(key.privateKey);
      const d = Buffer.from(secretKey).toString('base64url');
      const x = Buffer.from(bytes(key.publicKey)).toString('base64url');
      const keyObject = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d, x }, format: 'jwk' });
      signer = { kid: key.kid, secretKey, sign: (message: Uint8Array): Uint8Array => new Uint8Array(nodeSign(null, message, keyObject)) };
      this.signers.set(key.kid, signer);
    }
    return signer;
  }

  /**
   * Rotates the current key of `purpose`: it signs until `now + graceMs`, its successor from then.
   * Throws KeyRotationError when another rotation of the same key won.
   */
  async rotate(purpose: SigningKeyPurpose, now: number, graceMs: number): Promise<{ retired: SigningKeyRecord; next: SigningKeyRecord; at: number }> {
    await this.refresh();
    const current = this.all.find((k) => k.purpose === purpose && k.rotatedAt === null);
    if (current === undefined) throw new KeyRotationError(`no current ${purpose} key to rotate`);
    const at = now + Math.max(0, graceMs);
    if (at < current.createdAt) throw new KeyRotationError(`the current ${purpose} key ${current.kid} is not in force until ${new Date(current.createdAt).toISOString()}; rotate after that`);
    const next = generate(purpose, at);
    if (!(await this.store.rotateSigningKey(current.kid, at, next))) throw new KeyRotationError(`the ${purpose} key ${current.kid} was rotated concurrently`);
    await this.refresh();
    return { retired: { ...current, rotatedAt: at }, next, at };
  }

  /** The public half of every key (current and retired), for /.well-known/sortition-keys.json. */
  publicKeySet(): PublicKeySet {
    return {
      origin: this.origin,
      keys: this.all.map((k): PublishedKey => {
        const raw = bytes(k.publicKey);
        const x = Buffer.from(raw).toString('base64url');
        return {
          kid: k.kid,
          alg: k.alg,
          purpose: k.purpose,
          publicKey: x,
          jwk: { kty: 'OKP', crv: 'Ed25519', x, kid: k.kid, alg: 'Ed25519', use: 'sig' },
          ...(k.purpose === 'checkpoint' ? { noteVerifierKey: formatVerifierKey({ name: this.origin, publicKey: raw }) } : {}),
          notBefore: k.createdAt,
          notAfter: k.rotatedAt,
          created: new Date(k.createdAt).toISOString(),
          rotated: k.rotatedAt === null ? null : new Date(k.rotatedAt).toISOString(),
        };
      }),
    };
  }
}
