import { createSlotFunction, fromHex } from '@sortition/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../store/memory.js';
import { exampleConfig, startTestService, type TestService } from '../test-support/service.js';

const NOW = Date.UTC(2026, 3, 15);
let t: TestService;
let sdk: string;
let read: string;

beforeAll(async () => {
  t = await startTestService(new MemoryStore(), { clock: () => NOW });
  sdk = ((await t.call('POST', '/v1/keys', { body: { kind: 'sdk', label: 'web' } })).body as { secret: string }).secret;
  read = ((await t.call('POST', '/v1/keys', { body: { kind: 'read', label: 'analyst' } })).body as { secret: string }).secret;
});
afterAll(async () => t.service.close());

const evaluate = (unit: unknown, extra: Record<string, unknown> = {}) =>
  t.call('POST', '/v1/evaluate', { key: sdk, body: { units: { userId: unit }, attributes: { country: 'DE', appVersion: '4.3.1' }, experiments: ['checkout_v2', 'price_anchor'], ...extra } });

describe('service API', () => {
  it('bootstraps the example config as version 1 and serves health and OpenAPI without a key', async () => {
    expect(t.service.bootstrapped).toBe(true);
    expect(t.admin).toMatch(/^sk_admin_/);
    expect((await t.call('GET', '/health', { key: null })).body).toEqual({ status: 'ok' });
    const doc = (await t.call('GET', '/openapi.json', { key: null })).body as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/evaluate', '/v1/config/versions', '/v1/sdk/payload', '/v1/sdk/stream', '/v1/export/assignments']));
    // Each route documents the status it answers with.
    const responses = (path: string, method: string) => Object.keys(((doc.paths[path] as Record<string, { responses: object }>)[method]!).responses);
    expect(responses('/v1/exposures', 'post')).toContain('202');
    expect(responses('/v1/exposures', 'post')).not.toContain('200');
    expect(responses('/v1/evaluate', 'post')).toContain('200');
  });

  it('answers 401 without a key and 403 for a key of the wrong kind, as JSON', async () => {
    const none = await t.call('POST', '/v1/evaluate', { key: null, body: { units: { userId: 'a' } } });
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ error: { code: 'UNAUTHENTICATED', field: 'Authorization' } });
    const wrong = await t.call('POST', '/v1/evaluate', { key: 'sk_sdk_nope', body: { units: { userId: 'a' } } });
    expect(wrong.status).toBe(401);
    const sdkWrites = await t.call('POST', '/v1/config/plan', { key: sdk, body: { config: {} } });
    expect(sdkWrites.status).toBe(403);
    expect(sdkWrites.body).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect((await t.call('GET', '/v1/config', { key: sdk })).status).toBe(403);
    expect((await t.call('GET', '/v1/config', { key: read })).status).toBe(200);
    expect((await t.call('POST', '/v1/keys', { key: read, body: { kind: 'admin', label: 'x' } })).status).toBe(403);
  });

  it('answers a cached key only for the exact header it was looked up with, and checks its permission on every call', async () => {
    expect((await evaluate('cache_1')).status).toBe(200);
    // The same secret in headers the parser refuses is refused again, not served from the key cache.
    for (const authorization of [`Bearer  ${sdk}`, `bearer ${sdk}`, `Bearer ${sdk}\tx`, `Bearer ${sdk.slice(0, -1)}`, sdk]) {
      const r = await t.call('POST', '/v1/evaluate', { key: null, headers: { authorization }, body: { units: { userId: 'cache_1' } } });
      expect(r.status, authorization).toBe(401);
      expect(r.body).toMatchObject({ error: { code: 'UNAUTHENTICATED', field: 'Authorization' } });
    }
    // A cached sdk key is still refused where its kind has no permission.
    for (let i = 0; i < 2; i++) expect((await t.call('GET', '/v1/config/versions', { key: sdk })).body).toMatchObject({ error: { code: 'FORBIDDEN' } });
  });

  it('refuses bodies that would set a prototype (__proto__, constructor.prototype) as invalid JSON', async () => {
    for (const body of [
      '{"units":{"userId":"p1"},"__proto__":{"x":1}}',
      '{"units":{"__proto__":{"polluted":"yes"}}}',
      '{"units":{"userId":"p1"},"attributes":{"\\u005f_proto__":{"x":1}}}',
      '{"units":{"userId":"p1"},"attributes":{"constructor":{"prototype":{"x":1}}}}',
    ]) {
      const r = await t.call('POST', '/v1/evaluate', { key: sdk, body });
      expect(r.status, body).toBe(400);
      expect(r.body).toMatchObject({ error: { code: 'INVALID_JSON' } });
    }
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    // A plain "constructor" attribute is an attribute like any other.
    expect((await t.call('POST', '/v1/evaluate', { key: sdk, body: '{"units":{"userId":"p1"},"attributes":{"constructor":"x"}}' })).status).toBe(200);
  });

  it('stores the first assignment and returns it afterwards; peek stores nothing', async () => {
    const peek = await evaluate('peek-only', { mode: 'peek' });
    expect(peek.status).toBe(200);
    const first = await evaluate('user_42');
    expect(first.status).toBe(200);
    const results = (first.body as { results: { experiment: string; variant: string | null; firstAssignment: boolean; reason: string }[] }).results;
    const again = (await evaluate('user_42')).body as { results: { variant: string | null; reason: string; firstAssignment: boolean }[] };
    results.forEach((r, i) => {
      expect(again.results[i]!.variant).toBe(r.variant);
      if (r.variant !== null) {
        expect(r.firstAssignment).toBe(true);
        expect(again.results[i]).toMatchObject({ reason: 'STICKY', firstAssignment: false });
      }
    });
    const stored = await t.call('GET', '/v1/export/assignments', { key: read });
    expect(stored.text).toContain('"unit_id":"user_42"');
    expect(stored.text).not.toContain('peek-only');
  });

  it('rejects ids that are not strings or not canonicalisable, naming the field', async () => {
    const number = await evaluate(8821);
    expect(number.status).toBe(400);
    expect(number.body).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: '/units/userId', fix: expect.stringContaining('decimal string') as unknown } });
    const lone = await t.call('POST', '/v1/evaluate', { key: sdk, body: '{"units":{"userId":"x\\ud800"}}' });
    expect(lone.status).toBe(400);
    expect(lone.body).toMatchObject({ error: { code: 'UNIT_ID_ILL_FORMED', field: '/units/userId' } });
    const extra = await evaluate('u', { bogus: 1 });
    expect(extra.body).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: '/bogus' } });
    const unknown = await evaluate('u', { experiments: ['nope'] });
    expect(unknown.status).toBe(404);
    const bad = await t.call('POST', '/v1/evaluate', { key: sdk, body: '{"units": ' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 'INVALID_JSON' } });
    expect(bad.text).not.toMatch(/\bat .*\.js:\d+/);
  });

  it('refuses a publish that would move exposed units (409 with the impact), accepts a declared one', async () => {
    const base = exampleConfig();
    const reweight = { ...exampleConfig('checkout-reweight.yaml'), version: 2 };
    // Before anyone in the moving slots [20000, 25000) is exposed, the planner knows nobody moves.
    expect((await t.call('POST', '/v1/config/plan', { body: { config: reweight } })).body).toMatchObject({ verdict: 'safe' });
    const pricing = (base['layers'] as { id: string; key: string }[]).find((l) => l.id === 'pricing')!;
    const slotOf = createSlotFunction('v1', { layerId: 'pricing', key: fromHex(pricing.key)!, slots: 100000 });
    let mover = '';
    for (let i = 0; mover === ''; i++) {
      const s = slotOf(`mover_${i}`);
      if (typeof s === 'number' && s >= 20000 && s < 25000) mover = `mover_${i}`;
    }
    expect((await evaluate(mover)).status).toBe(200);
    const plan = await t.call('POST', '/v1/config/plan', { body: { config: reweight } });
    expect(plan.status).toBe(200);
    expect(plan.body).toMatchObject({ verdict: 'refused', allowed: false });
    const impact = plan.body as { experiments: { experiment: string; transitions: { exposedMoving: number }[] }[] };
    expect(impact.experiments.find((e) => e.experiment === 'price_anchor')!.transitions[0]!.exposedMoving).toBe(1);
    const refused = await t.call('POST', '/v1/config/versions', { body: { config: reweight, baseVersion: 1, reason: 'try 40/60' } });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ error: { code: 'CHANGE_REFUSED', details: { impact: { verdict: 'refused' } } } });
    const stale = await t.call('POST', '/v1/config/versions', { body: { config: { ...base, version: 2 }, baseVersion: 0, reason: 'stale' } });
    expect(stale.body).toMatchObject({ error: { code: 'BASE_VERSION_MISMATCH', field: '/baseVersion' } });
    const wrongNumber = await t.call('POST', '/v1/config/versions', { body: { config: { ...base, version: 5 }, baseVersion: 1, reason: 'x' } });
    expect(wrongNumber.body).toMatchObject({ error: { code: 'CONFIG_INVALID', field: '/config/version' } });
    const declared = { ...exampleConfig('checkout-rerandomize.yaml'), version: 2 };
    const ok = await t.call('POST', '/v1/config/versions', { body: { config: declared, baseVersion: 1, reason: 'deliberate 40/60 with re-randomization' } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expect(ok.body).toMatchObject({ version: 2, impact: { verdict: 'declared' } });
    const versions = (await t.call('GET', '/v1/config/versions', { key: read })).body as { versions: { version: number; reason: string; author: string }[] };
    expect(versions.versions.map((v) => v.version)).toEqual([1, 2]);
    expect(versions.versions[1]!.author).toContain('first admin');
    const diff = (await t.call('GET', '/v1/config/diff?from=1&to=2', { key: read })).body as { changes: { path: string }[] };
    expect(diff.changes.map((c) => c.path)).toContain('/experiments/price_anchor/phases/reweighted');
  });

  it('serves the SDK payload with an ETag and 304, and no secrets', async () => {
    const first = await t.call('GET', '/v1/sdk/payload', { key: sdk });
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"v\d+-[0-9a-f]{16}"$/);
    expect(first.text).not.toMatch(/sk_(admin|sdk|read)_/);
    const again = await t.call('GET', '/v1/sdk/payload', { key: sdk, headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
  });

  it('pushes new versions over server-sent events', async () => {
    const controller = new AbortController();
    const response = await fetch(`${t.service.url}/v1/sdk/stream`, { headers: { authorization: `Bearer ${sdk}` }, signal: controller.signal });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (needle: string): Promise<void> => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${needle}`);
        text += decoder.decode(value);
      }
    };
    const current = (await t.call('GET', '/v1/config', { key: read })).body as { version: number; doc: Record<string, unknown> };
    await readUntil(`id: ${current.version}`);
    const next = { ...current.doc, version: current.version + 1 };
    const published = await t.call('POST', '/v1/config/versions', { body: { config: next, baseVersion: current.version, reason: 'no-op republish' } });
    expect(published.status).toBe(201);
    await readUntil(`id: ${current.version + 1}`);
    expect(text).toContain('event: config');
    controller.abort();
  });

  it('exports exposures as CSV with a header row and counts repeats', async () => {
    await evaluate('csv_user');
    await evaluate('csv_user');
    await t.service.app.ready();
    const csv = await t.call('GET', '/v1/export/exposures?format=csv&experiment=price_anchor', { key: read });
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const [header, ...rows] = csv.text.trim().split('\n');
    expect(header).toBe('unit_type,unit_id,experiment,phase,variant,slot,config_version,timestamp,source,count,last_at');
    expect(rows.some((r) => r.includes('csv_user'))).toBe(true);
  });

  it('limits body size with a JSON 413', async () => {
    const huge = { requests: Array.from({ length: 1000 }, () => ({ units: { userId: 'x'.repeat(1000) }, attributes: { pad: 'y'.repeat(4000) } })) };
    const r = await t.call('POST', '/v1/evaluate/batch', { key: sdk, body: huge });
    expect(r.status).toBe(413);
    expect(r.body).toMatchObject({ error: { code: 'BODY_TOO_LARGE' } });
  });
});
