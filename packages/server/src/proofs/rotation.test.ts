/**
 * Signing key rotation: receipts and checkpoints name their key, a rotation retires the current key
 * at a common instant (so two instances switch together), the retired key stays published with its
 * validity window, bundles made before and after the rotation verify against the published key
 * set, and a receipt dated after its key was retired is refused.
 */
import { base64urlDecode, formatVerification, parseNote, signReceipt, verifyBundle, type ReceiptPayload } from '@sortition/proofs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type RunningService } from '../service.js';
import { MemoryStore } from '../store/memory.js';
import { exampleConfig } from '../test-support/service.js';
import type { PublicKeySet } from './keys.js';

const T0 = Date.UTC(2026, 3, 15);
let now = T0;
let a: RunningService;
let b: RunningService;
let store: MemoryStore;
let admin: string;

async function call(service: RunningService, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown>; text: string }> {
  const r = await fetch(`${service.url}${path}`, { method, headers: { authorization: `Bearer ${admin}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await r.text();
  return { status: r.status, body: (text.startsWith('{') ? JSON.parse(text) : {}) as Record<string, unknown>, text };
}

/** A receipt for `unit` (or, when it lands in a holdout or unallocated range, for the first `unit-i` that is assigned). */
const assigned = new Map<string, string>();
const receiptFor = async (service: RunningService, unit: string): Promise<string> => {
  for (let i = 0; i < 50; i++) {
    const id = i === 0 ? unit : `${unit}-${i}`;
    const r = await call(service, 'POST', '/v1/evaluate', { units: { userId: id }, attributes: { country: 'DE', appVersion: '4.3.1' }, experiments: ['checkout_v2'], receipt: true });
    const receipt = (r.body['results'] as { receipt?: string }[])[0]!.receipt;
    if (receipt !== undefined) {
      assigned.set(unit, id);
      return receipt;
    }
  }
  throw new Error(`no unit like ${unit} was assigned`);
};
const kidOf = (token: string): string => (JSON.parse(new TextDecoder().decode(base64urlDecode(token.split('.')[0]!)!)) as { kid: string }).kid;
/** The bundle with the receipt attached (and, as `sortition prove` does, the consistency proof from its checkpoint). */
const bundleOf = async (unit: string, receipt: string): Promise<Record<string, unknown>> => {
  const bundle = (await call(a, 'GET', `/v1/proofs?unit=${assigned.get(unit) ?? unit}&experiment=checkout_v2&at=${now}`)).body;
  const from = (JSON.parse(new TextDecoder().decode(base64urlDecode(receipt.split('.')[1]!)!)) as ReceiptPayload).checkpoint.size;
  const to = Number((bundle['checkpoint'] as string).split('\n')[1]);
  const receiptConsistency = from < to ? { receiptConsistency: (await call(a, 'GET', `/v1/log/proof/consistency?from=${from}&to=${to}`)).body['proof'] } : {};
  return { ...bundle, receipt, ...receiptConsistency };
};
const published = async (): Promise<PublicKeySet> => (await call(a, 'GET', '/.well-known/sortition-keys.json')).body as unknown as PublicKeySet;

beforeAll(async () => {
  store = new MemoryStore();
  a = await startService({ store, port: 0, clock: () => now, pollMs: 60_000, bootstrapConfig: exampleConfig(), keyRotationGraceMs: 5_000 });
  admin = a.createdAdminKey!;
  b = await startService({ store, port: 0, clock: () => now, pollMs: 60_000 });
});
afterAll(async () => {
  await a.close();
  await b.close();
});

describe('signing key rotation', () => {
  it('rotates both keys at a common instant; old keys stay published with their windows; bundles from before and after verify', async () => {
    const before = await receiptFor(a, 'early');
    const oldKeys = await published();
    const oldReceiptKid = oldKeys.keys.find((k) => k.purpose === 'receipt')!.kid;
    expect(kidOf(before)).toBe(oldReceiptKid);
    const earlyBundle = await bundleOf('early', before);
    const oldNoteId = (parseNote(earlyBundle['checkpoint'] as string) as { signatures: { keyId: number }[] }).signatures[0]!.keyId;

    const rotated: Record<string, unknown>[] = [];
    for (const purpose of ['receipt', 'checkpoint']) {
      const r = await call(a, 'POST', '/v1/signing-keys/rotate', { purpose, reason: 'yearly rotation' });
      expect(r.status, r.text).toBe(201);
      expect(r.body).toMatchObject({ purpose, notBefore: now + 5_000 });
      rotated.push(r.body);
      const leaf = (await call(a, 'GET', `/v1/log/entries/${r.body['logIndex'] as number}`)).body['leaf'] as string;
      expect(JSON.parse(Buffer.from(leaf, 'base64').toString('utf8'))).toMatchObject({ type: 'key-rotation', purpose, retired: r.body['retired'], kid: r.body['kid'], reason: 'yearly rotation' });
    }
    expect(rotated[0]!['retired']).toBe(oldReceiptKid);
    // During the grace period both instances still sign with the old keys.
    await b.proofs.refresh();
    expect(kidOf(await receiptFor(b, 'grace'))).toBe(oldReceiptKid);
    now += 5_000;
    expect(kidOf(await receiptFor(a, 'late'))).toBe(rotated[0]!['kid']);
    expect(kidOf(await receiptFor(b, 'late-b'))).toBe(rotated[0]!['kid']);

    const keys = await published();
    expect(keys.keys).toHaveLength(4);
    const retired = keys.keys.filter((k) => k.notAfter !== null);
    expect(retired.map((k) => [k.purpose, k.notAfter])).toEqual([['checkpoint', now], ['receipt', now]]);
    expect(keys.keys.filter((k) => k.notAfter === null).map((k) => k.kid).sort()).toEqual([rotated[0]!['kid'], rotated[1]!['kid']].sort());

    // The bundle made before the rotation (old checkpoint key) verifies against today's key set.
    const early = verifyBundle(earlyBundle, { keys });
    expect(early.ok, formatVerification(early)).toBe(true);
    expect(early.steps.find((s) => s.name === 'checkpoint')!.message).toContain('a key retired');
    // A bundle made now: new checkpoint key, old receipt (valid when issued).
    const current = await bundleOf('early', before);
    const newNoteId = (parseNote(current['checkpoint'] as string) as { signatures: { keyId: number }[] }).signatures[0]!.keyId;
    expect(newNoteId).not.toBe(oldNoteId);
    const outcome = verifyBundle(current, { keys });
    expect(outcome.ok, formatVerification(outcome)).toBe(true);
    expect(outcome.steps.find((s) => s.name === 'receipt')!.message).toMatch(new RegExp(`^signed by ${oldReceiptKid} \\(retired .*, valid when issued\\)`));
  });

  it('refuses a receipt signed by a retired key after its window closed', async () => {
    const keys = await published();
    const old = (await store.listSigningKeys()).find((k) => k.purpose === 'receipt' && k.rotatedAt !== null)!;
    const token = await receiptFor(a, 'forged');
    const payload = JSON.parse(new TextDecoder().decode(base64urlDecode(token.split('.')[1]!)!)) as ReceiptPayload;
    const forged = signReceipt(payload, { kid: old.kid, secretKey: new Uint8Array(Buffer.from(old.privateKey, 'hex')) });
    const outcome = verifyBundle(await bundleOf('forged', forged), { keys });
    expect(outcome.steps.find((s) => s.verdict === 'FAIL')).toMatchObject({ name: 'receipt', message: expect.stringContaining(`key ${old.kid} was not valid at`) });
    // Without the published key set the windows are unknown: the bundle's own keys are its author's word.
    expect(verifyBundle(await bundleOf('forged', forged)).ok).toBe(true);
  });
});
