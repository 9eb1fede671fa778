/**
 * The config feed: keeps a client's config current from the service. It fetches GET /v1/sdk/payload
 * (If-None-Match with the ETag in use; 304 keeps the config), follows GET /v1/sdk/stream (server-sent
 * "config" events name the config in force), retries both with backoff and jitter, and works out how
 * current the config is. It installs nothing itself: payloads go to the host, which compiles and keeps
 * them, and the host hears of failures and health changes through the callbacks.
 */
import { SortitionSdkError } from './errors.js';
import { EventStreamParser } from './sse.js';
import { backoffDelay, type BackoffOptions, type Scheduler, type TimerHandle } from './timing.js';

/** The client's options that concern the feed (see SortitionClientOptions), with its defaults resolved. */
export interface ConfigFeedOptions {
  /** The service, without a trailing slash. */
  readonly baseUrl: string;
  readonly fetch: typeof fetch;
  readonly sdkKey?: string;
  readonly scheduler: Scheduler;
  /** Jitter source in [0, 1). */
  readonly random: () => number;
  readonly backoff?: BackoffOptions;
  /** Subscribe to the config stream (default true; without it only reload() loads). */
  readonly stream?: boolean;
  /** How long the stream may stay down before the config counts as stale (default 60 000 ms). */
  readonly staleAfterMs?: number;
}

/**
 * How current the feed keeps the config (the client's status once a config is loaded). "error": the
 * last payload request failed or the stream is down. "stale": the stream announced a config that could
 * not be loaded, or has been down for staleAfterMs. `error` is the failure behind either.
 */
export interface FeedHealth {
  readonly status: 'ready' | 'error' | 'stale';
  readonly error: SortitionSdkError | null;
}

/** What the feed asks of its host (the client), and how it reports to it. */
export interface ConfigFeedHost {
  /** The config in use, or null before the first: its ETag revalidates, and announcements are checked against it. */
  current(): { readonly version: number; readonly etag: string | null } | null;
  /** Installs a fetched payload: an error when it is not a valid config, "changed" when it replaced a different config, else null. */
  install(body: unknown, etag: string | null): SortitionSdkError | 'changed' | null;
  /** A failed payload request or a dropped stream (the feed retries). */
  report(error: SortitionSdkError): void;
  /**
   * The health after a load, a failure or a stream event (perhaps unchanged). configChanged: this load
   * installed a different config; it is reported after the health (OpenFeature: READY, then CONFIGURATION_CHANGED).
   */
  health(health: FeedHealth, configChanged: boolean): void;
}

export interface ConfigFeed {
  /**
   * Fetches the payload now (a call during a request asks for one more afterwards). Failures are
   * retried with backoff; the promise resolves when this attempt ends.
   */
  reload(): Promise<void>;
  /** Stops requests, the stream and all timers; the host hears nothing more. */
  close(): void;
}

