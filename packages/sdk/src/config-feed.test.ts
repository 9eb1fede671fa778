/**
 * The config feed on its own, against a recording host: what the client tests (client.test.ts) do not
 * reach through the client. Fake timers and a scripted fetch; nothing sleeps.
 */
import { describe, expect, it } from 'vitest';
import { startConfigFeed, type ConfigFeedHost, type ConfigFeedOptions } from './config-feed.js';
import { SortitionSdkError } from './errors.js';
import { ManualScheduler, header, scriptedFetch, settle } from './test-support/fakes.js';

type Current = ReturnType<ConfigFeedHost['current']>;

/** A host that keeps { version, etag } of what it installs and logs every call as text. */
function recordingHost(initial: Current = null): ConfigFeedHost & { readonly log: string[] } {
  let current = initial;
  const log: string[] = [];
  return {
    log,
    current: () => current,
    install(body, etag) {
      const version = (body as { version?: unknown }).version;
      if (typeof version !== 'number') return new SortitionSdkError('PAYLOAD_INVALID', 'no version');
      const changed = current !== null && current.version !== version;
      current = { version, etag };
      log.push(`install ${version}`);
      return changed ? 'changed' : null;
    },
    report: (error) => void log.push(`report ${error.code}`),
    health: ({ status, error }, configChanged) => void log.push(`health ${status}${error === null ? '' : ` ${error.code}`}${configChanged ? ' +changed' : ''}`),
  };
}

function payload(version: number): Response {
  return new Response(JSON.stringify({ version }), { headers: { etag: `"v${version}"` } });
}

/** A fetch whose payload answers come from `payloadAnswer` and whose streams stay open until aborted. */
function service(payloadAnswer: (n: number) => Response | Promise<Response>) {
  const streams: ReadableStreamDefaultController<Uint8Array>[] = [];
  let payloads = 0;
  const f = scriptedFetch((url, init) => {
    if (url.endsWith('/v1/sdk/payload')) return payloadAnswer(++payloads);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        streams.push(controller);
        init?.signal?.addEventListener('abort', () => controller.error(new DOMException('aborted', 'AbortError')));
      },
    });
    return new Response(body);
  });
  const enc = new TextEncoder();
  return {
    f,
    streams,
    send: (text: string) => streams.at(-1)!.enqueue(enc.encode(text)),
    payloadCalls: () => f.calls.filter((c) => c.url.endsWith('/v1/sdk/payload')).length,
  };
}

function options(f: typeof fetch, scheduler: ManualScheduler, extra: Partial<ConfigFeedOptions> = {}): ConfigFeedOptions {
  return { baseUrl: 'http://svc', fetch: f, scheduler, random: () => 0, backoff: { baseMs: 100, maxMs: 100 }, ...extra };
}

/** A feed started on service(payloadAnswer), a recording host and a manual scheduler. */
function started(payloadAnswer: (n: number) => Response | Promise<Response>, extra: Partial<ConfigFeedOptions> = {}) {
  const scheduler = new ManualScheduler();
  const svc = service(payloadAnswer);
  const host = recordingHost();
  const feed = startConfigFeed(options(svc.f, scheduler, extra), host);
  return { scheduler, svc, host, feed };
}

describe('config feed: payload requests', () => {
  it('shares a request in flight with reload() calls, asks for exactly one more, and reports the health before the change it brought', async () => {
    const answers: ((r: Response) => void)[] = [];
    const { svc, host, feed } = started(() => new Promise<Response>((resolve) => answers.push(resolve)), { stream: false });
    const first = feed.reload();
    expect(feed.reload()).toBe(first);
    expect(svc.payloadCalls()).toBe(1);
    answers[0]!(payload(1));
    await first;
    await settle();
    expect(svc.payloadCalls()).toBe(2);
    answers[1]!(payload(2));
    await settle();
    expect(svc.payloadCalls()).toBe(2);
    expect(host.log).toEqual(['install 1', 'health ready', 'install 2', 'health ready +changed']);
    feed.close();
  });

  it('a reload() while a retry waits replaces the retry', async () => {
    const { scheduler, svc, host, feed } = started((n) => (n === 1 ? new Response('down', { status: 503 }) : payload(1)), { stream: false });
    await settle();
    expect(scheduler.pending).toBe(1);
    await feed.reload();
    expect(scheduler.pending).toBe(0);
    await scheduler.advance(10_000);
    expect(svc.payloadCalls()).toBe(2);
    expect(host.log).toEqual(['report PAYLOAD_LOAD_FAILED', 'health error PAYLOAD_LOAD_FAILED', 'install 1', 'health ready']);
    feed.close();
  });

  it('a 304 before any config is a failed load', async () => {
    const { host, feed } = started(() => new Response(null, { status: 304 }), { stream: false });
    await settle();
    expect(host.log).toEqual(['report PAYLOAD_LOAD_FAILED', 'health error PAYLOAD_LOAD_FAILED']);
    feed.close();
  });
});

