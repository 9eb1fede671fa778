/**
 * SortitionClient: evaluates locally and synchronously with the core, from a bootstrap payload and
 * then the config the service delivers (see config-feed.ts: ETag, server-sent events, retry with backoff).
 */
import { assign, canonicalUnitId, compileTrustedConfig, type Assignment, type Attributes, type CompiledConfig, type ExposureEvent, type Reason } from '@sortition/core/engine';
import { startConfigFeed, type ConfigFeed, type FeedHealth } from './config-feed.js';
import { SortitionSdkError, type SdkErrorCode } from './errors.js';
import { ExposureBatcher, serviceExposureSender, type ExposureSink } from './exposures.js';
import { MetricBatcher, serviceMetricSender, type MetricSink } from './metrics.js';
import { normalisePayload } from './payload.js';
import type { StickyAdapter } from './sticky/types.js';
import { defaultScheduler, type BackoffOptions, type Scheduler } from './timing.js';

/** What GET /v1/sdk/payload returns; also the bootstrap format. A bare config document is accepted too. */
export interface SdkPayload {
  readonly version: number;
  readonly hash?: string;
  readonly createdAt?: string | number;
  readonly config: unknown;
  /** The ETag the service gave this payload, if known (lets the first request be a 304). */
  readonly etag?: string;
  /** Experiments only the service can evaluate (committed layers, spec §4.1); the SDK answers SERVER_ONLY. */
  readonly serverOnly?: { readonly experiments: readonly string[]; readonly reason?: string };
}

/** A unit id for the experiment's layer unit type, or ids by unit type ({ userId, anonymousId }). */
export type UnitInput = string | Readonly<Record<string, string>>;

export interface Evaluation<T> {
  readonly value: T;
  readonly variant: string | null;
  /** The core's reason; ERROR when errorCode is set. */
  readonly reason: Reason;
  readonly errorCode?: SdkErrorCode;
  readonly errorMessage?: string;
  /** The core's full result (null when there was no config or evaluation failed unexpectedly). */
  readonly assignment: Assignment | null;
}

export interface GetOptions<T> {
  readonly attributes?: Attributes;
  /** Hand the exposure to the exposure sink (default true). OpenFeature providers pass false and expose from a hook. */
  readonly expose?: boolean;
  /** Stricter check of the variant's value than "same typeof as the default". */
  readonly validate?: (value: unknown) => value is T;
}

/**
 * "ready": the first config was loaded. "config": a different config was loaded later. "error": any
 * failure (also passed to onError). "status": the status changed (see ClientStatus).
 */
export type ClientEvent = 'ready' | 'config' | 'error' | 'status';

/**
 * How current the loaded config is. "loading": none yet. "ready": loaded, and the service (payload and
 * stream) is reachable. "error": a config is loaded and in use, but the last payload request failed or
 * the stream is down. "stale": the config is known to be out of date: the stream announced a version
 * the client could not load, or the stream has been down for longer than staleAfterMs, so changes may
 * have been missed. Evaluation continues with the loaded config in every status but "loading".
 */
export type ClientStatus = 'loading' | 'ready' | 'error' | 'stale';

export interface ClientEventInfo {
  readonly version: number | null;
  readonly error?: SortitionSdkError;
  /** "status" events: the new status and the one before. */
  readonly status?: ClientStatus;
  readonly previous?: ClientStatus;
}

export type ClientListener = (info: ClientEventInfo) => void;

