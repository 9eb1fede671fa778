import { describe, expect, it } from 'vitest';
import { SortitionClient } from './client.js';
import type { ExposureSink } from './exposures.js';
import { metricEventRow, type MetricEvent } from './metrics.js';
import { MemoryStickyAdapter } from './sticky/memory.js';
import { NOW, testConfig } from './test-support/configs.js';
import { ManualScheduler, header, scriptedFetch, settle } from './test-support/fakes.js';
import type { ExposureEvent } from '@sortition/core';

function collectingSink(): ExposureSink & { events: ExposureEvent[] } {
  const events: ExposureEvent[] = [];
  return { events, track: (e) => void events.push(e) };
}

function offline(sticky = new MemoryStickyAdapter(), sink = collectingSink()) {
  return new SortitionClient({ payload: { version: 1, config: testConfig() }, sticky, clock: () => NOW, exposureSink: sink });
}

function json(body: unknown, init: ResponseInit = {}): Response {
  return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) }, ...(init.status === undefined ? {} : { status: init.status }) });
}

describe('SortitionClient offline (bootstrap payload)', () => {
  it('is ready at once and evaluates synchronously with typed values', async () => {
    const c = offline();
    await c.ready();
    const r = c.get('button', 'u1', 'gray', { attributes: { country: 'DE' } });
    expect(['blue', 'green']).toContain(r.value);
    expect(r.reason).toBe('ASSIGNED');
    expect(r.errorCode).toBeUndefined();
    const layout = c.get('layout', { anonymousId: 'a1' }, { columns: 0 });
    expect(layout.value.columns).toBeGreaterThan(0);
  });

  it('never throws: defaults with a reason and an error code', () => {
    const c = offline();
    expect(c.get('nope', 'u1', 'd')).toMatchObject({ value: 'd', reason: 'ERROR', errorCode: 'EXPERIMENT_NOT_FOUND' });
    expect(c.get('button', { anonymousId: 'a' }, 'd')).toMatchObject({ value: 'd', reason: 'ERROR', errorCode: 'UNIT_MISSING' });
    expect(c.get('button', '', 'd')).toMatchObject({ value: 'd', reason: 'ERROR' });
    expect(c.get('button', '', 'd').errorCode).toMatch(/^UNIT_ID_/);
    expect(c.get('button', 'u1', 42, { attributes: { country: 'DE' } })).toMatchObject({ value: 42, reason: 'ERROR', errorCode: 'TYPE_MISMATCH' });
    expect(c.get('button', 'u9', 'd', { attributes: { country: 'US' } })).toMatchObject({ value: 'd', variant: null, reason: 'TARGETING_EXCLUDED' });
    expect(c.get('later', 'a', 'd')).toMatchObject({ value: 'd', reason: 'NOT_STARTED' });
    const throwing = new SortitionClient({ payload: { version: 1, config: testConfig() }, sticky: { get: () => { throw new Error('boom'); }, set: () => { throw new Error('boom'); } }, clock: () => NOW, exposureSink: null });
    expect(throwing.get('button', 'u1', 'd', { attributes: { country: 'DE' } }).errorCode).toBeUndefined();
  });

  it('answers SERVER_ONLY for experiments the payload reserves for the service (committed layers), and writes nothing', () => {
    const sticky = new MemoryStickyAdapter();
    const sink = collectingSink();
    const c = new SortitionClient({ payload: { version: 1, config: testConfig(), serverOnly: { experiments: ['button'] } }, sticky, clock: () => NOW, exposureSink: sink });
    expect(c.get('button', 'u1', 'd', { attributes: { country: 'DE' } })).toMatchObject({ value: 'd', variant: null, reason: 'ERROR', errorCode: 'SERVER_ONLY' });
    expect(sticky.get('userId', 'u1', 'button')).toBeNull();
    expect(sink.events).toEqual([]);
    // Other experiments of the same payload evaluate locally as before.
    expect(c.get('layout', { anonymousId: 'a1' }, { columns: 0 }).reason).toBe('ASSIGNED');
  });

  it('reports NOT_READY before any config', () => {
    const c = new SortitionClient({ sticky: new MemoryStickyAdapter(), exposureSink: null });
    expect(c.get('button', 'u1', 'd')).toMatchObject({ value: 'd', reason: 'ERROR', errorCode: 'NOT_READY' });
  });

  it('a string default gets the variant key when the variant has no value', () => {
    const c = new SortitionClient({ payload: { version: 1, config: { ...testConfig(), experiments: [{ ...(testConfig().experiments as Record<string, unknown>[])[2], key: 'now', phases: [{ id: 'main', startsAt: '2026-01-01T00:00:00Z', allocation: { a: [[0, 5000]], b: [[5000, 10000]] } }] }] } }, sticky: new MemoryStickyAdapter(), clock: () => NOW, exposureSink: null });
    expect(['a', 'b']).toContain(c.get('now', 'x', 'none').value);
  });

  it('the stored record, not a re-evaluation, decides a returning unit', () => {
    const sticky = new MemoryStickyAdapter();
    const c = offline(sticky);
    const first = c.get('button', 'u1', 'gray', { attributes: { country: 'DE' } });
    const stored = sticky.get('userId', 'u1', 'button');
    expect(stored).toMatchObject({ experiment: 'button', variant: first.variant, phase: 'main', assignedAt: NOW });
    const other = first.variant === 'control' ? 'treatment' : 'control';
    sticky.set('userId', 'u1', { ...stored!, variant: other });
    const again = c.get('button', 'u1', 'gray', { attributes: { country: 'US' } });
    expect(again).toMatchObject({ variant: other, reason: 'STICKY', value: other === 'control' ? 'blue' : 'green' });
  });

  it('hands exposures to the sink unless expose is false', () => {
    const sink = collectingSink();
    const c = offline(new MemoryStickyAdapter(), sink);
    c.get('layout', { anonymousId: 'a1' }, { columns: 0 });
    c.get('layout', { anonymousId: 'a1' }, { columns: 0 });
    c.get('layout', { anonymousId: 'a2' }, { columns: 0 }, { expose: false });
    expect(sink.events.map((e) => [e.unit, e.first])).toEqual([
      ['a1', true],
      ['a1', false],
    ]);
  });
});

