/**
 * The service's sticky store through ServiceStickyAdapter, against the real service (in-process, real
 * HTTP), under the same conformance suite as the local adapters. Its capabilities differ (see
 * StickyCapabilities): it keeps only first assignments it derives itself, and it never deletes, so
 * each case gets fresh unit ids. The fixtures' records are the client's first assignments under the
 * config the service runs, which is what the adapter writes through in real use.
 */
import { assign, compileConfigOrThrow, type StickyRecord } from '@sortition/core';
import { MemoryStore } from '@sortition/server';
import { afterAll, beforeAll, expect } from 'vitest';
import { startTestService, type TestService } from '../../../server/src/test-support/service.js';
import { KEY_A, KEY_B } from '../test-support/configs.js';
import { stickyConformance, type Fixtures } from '../test-support/sticky-conformance.js';
import { ServiceStickyAdapter } from './service.js';
import type { StickyAdapter } from './types.js';

const NOW = Date.parse('2026-04-15T00:00:00Z');
const KEY_C = '0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0';
const KEY_D = 'a5a5a5a55a5a5a5a0123456789abcdeffedcba98765432100f0f0f0ff0f0f0f0';

// Every experiment on its own layer, no targeting or holdouts: every unit gets a variant in each.
const experiment = (key: string, layer: string): Record<string, unknown> => ({
  key,
  layer,
  variants: [{ key: 'control' }, { key: 'treatment' }],
  phases: [{ id: 'main', startsAt: '2026-01-01T00:00:00Z', allocation: { control: [[0, 5000]], treatment: [[5000, 10000]] } }],
});
const layer = (id: string, key: string, unit: string): Record<string, unknown> => ({ id, algorithm: 'v1', slots: 10000, key, unit, normalization: 'nfc' });
const CONFIG = {
  schema: 'sortition/config/v1',
  version: 1,
  layers: [layer('users-a', KEY_A, 'userId'), layer('users-b', KEY_B, 'userId'), layer('users-c', KEY_C, 'userId'), layer('devices', KEY_D, 'anonymousId')],
  experiments: [experiment('exp', 'users-a'), experiment('other', 'users-b'), experiment('exp.v2-x_y', 'users-c'), experiment('device_exp', 'devices')],
};
const compiled = compileConfigOrThrow(CONFIG);

let t: TestService;
let sdkKey: string;
let namespace = 0;
let opened: ServiceStickyAdapter[] = [];
const errors: unknown[] = [];

beforeAll(async () => {
  t = await startTestService(new MemoryStore(), { clock: () => NOW, bootstrap: CONFIG });
  sdkKey = ((await t.call('POST', '/v1/keys', { body: { kind: 'sdk', label: 'sticky-conformance' } })).body as { secret: string }).secret;
});
afterAll(async () => {
  await settleAll();
  await t?.service.close();
});

/** Waits for every write-through in flight; any write the service refused fails the case. */
async function settleAll(): Promise<void> {
  await Promise.all(opened.map((a) => a.settle()));
  expect(errors).toEqual([]);
}

const fixtures: Fixtures = {
  a: { unitType: 'userId', experiments: ['exp', 'other'] },
  b: { unitType: 'anonymousId', experiment: 'device_exp' },
  record(unitType, unit, experimentKey): StickyRecord {
    const first = assign(compiled, { experiment: experimentKey, units: { [unitType]: unit }, now: NOW, mode: 'enroll' }).stickyWrite;
    if (first === null) throw new Error(`fixture: ${unitType} ${unit} gets no first assignment in ${experimentKey}`);
    return first;
  },
  conflicting: (r) => ({ ...r, variant: r.variant === 'control' ? 'treatment' : 'control' }),
  // Canonical ids only (NFC, no control characters): the client hands an adapter nothing else.
  awkward: { units: ['Zoë', 'a:b|c;d,e', 'with space', '"quoted"', '%41', '漢字', 'slash/and?query=1&x#frag'], experiment: 'exp.v2-x_y' },
};

stickyConformance('the service (ServiceStickyAdapter, real service)', {
  capabilities: { persistent: true, records: 'derived', deletes: false },
  open: () => {
    const adapter = new ServiceStickyAdapter({ baseUrl: t.service.url, sdkKey, clock: () => NOW, onError: (e) => errors.push(e) });
    opened.push(adapter);
    return adapter;
  },
  reset: async () => {
    await settleAll();
    opened = [];
    namespace++;
  },
  unit: (name) => `conformance-${namespace}/${name}`,
  settle: (adapter: StickyAdapter) => (adapter as ServiceStickyAdapter).settle(),
  fixtures,
});
