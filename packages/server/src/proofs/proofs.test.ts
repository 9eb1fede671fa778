import { toHex } from '@sortition/core';
import {
  attrsHash,
  base64Decode,
  leafHash,
  parseVerifierKey,
  unitHash,
  verifyCheckpoint,
  verifyConsistency,
  verifyInclusion,
  verifyReceipt,
  type Checkpoint,
  type NoteVerifierKey,
} from '@sortition/proofs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentHash } from '../config/history.js';
import { MemoryStore } from '../store/memory.js';
import { exampleConfig, startTestService, type TestService } from '../test-support/service.js';
import type { PublicKeySet } from './keys.js';

const NOW = Date.UTC(2026, 3, 15);
const ORIGIN = 'sortition.local/log';
const fromHex = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'));

let t: TestService;
let store: MemoryStore;
let sdk: string;
let keySet: PublicKeySet;
let noteKey: NoteVerifierKey;
let receiptKeys: Record<string, Uint8Array>;
let firstCheckpoint: { note: string; checkpoint: Checkpoint };

async function checkpoint(): Promise<{ note: string; checkpoint: Checkpoint }> {
  const r = await t.call('GET', '/v1/log/checkpoint', { key: null });
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
  const verified = verifyCheckpoint(r.text, [noteKey], { origin: ORIGIN });
  if (!verified.ok) throw new Error(verified.reason);
  return { note: r.text, checkpoint: verified.checkpoint };
}

async function publish(version: number, reason: string): Promise<{ version: number; logIndex: number }> {
  const r = await t.call('POST', '/v1/config/versions', { body: { config: { ...exampleConfig(), version }, baseVersion: version - 1, reason } });
  expect(r.status, r.text).toBe(201);
  return r.body as { version: number; logIndex: number };
}

const attributes = { country: 'DE', appVersion: '4.3.1', unrelated: 'x' };
const evaluate = (unit: string, extra: Record<string, unknown> = {}) => t.call('POST', '/v1/evaluate', { key: sdk, body: { units: { userId: unit }, attributes, ...extra } });
type Result = { experiment: string; variant: string | null; firstAssignment: boolean; receipt?: string };

beforeAll(async () => {
  store = new MemoryStore();
  t = await startTestService(store, { clock: () => NOW });
  sdk = ((await t.call('POST', '/v1/keys', { body: { kind: 'sdk', label: 'web' } })).body as { secret: string }).secret;
  const keys = await t.call('GET', '/.well-known/sortition-keys.json', { key: null });
  expect(keys.status).toBe(200);
  keySet = keys.body as PublicKeySet;
  const cp = keySet.keys.find((k) => k.purpose === 'checkpoint')!;
  const parsed = parseVerifierKey(cp.noteVerifierKey!);
  if (!parsed.ok) throw new Error(parsed.reason);
  noteKey = parsed.key;
  expect(toHex(noteKey.publicKey)).toBe(Buffer.from(cp.publicKey, 'base64url').toString('hex'));
  receiptKeys = Object.fromEntries(keySet.keys.filter((k) => k.purpose === 'receipt').map((k) => [k.kid, new Uint8Array(Buffer.from(k.publicKey, 'base64url'))]));
  firstCheckpoint = await checkpoint();
});
afterAll(async () => t.service.close());