describe('identity rule: records never move between ids', () => {
  it('after login, device-bucketed experiments keep the anonymous id; user-bucketed ones use the user id', () => {
    const sticky = new MemoryStickyAdapter();
    const c = offline(sticky);
    const anon = { anonymousId: 'anon-1' };
    const beforeLayout = c.get('layout', anon, { columns: 0 });
    // Logged out, a user-bucketed experiment cannot be evaluated: no user id.
    expect(c.get('button', anon, 'gray', { attributes: { country: 'DE' } }).errorCode).toBe('UNIT_MISSING');
    // Log in: pass both ids.
    const both = { anonymousId: 'anon-1', userId: 'user-42' };
    const afterLayout = c.get('layout', both, { columns: 0 });
    expect(afterLayout.variant).toBe(beforeLayout.variant);
    expect(afterLayout.reason).toBe('STICKY');
    const button = c.get('button', both, 'gray', { attributes: { country: 'DE' } });
    expect(button.reason).toBe('ASSIGNED');
    expect(sticky.get('userId', 'user-42', 'button')?.variant).toBe(button.variant);
    // Nothing was copied between ids.
    expect(sticky.get('userId', 'user-42', 'layout')).toBeNull();
    expect(sticky.get('anonymousId', 'anon-1', 'button')).toBeNull();
  });

  it("a user's record from another device wins over anything the new device did", () => {
    const sticky = new MemoryStickyAdapter();
    const c = offline(sticky);
    const first = c.get('button', 'user-7', 'gray', { attributes: { country: 'DE' } });
    const other = first.variant === 'control' ? 'treatment' : 'control';
    sticky.set('userId', 'user-7', { ...sticky.get('userId', 'user-7', 'button')!, variant: other });
    // New device, new anonymous id, same user: the user's record decides.
    expect(c.get('button', { anonymousId: 'new-device', userId: 'user-7' }, 'gray', { attributes: { country: 'DE' } }).variant).toBe(other);
  });
});

