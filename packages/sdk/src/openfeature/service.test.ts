/**
 * The OpenFeature providers against the real service (in-process, real HTTP), with the real server and
 * web SDKs: provider events when the config stream breaks, when the service is away and comes back
 * with a new version, and when an announced version cannot be loaded; and track() as metric events
 * that the analysis reads beside the service's exposure export. A fault-injecting proxy sits between
 * the SDK and the service and plays the outages (cut connections, refuse connections on the same port,
 * fail the payload path): stopping the service itself is not an option while an SDK holds the stream,
 * since its close() waits for open connections. Nothing sleeps: every step waits for the event it expects.
 */
import { analyze } from '@sortition/analysis';
import { MemoryStore } from '@sortition/server';
import { OpenFeature, ProviderEvents, ProviderStatus } from '@openfeature/server-sdk';
import { OpenFeature as WebOpenFeature, ProviderEvents as WebProviderEvents, ProviderStatus as WebProviderStatus } from '@openfeature/web-sdk';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { exampleConfig, startTestService, type TestService } from '../../../server/src/test-support/service.js';
import { SortitionClient } from '../client.js';
import { ExposureBatcher, serviceExposureSender } from '../exposures.js';
import { MetricBatcher, httpMetricSender, metricEventRow, type MetricEvent } from '../metrics.js';
import { MemoryStickyAdapter } from '../sticky/memory.js';
import { startFaultProxy, type FaultProxy } from '../test-support/fault-proxy.js';
import { SortitionServerProvider } from './server.js';
import { SortitionWebProvider } from './web.js';

const NOW = Date.parse('2026-04-15T00:00:00Z');
const ATTRIBUTES = { country: 'DE', appVersion: '4.3.1' };
let t: TestService;
let sdkKey: string;
let proxy: FaultProxy;

beforeAll(async () => {
  t = await startTestService(new MemoryStore(), { clock: () => NOW });
  sdkKey = ((await t.call('POST', '/v1/keys', { body: { kind: 'sdk', label: 'openfeature-events' } })).body as { secret: string }).secret;
});
afterAll(async () => {
  await t?.service.close();
});
beforeEach(async () => {
  proxy = await startFaultProxy(t.service.url);
});
afterEach(async () => {
  await OpenFeature.close();
  await WebOpenFeature.close();
  await proxy.close();
});

/** Publishes the config in force again with one description edited (moves nobody); returns the new version. */
async function publishNext(): Promise<number> {
  const current = (await t.call('GET', '/v1/config')).body as { version: number };
  const doc = exampleConfig();
  const version = current.version + 1;
  const next = { ...doc, version, experiments: (doc.experiments as Record<string, unknown>[]).map((e, i) => (i === 0 ? { ...e, description: `Edited for version ${version}.` } : e)) };
  const published = await t.call('POST', '/v1/config/versions', { body: { config: next, baseVersion: current.version, reason: `provider events test, version ${version}` } });
  expect(published.status).toBe(201);
  return version;
}

interface Seen {
  readonly type: string;
  readonly metadata: Readonly<Record<string, unknown>> | undefined;
}

/** Every provider event an OpenFeature client reports, in order; waits by position, never by time. */
class EventLog {
  readonly seen: Seen[] = [];
  private wake: (() => void)[] = [];

  record(type: string, details: { metadata?: Readonly<Record<string, unknown>> } | undefined): void {
    this.seen.push({ type, metadata: details?.metadata });
    const wake = this.wake;
    this.wake = [];
    for (const w of wake) w();
  }

  mark(): number {
    return this.seen.length;
  }

  types(from: number): string[] {
    return this.seen.slice(from).map((s) => s.type);
  }

  /** The first event of this type at or after position `from`, once it has happened. */
  async next(type: string, from: number): Promise<Seen> {
    for (;;) {
      const found = this.seen.slice(from).find((s) => s.type === type);
      if (found !== undefined) return found;
      await new Promise<void>((resolve) => this.wake.push(resolve));
    }
  }
}

const TYPES = [ProviderEvents.Ready, ProviderEvents.Error, ProviderEvents.Stale, ProviderEvents.ConfigurationChanged];
const READY = 'PROVIDER_READY';
const ERROR = 'PROVIDER_ERROR';
const STALE = 'PROVIDER_STALE';
const CHANGED = 'PROVIDER_CONFIGURATION_CHANGED';