export interface SortitionClientOptions {
  /** Bootstrap payload: the client is ready at once and evaluates offline until (or without) the service. */
  readonly payload?: SdkPayload;
  /** The service, e.g. https://sortition.example.com. Without it the client stays on the bootstrap payload. */
  readonly baseUrl?: string;
  readonly sdkKey?: string;
  readonly fetch?: typeof fetch;
  readonly sticky: StickyAdapter;
  /** Milliseconds since the epoch (default Date.now). */
  readonly clock?: () => number;
  readonly scheduler?: Scheduler;
  /** Jitter source in [0, 1) (default Math.random). */
  readonly random?: () => number;
  readonly backoff?: BackoffOptions;
  /**
   * Where exposures go. Default: an ExposureBatcher posting to the service when baseUrl is given,
   * else none. null: none.
   */
  readonly exposureSink?: ExposureSink | null;
  /** Subscribe to GET /v1/sdk/stream for pushed config changes (default true with baseUrl). */
  readonly stream?: boolean;
  /** How long the stream may stay down before the config counts as "stale" (default 60 000 ms). */
  readonly staleAfterMs?: number;
  /**
   * Where track() sends metric events. Default: a MetricBatcher posting to the service's
   * POST /v1/metrics (with the SDK key) when baseUrl is given, else none. null, or none: track()
   * drops the events and reports METRIC_DROPPED once. Or a MetricBatcher with httpMetricSender to a
   * collector of your own, or any `{ track(event) }`.
   */
  readonly metricSink?: MetricSink | null;
  /** Flush exposures when this document becomes hidden (only for the default batcher). */
  readonly document?: ConstructorParameters<typeof ExposureBatcher>[0]['document'];
  readonly onError?: (error: SortitionSdkError) => void;
}

interface Loaded {
  readonly config: CompiledConfig;
  readonly version: number;
  readonly hash: string | null;
  readonly etag: string | null;
  readonly serverOnly: ReadonlySet<string>;
}

function sameKind(value: unknown, defaultValue: unknown): boolean {
  if (defaultValue === null || defaultValue === undefined) return true;
  if (typeof value !== typeof defaultValue) return false;
  if (typeof defaultValue === 'object') return value !== null && Array.isArray(value) === Array.isArray(defaultValue);
  return true;
}

export class SortitionClient {
  private loaded: Loaded | null = null;
  private readonly scheduler: Scheduler;
  private readonly clock: () => number;
  private readonly sink: ExposureSink | null;
  private readonly metrics: MetricSink | null;
  private readonly listeners = new Map<ClientEvent, Set<ClientListener>>();
  /** ready() calls waiting for the first config; each removes itself when called. */
  private readyWaiters: ((error?: SortitionSdkError) => void)[] = [];
  /** Keeps the config current from the service (null without baseUrl or fetch). */
  private readonly feed: ConfigFeed | null = null;
  private closed = false;
  private currentStatus: ClientStatus = 'loading';
  private metricsDropped = false;

  constructor(private readonly options: SortitionClientOptions) {
    this.scheduler = options.scheduler ?? defaultScheduler;
    this.clock = options.clock ?? Date.now;
    const random = options.random ?? Math.random;
    const baseUrl = options.baseUrl === undefined ? null : options.baseUrl.replace(/\/+$/, '');
    const fetchFn = options.fetch ?? (typeof globalThis.fetch === 'function' ? globalThis.fetch.bind(globalThis) : null);
    if (options.exposureSink !== undefined) this.sink = options.exposureSink;
    else if (baseUrl !== null && fetchFn !== null) {
      this.sink = new ExposureBatcher({
        send: serviceExposureSender({ baseUrl, fetch: fetchFn, ...(options.sdkKey === undefined ? {} : { sdkKey: options.sdkKey }) }),
        scheduler: this.scheduler,
        random,
        ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
        ...(options.document === undefined ? {} : { document: options.document }),
        onError: (e) => this.report(e),
      });
    } else this.sink = null;
    if (options.metricSink !== undefined) this.metrics = options.metricSink;
    else if (baseUrl !== null && fetchFn !== null) {
      this.metrics = new MetricBatcher({
        send: serviceMetricSender({ baseUrl, fetch: fetchFn, ...(options.sdkKey === undefined ? {} : { sdkKey: options.sdkKey }) }),
        scheduler: this.scheduler,
        random,
        ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
        ...(options.document === undefined ? {} : { document: options.document }),
        onError: (e) => this.report(e),
      });
    } else this.metrics = null;

    if (options.payload !== undefined) {
      const outcome = this.apply(options.payload, options.payload.etag ?? null);
      if (outcome instanceof SortitionSdkError) this.report(outcome);
      // No feed yet, so nothing has failed.
      this.updateStatus({ status: 'ready', error: null });
    }
    if (baseUrl !== null && fetchFn !== null) {
      this.feed = startConfigFeed(
        // The feed reads sdkKey, backoff, stream and staleAfterMs from the options, and these as resolved here.
        { ...options, baseUrl, fetch: fetchFn, scheduler: this.scheduler, random },
        {
          current: () => this.loaded,
          install: (body, etag) => this.apply(body, etag),
          report: (error) => this.report(error),
          health: (health, configChanged) => {
            this.updateStatus(health);
            if (configChanged) this.emit('config', { version: this.version });
          },
        },
      );
    }
  }

