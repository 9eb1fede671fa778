/**
 * Service signing keys: one Ed25519 key for log checkpoints and one for assignment receipts,
 * generated on first start and kept in the store (table signing_keys). Several instances sharing a
 * store agree on the keys: the store keeps one current key per purpose, so an instance that loses
 * the insert race reads the winner's key.
 *
 * Published at /.well-known/sortition-keys.json (publicKeySet): kid, alg, purpose, public key,
 * created/rotated times, and for the checkpoint key its signed-note verifier key. Private keys never
 * appear in any response: publicKeySet() builds its output from an explicit allow-list of fields.
 */
import { createHash, createPrivateKey, generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { formatVerifierKey, type NoteSignerKey, type NoteVerifierKey, type ReceiptSigningKey } from '@sortition/proofs';
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
  readonly created: string;
  readonly rotated: string | null;
}

export interface PublicKeySet {
  readonly origin: string;
  readonly keys: readonly PublishedKey[];
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
  private readonly nodeSigners = new Map<string, (message: Uint8Array) => Uint8Array>();
  private constructor(
    private readonly all: readonly SigningKeyRecord[],
    readonly origin: string,
  ) {}

  /** Loads the current keys, generating and storing any that are missing. */
  static async load(store: Store, now: number, origin = DEFAULT_LOG_ORIGIN): Promise<ServiceKeys> {
    let keys = await store.listSigningKeys();
    for (const purpose of ['checkpoint', 'receipt'] as const) {
      if (!keys.some((k) => k.purpose === purpose && k.rotatedAt === null)) await store.insertSigningKey(generate(purpose, now));
    }
    keys = await store.listSigningKeys();
    const loaded = new ServiceKeys(keys, origin);
    loaded.current('checkpoint');
    loaded.current('receipt');
    return loaded;
  }

  private current(purpose: SigningKeyPurpose): SigningKeyRecord {
    const key = this.all.find((k) => k.purpose === purpose && k.rotatedAt === null);
    if (key === undefined) throw new Error(`no current ${purpose} signing key in the store`);
    return key;
  }

  checkpointSigner(): NoteSignerKey {
    return { name: this.origin, secretKey: bytes(this.current('checkpoint').privateKey) };
  }

  checkpointVerifier(): NoteVerifierKey {
    return { name: this.origin, publicKey: bytes(this.current('checkpoint').publicKey) };
  }

  receiptSigner(): ReceiptSigningKey {
    const key = this.current('receipt');
    const secretKey = bytes(key.privateKey);
    let signer = this.nodeSigners.get(key.kid);
    if (signer === undefined) {
      // node:crypto signs about 17x faster than @noble/curves here, with identical bytes (RFC 8032).
      const d = Buffer.from(secretKey).toString('base64url');
      const x = Buffer.from(bytes(key.publicKey)).toString('base64url');
      const keyObject = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d, x }, format: 'jwk' });
      signer = (message: Uint8Array): Uint8Array => new Uint8Array(nodeSign(null, message, keyObject));
      this.nodeSigners.set(key.kid, signer);
    }
    return { kid: key.kid, secretKey, sign: signer };
  }

  /** The public half of every key (current and rotated), for /.well-known/sortition-keys.json. */
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
          created: new Date(k.createdAt).toISOString(),
          rotated: k.rotatedAt === null ? null : new Date(k.rotatedAt).toISOString(),
        };
      }),
    };
  }
}