function sdkClient(): SortitionClient {
  // Short backoff and stale threshold keep the test quick; they change no logic.
  return new SortitionClient({ baseUrl: proxy.url, sdkKey, sticky: new MemoryStickyAdapter(), clock: () => NOW, exposureSink: null, backoff: { baseMs: 5, maxMs: 40 }, staleAfterMs: 150 });
}

interface Harness {
  readonly log: EventLog;
  status(): string;
  evaluate(): Promise<{ value: string; errorCode?: string | undefined }>;
  readonly statuses: { readonly ready: string; readonly error: string; readonly stale: string };
}

/** The outage scenarios, the same for both SDKs. */
async function outages(h: Harness, client: SortitionClient): Promise<void> {
  const { log } = h;
  const before = await h.evaluate();
  expect(before.errorCode).toBeUndefined();

  // 1. The stream breaks: ERROR, and READY once it is back (nothing was missed).
  let m = log.mark();
  await proxy.streaming('/v1/sdk/stream');
  proxy.cut();
  await log.next(ERROR, m);
  expect(await h.evaluate()).toEqual(before);
  await log.next(READY, m);
  expect(log.types(m)).toEqual([ERROR, READY]);
  expect(h.status()).toBe(h.statuses.ready);

  // 2. The service is away for longer than staleAfterMs: ERROR, then STALE; evaluation goes on.
  //    It publishes a version meanwhile; back, it is READY and then CONFIGURATION_CHANGED.
  m = log.mark();
  await proxy.streaming('/v1/sdk/stream');
  await proxy.stop();
  await log.next(STALE, m);
  expect(log.types(m)).toEqual([ERROR, STALE]);
  expect(log.seen[m]?.metadata).toMatchObject({ sortitionError: 'STREAM_FAILED', status: 'error' });
  expect(h.status()).toBe(h.statuses.stale);
  expect(await h.evaluate()).toEqual(before);
  const missed = await publishNext();
  await proxy.start();
  const changed = await log.next(CHANGED, m);
  expect(log.types(m)).toEqual([ERROR, STALE, READY, CHANGED]);
  expect(changed.metadata).toMatchObject({ version: missed });
  expect(client.version).toBe(missed);
  expect(h.status()).toBe(h.statuses.ready);

  // 3. The stream announces a version the payload endpoint cannot deliver: the config is known to
  //    be out of date (ERROR, STALE) until the payload loads (READY, CONFIGURATION_CHANGED).
  m = log.mark();
  proxy.fail('/v1/sdk/payload', 503);
  const announced = await publishNext();
  await log.next(STALE, m);
  expect(log.types(m)).toEqual([ERROR, STALE]);
  expect(log.seen[m + 1]?.metadata).toMatchObject({ sortitionError: 'PAYLOAD_LOAD_FAILED', status: 'stale', version: missed });
  expect(client.version).toBe(missed);
  proxy.fail('/v1/sdk/payload', null);
  const loaded = await log.next(CHANGED, m);
  expect(log.types(m)).toEqual([ERROR, STALE, READY, CHANGED]);
  expect(loaded.metadata).toMatchObject({ version: announced });
  expect(client.status).toBe('ready');
  expect(await h.evaluate()).toEqual(before);
}

describe('provider events against the real service', () => {
  it('@openfeature/server-sdk: ERROR/READY on a broken stream, ERROR/STALE while the service is away, READY/CONFIGURATION_CHANGED on recovery', async () => {
    const client = sdkClient();
    await OpenFeature.setProviderAndWait(new SortitionServerProvider(client));
    const of = OpenFeature.getClient();
    const log = new EventLog();
    for (const type of TYPES) of.addHandler(type, (details) => log.record(type, details));
    await outages(
      {
        log,
        status: () => of.providerStatus,
        evaluate: async () => {
          const d = await of.getStringDetails('price_anchor', 'none', { targetingKey: 'user-7' });
          return { value: d.value, errorCode: d.errorCode };
        },
        statuses: { ready: ProviderStatus.READY, error: ProviderStatus.ERROR, stale: ProviderStatus.STALE },
      },
      client,
    );
  });

  it('@openfeature/web-sdk: the same events, and evaluation from the loaded config throughout', async () => {
    const client = sdkClient();
    await WebOpenFeature.setContext({ targetingKey: 'user-7' });
    await WebOpenFeature.setProviderAndWait(new SortitionWebProvider(client));
    const of = WebOpenFeature.getClient();
    const log = new EventLog();
    for (const type of [WebProviderEvents.Ready, WebProviderEvents.Error, WebProviderEvents.Stale, WebProviderEvents.ConfigurationChanged]) of.addHandler(type, (details) => log.record(type, details));
    await outages(
      {
        log,
        status: () => of.providerStatus,
        evaluate: async () => {
          const d = of.getStringDetails('price_anchor', 'none');
          return { value: d.value, errorCode: d.errorCode };
        },
        statuses: { ready: WebProviderStatus.READY, error: WebProviderStatus.ERROR, stale: WebProviderStatus.STALE },
      },
      client,
    );
  });
});