describe('SortitionClient loading from the service', () => {
  it('loads, revalidates with If-None-Match, keeps the config on 304, and emits config on change', async () => {
    const scheduler = new ManualScheduler();
    let version = 1;
    const f = scriptedFetch((url, init) => {
      if (url.endsWith('/v1/sdk/payload')) {
        const etag = `"v${version}"`;
        if (header(init, 'if-none-match') === etag) return new Response(null, { status: 304, headers: { etag } });
        return json({ version, hash: `h${version}`, config: testConfig(version) }, { headers: { etag } });
      }
      return new Response('no', { status: 404 });
    });
    const c = new SortitionClient({ baseUrl: 'http://svc/', sdkKey: 'sk_sdk_x', fetch: f, sticky: new MemoryStickyAdapter(), scheduler, clock: () => NOW, stream: false, exposureSink: null });
    const versions: (number | null)[] = [];
    c.on('config', ({ version: v }) => versions.push(v));
    await c.ready();
    expect(c.version).toBe(1);
    expect(header(f.calls[0]!.init, 'authorization')).toBe('Bearer sk_sdk_x');
    expect(f.calls[0]!.url).toBe('http://svc/v1/sdk/payload');
    await c.reload();
    expect(header(f.calls[1]!.init, 'if-none-match')).toBe('"v1"');
    expect(versions).toEqual([]);
    version = 2;
    await c.reload();
    expect(c.version).toBe(2);
    expect(versions).toEqual([2]);
    await c.close();
  });

  it('retries failed loads with exponential backoff and jitter, on the injected scheduler', async () => {
    const scheduler = new ManualScheduler();
    const f = scriptedFetch((_url, _init, n) => {
      if (n <= 4) return n % 2 === 0 ? new Response('down', { status: 503 }) : Promise.reject(new TypeError('fetch failed'));
      return json({ version: 1, config: testConfig() }, { headers: { etag: '"v1"' } });
    });
    const errors: string[] = [];
    const c = new SortitionClient({ baseUrl: 'http://svc', fetch: f, sticky: new MemoryStickyAdapter(), scheduler, random: () => 0.5, backoff: { baseMs: 100, maxMs: 250 }, stream: false, exposureSink: null, onError: (e) => errors.push(e.code) });
    let ready = false;
    void c.ready().then(() => (ready = true));
    await settle();
    expect(ready).toBe(false);
    await scheduler.advance(10_000);
    expect(ready).toBe(true);
    expect(f.calls).toHaveLength(5);
    // cap = min(250, 100 * 2^n); delay = cap/2 + cap/2 * 0.5
    expect(scheduler.delays).toEqual([75, 150, 188, 188]);
    expect(errors).toEqual(['PAYLOAD_LOAD_FAILED', 'PAYLOAD_LOAD_FAILED', 'PAYLOAD_LOAD_FAILED', 'PAYLOAD_LOAD_FAILED']);
    await c.close();
  });

  it('ready(timeout) rejects with NOT_READY while loading keeps failing', async () => {
    const scheduler = new ManualScheduler();
    const f = scriptedFetch(() => new Response('down', { status: 503 }));
    const c = new SortitionClient({ baseUrl: 'http://svc', fetch: f, sticky: new MemoryStickyAdapter(), scheduler, stream: false, exposureSink: null });
    const p = c.ready(1000);
    const outcome = p.then(() => 'resolved', (e: { code: string }) => e.code);
    await scheduler.advance(1000);
    expect(await outcome).toBe('NOT_READY');
    await c.close();
  });

  it('ready(timeout) clears its timer when the config arrives first, or when close() comes first', async () => {
    const scheduler = new ManualScheduler();
    const answers: ((r: Response) => void)[] = [];
    const f = scriptedFetch(() => new Promise<Response>((resolve) => answers.push(resolve)));
    const make = () => new SortitionClient({ baseUrl: 'http://svc', fetch: f, sticky: new MemoryStickyAdapter(), scheduler, stream: false, exposureSink: null, metricSink: null });
    const c = make();
    const p = c.ready(1000);
    expect(scheduler.pending).toBe(1);
    answers[0]!(json({ version: 1, config: testConfig() }, { headers: { etag: '"v1"' } }));
    await p;
    expect(scheduler.pending).toBe(0);
    await c.ready(1000);
    expect(scheduler.pending).toBe(0);
    await c.close();

    const d = make();
    const outcome = d.ready(1000).then(() => 'resolved', (e: { code: string }) => e.code);
    expect(scheduler.pending).toBe(1);
    await d.close();
    expect(await outcome).toBe('CLOSED');
    expect(scheduler.pending).toBe(0);
  });

  it('a payload in flight when close() is called is not installed, and no listener hears of it', async () => {
    const scheduler = new ManualScheduler();
    const answers: ((r: Response) => void)[] = [];
    const f = scriptedFetch(() => new Promise<Response>((resolve) => answers.push(resolve)));
    const events: string[] = [];
    const listen = (c: SortitionClient): SortitionClient => {
      for (const event of ['ready', 'config', 'error', 'status'] as const) c.on(event, () => events.push(event));
      return c;
    };
    // No config yet: the late payload would have been the first.
    const fresh = listen(new SortitionClient({ baseUrl: 'http://svc', fetch: f, sticky: new MemoryStickyAdapter(), scheduler, stream: false, exposureSink: null, metricSink: null }));
    const outcome = fresh.ready().then(() => 'resolved', (e: { code: string }) => e.code);
    await fresh.close();
    answers[0]!(json({ version: 1, config: testConfig() }, { headers: { etag: '"v1"' } }));
    await settle();
    expect(await outcome).toBe('CLOSED');
    expect([fresh.version, fresh.isReady, fresh.status]).toEqual([null, false, 'loading']);
    expect(fresh.get('button', 'u1', 'd').errorCode).toBe('NOT_READY');
    // A bootstrap config: the late payload would have replaced it.
    const booted = listen(new SortitionClient({ payload: { version: 1, config: testConfig(), etag: '"v1"' }, baseUrl: 'http://svc', fetch: f, sticky: new MemoryStickyAdapter(), scheduler, stream: false, exposureSink: null, metricSink: null }));
    await booted.close();
    answers[1]!(json({ version: 2, config: testConfig(2) }, { headers: { etag: '"v2"' } }));
    await settle();
    expect([booted.version, booted.status]).toEqual([1, 'ready']);
    expect(events).toEqual([]);
    expect(scheduler.pending).toBe(0);
  });

  it('keeps the bootstrap config when the service sends an invalid payload', async () => {
    const scheduler = new ManualScheduler();
    const f = scriptedFetch(() => json({ version: 9, config: { nope: true } }));
    const errors: string[] = [];
    const c = new SortitionClient({ payload: { version: 1, config: testConfig() }, baseUrl: 'http://svc', fetch: f, sticky: new MemoryStickyAdapter(), scheduler, stream: false, exposureSink: null, onError: (e) => errors.push(e.code) });
    await settle();
    expect(c.version).toBe(1);
    expect(errors).toContain('PAYLOAD_INVALID');
    await c.close();
  });

  it('reloads when the stream announces a new ETag, and reconnects with backoff when it drops', async () => {
    const scheduler = new ManualScheduler();
    let version = 1;
    const streams: ReadableStreamDefaultController<Uint8Array>[] = [];
    const enc = new TextEncoder();
    const f = scriptedFetch((url) => {
      if (url.endsWith('/v1/sdk/payload')) return json({ version, config: testConfig(version) }, { headers: { etag: `"v${version}"` } });
      const body = new ReadableStream<Uint8Array>({ start: (controller) => void streams.push(controller) });
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    });
    const c = new SortitionClient({ baseUrl: 'http://svc', fetch: f, sticky: new MemoryStickyAdapter(), scheduler, random: () => 0, exposureSink: null });
    await c.ready();
    await settle();
    const payloadCalls = (): number => f.calls.filter((x) => x.url.endsWith('/payload')).length;
    expect(streams).toHaveLength(1);
    // The initial event names the current ETag: no reload.
    streams[0]!.enqueue(enc.encode('id: 1\nevent: config\ndata: {"version":1,"etag":"\\"v1\\""}\n\n'));
    await settle();
    expect(payloadCalls()).toBe(1);
    version = 2;
    // Split across chunks on purpose.
    streams[0]!.enqueue(enc.encode('id: 2\nevent: con'));
    streams[0]!.enqueue(enc.encode('fig\ndata: {"version":2,"etag":"\\"v2\\""}\n\n'));
    await settle();
    expect(payloadCalls()).toBe(2);
    expect(c.version).toBe(2);
    streams[0]!.close();
    await settle();
    expect(streams).toHaveLength(1);
    await scheduler.advance(250);
    expect(streams).toHaveLength(2);
    await c.close();
  });
});

