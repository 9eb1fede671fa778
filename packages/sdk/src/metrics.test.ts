import { describe, expect, it } from 'vitest';
import { SortitionClient } from './client.js';
import { MetricBatcher, httpMetricSender, isValidMetricEvent, serviceMetricSender, type MetricEvent } from './metrics.js';
import { MemoryStickyAdapter } from './sticky/memory.js';
import { testConfig } from './test-support/configs.js';
import { ManualScheduler, header, scriptedFetch } from './test-support/fakes.js';

const event = (unit: string, value = 1): MetricEvent => ({ unitType: 'userId', unit, metric: 'purchase', value, at: 1000 });

describe('MetricBatcher with httpMetricSender', () => {
  it('sends every event (no de-duplication) as {"metrics": [...]} to the configured URL with its headers', async () => {
    const bodies: unknown[] = [];
    const f = scriptedFetch((_url, init) => {
      bodies.push(JSON.parse(String(init?.body)));
      return new Response(null, { status: 202 });
    });
    const b = new MetricBatcher({ send: httpMetricSender({ url: 'https://collector.example/m', headers: { 'x-api-key': 'k' }, fetch: f }), scheduler: new ManualScheduler(), batchSize: 2 });
    expect(b.track(event('u1'))).toBe(true);
    expect(b.track(event('u1'))).toBe(true);
    b.track(event('u2', 9.5));
    await b.close();
    expect(f.calls.map((c) => [c.url, c.init?.method, header(c.init, 'x-api-key'), header(c.init, 'content-type')])).toEqual([
      ['https://collector.example/m', 'POST', 'k', 'application/json'],
      ['https://collector.example/m', 'POST', 'k', 'application/json'],
    ]);
    expect(bodies).toEqual([{ metrics: [event('u1'), event('u1')] }, { metrics: [event('u2', 9.5)] }]);
    expect(b.sent).toBe(3);
    expect(b.track(event('u3'))).toBe(false);
  });

  it('retries 5xx with backoff and drops batches refused with a 4xx, reporting METRIC_* codes', async () => {
    const scheduler = new ManualScheduler();
    const statuses = [503, 200, 422];
    const f = scriptedFetch(() => new Response('x', { status: statuses.shift() ?? 200 }));
    const errors: string[] = [];
    const b = new MetricBatcher({ send: httpMetricSender({ url: 'https://collector.example/m', fetch: f }), scheduler, random: () => 0, backoff: { baseMs: 100 }, flushIntervalMs: 10, onError: (e) => errors.push(e.code) });
    b.track(event('u1'));
    await scheduler.advance(10);
    expect(errors).toEqual(['METRIC_SEND_FAILED']);
    await scheduler.advance(50);
    expect(b.sent).toBe(1);
    b.track(event('u2'));
    await scheduler.advance(10);
    expect(b.rejected).toBe(1);
    expect(b.pending).toBe(0);
    expect(errors).toEqual(['METRIC_SEND_FAILED', 'METRIC_REJECTED']);
  });
});

