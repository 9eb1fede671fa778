#!/usr/bin/env node
/**
 * Receipt signing and verification per second (issue: "measure receipt signing and verification
 * per second in the benchmark"): @sortition/proofs (Ed25519 on @noble/curves, isomorphic) beside
 * node:crypto's Ed25519 over the same signing input, and jose's verifier for the same token.
 *   npm run bench:receipts [-- --n 2000]
 */
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { parseArgs } from 'node:util';
import { attrsHash, signReceipt, unitHash, verifyReceipt } from '@sortition/proofs';
import { compactVerify, importJWK } from 'jose';
import { ed25519 } from '@noble/curves/ed25519.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '2000' } } });
const n = Number(values.n);
const secretKey = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 0xff);
const publicKey = ed25519.getPublicKey(secretKey);
const payload = (i) => ({ experiment: 'checkout_v2', phase: 'full', variant: 'treatment', slot: i % 10000, unitHash: unitHash(`user_${i}`), attrsHash: attrsHash({ country: 'DE' }), configVersion: 7, checkpoint: { size: 12, rootHash: 'ab'.repeat(32) }, issuedAt: 1773446400000 + i });

function time(label, fn) {
  fn(0);
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  const us = Number(process.hrtime.bigint() - t) / n / 1000;
  console.log(`${label.padEnd(58)} ${us.toFixed(1).padStart(8)} us  ${Math.round(1e6 / us).toLocaleString('en-US').padStart(9)} /s`);
  return us;
}

const jwk = { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url'), d: Buffer.from(secretKey).toString('base64url') };
const nodePrivate = createPrivateKey({ key: jwk, format: 'jwk' });
const nodePublic = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
const tokens = Array.from({ length: n }, (_, i) => signReceipt(payload(i), { kid: 'k1', secretKey }));
const keys = { k1: publicKey };

console.log(`Receipt signing and verification, ${n.toLocaleString('en-US')} receipts, node ${process.versions.node}`);
time('sign: @sortition/proofs signReceipt (@noble/curves)', (i) => signReceipt(payload(i), { kid: 'k1', secretKey }));
time('sign: node:crypto Ed25519 over the same signing input', (i) => {
  const [h, p] = tokens[i].split('.');
  nodeSign(null, Buffer.from(`${h}.${p}`), nodePrivate);
});
time('verify: @sortition/proofs verifyReceipt (@noble/curves)', (i) => {
  if (!verifyReceipt(tokens[i], keys).ok) throw new Error('receipt did not verify');
});
time('verify: node:crypto Ed25519', (i) => {
  const [h, p, s] = tokens[i].split('.');
  if (!nodeVerify(null, Buffer.from(`${h}.${p}`), nodePublic, Buffer.from(s, 'base64url'))) throw new Error('bad');
});
const joseKey = await importJWK({ kty: 'OKP', crv: 'Ed25519', x: jwk.x }, 'Ed25519');
const t = process.hrtime.bigint();
for (let i = 0; i < n; i++) await compactVerify(tokens[i], joseKey);
const us = Number(process.hrtime.bigint() - t) / n / 1000;
console.log(`${'verify: jose compactVerify (WebCrypto, awaited)'.padEnd(58)} ${us.toFixed(1).padStart(8)} us  ${Math.round(1e6 / us).toLocaleString('en-US').padStart(9)} /s`);