  /** The config version in use, or null before the first payload. */
  get version(): number | null {
    return this.loaded?.version ?? null;
  }

  get isReady(): boolean {
    return this.loaded !== null;
  }

  /** See ClientStatus; changes are announced by the "status" event. */
  get status(): ClientStatus {
    return this.currentStatus;
  }

  /** The exposure sink in use (the default batcher, a custom one, or null). */
  get exposureSink(): ExposureSink | null {
    return this.sink;
  }

  /** The metric sink in use (the default batcher to the service, a custom one, or null). */
  get metricSink(): MetricSink | null {
    return this.metrics;
  }

  /** The unit type an experiment buckets by (its layer's), or null when unknown. */
  unitTypeOf(experiment: string): string | null {
    return this.loaded?.config.experiments.get(experiment)?.layer.unit ?? null;
  }

  /** Experiment keys in the loaded config. */
  experiments(): string[] {
    return this.loaded === null ? [] : [...this.loaded.config.experiments.keys()];
  }

  /**
   * Resolves once a config is loaded (at once with a bootstrap payload). With timeoutMs, rejects
   * with NOT_READY after that long; loading continues in the background either way.
   */
  ready(timeoutMs?: number): Promise<void> {
    if (this.loaded !== null) return Promise.resolve();
    if (this.closed) return Promise.reject(new SortitionSdkError('CLOSED', 'the client is closed'));
    return new Promise<void>((resolve, reject) => {
      // Called once: loaded (no error), closed, or timed out. Either way the timer goes with the wait.
      const settle = (error?: SortitionSdkError): void => {
        this.readyWaiters = this.readyWaiters.filter((w) => w !== settle);
        if (timer !== null) this.scheduler.clearTimeout(timer);
        if (error === undefined) resolve();
        else reject(error);
      };
      const timer = timeoutMs === undefined ? null : this.scheduler.setTimeout(() => settle(new SortitionSdkError('NOT_READY', `no config loaded within ${timeoutMs} ms`)), timeoutMs);
      this.readyWaiters.push(settle);
    });
  }

  on(event: ClientEvent, listener: ClientListener): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  private emit(event: ClientEvent, info: Parameters<ClientListener>[0]): void {
    for (const l of this.listeners.get(event) ?? []) {
      try {
        l(info);
      } catch {
        // A listener's bug must not break loading.
      }
    }
  }

  private report(error: SortitionSdkError): void {
    this.options.onError?.(error);
    this.emit('error', { version: this.version, error });
  }

  /** The status follows the feed's health (see ClientStatus) once a config is loaded. */
  private updateStatus({ status, error }: FeedHealth): void {
    const next: ClientStatus = this.loaded === null ? 'loading' : status;
    const previous = this.currentStatus;
    if (next === previous || this.closed) return;
    this.currentStatus = next;
    this.emit('status', { version: this.version, status: next, previous, ...(error === null || next === 'ready' ? {} : { error }) });
  }