describe('track() through OpenFeature', () => {
  it('records metric events for the context units, batches them to a collector, and the analysis reads them with the exposure export', async () => {
    // An application's own collector (httpMetricSender({ url })); the service's /v1/metrics is tested in metrics.e2e.test.ts.
    const received: MetricEvent[] = [];
    const collector = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        received.push(...(JSON.parse(body) as { metrics: MetricEvent[] }).metrics);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const collectorUrl = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/metrics`;

    const exposures = new ExposureBatcher({ send: serviceExposureSender({ baseUrl: t.service.url, sdkKey }), flushIntervalMs: 60_000 });
    const metrics = new MetricBatcher({ send: httpMetricSender({ url: collectorUrl }), flushIntervalMs: 60_000, batchSize: 1000 });
    const client = new SortitionClient({ baseUrl: t.service.url, sdkKey, stream: false, sticky: new MemoryStickyAdapter(), clock: () => NOW, exposureSink: exposures, metricSink: metrics });
    await OpenFeature.setProviderAndWait(new SortitionServerProvider(client));
    const of = OpenFeature.getClient();

    // Units that get checkout_v2 see it (exposure through the hook); every unit then "purchases".
    const value = (i: number): number => (i % 4) + 0.5;
    const variants = new Map<string, string>();
    for (let i = 0; i < 60; i++) {
      const unit = `buyer-${i}`;
      const d = await of.getObjectDetails('checkout_v2', { flow: 'none' }, { targetingKey: unit, ...ATTRIBUTES });
      if (d.variant !== undefined) variants.set(unit, d.variant);
      of.track('revenue', { targetingKey: unit }, { value: value(i) });
    }
    // Both unit types named: one event per unit type (the anonymous id is canonicalised to NFC).
    of.track('signup', { targetingKey: 'buyer-0', units: { anonymousId: 'Zoe\u0308' } });
    expect(variants.size).toBeGreaterThan(20);

    await Promise.all([exposures.flush(), metrics.flush()]);
    expect(received).toHaveLength(62);
    expect(received[0]).toEqual({ unitType: 'userId', unit: 'buyer-0', metric: 'revenue', value: 0.5, at: NOW });
    expect(received.slice(60)).toEqual([
      { unitType: 'anonymousId', unit: 'Zo\u00eb', metric: 'signup', value: 1, at: NOW },
      { unitType: 'userId', unit: 'buyer-0', metric: 'signup', value: 1, at: NOW },
    ]);

    // The analysis, on the service's own exposure export and the rows metricEventRow gives.
    const exported = (await t.call('GET', '/v1/export/exposures?experiment=checkout_v2&format=jsonl')).text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const ours = exported.filter((e) => String(e.unit_id).startsWith('buyer-'));
    expect(ours).toHaveLength(variants.size);
    const result = await analyze({ exposures: { rows: ours }, events: { rows: received.map(metricEventRow) }, experiment: 'checkout_v2', metrics: [{ name: 'revenue', kind: 'sum' }] });
    const byArm = new Map<string, { n: number; sum: number }>();
    for (const [unit, variant] of variants) {
      const arm = byArm.get(variant) ?? { n: 0, sum: 0 };
      arm.n++;
      arm.sum += value(Number(unit.slice('buyer-'.length)));
      byArm.set(variant, arm);
    }
    const analysed = new Map<string, { n: number; sum: number }>();
    for (const s of result.metrics.find((r) => r.metric === 'revenue')?.statistics ?? []) {
      const arm = analysed.get(s.arm) ?? { n: 0, sum: 0 };
      analysed.set(s.arm, { n: arm.n + s.n, sum: arm.sum + s.sum });
    }
    expect(analysed.size).toBe(2);
    expect(analysed).toEqual(byArm);
    await new Promise<void>((resolve) => collector.close(() => resolve()));
  });
});
