import { describe, expect, it } from 'vitest';
import { MetricBatcher, httpMetricSender, type MetricEvent } from './metrics.js';
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
