import { ErrorCode, OpenFeature, ProviderEvents, StandardResolutionReasons } from '@openfeature/server-sdk';
import { OpenFeature as WebOpenFeature, ProviderEvents as WebProviderEvents } from '@openfeature/web-sdk';
import type { ExposureEvent } from '@sortition/core';
import { afterEach, describe, expect, it } from 'vitest';
import { SortitionClient } from '../client.js';
import { MemoryStickyAdapter } from '../sticky/memory.js';
import { NOW, testConfig } from '../test-support/configs.js';
import { ManualScheduler, scriptedFetch, settle } from '../test-support/fakes.js';
import { mapErrorCode, mapReason } from './mapping.js';
import { SortitionServerProvider } from './server.js';
import { SortitionWebProvider } from './web.js';

function makeClient(events: ExposureEvent[] = []) {
  return new SortitionClient({ payload: { version: 1, config: testConfig() }, sticky: new MemoryStickyAdapter(), clock: () => NOW, exposureSink: { track: (e) => void events.push(e) } });
}

afterEach(async () => {
  await OpenFeature.close();
  await WebOpenFeature.close();
});

describe('reason and error code mapping', () => {
  it('maps every core reason and error code', () => {
    expect(mapReason('ASSIGNED')).toBe(StandardResolutionReasons.SPLIT);
    expect(mapReason('STICKY')).toBe(StandardResolutionReasons.CACHED);
    for (const r of ['TARGETING_EXCLUDED', 'HOLDOUT', 'PHASE_EXCLUDED', 'NOT_ALLOCATED'] as const) expect(mapReason(r)).toBe(StandardResolutionReasons.DEFAULT);
    expect(mapReason('NOT_STARTED')).toBe(StandardResolutionReasons.DISABLED);
    expect(mapReason('ENDED')).toBe(StandardResolutionReasons.DISABLED);
    expect(mapReason('ERROR')).toBe(StandardResolutionReasons.ERROR);
    expect(mapErrorCode('EXPERIMENT_NOT_FOUND')).toBe(ErrorCode.FLAG_NOT_FOUND);
    expect(mapErrorCode('UNIT_MISSING')).toBe(ErrorCode.TARGETING_KEY_MISSING);
    expect(mapErrorCode('UNIT_ID_EMPTY')).toBe(ErrorCode.INVALID_CONTEXT);
    expect(mapErrorCode('NOT_READY')).toBe(ErrorCode.PROVIDER_NOT_READY);
    expect(mapErrorCode('TYPE_MISMATCH')).toBe(ErrorCode.TYPE_MISMATCH);
    expect(mapErrorCode('GENERAL')).toBe(ErrorCode.GENERAL);
  });
});

