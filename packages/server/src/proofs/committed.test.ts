/**
 * Committed layers end to end against the real service (memory store, injected clock), with a real
 * drand quicknet round (657413, whose signature is the test vector of packages/proofs): launch
 * (logged before anything can be assigned), evaluation refused until the beacon, the beacon
 * verified offline, assignments, bundles verified before and after the reveal, a relaunch with an
 * operator-supplied beacon (weaker, and said so), and targeted tampering. No network.
 */
import { assign, canonicalJson, compileConfig, toHex } from '@sortition/core';
import { deriveLayerKey, formatVerification, roundTime, seedCommitment, verifyBundle } from '@sortition/proofs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type RunningService } from '../service.js';
import { MemoryStore } from '../store/memory.js';

const ROUND = 657413;
const SIGNATURE = 'b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be41076862b98fad56e91a6b85b89cd97b';
const RANDOMNESS = 'fc1873a13f3545aeade8401532ef5519920652eee6b0d2b19ca12643b87b3587';
const ROUND_TIME = roundTime(ROUND); // 2023-09-15T11:00:03Z
const START = ROUND_TIME - 10 * 60_000;
const PHASE_1 = '2023-09-15T11:00:05Z';
const PHASE_2 = '2023-09-15T11:30:00Z'; // the relaunch: a re-randomizing phase starting when it is published
const SEALING_KEY = '5e'.repeat(32);
const ORDINARY_KEY = '49c44a7d9ac84d469105548d341dae62fbbbb822e25a13aef27ef625c0e22e64';

function config(version: number, key: string, epoch: number, relaunch = false): Record<string, unknown> {
  const phases: Record<string, unknown>[] = [{ id: 'main', startsAt: PHASE_1, allocation: { control: [[0, 5000]], treatment: [[5000, 10000]] } }];
  if (relaunch) phases.push({ id: 'relaunch', startsAt: PHASE_2, reason: 'relaunched with a new seed', carryover: 'rerandomize', allocation: { control: [[0, 5000]], treatment: [[5000, 10000]] } });
  return {
    schema: 'sortition/config/v1',
    version,
    layers: [{ id: 'checkout', algorithm: 'v1', slots: 10000, key, unit: 'userId', normalization: 'nfc', epoch }],
    experiments: [{ key: 'checkout_v2', layer: 'checkout', variants: [{ key: 'control' }, { key: 'treatment' }], phases }],
  };
}

