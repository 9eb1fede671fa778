import { createHash, createPrivateKey } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { CompactSign, compactVerify, importJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { attrsHash, signReceipt, unitHash, verifyReceipt, type ReceiptPayload } from './receipt.js';

const secretKey = new Uint8Array(32).fill(42);
const publicKey = ed25519.getPublicKey(secretKey);
const keys = new Map([['receipts-2026-04', publicKey]]);
const signer = { kid: 'receipts-2026-04', secretKey };

const payload: ReceiptPayload = {
  experiment: 'checkout_v2',
  phase: 'full',
  variant: 'treatment',
  slot: 2117,
  unitHash: unitHash('user_8821'),
  attrsHash: attrsHash({ country: 'DE', appVersion: '4.3.1' }),
  configVersion: 7,
  checkpoint: { size: 12, rootHash: 'aa'.repeat(32) },
  issuedAt: 1776211200000,
};

const b64url = (s: string): Buffer => Buffer.from(s, 'base64url');

describe('receipts', () => {
  it('hashes unit ids and attributes as specified (node:crypto cross-check)', () => {
    const unit = createHash('sha256').update(Buffer.concat([Buffer.from('sortition/v1/unit'), Buffer.of(0), Buffer.from('user_8821')])).digest('hex');
    expect(unitHash('user_8821')).toBe(unit);
    // NFC: the decomposed and composed forms are one unit.
    expect(unitHash('Be\u0301a')).toBe(unitHash('B\u00e9a'));
    expect(() => unitHash('')).toThrow(/empty/);
    const attrs = createHash('sha256').update('{"appVersion":"4.3.1","country":"DE"}').digest('hex');
    expect(attrsHash({ country: 'DE', appVersion: '4.3.1', ignored: undefined })).toBe(attrs);
  });

  it('signs a compact JWS with a canonical header and payload, and verifies it', () => {
    const token = signReceipt(payload, signer);
    const [h, p, s] = token.split('.') as [string, string, string];
    expect(b64url(h).toString()).toBe('{"alg":"Ed25519","kid":"receipts-2026-04","typ":"sortition-receipt+jws"}');
    expect(JSON.parse(b64url(p).toString())).toEqual(payload);
    expect(b64url(p).toString().startsWith('{"attrsHash":')).toBe(true);
    expect(b64url(s)).toHaveLength(64);
    expect(token).not.toMatch(/[=+/]/);
    expect(verifyReceipt(token, keys)).toEqual({ ok: true, header: { alg: 'Ed25519', kid: 'receipts-2026-04', typ: 'sortition-receipt+jws' }, payload });
    expect(verifyReceipt(token, { 'receipts-2026-04': publicKey }).ok).toBe(true);
  });

  it('is accepted by jose compactVerify and identical to what jose signs with node:crypto', async () => {
    const token = signReceipt(payload, signer);
    const jwk = { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') };
    const key = await importJWK(jwk, 'Ed25519');
    const { payload: bytes, protectedHeader } = await compactVerify(token, key, { algorithms: ['Ed25519'] });
    expect(protectedHeader).toEqual({ alg: 'Ed25519', kid: 'receipts-2026-04', typ: 'sortition-receipt+jws' });
    expect(JSON.parse(Buffer.from(bytes).toString())).toEqual(payload);

    const [h, p] = token.split('.') as [string, string];
    const nodeKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), secretKey]), format: 'der', type: 'pkcs8' });
    // jose serialises the header itself; with the same key order the bytes match ours.
    const joseToken = await new CompactSign(b64url(p)).setProtectedHeader({ alg: 'Ed25519', kid: 'receipts-2026-04', typ: 'sortition-receipt+jws' }).sign(nodeKey);
    expect(joseToken.split('.')[0]).toBe(h);
    expect(joseToken).toBe(token);
    expect(verifyReceipt(joseToken, keys).ok).toBe(true);
  });

  it('rejects every single changed character of the token', () => {
    const token = signReceipt(payload, signer);
    const accepted: number[] = [];
    for (let i = 0; i < token.length; i++) {
      const c = token[i]!;
      const replacement = c === 'A' ? 'B' : c === '.' ? 'A' : 'A';
      if (verifyReceipt(token.slice(0, i) + replacement + token.slice(i + 1), keys).ok) accepted.push(i);
      // Also a flip of the low bit of the character code (changes trailing bits, tests canonical decoding).
      const flipped = String.fromCharCode(c.charCodeAt(0) ^ 1);
      if (verifyReceipt(token.slice(0, i) + flipped + token.slice(i + 1), keys).ok) accepted.push(i);
    }
    expect(accepted).toEqual([]);
  });

  it('rejects every flipped bit of the decoded header and signature, and one bit per payload byte', () => {
    const token = signReceipt(payload, signer);
    const parts = token.split('.').map(b64url);
    const accepted: string[] = [];
    parts.forEach((part, which) => {
      for (let bit = 0; bit < part.length * 8; bit++) {
        if (which === 1 && bit % 8 !== (bit >> 3) % 8) continue;
        const copy = Buffer.from(part);
        copy[bit >> 3]! ^= 1 << (bit & 7);
        const tampered = parts.map((x, j) => (j === which ? copy : x).toString('base64url')).join('.');
        if (verifyReceipt(tampered, keys).ok) accepted.push(`${which}:${bit}`);
      }
    });
    expect(accepted).toEqual([]);
  });

  it('names what is wrong', () => {
    const token = signReceipt(payload, signer);
    const [h, p, s] = token.split('.') as [string, string, string];
    const enc = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
    expect(verifyReceipt('a.b', keys)).toMatchObject({ reason: expect.stringMatching(/2 parts/) });
    expect(verifyReceipt(token, new Map())).toMatchObject({ reason: expect.stringMatching(/no key for kid/) });
    expect(verifyReceipt(token, { toString: publicKey })).toMatchObject({ reason: expect.stringMatching(/no key for kid/) });
    expect(verifyReceipt(`${enc({ alg: 'EdDSA', kid: 'receipts-2026-04', typ: 'sortition-receipt+jws' })}.${p}.${s}`, keys)).toMatchObject({ reason: expect.stringMatching(/alg "EdDSA"/) });
    expect(verifyReceipt(`${enc({ alg: 'none' })}.${p}.`, keys)).toMatchObject({ reason: expect.stringMatching(/alg "none"/) });
    expect(verifyReceipt(`${enc({ alg: 'Ed25519', kid: 'receipts-2026-04', typ: 'sortition-receipt+jws', crit: ['x'] })}.${p}.${s}`, keys)).toMatchObject({ reason: expect.stringMatching(/crit/) });
    expect(verifyReceipt(`${h}.${p}.${s.slice(0, -2)}`, keys)).toMatchObject({ reason: expect.stringMatching(/64 bytes/) });
    const other = new Map([['receipts-2026-04', ed25519.getPublicKey(new Uint8Array(32).fill(1))]]);
    expect(verifyReceipt(token, other)).toMatchObject({ reason: 'signature does not verify' });
  });

  it('verifies only canonical, well-formed payloads even when correctly signed', () => {
    const signRaw = (json: string): string => {
      const input = `${Buffer.from('{"alg":"Ed25519","kid":"receipts-2026-04","typ":"sortition-receipt+jws"}').toString('base64url')}.${Buffer.from(json).toString('base64url')}`;
      return `${input}.${Buffer.from(ed25519.sign(Buffer.from(input), secretKey)).toString('base64url')}`;
    };
    expect(verifyReceipt(signRaw(JSON.stringify(payload)), keys)).toMatchObject({ ok: false, reason: expect.stringMatching(/canonical/) });
    expect(verifyReceipt(signRaw(JSON.stringify({ ...payload, slot: -1 })), keys)).toMatchObject({ reason: expect.stringMatching(/slot/) });
    expect(verifyReceipt(signRaw(JSON.stringify({ ...payload, extra: 1 })), keys)).toMatchObject({ reason: expect.stringMatching(/unknown field "extra"/) });
    expect(() => signReceipt({ ...payload, unitHash: 'xyz' }, signer)).toThrow(/unitHash/);
  });
});

describe('signReceipt with an injected signer', () => {
  it('produces the same token when node:crypto signs as when @noble/curves does', async () => {
    const { createPrivateKey, sign } = await import('node:crypto');
    const secretKey = new Uint8Array(32).map((_, i) => (i * 7 + 3) & 0xff);
    const { ed25519 } = await import('@noble/curves/ed25519.js');
    const x = Buffer.from(ed25519.getPublicKey(secretKey)).toString('base64url');
    const keyObject = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: Buffer.from(secretKey).toString('base64url'), x }, format: 'jwk' });
    const payload = { experiment: 'e', phase: 'p', variant: 'v', slot: 1, unitHash: 'ab'.repeat(32), attrsHash: 'cd'.repeat(32), configVersion: 1, checkpoint: { size: 1, rootHash: 'ef'.repeat(32) }, issuedAt: 1 };
    const viaNoble = signReceipt(payload, { kid: 'k', secretKey });
    const viaNode = signReceipt(payload, { kid: 'k', secretKey, sign: (m) => new Uint8Array(sign(null, m, keyObject)) });
    expect(viaNode).toBe(viaNoble);
  });
});