describe('SortitionServerProvider with @openfeature/server-sdk', () => {
  it('evaluates flags as experiments with mapped reasons, variants and metadata', async () => {
    const exposures: ExposureEvent[] = [];
    await OpenFeature.setProviderAndWait(new SortitionServerProvider(makeClient(exposures)));
    const client = OpenFeature.getClient();
    const first = await client.getStringDetails('button', 'gray', { targetingKey: 'u1', country: 'DE' });
    expect(['blue', 'green']).toContain(first.value);
    expect(first.reason).toBe('SPLIT');
    expect(first.variant).toMatch(/^(control|treatment)$/);
    expect(first.flagMetadata).toMatchObject({ sortitionReason: 'ASSIGNED', phase: 'main', layer: 'user', configVersion: 1 });
    const again = await client.getStringDetails('button', 'gray', { targetingKey: 'u1', country: 'US' });
    expect(again).toMatchObject({ value: first.value, reason: 'CACHED', variant: first.variant });
    // The hook reported the exposures (first, then repeat; dedupe is the batcher's job).
    expect(exposures.map((e) => [e.unit, e.experiment, e.first])).toEqual([
      ['u1', 'button', true],
      ['u1', 'button', false],
    ]);

    const layout = await client.getObjectDetails('layout', { columns: 0 }, { targetingKey: 'a1' });
    expect((layout.value as { columns: number }).columns).toBeGreaterThan(0);
    const viaUnits = await client.getObjectDetails('layout', { columns: 0 }, { units: { anonymousId: 'a1' } });
    expect(viaUnits.value).toEqual(layout.value);

    expect(await client.getStringDetails('button', 'gray', { targetingKey: 'u2', country: 'US' })).toMatchObject({ value: 'gray', reason: 'DEFAULT' });
    expect(await client.getStringDetails('later', 'x', { targetingKey: 'a' })).toMatchObject({ value: 'x', reason: 'DISABLED' });
  });

  it('returns the default with OpenFeature error codes, never throwing', async () => {
    const exposures: ExposureEvent[] = [];
    await OpenFeature.setProviderAndWait(new SortitionServerProvider(makeClient(exposures)));
    const client = OpenFeature.getClient();
    expect(await client.getStringDetails('missing', 'd', { targetingKey: 'u1' })).toMatchObject({ value: 'd', reason: 'ERROR', errorCode: ErrorCode.FLAG_NOT_FOUND });
    expect(await client.getStringDetails('button', 'd', {})).toMatchObject({ value: 'd', reason: 'ERROR', errorCode: ErrorCode.TARGETING_KEY_MISSING });
    expect(await client.getStringDetails('button', 'd', { targetingKey: 'x'.repeat(5000) })).toMatchObject({ value: 'd', errorCode: ErrorCode.INVALID_CONTEXT });
    expect(await client.getNumberDetails('button', 7, { targetingKey: 'u5', country: 'DE' })).toMatchObject({ value: 7, errorCode: ErrorCode.TYPE_MISMATCH });
    expect(await client.getBooleanValue('layout', false, { targetingKey: 'a1' })).toBe(false);
    expect(exposures).toEqual([]);
  });

  it('emits ConfigurationChanged when the client loads a new version', async () => {
    const scheduler = new ManualScheduler();
    let version = 1;
    const f = scriptedFetch(() => new Response(JSON.stringify({ version, config: testConfig(version) }), { headers: { etag: `"v${version}"` } }));
    const sdk = new SortitionClient({ baseUrl: 'http://svc', fetch: f, stream: false, sticky: new MemoryStickyAdapter(), scheduler, clock: () => NOW, exposureSink: null });
    await OpenFeature.setProviderAndWait(new SortitionServerProvider(sdk));
    const changes: unknown[] = [];
    OpenFeature.addHandler(ProviderEvents.ConfigurationChanged, (d) => changes.push(d?.metadata));
    version = 2;
    await sdk.reload();
    await settle();
    expect(changes).toEqual([{ version: 2 }]);
  });

  it('reports PROVIDER_NOT_READY-like failures when initialization times out', async () => {
    const scheduler = new ManualScheduler();
    const f = scriptedFetch(() => new Response('down', { status: 503 }));
    const sdk = new SortitionClient({ baseUrl: 'http://svc', fetch: f, stream: false, sticky: new MemoryStickyAdapter(), scheduler, exposureSink: null });
    const p = OpenFeature.setProviderAndWait(new SortitionServerProvider(sdk, { readyTimeoutMs: 100 })).then(() => 'ok', () => 'failed');
    await scheduler.advance(100);
    expect(await p).toBe('failed');
    const d = await OpenFeature.getClient().getStringDetails('button', 'd', { targetingKey: 'u1' });
    expect(d.value).toBe('d');
    expect(d.reason).toBe('ERROR');
  });
});

describe('SortitionWebProvider with @openfeature/web-sdk', () => {
  it('evaluates synchronously against the global context, exposes through the hook, and follows context changes', async () => {
    const exposures: ExposureEvent[] = [];
    const sdk = makeClient(exposures);
    await WebOpenFeature.setContext({ targetingKey: 'a1' });
    await WebOpenFeature.setProviderAndWait(new SortitionWebProvider(sdk));
    const client = WebOpenFeature.getClient();
    const layout = client.getObjectDetails('layout', { columns: 0 });
    expect(layout.reason).toBe('SPLIT');
    expect(client.getObjectDetails('layout', { columns: 0 }).reason).toBe('CACHED');
    expect(exposures.map((e) => e.unit)).toEqual(['a1', 'a1']);
    // Logging in: both ids; the device experiment keeps the anonymous id's record.
    await WebOpenFeature.setContext({ targetingKey: 'user-1', units: { anonymousId: 'a1' }, country: 'FR' });
    expect(client.getObjectDetails('layout', { columns: 0 })).toMatchObject({ value: layout.value, reason: 'CACHED' });
    expect(client.getStringDetails('button', 'gray').reason).toBe('SPLIT');
    expect(client.getStringDetails('nope', 'gray')).toMatchObject({ value: 'gray', errorCode: ErrorCode.FLAG_NOT_FOUND });
  });

  it('emits ConfigurationChanged on reload', async () => {
    let version = 1;
    const f = scriptedFetch(() => new Response(JSON.stringify({ version, config: testConfig(version) }), { headers: { etag: `"v${version}"` } }));
    const sdk = new SortitionClient({ baseUrl: 'http://svc', fetch: f, stream: false, sticky: new MemoryStickyAdapter(), scheduler: new ManualScheduler(), clock: () => NOW, exposureSink: null });
    await WebOpenFeature.setProviderAndWait(new SortitionWebProvider(sdk));
    let changed = 0;
    WebOpenFeature.getClient().addHandler(WebProviderEvents.ConfigurationChanged, () => changed++);
    version = 2;
    await sdk.reload();
    await settle();
    expect(changed).toBe(1);
  });
});