describe('SortitionClient status (how current the config is)', () => {
  function streamingService() {
    let version = 1;
    let payloadDown = false;
    const streams: ReadableStreamDefaultController<Uint8Array>[] = [];
    const enc = new TextEncoder();
    const f = scriptedFetch((url) => {
      if (url.endsWith('/v1/sdk/payload')) {
        if (payloadDown) return new Response('down', { status: 503 });
        return json({ version, config: testConfig(version) }, { headers: { etag: `"v${version}"` } });
      }
      const body = new ReadableStream<Uint8Array>({ start: (controller) => void streams.push(controller) });
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    });
    return {
      f,
      streams,
      announce: (i: number) => streams[i]!.enqueue(enc.encode(`event: config\ndata: {"version":${version},"etag":"\\"v${version}\\""}\n\n`)),
      publish: () => void version++,
      setPayloadDown: (down: boolean) => void (payloadDown = down),
    };
  }

  it('is error while the stream is down, stale after staleAfterMs, and ready once a stream names the config in use', async () => {
    const scheduler = new ManualScheduler();
    const svc = streamingService();
    const c = new SortitionClient({ baseUrl: 'http://svc', fetch: svc.f, sticky: new MemoryStickyAdapter(), scheduler, random: () => 0, backoff: { baseMs: 1000, maxMs: 1000 }, staleAfterMs: 5000, exposureSink: null });
    const seen: string[] = [];
    c.on('status', ({ status, previous, error }) => seen.push(`${previous}->${status}${error === undefined ? '' : ` (${error.code})`}`));
    expect(c.status).toBe('loading');
    await c.ready();
    await settle();
    expect(c.status).toBe('ready');
    svc.announce(0);
    svc.streams[0]!.error(new TypeError('terminated'));
    await settle();
    expect(c.status).toBe('error');
    // Reconnection attempts keep failing (the stream closes at once) for longer than staleAfterMs.
    for (let i = 1; i <= 5; i++) {
      await scheduler.advance(1000);
      svc.streams[i]?.close();
      await settle();
      expect(c.status).toBe(i < 5 ? 'error' : 'stale');
    }
    // Evaluation goes on with the loaded config.
    expect(c.get('layout', { anonymousId: 'a1' }, { columns: 0 }).errorCode).toBeUndefined();
    await scheduler.advance(1000);
    expect(svc.streams).toHaveLength(7);
    expect(c.status).toBe('stale');
    svc.announce(6);
    await settle();
    expect(c.status).toBe('ready');
    expect(seen).toEqual(['loading->ready', 'ready->error (STREAM_FAILED)', 'error->stale (STREAM_FAILED)', 'stale->ready']);
    await c.close();
  });

  it('is stale when the stream announces a config the payload endpoint cannot deliver; recovers with status before config', async () => {
    const scheduler = new ManualScheduler();
    const svc = streamingService();
    const c = new SortitionClient({ baseUrl: 'http://svc', fetch: svc.f, sticky: new MemoryStickyAdapter(), scheduler, random: () => 0, backoff: { baseMs: 100, maxMs: 100 }, exposureSink: null });
    const events: string[] = [];
    c.on('status', ({ status }) => events.push(`status:${status}`));
    c.on('config', ({ version }) => events.push(`config:${version}`));
    await c.ready();
    await settle();
    svc.announce(0);
    await settle();
    expect(svc.f.calls.filter((x) => x.url.endsWith('/payload'))).toHaveLength(1);
    svc.setPayloadDown(true);
    svc.publish();
    svc.announce(0);
    await settle();
    expect(c.status).toBe('stale');
    expect(c.version).toBe(1);
    await scheduler.advance(100);
    expect(c.status).toBe('stale');
    svc.setPayloadDown(false);
    await scheduler.advance(100);
    expect(c.status).toBe('ready');
    expect(c.version).toBe(2);
    expect(events).toEqual(['status:ready', 'status:stale', 'status:ready', 'config:2']);
    await c.close();
  });

  it('a fetch that throws at once is a failed load: the status is error as soon as the constructor returns', () => {
    const errors: string[] = [];
    const f: typeof fetch = () => {
      throw new TypeError('no network');
    };
    const c = new SortitionClient({ payload: { version: 1, config: testConfig() }, baseUrl: 'http://svc', fetch: f, stream: false, sticky: new MemoryStickyAdapter(), scheduler: new ManualScheduler(), exposureSink: null, onError: (e) => errors.push(e.code) });
    expect(errors).toEqual(['PAYLOAD_LOAD_FAILED']);
    expect(c.status).toBe('error');
    expect(c.version).toBe(1);
  });

  it('a failed payload request without an announcement is an error, not staleness', async () => {
    const scheduler = new ManualScheduler();
    const f = scriptedFetch((_url, _init, n) => (n === 2 ? new Response('down', { status: 503 }) : json({ version: 1, config: testConfig() }, { headers: { etag: '"v1"' } })));
    const c = new SortitionClient({ baseUrl: 'http://svc', fetch: f, stream: false, sticky: new MemoryStickyAdapter(), scheduler, random: () => 0, backoff: { baseMs: 100 }, exposureSink: null });
    await c.ready();
    await settle();
    await c.reload();
    expect(c.status).toBe('error');
    await scheduler.advance(100);
    expect(c.status).toBe('ready');
    await c.close();
  });
});