/** Starts loading (and streaming, unless options.stream is false) at once. */
export function startConfigFeed(options: ConfigFeedOptions, host: ConfigFeedHost): ConfigFeed {
  const { baseUrl, fetch: fetchFn, scheduler, random, backoff } = options;
  const auth: Record<string, string> = options.sdkKey === undefined ? {} : { authorization: `Bearer ${options.sdkKey}` };
  let closed = false;
  let loading: Promise<void> | null = null;
  let reloadRequested = false;
  let loadTimer: TimerHandle | null = null;
  let loadAttempts = 0;
  let streamAbort: AbortController | null = null;
  let streamTimer: TimerHandle | null = null;
  let streamAttempts = 0;
  let staleTimer: TimerHandle | null = null;
  // Health: the last payload and stream failures (null once they work again), whether the stream has
  // been down for staleAfterMs, and the config the stream announced that is not loaded yet.
  let payloadError: SortitionSdkError | null = null;
  let streamError: SortitionSdkError | null = null;
  let streamStale = false;
  let announced: { readonly etag: string | null; readonly version: number | null } | null = null;

  const update = (configChanged = false): void => {
    const error = payloadError ?? streamError;
    host.health({ status: streamStale || (announced !== null && payloadError !== null) ? 'stale' : error !== null ? 'error' : 'ready', error }, configChanged);
  };

  function reload(): Promise<void> {
    if (closed) return Promise.resolve();
    if (loading !== null) {
      reloadRequested = true;
      return loading;
    }
    if (loadTimer !== null) {
      scheduler.clearTimeout(loadTimer);
      loadTimer = null;
    }
    loading = loadOnce().finally(() => {
      loading = null;
      if (reloadRequested && !closed) {
        reloadRequested = false;
        void reload();
      }
    });
    return loading;
  }

  async function loadOnce(): Promise<void> {
    let error: SortitionSdkError | null = null;
    let changed = false;
    try {
      const etag = host.current()?.etag ?? null;
      const response = await fetchFn(`${baseUrl}/v1/sdk/payload`, {
        headers: { accept: 'application/json', ...auth, ...(etag === null ? {} : { 'if-none-match': etag }) },
      });
      if (response.status === 304 && host.current() !== null) {
        await response.body?.cancel();
      } else if (response.ok) {
        const body: unknown = await response.json();
        // Closed while the answer was on its way: install nothing.
        if (closed) return;
        const outcome = host.install(body, response.headers.get('etag'));
        if (outcome instanceof SortitionSdkError) error = outcome;
        else changed = outcome === 'changed';
      } else {
        const text = await response.text().catch(() => '');
        error = new SortitionSdkError('PAYLOAD_LOAD_FAILED', `GET /v1/sdk/payload answered ${response.status}: ${text.slice(0, 200)}`);
      }
    } catch (cause) {
      error = new SortitionSdkError('PAYLOAD_LOAD_FAILED', `GET /v1/sdk/payload failed: ${String(cause)}`, { cause });
    }
    if (closed) return;
    payloadError = error;
    if (error === null) {
      loadAttempts = 0;
      // Loaded what was announced (or something newer)?
      const a = announced;
      const l = host.current();
      if (a !== null && l !== null && ((a.version !== null && l.version >= a.version) || (a.etag !== null && a.etag === l.etag) || (a.version === null && a.etag === null))) announced = null;
      // Recovery first, then the change it brought.
      update(changed);
      return;
    }
    host.report(error);
    update();
    loadTimer = scheduler.setTimeout(() => {
      loadTimer = null;
      void reload();
    }, backoffDelay(loadAttempts++, random, backoff));
  }

  function connectStream(): void {
    if (closed) return;
    const abort = new AbortController();
    streamAbort = abort;
    void readStream(abort).then(
      () => streamEnded(abort, null),
      (cause: unknown) => streamEnded(abort, cause),
    );
  }

  function streamEnded(abort: AbortController, cause: unknown): void {
    if (closed || abort.signal.aborted) return;
    const error = new SortitionSdkError('STREAM_FAILED', `the config stream ${cause === null ? 'ended' : `failed: ${String(cause)}`}; reconnecting`, { cause });
    streamError = error;
    // Down for staleAfterMs without a config event since: announcements may have been missed.
    if (staleTimer === null && !streamStale) {
      staleTimer = scheduler.setTimeout(() => {
        staleTimer = null;
        streamStale = true;
        update();
      }, options.staleAfterMs ?? 60_000);
    }
    host.report(error);
    update();
    streamTimer = scheduler.setTimeout(() => {
      streamTimer = null;
      connectStream();
    }, backoffDelay(streamAttempts++, random, backoff));
  }

  async function readStream(abort: AbortController): Promise<void> {
    const response = await fetchFn(`${baseUrl}/v1/sdk/stream`, { headers: { accept: 'text/event-stream', ...auth }, signal: abort.signal });
    if (!response.ok || response.body === null) {
      await response.body?.cancel();
      throw new Error(`GET /v1/sdk/stream answered ${response.status}`);
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const parser = new EventStreamParser(onStreamEvent);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.push(decoder.decode(value, { stream: true }));
    }
  }

  function onStreamEvent(event: string, data: string): void {
    // After close(), a chunk already read must not reach the host either.
    if (event !== 'config' || closed) return;
    streamAttempts = 0;
    // The stream works again and names the config in force: nothing missed is unknown any more.
    streamError = null;
    streamStale = false;
    if (staleTimer !== null) scheduler.clearTimeout(staleTimer);
    staleTimer = null;
    let etag: string | null = null;
    let version: number | null = null;
    try {
      const parsed = JSON.parse(data) as { etag?: unknown; version?: unknown };
      if (typeof parsed.etag === 'string') etag = parsed.etag;
      if (typeof parsed.version === 'number') version = parsed.version;
    } catch {
      // Unknown data: reload to be safe.
    }
    const current = host.current();
    const upToDate = current !== null && ((etag !== null && etag === current.etag) || (etag === null && version !== null && version === current.version && current.etag !== null));
    announced = upToDate ? null : { etag, version };
    update();
    // Load what was announced; and after failures, retry now rather than at the next backoff.
    if (!upToDate || payloadError !== null) void reload();
  }

  void reload();
  if (options.stream !== false) connectStream();
  return {
    reload,
    close() {
      closed = true;
      streamAbort?.abort();
      for (const timer of [loadTimer, streamTimer, staleTimer]) if (timer !== null) scheduler.clearTimeout(timer);
    },
  };
}