describe('config transparency log', () => {
  it('publishes one checkpoint key and one receipt key, Ed25519, with the log origin', () => {
    expect(keySet.origin).toBe(ORIGIN);
    expect(keySet.keys.map((k) => k.purpose).sort()).toEqual(['checkpoint', 'receipt']);
    for (const k of keySet.keys) {
      expect(k).toMatchObject({ alg: 'Ed25519', rotated: null, jwk: { kty: 'OKP', crv: 'Ed25519', x: k.publicKey, kid: k.kid } });
      expect(Buffer.from(k.publicKey, 'base64url').length).toBe(32);
    }
  });

  it('logs the bootstrap version at start-up and signs a checkpoint that verifies with the published key', () => {
    expect(firstCheckpoint.checkpoint).toMatchObject({ origin: ORIGIN, size: 1 });
  });

  it('appends a leaf per published version, with a back-pointer, provable against the latest checkpoint', async () => {
    expect(await publish(2, 'second')).toMatchObject({ version: 2, logIndex: 1 });
    expect(await publish(3, 'third')).toMatchObject({ version: 3, logIndex: 2 });
    const latest = await checkpoint();
    expect(latest.checkpoint.size).toBe(3);
    const versions = ((await t.call('GET', '/v1/config/versions')).body as { versions: { version: number; hash: string; author: string; reason: string; createdAt: number }[] }).versions;
    let prev: { index: number; leafHash: string } | null = null;
    for (const v of versions) {
      const entry = (await t.call('GET', `/v1/log/config/${v.version}`, { key: null })).body as { index: number; leaf: string; leafHash: string; configVersion: number };
      expect(await t.call('GET', `/v1/log/entries/${entry.index}`, { key: null })).toMatchObject({ status: 200, body: entry });
      const bytes = base64Decode(entry.leaf)!;
      expect(toHex(leafHash(bytes))).toBe(entry.leafHash);
      const text = new TextDecoder().decode(bytes);
      expect(JSON.parse(text)).toEqual({ type: 'config', version: v.version, hash: v.hash, prev, createdAt: v.createdAt, author: v.author, reason: v.reason });
      // Canonical JSON: sorted keys, no whitespace.
      expect(text.startsWith('{"author":')).toBe(true);
      const proof = await t.call('GET', `/v1/log/proof/inclusion?index=${entry.index}&size=${latest.checkpoint.size}`, { key: null });
      expect(proof.status).toBe(200);
      const p = proof.body as { leafHash: string; rootHash: string; proof: string[] };
      expect(p.rootHash).toBe(toHex(latest.checkpoint.rootHash));
      expect(verifyInclusion(entry.index, latest.checkpoint.size, leafHash(bytes), p.proof.map(fromHex), latest.checkpoint.rootHash)).toEqual({ ok: true });
      // A leaf whose bytes were altered does not verify.
      const forged = new TextEncoder().encode(text.replace(v.reason, `${v.reason}!`));
      expect(verifyInclusion(entry.index, latest.checkpoint.size, leafHash(forged), p.proof.map(fromHex), latest.checkpoint.rootHash).ok).toBe(false);
      prev = { index: entry.index, leafHash: entry.leafHash };
    }
  });

  it('proves the first checkpoint is a prefix of the newest', async () => {
    const latest = await checkpoint();
    const r = await t.call('GET', `/v1/log/proof/consistency?from=${firstCheckpoint.checkpoint.size}&to=${latest.checkpoint.size}`, { key: null });
    expect(r.status).toBe(200);
    const body = r.body as { proof: string[]; fromRoot: string; toRoot: string };
    expect(body.fromRoot).toBe(toHex(firstCheckpoint.checkpoint.rootHash));
    const proof = body.proof.map(fromHex);
    expect(verifyConsistency(firstCheckpoint.checkpoint.size, latest.checkpoint.size, proof, firstCheckpoint.checkpoint.rootHash, latest.checkpoint.rootHash)).toEqual({ ok: true });
    const flipped = proof.map((h, i) => (i === 0 ? Uint8Array.from(h, (b, j) => (j === 0 ? b ^ 1 : b)) : h));
    expect(verifyConsistency(firstCheckpoint.checkpoint.size, latest.checkpoint.size, flipped, firstCheckpoint.checkpoint.rootHash, latest.checkpoint.rootHash).ok).toBe(false);
  });

  it('rejects a checkpoint with any flipped byte', async () => {
    const { note } = await checkpoint();
    const bytes = new TextEncoder().encode(note);
    for (const i of [0, note.indexOf('\n') + 1, note.indexOf('\n', note.indexOf('\n') + 1) + 3, bytes.length - 5]) {
      const copy = bytes.slice();
      copy[i] = copy[i]! ^ 0x01;
      expect(verifyCheckpoint(new TextDecoder().decode(copy), [noteKey], { origin: ORIGIN }).ok, `byte ${i}`).toBe(false);
    }
  });

  it('answers bad proof requests with JSON errors', async () => {
    expect(await t.call('GET', '/v1/log/entries/99', { key: null })).toMatchObject({ status: 404, body: { error: { code: 'LOG_ENTRY_NOT_FOUND' } } });
    expect(await t.call('GET', '/v1/log/proof/inclusion?index=0&size=99', { key: null })).toMatchObject({ status: 400, body: { error: { code: 'LOG_SIZE_TOO_LARGE' } } });
    expect(await t.call('GET', '/v1/log/proof/inclusion?index=3&size=3', { key: null })).toMatchObject({ status: 400, body: { error: { code: 'LOG_INDEX_OUT_OF_RANGE' } } });
    expect(await t.call('GET', '/v1/log/proof/consistency?from=3&to=2', { key: null })).toMatchObject({ status: 400, body: { error: { code: 'LOG_RANGE_INVALID' } } });
    expect(await t.call('GET', '/v1/log/proof/consistency?from=0&to=2', { key: null })).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
  });
});