describe('config feed: the stream', () => {
  it('sends the SDK key; an answer other than 2xx is a stream failure, retried with backoff', async () => {
    const scheduler = new ManualScheduler();
    let streamCalls = 0;
    const f = scriptedFetch((url) => (url.endsWith('/v1/sdk/payload') ? payload(1) : ++streamCalls === 1 ? new Response('no', { status: 401 }) : new Response(new ReadableStream())));
    const host = recordingHost();
    const feed = startConfigFeed(options(f, scheduler, { sdkKey: 'sk_sdk_x' }), host);
    await settle();
    const stream = f.calls.find((c) => c.url === 'http://svc/v1/sdk/stream')!;
    expect(header(stream.init, 'authorization')).toBe('Bearer sk_sdk_x');
    expect(header(stream.init, 'accept')).toBe('text/event-stream');
    expect(host.log).toContain('report STREAM_FAILED');
    expect(host.log.at(-1)).toBe('health error STREAM_FAILED');
    await scheduler.advance(50);
    expect(streamCalls).toBe(2);
    feed.close();
  });

  it('ignores other events, needs no reload for a version-only event naming the config in use, and reloads on data it cannot read', async () => {
    const { svc, feed } = started(() => payload(1));
    await settle();
    svc.send('event: ping\ndata: {"version":2}\n\n');
    svc.send('event: config\ndata: {"version":1}\n\n');
    await settle();
    expect(svc.payloadCalls()).toBe(1);
    svc.send('event: config\ndata: not json\n\n');
    await settle();
    expect(svc.payloadCalls()).toBe(2);
    feed.close();
  });

  it('a config event retries a failed load at once, even when it names the config in use', async () => {
    const { svc, host, feed } = started((n) => (n === 2 ? new Response('down', { status: 503 }) : payload(1)), { backoff: { baseMs: 60_000 } });
    await settle();
    await feed.reload();
    expect(host.log.at(-1)).toBe('health error PAYLOAD_LOAD_FAILED');
    svc.send('event: config\ndata: {"version":1,"etag":"\\"v1\\""}\n\n');
    await settle();
    expect(svc.payloadCalls()).toBe(3);
    expect(host.log.at(-1)).toBe('health ready');
    feed.close();
  });
});

describe('config feed: close()', () => {
  it('cancels every timer (retry, reconnect, staleness); afterwards nothing is requested or reported', async () => {
    const scheduler = new ManualScheduler();
    const f = scriptedFetch(() => new Response('down', { status: 503 }));
    const host = recordingHost({ version: 1, etag: '"v1"' });
    const feed = startConfigFeed(options(f, scheduler), host);
    await settle();
    expect(scheduler.pending).toBe(3);
    const calls = f.calls.length;
    const log = host.log.length;
    feed.close();
    expect(scheduler.pending).toBe(0);
    await feed.reload();
    await scheduler.advance(600_000);
    expect(f.calls).toHaveLength(calls);
    expect(host.log).toHaveLength(log);
  });

  it('aborts an open stream without reporting it', async () => {
    const { scheduler, svc, host, feed } = started(() => payload(1));
    await settle();
    const stream = svc.f.calls.find((c) => c.url.endsWith('/v1/sdk/stream'))!;
    expect(stream.init?.signal?.aborted).toBe(false);
    feed.close();
    expect(stream.init?.signal?.aborted).toBe(true);
    await settle();
    expect(host.log).toEqual(['install 1', 'health ready']);
    expect(scheduler.pending).toBe(0);
  });

  it('a payload answer in flight at close() is not handed to the host', async () => {
    const answers: ((r: Response) => void)[] = [];
    const { scheduler, svc, host, feed } = started(() => new Promise<Response>((resolve) => answers.push(resolve)));
    await settle();
    feed.close();
    answers[0]!(payload(1));
    await settle();
    expect(host.log).toEqual([]);
    expect(svc.payloadCalls()).toBe(1);
    expect(scheduler.pending).toBe(0);
  });

  it('a stream event read after close() reaches the host no more', async () => {
    const scheduler = new ManualScheduler();
    const streams: ReadableStreamDefaultController<Uint8Array>[] = [];
    // This stream ignores the abort, like a chunk already read when close() is called.
    const f = scriptedFetch((url) => (url.endsWith('/v1/sdk/payload') ? payload(1) : new Response(new ReadableStream<Uint8Array>({ start: (controller) => void streams.push(controller) }))));
    const host = recordingHost();
    const feed = startConfigFeed(options(f, scheduler), host);
    await settle();
    expect(host.log).toEqual(['install 1', 'health ready']);
    feed.close();
    streams[0]!.enqueue(new TextEncoder().encode('event: config\ndata: {"version":2}\n\n'));
    streams[0]!.close();
    await settle();
    expect(host.log).toEqual(['install 1', 'health ready']);
    expect(f.calls).toHaveLength(2);
    expect(scheduler.pending).toBe(0);
  });
});
