import { leafHash, verifyCheckpoint, verifyInclusion, parseVerifierKey } from '@sortition/proofs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../store/memory.js';
import { exampleConfig, startTestService, type TestService } from '../test-support/service.js';
import { BUNDLE_FORMAT, type ProofBundle } from './bundle.js';

const NOW = Date.UTC(2026, 3, 15);
let t: TestService;
let sdk: string;
let read: string;

beforeAll(async () => {
  t = await startTestService(new MemoryStore(), { clock: () => NOW });
  sdk = ((await t.call('POST', '/v1/keys', { body: { kind: 'sdk', label: 'web' } })).body as { secret: string }).secret;
  read = ((await t.call('POST', '/v1/keys', { body: { kind: 'read', label: 'auditor' } })).body as { secret: string }).secret;
});
afterAll(async () => t.service.close());

const prove = (query: string, key: string | null = read) => t.call('GET', `/v1/proofs?${query}`, { key });

describe('GET /v1/proofs', () => {
  it('returns a bundle with the config in force, its leaf, an inclusion proof and the stored assignment', async () => {
    const e = await t.call('POST', '/v1/evaluate', { key: sdk, body: { units: { userId: 'bundle-1' }, attributes: { country: 'DE', appVersion: '4.3.1' }, experiments: ['checkout_v2'] } });
    expect(e.status, e.text).toBe(200);
    const r = await prove(`unit=bundle-1&experiment=checkout_v2&at=2026-04-15T00:00:00Z`);
    expect(r.status, r.text).toBe(200);
    const b = r.body as ProofBundle;
    expect(b).toMatchObject({ format: BUNDLE_FORMAT, unit: 'bundle-1', unitType: 'userId', experiment: 'checkout_v2', at: NOW });
    expect(b.config.document).toEqual(exampleConfig());
    expect(b.assignment).toMatchObject({ unit: 'bundle-1', experiment: 'checkout_v2', configVersion: 1, assignedAt: NOW });
    expect(b.keys.keys.map((k) => k.purpose).sort()).toEqual(['checkpoint', 'receipt']);
    expect(JSON.stringify(b.keys)).not.toMatch(/private|created/);
    const nk = parseVerifierKey(b.keys.keys.find((k) => k.purpose === 'checkpoint')!.noteVerifierKey!);
    if (!nk.ok) throw new Error(nk.reason);
    const cp = verifyCheckpoint(b.checkpoint, [nk.key]);
    if (!cp.ok) throw new Error(cp.reason);
    const proof = b.config.inclusion.map((h) => new Uint8Array(Buffer.from(h, 'hex')));
    expect(verifyInclusion(b.config.leafIndex, cp.checkpoint.size, leafHash(new TextEncoder().encode(b.config.leaf)), proof, cp.checkpoint.rootHash)).toEqual({ ok: true });
  });

  it('has no assignment for a unit never evaluated, and accepts epoch milliseconds and a matching unitType', async () => {
    const r = await prove(`unit=nobody&experiment=checkout_v2&at=${NOW}&unitType=userId`);
    expect(r.status, r.text).toBe(200);
    expect((r.body as ProofBundle).assignment).toBeNull();
  });

  it('names the field of a missing or invalid parameter, and answers 404 for unknown experiments and times before any config', async () => {
    const cases: [string, number, string][] = [
      ['experiment=checkout_v2&at=2026-04-15T00:00:00Z', 400, '/unit'],
      ['unit=u&at=2026-04-15T00:00:00Z', 400, '/experiment'],
      ['unit=u&experiment=checkout_v2', 400, '/at'],
      ['unit=u&experiment=checkout_v2&at=yesterday', 400, '/at'],
      ['unit=u&experiment=checkout_v2&at=2026-04-15T00:00:00Z&unitType=deviceId', 400, '/unitType'],
      ['unit=u&experiment=nope&at=2026-04-15T00:00:00Z', 404, '/experiment'],
      ['unit=u&experiment=checkout_v2&at=2020-01-01T00:00:00Z', 404, '/at'],
    ];
    for (const [query, status, field] of cases) {
      const r = await prove(query);
      expect(r.status, `${query}: ${r.text}`).toBe(status);
      expect((r.body as { error: { field: string } }).error.field, query).toBe(field);
    }
  });

  it('needs a key with read access', async () => {
    expect((await prove(`unit=u&experiment=checkout_v2&at=${NOW}`, null)).status).toBe(401);
    expect((await prove(`unit=u&experiment=checkout_v2&at=${NOW}`, sdk)).status).toBe(403);
  });
});
