/**
 * End to end against the real service over HTTP: bootstrap from the payload, evaluate locally, agree
 * with the service's peek results, report exposures, and follow a publish pushed over SSE.
 */
import { MemoryStore } from '@sortition/server';
import { exampleConfig, startTestService, type TestService } from '../../server/src/test-support/service.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SortitionClient, type SdkPayload } from './client.js';
import { ExposureBatcher, serviceExposureSender } from './exposures.js';
import { MemoryStickyAdapter } from './sticky/memory.js';
import { ServiceStickyAdapter } from './sticky/service.js';

const NOW = Date.parse('2026-04-15T00:00:00Z');
let t: TestService;
let sdkKey: string;

beforeAll(async () => {
  t = await startTestService(new MemoryStore(), { clock: () => NOW });
  sdkKey = ((await t.call('POST', '/v1/keys', { body: { kind: 'sdk', label: 'sdk-e2e' } })).body as { secret: string }).secret;
});
afterAll(async () => {
  await t?.service.close();
});

function waitFor(client: SortitionClient, version: number): Promise<void> {
  return new Promise((resolve) => {
    if (client.version === version) return resolve();
    const off = client.on('config', ({ version: v }) => {
      if (v === version) {
        off();
        resolve();
      }
    });
  });
}

describe('SDK against the real service', () => {
  it('bootstraps, evaluates like the service, sends exposures, and reloads on an SSE push', async () => {
    const payloadResponse = await t.call('GET', '/v1/sdk/payload', { key: sdkKey });
    expect(payloadResponse.status).toBe(200);
    const bootstrap = { ...(payloadResponse.body as SdkPayload), etag: payloadResponse.headers.get('etag')! };

    const batcher = new ExposureBatcher({ send: serviceExposureSender({ baseUrl: t.service.url, sdkKey }), flushIntervalMs: 60_000 });
    const client = new SortitionClient({ payload: bootstrap, baseUrl: t.service.url, sdkKey, sticky: new MemoryStickyAdapter(), clock: () => NOW, exposureSink: batcher });
    await client.ready();
    expect(client.version).toBe(1);

    const attributes = { country: 'DE', appVersion: '4.3.1' };
    for (let i = 0; i < 200; i++) {
      const unit = `user-${i}`;
      const server = (await t.call('POST', '/v1/evaluate', { key: sdkKey, body: { units: { userId: unit }, attributes, mode: 'peek' } })).body as {
        results: { experiment: string; variant: string | null; reason: string; value: unknown }[];
      };
      for (const r of server.results) {
        const local = client.get(r.experiment, unit, null as unknown, { attributes });
        expect({ experiment: r.experiment, unit, variant: local.variant, reason: local.reason }).toEqual({ experiment: r.experiment, unit, variant: r.variant, reason: r.reason });
      }
    }

    // Exposures reach the service once per unit, experiment and phase.
    await batcher.flush();
    expect(batcher.sent).toBeGreaterThan(0);
    const exported = (await t.call('GET', '/v1/export/exposures?experiment=checkout_v2')).text.trim().split('\n').filter(Boolean);
    const served = [...Array(200).keys()].filter((i) => client.get('checkout_v2', `user-${i}`, null as unknown, { attributes, expose: false }).variant !== null).length;
    expect(exported).toHaveLength(served);

    // Publish version 2; the stream announces it and the client reloads.
    const doc = exampleConfig();
    const next = { ...doc, version: 2, experiments: (doc.experiments as Record<string, unknown>[]).map((e, i) => (i === 0 ? { ...e, description: 'Edited for the SDK test.' } : e)) };
    const changed = waitFor(client, 2);
    const published = await t.call('POST', '/v1/config/versions', { body: { config: next, baseVersion: 1, reason: 'sdk e2e' } });
    expect(published.status).toBeLessThan(300);
    await changed;
    expect(client.version).toBe(2);
    await client.close();
  });

  it("the service's sticky store: prefetch, then the stored record decides", async () => {
    const attributes = { country: 'DE', appVersion: '4.3.1' };
    const payload = (await t.call('GET', '/v1/sdk/payload', { key: sdkKey })).body as SdkPayload;
    // Units the config in force assigns a variant (not in the canary's excluded slots or a holdout).
    const probe = new SortitionClient({ payload, sticky: new MemoryStickyAdapter(), clock: () => NOW, exposureSink: null });
    const assigned = [...Array(100).keys()].map((i) => `sticky-user-${i}`).filter((u) => probe.get('checkout_v2', u, null as unknown, { attributes, expose: false }).variant !== null);
    expect(assigned.length).toBeGreaterThan(2);
    const unit = assigned[0]!;
    // The service assigns (and stores) first.
    const stored = (await t.call('POST', '/v1/evaluate', { key: sdkKey, body: { units: { userId: unit }, attributes, experiments: ['checkout_v2'] } })).body as { results: { variant: string | null }[] };
    const sticky = new ServiceStickyAdapter({ baseUrl: t.service.url, sdkKey });
    const client = new SortitionClient({ payload, sticky, clock: () => NOW, exposureSink: null });
    await client.prefetch({ userId: unit }, ['checkout_v2']);
    // Targeting no longer matches, but the stored record still decides.
    const local = client.get('checkout_v2', unit, null as unknown, { attributes: { country: 'BR', appVersion: '1.0.0' } });
    expect(stored.results[0]!.variant).not.toBeNull();
    expect(local).toMatchObject({ variant: stored.results[0]!.variant, reason: 'STICKY' });

    // A first assignment made locally is written through to the service.
    const fresh = assigned[1]!;
    await client.prefetch({ userId: fresh }, ['checkout_v2']);
    const first = client.get('checkout_v2', fresh, null as unknown, { attributes });
    await sticky.settle();
    const peek = (await t.call('POST', '/v1/evaluate', { key: sdkKey, body: { units: { userId: fresh }, attributes: { country: 'BR', appVersion: '1.0.0' }, experiments: ['checkout_v2'], mode: 'peek' } })).body as {
      results: { variant: string | null; reason: string }[];
    };
    expect(first.reason).toBe('ASSIGNED');
    expect(peek.results[0]).toMatchObject({ variant: first.variant, reason: 'STICKY' });
    await client.close();
  });
});
