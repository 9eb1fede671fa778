/**
 * Metric events end to end: the real SDK's track() (the client's default sink, batched to the
 * service's POST /v1/metrics) → the real service (in-process, memory store) → GET /v1/export/metrics
 * → analyze() from @sortition/analysis, which gives the tracked per-arm sums. And the service's
 * graceful shutdown as an SDK sees it: close() ends the config stream, and the client notices.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze } from '@sortition/analysis';
import { MemoryStore } from '@sortition/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../../server/src/test-support/service.js';
import { SortitionClient } from './client.js';
import type { SortitionSdkError } from './errors.js';
import { MetricBatcher } from './metrics.js';
import { MemoryStickyAdapter } from './sticky/memory.js';

const NOW = Date.parse('2026-04-15T00:00:00Z');
const ATTRIBUTES = { country: 'DE', appVersion: '4.3.1' };
let t: TestService;
let sdkKey: string;
let readKey: string;
let scratch: string;

beforeAll(async () => {
  t = await startTestService(new MemoryStore(), { clock: () => NOW });
  sdkKey = ((await t.call('POST', '/v1/keys', { body: { kind: 'sdk', label: 'metrics-e2e' } })).body as { secret: string }).secret;
  readKey = ((await t.call('POST', '/v1/keys', { body: { kind: 'read', label: 'analyst' } })).body as { secret: string }).secret;
  scratch = await mkdtemp(join(tmpdir(), 'sortition-metrics-e2e-'));
});
afterAll(async () => {
  await t?.service.close();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

async function exportTo(path: string, file: string): Promise<string> {
  const r = await t.call('GET', path, { key: readKey });
  expect(r.status).toBe(200);
  const target = join(scratch, file);
  await writeFile(target, r.text);
  return target;
}

describe('track() → POST /v1/metrics → GET /v1/export/metrics → analyze()', () => {
  it('gives the tracked per-arm sums, from the CSV and the JSON Lines export alike', async () => {
    const client = new SortitionClient({ baseUrl: t.service.url, sdkKey, stream: false, sticky: new MemoryStickyAdapter(), clock: () => NOW });
    await client.ready();
    expect(client.metricSink).toBeInstanceOf(MetricBatcher);

    // 300 users; those checkout_v2 serves are exposed (default exposure batcher) and buy, some twice
    // (two identical events are two purchases); everybody also tracks a page view.
    const expected = new Map<string, { n: number; sum: number }>();
    let tracked = 0;
    for (let i = 0; i < 300; i++) {
      const unit = `buyer-${i}`;
      const { variant } = client.get('checkout_v2', unit, null as unknown, { attributes: ATTRIBUTES });
      tracked += client.track('page_view', { userId: unit }, 1, NOW + 1000);
      if (variant === null) continue;
      const value = (i % 7) - 1.5; // refunds (negative) included
      const times = i % 5 === 0 ? 2 : 1;
      for (let k = 0; k < times; k++) tracked += client.track('revenue', { userId: unit }, value, NOW + 60_000);
      const arm = expected.get(variant) ?? { n: 0, sum: 0 };
      expected.set(variant, { n: arm.n + 1, sum: arm.sum + times * value });
    }
    expect(expected.size).toBe(2);
    await client.close(); // flushes exposures and metric events
    expect((client.metricSink as MetricBatcher).sent).toBe(tracked);

    const exposures = await exportTo('/v1/export/exposures?experiment=checkout_v2&format=jsonl', 'exposures.jsonl');
    for (const format of ['csv', 'jsonl'] as const) {
      const events = await exportTo(`/v1/export/metrics?format=${format}`, `events.${format}`);
      const result = await analyze({ exposures: { path: exposures }, events: { path: events }, experiment: 'checkout_v2', metrics: [{ name: 'revenue', kind: 'sum' }] });
      expect(result.inputs.events.rows).toBe(tracked);
      const analysed = new Map<string, { n: number; sum: number }>();
      for (const s of result.metrics.find((m) => m.metric === 'revenue')?.statistics ?? []) {
        const arm = analysed.get(s.arm) ?? { n: 0, sum: 0 };
        analysed.set(s.arm, { n: arm.n + s.n, sum: arm.sum + s.sum });
      }
      expect(analysed, format).toEqual(expected);
    }
  });
});

describe('the service closing while an SDK holds the config stream', () => {
  it('close() resolves, and the client sees the stream end and reports it', { timeout: 15_000 }, async () => {
    const local = await startTestService(new MemoryStore(), { clock: () => NOW });
    const key = ((await local.call('POST', '/v1/keys', { body: { kind: 'sdk', label: 'stream' } })).body as { secret: string }).secret;
    let connected!: () => void;
    const streamOpen = new Promise<void>((resolve) => (connected = resolve));
    // The client's own fetch, noting when the stream's response (its headers) has arrived.
    const watched: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (String(input).endsWith('/v1/sdk/stream') && response.ok) connected();
      return response;
    };
    const client = new SortitionClient({ baseUrl: local.service.url, sdkKey: key, fetch: watched, sticky: new MemoryStickyAdapter(), clock: () => NOW, exposureSink: null, metricSink: null });
    const streamEnded = new Promise<SortitionSdkError>((resolve) => {
      client.on('error', ({ error }) => {
        if (error?.code === 'STREAM_FAILED') resolve(error);
      });
    });
    await Promise.all([client.ready(), streamOpen]);

    await local.service.close();
    const error = await streamEnded;
    expect(error.message).toMatch(/the config stream ended; reconnecting/);
    expect(client.status).toBe('error'); // still evaluating with the loaded config
    expect(client.get('checkout_v2', 'after-close', null as unknown, { attributes: ATTRIBUTES }).reason).not.toBe('ERROR');
    await client.close();
  });
});