describe('SortitionClient.track (metric events)', () => {
  it('hands one event per unit to the metric sink, with canonical ids, the clock and value 1 by default', () => {
    const events: MetricEvent[] = [];
    const c = new SortitionClient({ payload: { version: 1, config: testConfig() }, sticky: new MemoryStickyAdapter(), clock: () => NOW, exposureSink: null, metricSink: { track: (e) => void events.push(e) } });
    expect(c.track('purchase', { userId: 'u1', anonymousId: 'Zoe\u0308' })).toBe(2);
    expect(c.track('revenue', { userId: 'u1' }, 12.5, NOW + 1)).toBe(1);
    expect(events).toEqual([
      { unitType: 'userId', unit: 'u1', metric: 'purchase', value: 1, at: NOW },
      { unitType: 'anonymousId', unit: 'Zo\u00eb', metric: 'purchase', value: 1, at: NOW },
      { unitType: 'userId', unit: 'u1', metric: 'revenue', value: 12.5, at: NOW + 1 },
    ]);
    expect(metricEventRow(events[2]!)).toEqual({ unit_id: 'u1', timestamp: NOW + 1, metric: 'revenue', value: 12.5, unit_type: 'userId' });
  });

  it('reports bad input and a missing sink instead of throwing', () => {
    const errors: string[] = [];
    const events: MetricEvent[] = [];
    const c = new SortitionClient({ payload: { version: 1, config: testConfig() }, sticky: new MemoryStickyAdapter(), clock: () => NOW, exposureSink: null, metricSink: { track: (e) => void events.push(e) }, onError: (e) => errors.push(e.code) });
    expect(c.track('', { userId: 'u1' })).toBe(0);
    expect(c.track('m', { userId: 'u1' }, Number.NaN)).toBe(0);
    expect(c.track('m', {})).toBe(0);
    expect(c.track('m', { userId: '', anonymousId: 'a1' })).toBe(1);
    expect(errors).toEqual(['METRIC_INVALID', 'METRIC_INVALID', 'METRIC_INVALID', 'METRIC_INVALID']);
    expect(events.map((e) => e.unit)).toEqual(['a1']);

    const dropped: string[] = [];
    const without = new SortitionClient({ payload: { version: 1, config: testConfig() }, sticky: new MemoryStickyAdapter(), exposureSink: null, onError: (e) => dropped.push(e.code) });
    expect(without.track('m', { userId: 'u1' })).toBe(0);
    expect(without.track('m', { userId: 'u2' })).toBe(0);
    expect(dropped).toEqual(['METRIC_DROPPED']);
  });
});