let now = START;
let service: RunningService;
let store: MemoryStore;
let admin: string;

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown>; text: string }> {
  const r = await fetch(`${service.url}${path}`, { method, headers: { authorization: `Bearer ${admin}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await r.text();
  return { status: r.status, body: (text.startsWith('{') ? JSON.parse(text) : {}) as Record<string, unknown>, text };
}

type Result = { experiment: string; variant: string | null; reason: string; slot: number | null; error: { code: string; message: string } | null; receipt?: string };
const evaluate = async (unit: string): Promise<Result> => {
  const r = await call('POST', '/v1/evaluate', { units: { userId: unit }, experiments: ['checkout_v2'], receipt: true });
  expect(r.status, r.text).toBe(200);
  return (r.body['results'] as Result[])[0]!;
};
const bundle = async (unit: string): Promise<Record<string, unknown>> => {
  const r = await call('GET', `/v1/proofs?unit=${unit}&experiment=checkout_v2&at=${now}`);
  expect(r.status, r.text).toBe(200);
  return r.body;
};

let seedCommit = '';
let revealed: Record<string, unknown> = {};
let launchIndex = -1;
const seen: string[] = [];

beforeAll(async () => {
  store = new MemoryStore();
  service = await startService({ store, port: 0, clock: () => now, pollMs: 60_000, bootstrapConfig: config(1, ORDINARY_KEY, 1), sealingKey: SEALING_KEY, keyRotationGraceMs: 0 });
  admin = service.createdAdminKey!;
});
afterAll(async () => service.close());

describe('committed layers', () => {
  it('refuses a launch whose round exists already, then logs the launch before any config names it', async () => {
    const early = await call('POST', '/v1/committed-layers', { layer: 'checkout', config: config(2, ORDINARY_KEY, 2), round: ROUND - 400 });
    expect(early).toMatchObject({ status: 400, body: { error: { code: 'ROUND_TOO_EARLY', field: '/round' } } });
    // Without a round the service picks the first one due a minute from now, from genesis and period.
    const r = await call('POST', '/v1/committed-layers', { layer: 'checkout', config: config(2, ORDINARY_KEY, 2), round: ROUND });
    expect(r.status, r.text).toBe(201);
    expect(r.body).toMatchObject({ layer: 'checkout', epoch: 2, beacon: { round: ROUND, publishedAt: new Date(ROUND_TIME).toISOString() }, relaunchOf: null, sealed: true });
    seedCommit = r.body['seedCommit'] as string;
    launchIndex = r.body['logIndex'] as number;
    expect(r.body['configKey']).toBe(seedCommit);
    expect(launchIndex).toBe(1); // after the bootstrap config's leaf, before any config naming it
    const stored = await store.getLayerSeed(seedCommit);
    expect(stored?.sealed).toMatch(/^aes-256-gcm:v1:/);
    expect(await call('POST', '/v1/config/versions', { config: config(2, seedCommit, 2), baseVersion: 1, reason: 'checkout goes committed' })).toMatchObject({ status: 201, body: { logIndex: 2 } });
    const payload = await call('GET', '/v1/sdk/payload');
    // Clients must not derive slots from the commitment: the payload sends them to the service.
    expect(payload.body['serverOnly']).toMatchObject({ experiments: ['checkout_v2'] });
    seen.push(payload.text, (await call('GET', '/v1/committed-layers')).text, r.text);
  });

  it('answers a clear error for the layer until the beacon is supplied, and stores nothing', async () => {
    now = ROUND_TIME + 5_000;
    const result = await evaluate('auditee');
    expect(result).toMatchObject({ reason: 'ERROR', variant: null, slot: null, error: { code: 'COMMITTED_LAYER_AWAITING_BEACON' } });
    expect(result.error!.message).toContain(`round ${ROUND}`);
    expect(await store.getAssignments([{ unitType: 'userId', unit: 'auditee', experiment: 'checkout_v2' }])).toEqual([]);
    expect((await call('GET', '/v1/committed-layers')).body['launches']).toMatchObject([{ status: 'awaiting-beacon', seedCommit, revealed: null }]);
  });

  it('verifies the drand round offline before accepting it', async () => {
    const flipped = `${SIGNATURE.slice(0, 40)}${SIGNATURE[40] === '0' ? '1' : '0'}${SIGNATURE.slice(41)}`;
    expect(await call('POST', '/v1/committed-layers/checkout/beacon', { round: ROUND, signature: flipped })).toMatchObject({ status: 422, body: { error: { code: 'BEACON_INVALID' } } });
    expect(await call('POST', '/v1/committed-layers/checkout/beacon', { round: ROUND + 1, signature: SIGNATURE })).toMatchObject({ status: 400, body: { error: { code: 'BEACON_ROUND_MISMATCH' } } });
    const ok = await call('POST', '/v1/committed-layers/checkout/beacon', { round: ROUND, signature: SIGNATURE, randomness: RANDOMNESS });
    expect(ok).toMatchObject({ status: 200, body: { source: 'drand', verified: true, weaker: false, status: 'active' } });
    expect(await call('POST', '/v1/committed-layers/checkout/beacon', { operator: 'late' })).toMatchObject({ status: 409, body: { error: { code: 'BEACON_ALREADY_SET' } } });
  });

  it('assigns with the derived key; the bundle verifies before the reveal (slot not re-derivable: WARN)', async () => {
    const result = await evaluate('auditee');
    expect(result.reason).toBe('ASSIGNED');
    expect(result.receipt).toMatch(/^ey/);
    const b = await bundle('auditee');
    expect(b['committed']).toMatchObject({ launch: { leafIndex: launchIndex }, beaconStatus: 'drand-verified' });
    expect(b['committed']).not.toHaveProperty('reveal');
    const outcome = verifyBundle({ ...b, receipt: result.receipt });
    expect(outcome.ok, formatVerification(outcome)).toBe(true);
    expect(outcome.steps.map((s) => [s.name, s.verdict])).toEqual([
      ['bundle', 'PASS'], ['checkpoint', 'PASS'], ['leaf', 'PASS'], ['inclusion', 'PASS'], ['in-force', 'PASS'], ['consistency', 'N/A'], ['receipt', 'PASS'], ['commitment', 'PASS'], ['beacon', 'PASS'], ['derivation', 'WARN'],
    ]);
    expect(outcome.steps[7]!.message).toContain('seed not revealed yet');
    expect(outcome.steps[8]!.message).toContain(`drand quicknet round ${ROUND} verified offline`);
    expect(outcome.statement).toMatchObject({ variant: result.variant, slot: result.slot, beacon: 'drand' });
    seen.push((await call('GET', '/v1/sdk/payload')).text, (await call('GET', '/v1/export/assignments')).text, JSON.stringify(b));
  });

  it('reveals the seed: it opens the commitment and the verifier re-derives the slot', async () => {
    const r = await call('POST', '/v1/committed-layers/checkout/reveal');
    expect(r.status, r.text).toBe(200);
    const seed = r.body['seed'] as string;
    expect(toHex(seedCommitment(Buffer.from(seed, 'hex')))).toBe(seedCommit);
    const key = toHex(deriveLayerKey(Buffer.from(seed, 'hex'), Buffer.from(RANDOMNESS, 'hex'), 'checkout'));
    expect(r.body['layerKey']).toBe(key);
    // Nothing served before the reveal carried the seed (or the key derived from it).
    for (const text of seen) {
      expect(text).not.toContain(seed);
      expect(text).not.toContain(key);
    }
    const compiled = compileConfig(config(2, key, 2));
    if (!compiled.ok) throw new Error('test config does not compile');
    const expected = assign(compiled.config, { experiment: 'checkout_v2', units: { userId: 'auditee' }, now, mode: 'peek' });
    const b = await bundle('auditee');
    const outcome = verifyBundle(b);
    expect(outcome.ok, formatVerification(outcome)).toBe(true);
    expect(outcome.steps.find((s) => s.name === 'derivation')).toMatchObject({ verdict: 'PASS', message: expect.stringContaining('with the revealed layer key') });
    expect(outcome.statement).toMatchObject({ slot: expected.slot, variant: expected.variant });
    expect((await call('POST', '/v1/committed-layers/checkout/reveal')).body).toMatchObject({ error: { code: 'ALREADY_REVEALED' } });
    revealed = b;

    // Targeted tampering: each is detected and names its step.
    const committed = b['committed'] as { launch: { leaf: string }; reveal: { leaf: string } };
    const failing = (mutate: (c: Record<string, unknown>) => void): string | undefined => {
      const copy = JSON.parse(JSON.stringify(b)) as Record<string, unknown>;
      mutate(copy['committed'] as Record<string, unknown>);
      return verifyBundle(copy).steps.find((s) => s.verdict === 'FAIL')?.name;
    };
    const otherSeed = `${seed.slice(0, -1)}${seed.endsWith('0') ? '1' : '0'}`;
    expect(failing((c) => ((c['reveal'] as { leaf: string }).leaf = committed.reveal.leaf.replace(seed, otherSeed)))).toBe('inclusion');
    // Without the reveal the bundle is the weaker pre-reveal one: nothing fails, the slot is not re-derived.
    const unrevealed = JSON.parse(JSON.stringify(b)) as { committed: Record<string, unknown> };
    delete unrevealed.committed['reveal'];
    expect(verifyBundle(unrevealed).steps.map((s) => s.verdict)).not.toContain('FAIL');
    expect(verifyBundle(unrevealed).steps[9]!.verdict).toBe('WARN');
    expect(failing((c) => delete c['beacon'])).toBe('beacon');
    expect(failing((c) => (c['beaconStatus'] = 'operator-supplied'))).toBe('beacon');
    expect(failing((c) => delete c['launch'])).toBe('bundle');
  });

  it('detects a one-bit flip at every byte of a revealed committed-layer bundle and names the failing step', () => {
    const original = new TextEncoder().encode(`${JSON.stringify(revealed, null, 2)}\n`);
    const semantic = canonicalJson(revealed);
    const atText = `"at": ${String(revealed['at'])}`;
    const atStart = Buffer.from(original).indexOf(atText) + atText.length - String(revealed['at']).length;
    const failures = new Map<string, number>();
    let undetected = 0;
    for (let i = 0; i < original.length; i++) {
      const bytes = original.slice();
      bytes[i] = bytes[i]! ^ (1 << (i % 8));
      const outcome = verifyBundle(bytes);
      const failed = outcome.steps.find((s) => s.verdict === 'FAIL');
      if (failed !== undefined) {
        failures.set(failed.name, (failures.get(failed.name) ?? 0) + 1);
        continue;
      }
      // Still valid: only a flip that keeps the JSON value, or a different question (`at`, signed by nobody).
      let same = false;
      try {
        same = canonicalJson(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))) === semantic;
      } catch {
        same = false;
      }
      if (!same && !(i >= atStart && i < atStart + String(revealed['at']).length)) undetected++;
    }
    console.info(`committed bundle of ${original.length} bytes: failures by step ${JSON.stringify(Object.fromEntries(failures))}`);
    expect(undetected).toBe(0);
    for (const step of ['bundle', 'checkpoint', 'leaf', 'inclusion']) expect(failures.get(step) ?? 0, step).toBeGreaterThan(0);
  }, 60_000);

  it('relaunches only with a reason and a raised epoch; an operator beacon is accepted late and marked weaker', async () => {
    now = Date.parse(PHASE_2);
    const next = config(3, ORDINARY_KEY, 3, true);
    expect(await call('POST', '/v1/committed-layers', { layer: 'checkout', config: next })).toMatchObject({ status: 400, body: { error: { code: 'RELAUNCH_REASON_REQUIRED' } } });
    expect(await call('POST', '/v1/committed-layers', { layer: 'checkout', config: config(3, ORDINARY_KEY, 2, true), reason: 'seed revealed early' })).toMatchObject({ status: 409, body: { error: { code: 'EPOCH_NOT_RAISED' } } });
    const r = await call('POST', '/v1/committed-layers', { layer: 'checkout', config: next, reason: 'the first seed was revealed too early' });
    expect(r.status, r.text).toBe(201);
    expect(r.body['relaunchOf']).toBe(launchIndex);
    const round = (r.body['beacon'] as { round: number }).round;
    // The first round published strictly after now + 60 s (the default delay).
    expect(roundTime(round)).toBeGreaterThan(now + 60_000);
    expect(roundTime(round - 1)).toBeLessThanOrEqual(now + 60_000);
    const commit2 = r.body['seedCommit'] as string;
    const published = await call('POST', '/v1/config/versions', { config: config(3, commit2, 3, true), baseVersion: 2, reason: 'relaunch' });
    expect(published.status, published.text).toBe(201);
    expect(await call('POST', '/v1/committed-layers/checkout/beacon', { operator: 'too soon' })).toMatchObject({ status: 409, body: { error: { code: 'BEACON_TOO_EARLY' } } });
    expect((await evaluate('auditee2')).error?.code).toBe('COMMITTED_LAYER_AWAITING_BEACON');
    now = roundTime(round) + 1_000;
    expect(await call('POST', '/v1/committed-layers/checkout/beacon', { operator: 'closing price 2023-09-15' })).toMatchObject({ status: 200, body: { source: 'operator', verified: false, weaker: true } });
    const result = await evaluate('auditee2');
    expect(result.reason).toBe('ASSIGNED');
    const outcome = verifyBundle(await bundle('auditee2'));
    expect(outcome.ok, formatVerification(outcome)).toBe(true);
    expect(outcome.steps.find((s) => s.name === 'commitment')!.message).toContain('RELAUNCH replacing the launch at leaf 1: "the first seed was revealed too early"');
    expect(outcome.steps.find((s) => s.name === 'beacon')).toMatchObject({ verdict: 'WARN', message: expect.stringContaining('OPERATOR-SUPPLIED') });
    expect(outcome.statement?.beacon).toBe('operator');
    expect(formatVerification(outcome)).toContain('VERIFIED with weaker guarantees at step 8 (beacon), step 9 (derivation)');
    const launches = (await call('GET', '/v1/committed-layers')).body['launches'] as { status: string }[];
    expect(launches.map((l) => l.status)).toEqual(['superseded', 'active']);
  });

  it('flags phases that were not in the plan logged at launch (ranges chosen once the key could be known)', async () => {
    const v4 = config(4, '', 3, true) as { layers: { key: string }[]; experiments: { phases: Record<string, unknown>[] }[] };
    const v3 = (await call('GET', '/v1/config')).body['doc'] as typeof v4;
    v4.layers[0]!.key = v3.layers[0]!.key;
    v4.experiments[0]!.phases.push({ id: 'unplanned', startsAt: new Date(now + 1_000).toISOString().replace('.000Z', 'Z'), reason: 'not in the launch plan', allocation: { control: [[0, 5000]], treatment: [[5000, 10000]] } });
    expect((await call('POST', '/v1/config/versions', { config: v4, baseVersion: 3, reason: 'an unplanned phase' })).status).toBe(201);
    now += 2_000;
    const outcome = verifyBundle(await bundle('auditee2'));
    expect(outcome.ok, formatVerification(outcome)).toBe(true);
    expect(outcome.steps.find((s) => s.name === 'commitment')).toMatchObject({ verdict: 'WARN', message: expect.stringContaining('phases unplanned are not in the plan logged at launch') });
  });
});