describe('assignment receipts', () => {

  it('signs each first assignment when asked, citing the config version and a checkpoint that contains its leaf', async () => {
    const r = await evaluate('receipt-user-1', { receipt: true });
    expect(r.status).toBe(200);
    const results = (r.body as { results: Result[] }).results;
    const first = results.filter((x) => x.firstAssignment);
    expect(first.length).toBeGreaterThan(0);
    const latest = await checkpoint();
    const config = ((await t.call('GET', '/v1/config')).body as { doc: { experiments: { key: string; targeting?: unknown }[] } }).doc;
    for (const x of results) {
      if (!x.firstAssignment) {
        expect(x.receipt).toBeUndefined();
        continue;
      }
      const verified = verifyReceipt(x.receipt!, receiptKeys);
      if (!verified.ok) throw new Error(verified.reason);
      const p = verified.payload;
      expect(p).toMatchObject({ experiment: x.experiment, variant: x.variant, configVersion: 3, issuedAt: NOW, unitHash: unitHash('receipt-user-1') });
      expect(p.checkpoint).toEqual({ size: latest.checkpoint.size, rootHash: toHex(latest.checkpoint.rootHash) });
      const targeted = config.experiments.find((e) => e.key === x.experiment)?.targeting !== undefined;
      expect(p.attrsHash).toBe(attrsHash(targeted ? { appVersion: '4.3.1', country: 'DE' } : {}));
      // The cited config version's leaf is in the cited checkpoint.
      const entry = (await t.call('GET', `/v1/log/config/${p.configVersion}`, { key: null })).body as { index: number; leaf: string };
      const leaf = base64Decode(entry.leaf)!;
      expect(JSON.parse(new TextDecoder().decode(leaf))).toMatchObject({ type: 'config', version: p.configVersion });
      const proof = (await t.call('GET', `/v1/log/proof/inclusion?index=${entry.index}&size=${p.checkpoint.size}`, { key: null })).body as { proof: string[] };
      expect(verifyInclusion(entry.index, p.checkpoint.size, leafHash(leaf), proof.proof.map(fromHex), fromHex(p.checkpoint.rootHash))).toEqual({ ok: true });
      // A flipped byte anywhere in the token fails.
      for (const i of [5, x.receipt!.indexOf('.') + 10, x.receipt!.length - 3]) {
        const c = x.receipt!.charCodeAt(i);
        const tampered = x.receipt!.slice(0, i) + String.fromCharCode(c === 65 ? 66 : 65) + x.receipt!.slice(i + 1);
        expect(verifyReceipt(tampered, receiptKeys).ok, `char ${i}`).toBe(false);
      }
    }
  });

  it('gives returning units no receipt, and none unless asked', async () => {
    const again = (await evaluate('receipt-user-1', { receipt: true })).body as { results: Result[] };
    expect(again.results.every((x) => !x.firstAssignment && x.receipt === undefined)).toBe(true);
    const unasked = (await evaluate('receipt-user-2')).body as { results: Result[] };
    expect(unasked.results.some((x) => x.firstAssignment)).toBe(true);
    expect(unasked.results.every((x) => x.receipt === undefined)).toBe(true);
    const batch = (await t.call('POST', '/v1/evaluate/batch', { key: sdk, body: { requests: [{ units: { userId: 'receipt-user-3' }, attributes, receipt: true }] } })).body as { responses: { results: Result[] }[] };
    const firsts = batch.responses[0]!.results.filter((x) => x.firstAssignment);
    expect(firsts.length).toBeGreaterThan(0);
    expect(firsts.every((x) => verifyReceipt(x.receipt!, receiptKeys).ok)).toBe(true);
  });
});

