/**
 * Property-based bad input: random bodies, headers, ids and query strings against every endpoint
 * of the real service on SQLite. Never a 5xx, every error is JSON with a code, and no row that
 * existed before is changed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/types.js';
import { startTestService, type TestService } from '../test-support/service.js';
import { routes } from './routes.js';

const NOW = Date.UTC(2026, 3, 15);
const dir = mkdtempSync(join(tmpdir(), 'sortition-fuzz-'));
let t: TestService;
let store: Store;
let sdk: string;

async function snapshot(): Promise<{ assignments: string[]; configs: string[]; keys: string[] }> {
  const assignments: string[] = [];
  for await (const a of store.exportAssignments({})) assignments.push(JSON.stringify(a));
  const configs: string[] = [];
  for (const c of await store.listConfigs()) configs.push(JSON.stringify(await store.getConfig(c.version)));
  const keys = (await store.listKeys()).map((k) => JSON.stringify({ ...k, revokedAt: null }));
  return { assignments, configs, keys };
}

beforeAll(async () => {
  store = openSqliteStore(join(dir, 'fuzz.db'));
  t = await startTestService(store, { clock: () => NOW });
  sdk = ((await t.call('POST', '/v1/keys', { body: { kind: 'sdk', label: 'fuzz' } })).body as { secret: string }).secret;
  for (let i = 0; i < 50; i++) {
    await t.call('POST', '/v1/evaluate', { key: sdk, body: { units: { userId: `seed_${i}` }, attributes: { country: 'DE', appVersion: '4.3.1' } } });
  }
});
afterAll(async () => {
  await t.service.close();
  rmSync(dir, { recursive: true, force: true });
});

const weirdString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.constantFrom('', ' ', 'x\ud800', '\u0000', 'a'.repeat(300), '😀'.repeat(70), '../../etc/passwd', "'; DROP TABLE assignments; --", '%00', '{"a":1}', 'Jose\u0301'),
);
const jsonish: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.double(),
    fc.integer(),
    fc.constantFrom(1e308, -0, 2 ** 53 + 1),
    weirdString,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(weirdString, tie('value'), { maxKeys: 4 }),
  ),
})).value;
const plausibleBody = fc.oneof(
  jsonish,
  fc.record({ units: fc.dictionary(fc.constantFrom('userId', 'deviceId', 'x'), fc.oneof(weirdString, fc.integer(), fc.constant(null))), attributes: fc.option(fc.dictionary(weirdString, jsonish, { maxKeys: 3 }), { nil: undefined }), experiments: fc.option(fc.array(weirdString, { maxLength: 3 }), { nil: undefined }), mode: fc.option(fc.constantFrom('enroll', 'peek', 'x'), { nil: undefined }) }, { requiredKeys: ['units'] }),
  fc.record({ requests: fc.array(fc.record({ units: fc.dictionary(fc.constantFrom('userId'), weirdString) }), { maxLength: 3 }) }),
  fc.record({ config: jsonish, baseVersion: fc.oneof(fc.integer({ min: -1, max: 3 }), weirdString), reason: fc.oneof(weirdString, fc.integer()) }),
  fc.record({ kind: fc.oneof(fc.constantFrom('admin', 'sdk', 'read'), weirdString), label: jsonish }),
  fc.record({ exposures: fc.array(fc.record({ unitType: weirdString, unit: weirdString, experiment: weirdString, phase: weirdString, variant: weirdString, slot: fc.integer(), configVersion: fc.integer(), at: fc.integer() }), { maxLength: 3 }) }),
);

describe('bad input never breaks the service', () => {
  const table = routes().map((r) => ({ method: r.method, url: r.url }));
  table.push({ method: 'GET', url: '/nope' }, { method: 'POST', url: '/v1/config/versions/1' }, { method: 'DELETE', url: '/v1/config' });

  it('answers every random request with a non-5xx JSON response and changes no stored row', async () => {
    const before = await snapshot();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...table),
        fc.constantFrom<'admin' | 'sdk' | 'none' | 'garbage'>('admin', 'sdk', 'none', 'garbage'),
        fc.oneof(plausibleBody.map((b) => JSON.stringify(b) ?? 'null'), weirdString),
        fc.dictionary(fc.constantFrom('from', 'to', 'experiment', 'format', 'x'), weirdString, { maxKeys: 3 }),
        fc.oneof(weirdString, fc.constantFrom('1', '2', '999999999999', '0123456789abcdef', '-1')),
        fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', ''),
        async (route, who, body, query, param, contentType) => {
          // A lone surrogate cannot be percent-encoded as UTF-8; send the raw invalid bytes instead.
          const segment = param.isWellFormed() ? encodeURIComponent(param) : '%ED%A0%80';
          const path = route.url.replace(/:[a-z]+/g, segment);
          const qs = new URLSearchParams(query).toString();
          const key = who === 'admin' ? t.admin : who === 'sdk' ? sdk : who === 'garbage' ? 'sk_admin_garbage' : null;
          const headers: Record<string, string> = contentType === '' ? {} : { 'content-type': contentType };
          const hasBody = route.method !== 'GET';
          const r = await t.call(route.method, `${path}${qs === '' ? '' : `?${qs}`}`, { key, headers, ...(hasBody ? { body } : {}) });
          expect(r.status, `${route.method} ${path} -> ${r.text.slice(0, 300)}`).toBeLessThan(500);
          if (r.status >= 400) {
            expect(r.body, r.text).toMatchObject({ error: { code: expect.any(String) as unknown, message: expect.any(String) as unknown } });
            expect(r.text).not.toMatch(/\s+at .+:\d+:\d+/);
          }
        },
      ),
      { numRuns: 2000, seed: 1121 },
    );
    const after = await snapshot();
    for (const row of before.assignments) expect(after.assignments).toContain(row);
    expect(after.configs.slice(0, before.configs.length)).toEqual(before.configs);
    for (const k of before.keys) expect(after.keys).toContain(k);
  });
});