  /**
   * Compiles and installs a payload. Returns an error when it is not a valid config, "changed" when it
   * replaced a different config (the feed hands that back with its health; "config" is emitted then), else null.
   */
  private apply(raw: unknown, etag: string | null): SortitionSdkError | 'changed' | null {
    const p = normalisePayload(raw);
    const result = compileTrustedConfig(p.config);
    if (!result.ok) {
      const first = result.issues[0];
      return new SortitionSdkError('PAYLOAD_INVALID', `the payload is not a valid config${first === undefined ? '' : `: ${first.path} ${first.message}`}`);
    }
    const previous = this.loaded;
    const hash = p.hash;
    this.loaded = { config: result.config, version: p.version ?? result.config.version, hash, etag, serverOnly: p.serverOnly };
    if (previous === null) {
      for (const w of this.readyWaiters) w();
      this.emit('ready', { version: this.loaded.version });
      return null;
    }
    return previous.version !== this.loaded.version || previous.hash !== hash ? 'changed' : null;
  }

  /**
   * Fetches the payload now (If-None-Match with the current ETag; 304 keeps the config). Failures
   * are retried with exponential backoff and jitter; the promise resolves when this attempt ends.
   */
  reload(): Promise<void> {
    return this.feed?.reload() ?? Promise.resolve();
  }

  /**
   * Evaluates synchronously. Never throws: without a config, for an unknown experiment, a missing or
   * invalid unit id, or a value of the wrong type, it returns the default value with reason ERROR and
   * an error code. Writes the sticky record of a first assignment and hands the exposure to the sink.
   */
  get<T>(experiment: string, unit: UnitInput, defaultValue: T, options: GetOptions<T> = {}): Evaluation<T> {
    try {
      return this.evaluate(experiment, unit, defaultValue, options);
    } catch (cause) {
      return { value: defaultValue, variant: null, reason: 'ERROR', errorCode: 'GENERAL', errorMessage: `evaluation failed: ${String(cause)}`, assignment: null };
    }
  }

  private evaluate<T>(experiment: string, unit: UnitInput, defaultValue: T, options: GetOptions<T>): Evaluation<T> {
    const loaded = this.loaded;
    if (loaded === null) return { value: defaultValue, variant: null, reason: 'ERROR', errorCode: 'NOT_READY', errorMessage: 'no config loaded yet', assignment: null };
    if (loaded.serverOnly.has(experiment)) {
      return { value: defaultValue, variant: null, reason: 'ERROR', errorCode: 'SERVER_ONLY', errorMessage: `experiment "${experiment}" is in a committed layer whose key is secret until revealed; evaluate it with the service (POST /v1/evaluate)`, assignment: null };
    }
    const config = loaded.config;
    const exp = config.experiments.get(experiment);
    const unitType = exp?.layer.unit;
    const units: Readonly<Record<string, unknown>> = typeof unit === 'string' ? (unitType === undefined ? {} : { [unitType]: unit }) : unit;

    let record = null;
    if (unitType !== undefined) {
      const id = units[unitType];
      const canonical = id === undefined ? null : canonicalUnitId(id);
      if (typeof canonical === 'string') {
        try {
          record = this.options.sticky.get(unitType, canonical, experiment);
        } catch (cause) {
          this.report(new SortitionSdkError('STICKY_PREFETCH_FAILED', `reading the sticky record failed: ${String(cause)}`, { cause }));
        }
      }
    }

    const a = assign(config, { experiment, units, attributes: options.attributes ?? {}, now: this.clock(), sticky: record });
    if (a.error !== null) return { value: defaultValue, variant: null, reason: 'ERROR', errorCode: a.error.code, errorMessage: a.error.message, assignment: a };

    if (a.stickyWrite !== null && unitType !== undefined && a.exposure !== null) {
      try {
        this.options.sticky.set(unitType, a.exposure.unit, a.stickyWrite, options.attributes ?? {});
      } catch (cause) {
        this.report(new SortitionSdkError('STICKY_WRITE_FAILED', `storing the sticky record failed: ${String(cause)}`, { cause }));
      }
    }
    if (a.variant === null) return { value: defaultValue, variant: null, reason: a.reason, assignment: a };

    // No configured value: a string default gets the variant key, anything else the default.
    const raw = a.value === null || a.value === undefined ? (typeof defaultValue === 'string' ? a.variant : defaultValue) : a.value;
    const valid = options.validate === undefined ? sameKind(raw, defaultValue) : options.validate(raw);
    if (!valid) {
      return {
        value: defaultValue,
        variant: a.variant,
        reason: 'ERROR',
        errorCode: 'TYPE_MISMATCH',
        errorMessage: `variant "${a.variant}" of "${experiment}" has a value of type ${Array.isArray(raw) ? 'array' : typeof raw}, not ${typeof defaultValue}`,
        assignment: a,
      };
    }
    if (a.exposure !== null && options.expose !== false) this.expose(a.exposure);
    return { value: raw as T, variant: a.variant, reason: a.reason, assignment: a };
  }