describe('private keys', () => {
  it('appear in no response: not in the key set, the log, proofs, receipts, config, exports or OpenAPI', async () => {
    const secrets = (await store.listSigningKeys()).flatMap((k) => {
      const raw = Buffer.from(k.privateKey, 'hex');
      expect(raw.length).toBe(32);
      return [k.privateKey, k.privateKey.toUpperCase(), raw.toString('base64'), raw.toString('base64url'), raw.toString('base64').replace(/=+$/, '')];
    });
    const read = ((await t.call('POST', '/v1/keys', { body: { kind: 'read', label: 'auditor' } })).body as { secret: string }).secret;
    const responses = [
      await t.call('GET', '/.well-known/sortition-keys.json', { key: null }),
      await t.call('GET', '/v1/log/checkpoint', { key: null }),
      await t.call('GET', '/v1/log/entries/0', { key: null }),
      await t.call('GET', '/v1/log/config/2', { key: null }),
      await t.call('GET', '/v1/log/proof/inclusion?index=1&size=3', { key: null }),
      await t.call('GET', '/v1/log/proof/consistency?from=1&to=3', { key: null }),
      await evaluate('private-key-probe', { receipt: true }),
      await t.call('GET', '/v1/config'),
      await t.call('GET', '/v1/config/versions'),
      await t.call('GET', '/v1/config/versions/1'),
      await t.call('GET', '/v1/keys'),
      await t.call('GET', '/v1/sdk/payload', { key: sdk }),
      await t.call('GET', '/v1/export/assignments', { key: read }),
      await t.call('GET', '/v1/export/exposures', { key: read }),
      await t.call('GET', '/openapi.json', { key: null }),
    ];
    for (const r of responses) {
      expect(r.status, r.text).toBeLessThan(300);
      for (const s of secrets) expect(r.text.includes(s), `a private key in ${r.text.slice(0, 80)}`).toBe(false);
    }
    // Also as decoded receipt payloads and leaves (base64 inside JSON).
    const receipts = (responses[6]!.body as { results: Result[] }).results.flatMap((x) => (x.receipt === undefined ? [] : [x.receipt]));
    for (const token of receipts) {
      const decoded = token
        .split('.')
        .map((part) => Buffer.from(part, 'base64url').toString('hex'))
        .join('');
      for (const k of await store.listSigningKeys()) expect(decoded.includes(k.privateKey)).toBe(false);
    }
  });
});

describe('start-up catch-up', () => {
  it('logs, in order, config versions stored before the log existed, keeps the keys across restarts, and appends nothing twice', async () => {
    const old = new MemoryStore();
    for (const version of [1, 2]) {
      const doc = { ...exampleConfig(), version };
      expect(await old.appendConfig({ version, doc, hash: contentHash(doc), author: 'before', reason: `v${version}`, createdAt: NOW - 1000 + version, impact: null })).toEqual({ ok: true });
    }
    expect(await old.logEntries(0)).toEqual([]);
    const first = await startTestService(old, { clock: () => NOW });
    const keysBefore = (await old.listSigningKeys()).map((k) => k.kid);
    await first.service.close();
    const entries = await old.logEntries(0);
    expect(entries.map((e) => e.configVersion)).toEqual([1, 2]);
    expect(JSON.parse(entries[0]!.leaf)).toMatchObject({ version: 1, prev: null, author: 'before' });
    expect(JSON.parse(entries[1]!.leaf)).toMatchObject({ version: 2, prev: { index: 0, leafHash: entries[0]!.leafHash } });
    const second = await startTestService(old, { clock: () => NOW + 1 });
    try {
      expect((await old.listSigningKeys()).map((k) => k.kid)).toEqual(keysBefore);
      expect(await old.logEntries(0)).toEqual(entries);
      expect(second.service.proofs.log.checkpoint().size).toBe(2);
    } finally {
      await second.service.close();
    }
  });
});