describe('metric events to the service', () => {
  it('serviceMetricSender posts to /v1/metrics with the SDK key and an id per event that a retry keeps', async () => {
    const scheduler = new ManualScheduler();
    const bodies: { metrics: (MetricEvent & { id: string })[] }[] = [];
    const statuses = [503, 202, 202];
    const f = scriptedFetch((_url, init) => {
      bodies.push(JSON.parse(String(init?.body)) as { metrics: (MetricEvent & { id: string })[] });
      return new Response(null, { status: statuses.shift() ?? 202 });
    });
    const b = new MetricBatcher({ send: serviceMetricSender({ baseUrl: 'https://sortition.example/', sdkKey: 'sk_sdk_x', fetch: f }), scheduler, random: () => 0, backoff: { baseMs: 100 }, flushIntervalMs: 10 });
    b.track(event('u1'));
    b.track(event('u1'));
    await scheduler.advance(10);
    await scheduler.advance(100);
    b.track(event('u2'));
    await b.close();
    expect(f.calls.map((c) => [c.url, header(c.init, 'authorization')])).toEqual(Array(3).fill(['https://sortition.example/v1/metrics', 'Bearer sk_sdk_x']));
    const [failed, retried, later] = bodies.map((body) => body.metrics);
    // Two identical events are two events (two ids); the retry resends the same ids.
    expect(failed!.map((e) => e.id)).toEqual(retried!.map((e) => e.id));
    expect(new Set([...retried!, ...later!].map((e) => e.id)).size).toBe(3);
    for (const e of [...retried!, ...later!]) expect(e.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(retried!.map(({ id: _id, ...e }) => e)).toEqual([event('u1'), event('u1')]);
    // httpMetricSender({ baseUrl }) is the same sender.
    const g = scriptedFetch(() => new Response(null, { status: 202 }));
    await httpMetricSender({ baseUrl: 'https://sortition.example', sdkKey: 'k', fetch: g })([event('u3')], { keepalive: false });
    expect(g.calls[0]!.url).toBe('https://sortition.example/v1/metrics');
  });

  it('the batcher refuses events the service would refuse, so they never cost a batch', () => {
    const errors: string[] = [];
    const b = new MetricBatcher({ send: async () => {}, scheduler: new ManualScheduler(), onError: (e) => errors.push(`${e.code}: ${e.message}`) });
    expect(b.track({ ...event('u1'), metric: 'add to cart' })).toBe(false);
    expect(b.track({ ...event('u1'), metric: 'x'.repeat(129) })).toBe(false);
    expect(b.track({ ...event('u1'), metric: '-neg' })).toBe(false);
    expect(b.track({ ...event('u1'), at: -1 })).toBe(false);
    expect(b.track({ ...event('u1'), at: Number.NaN })).toBe(false);
    expect(b.track({ ...event('u1'), at: 253_402_300_800_000 })).toBe(false);
    expect(b.track({ ...event('u1'), value: Number.POSITIVE_INFINITY })).toBe(false);
    expect(b.track({ ...event('u1'), metric: 'checkout:completed/v2' })).toBe(true);
    expect(b.track({ ...event('u1'), metric: 'x'.repeat(128), at: 253_402_300_799_999 })).toBe(true);
    expect(b.pending).toBe(2);
    expect(errors).toHaveLength(7);
    expect(errors[0]).toMatch(/^METRIC_INVALID: metric event not sent \(see isValidMetricEvent\): \{.*"metric":"add to cart"/);
    expect(isValidMetricEvent(event('u1'))).toBe(true);
  });

  it('a client with a baseUrl sends track() to the service by default; metricSink: null opts out', async () => {
    const scheduler = new ManualScheduler();
    const f = scriptedFetch((url) => (url.endsWith('/v1/metrics') ? new Response(null, { status: 202 }) : new Response('down', { status: 503 })));
    const options = { payload: { version: 1, config: testConfig() }, baseUrl: 'https://sortition.example', sdkKey: 'sk_sdk_y', fetch: f, stream: false, sticky: new MemoryStickyAdapter(), scheduler, clock: () => 5000 } as const;
    const client = new SortitionClient(options);
    expect(client.metricSink).toBeInstanceOf(MetricBatcher);
    expect(client.track('revenue', { userId: 'u1' }, 2.5)).toBe(1);
    await client.close();
    const posted = f.calls.filter((c) => c.url === 'https://sortition.example/v1/metrics');
    expect(posted).toHaveLength(1);
    expect(header(posted[0]!.init, 'authorization')).toBe('Bearer sk_sdk_y');
    expect((JSON.parse(String(posted[0]!.init?.body)) as { metrics: MetricEvent[] }).metrics).toEqual([expect.objectContaining({ unitType: 'userId', unit: 'u1', metric: 'revenue', value: 2.5, at: 5000 })]);

    const errors: string[] = [];
    const off = new SortitionClient({ ...options, metricSink: null, onError: (e) => errors.push(e.code) });
    expect(off.metricSink).toBeNull();
    expect(off.track('revenue', { userId: 'u1' })).toBe(0);
    expect(errors).toContain('METRIC_DROPPED');
    await off.close();
    // Without a service there is no default.
    expect(new SortitionClient({ payload: options.payload, sticky: new MemoryStickyAdapter() }).metricSink).toBeNull();
  });
});
