import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createSlotFunction } from '@sortition/core';
import { deriveLayerKey, layerKeyMessage, operatorBeaconRandomness, seedCommitment, verifyCommittedLayer, verifySeedReveal } from './commitment.js';
import { verifyBeacon } from './drand.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const SEED = new Uint8Array(createHash('sha256').update('test seed, never use').digest());
// drand quicknet round 657413 randomness (verified in drand.test.ts).
const BEACON = new Uint8Array(Buffer.from('fc1873a13f3545aeade8401532ef5519920652eee6b0d2b19ca12643b87b3587', 'hex'));

describe('committed layers', () => {
  it('commits to the seed with the specified layout (node:crypto cross-check)', () => {
    const expected = createHash('sha256').update(Buffer.concat([Buffer.from('sortition/v1/seed', 'ascii'), Buffer.of(0), SEED])).digest('hex');
    expect(hex(seedCommitment(SEED))).toBe(expected);
    expect(hex(seedCommitment(SEED))).toBe('121a47b68c00bcb1238860f6381ed887c3d29528dfbb673d77fb30bbc9006179');
  });

  it('derives the layer key with the specified layout (node:crypto cross-check)', () => {
    const msg = layerKeyMessage(BEACON, 'checkout');
    expect(hex(msg)).toBe(`${Buffer.from('sortition/v1/layer-key').toString('hex')}00${hex(BEACON)}08${Buffer.from('checkout').toString('hex')}`);
    expect(msg.length).toBe(22 + 1 + 32 + 1 + 8);
    const expected = createHmac('sha256', SEED).update(msg).digest('hex');
    expect(hex(deriveLayerKey(SEED, BEACON, 'checkout'))).toBe(expected);
    expect(hex(deriveLayerKey(SEED, BEACON, 'checkout'))).toBe('e926b95af0424ba40023d263ecbfef9e184bb6d59af86080a09b100674a3b090');
  });

  it('binds the key to the seed, the beacon and the layer', () => {
    const key = hex(deriveLayerKey(SEED, BEACON, 'checkout'));
    const otherBeacon = BEACON.slice();
    otherBeacon[0]! ^= 1;
    const otherSeed = SEED.slice();
    otherSeed[31]! ^= 1;
    expect(hex(deriveLayerKey(SEED, otherBeacon, 'checkout'))).not.toBe(key);
    expect(hex(deriveLayerKey(otherSeed, BEACON, 'checkout'))).not.toBe(key);
    expect(hex(deriveLayerKey(SEED, BEACON, 'checkout2'))).not.toBe(key);
  });

  it('verifies reveals', () => {
    const commitment = seedCommitment(SEED);
    expect(verifySeedReveal(SEED, commitment)).toBe(true);
    const wrong = SEED.slice();
    wrong[0]! ^= 0x80;
    expect(verifySeedReveal(wrong, commitment)).toBe(false);
    expect(verifySeedReveal(SEED.subarray(1), commitment)).toBe(false);

    const layerKey = deriveLayerKey(SEED, BEACON, 'checkout');
    expect(verifyCommittedLayer({ layerId: 'checkout', seed: SEED, commitment, beaconRandomness: BEACON, layerKey })).toEqual({ ok: true, layerKey });
    expect(verifyCommittedLayer({ layerId: 'checkout', seed: wrong, commitment, beaconRandomness: BEACON })).toMatchObject({ ok: false, reason: expect.stringMatching(/commitment/) });
    expect(verifyCommittedLayer({ layerId: 'search', seed: SEED, commitment, beaconRandomness: BEACON, layerKey })).toMatchObject({ ok: false, reason: expect.stringMatching(/claimed layer key/) });
    expect(verifyCommittedLayer({ layerId: 'Checkout', seed: SEED, commitment, beaconRandomness: BEACON })).toMatchObject({ ok: false, reason: expect.stringMatching(/layer id/) });
    expect(verifyCommittedLayer({ layerId: 'checkout', seed: SEED, commitment, beaconRandomness: BEACON.subarray(1) })).toMatchObject({ ok: false, reason: expect.stringMatching(/31 bytes/) });
  });

  it('rejects malformed inputs', () => {
    expect(() => seedCommitment(new Uint8Array(16))).toThrow(/16 bytes/);
    expect(() => layerKeyMessage(BEACON, '')).toThrow(/layer id/);
    expect(() => layerKeyMessage(BEACON, 'a'.repeat(65))).toThrow(/layer id/);
    expect(layerKeyMessage(BEACON, 'a'.repeat(64))[55]).toBe(64);
  });

  it('reproduces spec/vectors/committed (also checked by docs/verify_assignment.py)', () => {
    const v = JSON.parse(readFileSync(new URL('../../../spec/vectors/committed/committed-layer-keys.json', import.meta.url), 'utf8')) as {
      seed: string;
      expected: { seedCommit: string };
      cases: { layer: string; slots: number; source: string; beacon?: { round: number; signature: string; randomness: string }; operator?: string; beaconRandomness: string; expected: { layerKey: string; slots: Record<string, number> } }[];
    };
    const seed = new Uint8Array(Buffer.from(v.seed, 'hex'));
    expect(hex(seedCommitment(seed))).toBe(v.expected.seedCommit);
    expect(v.cases.map((c) => c.source)).toEqual(['drand', 'operator', 'drand', 'operator']);
    for (const c of v.cases) {
      const randomness = c.source === 'drand' ? verifyBeacon(c.beacon!) : { ok: true as const, randomness: operatorBeaconRandomness(c.operator!) };
      if (!randomness.ok) throw new Error(randomness.reason);
      expect(hex(randomness.randomness)).toBe(c.beaconRandomness);
      const key = deriveLayerKey(seed, randomness.randomness, c.layer);
      expect(hex(key)).toBe(c.expected.layerKey);
      const slotOf = createSlotFunction('v1', { layerId: c.layer, key, slots: c.slots as 10000 | 100000 });
      for (const [unit, slot] of Object.entries(c.expected.slots)) expect(slotOf(unit), unit).toBe(slot);
    }
    const operator = createHash('sha256').update(Buffer.concat([Buffer.from('sortition/v1/operator-beacon\x00'), Buffer.from('closing price 2023-09-15')])).digest('hex');
    expect(hex(operatorBeaconRandomness('closing price 2023-09-15'))).toBe(operator);
  });
});