  /** Hands an exposure to the sink (used by the OpenFeature hook). */
  expose(exposure: ExposureEvent): void {
    try {
      this.sink?.track(exposure);
    } catch (cause) {
      this.report(new SortitionSdkError('EXPOSURE_SEND_FAILED', `the exposure sink threw: ${String(cause)}`, { cause }));
    }
  }

  /**
   * Records a metric event for each of the given units (unit type to id: `{ userId }`, or
   * `{ userId, anonymousId }` so experiments on either unit type can use it) and hands it to the
   * metricSink. `value` defaults to 1 (an occurrence); `at` to the clock. Returns how many events
   * were handed over. Never throws: bad input and a missing sink are reported through onError.
   */
  track(metric: string, units: Readonly<Record<string, string>>, value = 1, at = this.clock()): number {
    const sink = this.metrics;
    if (sink === null) {
      if (!this.metricsDropped) this.report(new SortitionSdkError('METRIC_DROPPED', 'track() needs the metricSink option; metric events are dropped'));
      this.metricsDropped = true;
      return 0;
    }
    if (typeof metric !== 'string' || metric === '' || typeof value !== 'number' || !Number.isFinite(value) || !Number.isFinite(at)) {
      this.report(new SortitionSdkError('METRIC_INVALID', `track("${String(metric)}"): a non-empty metric name and finite value and time are required`));
      return 0;
    }
    const entries = Object.entries(units);
    if (entries.length === 0) this.report(new SortitionSdkError('METRIC_INVALID', `track("${metric}"): no unit id given`));
    let handed = 0;
    for (const [unitType, id] of entries) {
      const unit = canonicalUnitId(id);
      if (typeof unit !== 'string') {
        this.report(new SortitionSdkError('METRIC_INVALID', `track("${metric}"): ${unitType} ${unit.message}`));
        continue;
      }
      try {
        sink.track({ unitType, unit, metric, value, at });
        handed++;
      } catch (cause) {
        this.report(new SortitionSdkError('METRIC_SEND_FAILED', `the metric sink threw: ${String(cause)}`, { cause }));
      }
    }
    return handed;
  }

  /** Loads units' records into a remote sticky adapter before evaluating them (no-op for local adapters). */
  async prefetch(units: Readonly<Record<string, string>>, experiments?: readonly string[]): Promise<void> {
    const p = this.options.sticky.prefetch;
    if (p === undefined) return;
    try {
      await p.call(this.options.sticky, units, experiments);
    } catch (cause) {
      this.report(new SortitionSdkError('STICKY_PREFETCH_FAILED', `prefetching sticky records failed: ${String(cause)}`, { cause }));
    }
  }

  /** Stops loading and streaming, flushes and closes the exposure and metric sinks. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.feed?.close();
    for (const w of this.readyWaiters) w(new SortitionSdkError('CLOSED', 'the client was closed before a config loaded'));
    await Promise.all([this.sink?.close?.(), this.metrics?.close?.()]);
  }
}
