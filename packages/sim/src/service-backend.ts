/**
 * The Sortition side through a live service: POST /v1/config/plan and /v1/config/versions to plan
 * and publish (admin key), POST /v1/evaluate/batch to serve units from the service's sticky store
 * (exposure off: the sessions' exposures are reported with their simulated time instead), the SDK's
 * ExposureBatcher to POST /v1/exposures, and GET /v1/export/exposures to read them back.
 *
 * The service plans and assigns at its own clock. `clock` is that clock as seen from here: the
 * real time for a service started with `sortition serve` (advancing means waiting), or a clock the
 * caller controls for a service started in-process with an injected clock (tests).
 */
import type { ConfigDocument, ExposureEvent, PlanReport } from '@sortition/core';
import { ExposureBatcher, serviceExposureSender } from '@sortition/sdk';
import { mergeConfig, PlanRefusedError, refusalReasons, type Backend, type ExposureRow, type PublishResult, type Served } from './backend.js';
import type { Rng } from './rng.js';
import { UNIT_TYPE, type ConfigPart } from './sortition-config.js';

export interface ServiceClock {
  now(): number;
  /** Returns once the service's clock reads at least `t`. */
  advanceTo(t: number): Promise<void>;
}

/** Longest the real clock is waited for (the ramp phase is scheduled 2 s ahead). */
const MAX_WAIT_MS = 30_000;

/** The real clock: a service on this or an NTP-synchronised machine. The simulated calendar (March 2026) must lie in its past. */
export const realClock: ServiceClock = {
  now: () => Date.now(),
  advanceTo: (t) => {
    const wait = t - Date.now();
    if (wait > MAX_WAIT_MS) {
      return Promise.reject(new ServiceError(`the simulated time ${new Date(t).toISOString()} is ahead of this machine's clock: the simulation replays a past calendar against a live service, so run it after that date`, 0, null));
    }
    return wait > 0 ? new Promise((resolve) => setTimeout(resolve, wait)) : Promise.resolve();
  },
};

export interface ServiceBackendOptions {
  readonly url: string;
  /** An admin key (sk_admin_...): publishing needs config:write; it also grants evaluate and export. */
  readonly key: string;
  readonly clock?: ServiceClock;
  readonly fetch?: typeof fetch;
  /** Jitter for the exposure batcher's retries (the simulation's seeded generator). */
  readonly rng: Rng;
}

export class ServiceError extends Error {
  override readonly name = 'ServiceError';
  constructor(
    message: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(message);
  }
}

const BATCH = 1000;

export class ServiceBackend implements Backend {
  readonly kind = 'service';
  private readonly url: string;
  private readonly clock: ServiceClock;
  private readonly fetchFn: typeof fetch;
  private readonly batcher: ExposureBatcher;
  private base: ConfigDocument | null = null;
  private experiment = '';

  constructor(private readonly options: ServiceBackendOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.clock = options.clock ?? realClock;
    this.fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.batcher = new ExposureBatcher({
      send: serviceExposureSender({ baseUrl: this.url, sdkKey: options.key, fetch: this.fetchFn }),
      batchSize: BATCH,
      flushIntervalMs: 3_600_000,
      maxQueue: 10_000_000,
      maxRemembered: 10_000_000,
      random: () => options.rng.uniform(),
    });
  }

  private async call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown; text: string }> {
    let response: Response;
    try {
      response = await this.fetchFn(`${this.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.options.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new ServiceError(`${method} ${this.url}${path}: the service did not answer (${(error as Error).message})`, 0, null);
    }
    const text = await response.text();
    let parsed: unknown = text;
    if (text !== '' && (response.headers.get('content-type') ?? '').includes('application/json')) parsed = JSON.parse(text) as unknown;
    return { status: response.status, body: parsed, text };
  }

  private fail(what: string, r: { status: number; body: unknown; text: string }): never {
    const error = (r.body as { error?: { code?: string; message?: string } } | null)?.error;
    const hint = r.status === 401 || r.status === 403 ? ' (pass an admin key: --key or SORTITION_ADMIN_KEY)' : '';
    throw new ServiceError(`${what}: HTTP ${r.status} ${error?.code ?? ''} ${error?.message ?? r.text.slice(0, 300)}${hint}`.replace(/\s+/g, ' ').trim(), r.status, r.body);
  }

  /** The config in force (or an empty one); refuses to reuse a layer or experiment an earlier run left behind. */
  private async current(part: ConfigPart): Promise<ConfigDocument> {
    if (this.base !== null) return this.base;
    const r = await this.call('GET', '/v1/config');
    let doc: ConfigDocument = { schema: 'sortition/config/v1', version: 0, layers: [], experiments: [] };
    if (r.status === 200) doc = (r.body as { doc: ConfigDocument }).doc;
    else if (r.status !== 404 && r.status !== 409 && r.status !== 503) this.fail('GET /v1/config', r);
    if (doc.layers.some((l) => l.id === part.layer.id) || doc.experiments.some((e) => e.key === part.experiment.key)) {
      throw new ServiceError(
        `the service already has layer "${part.layer.id}" or experiment "${part.experiment.key}" (from an earlier simulation?): its units are already assigned, so the run would not be reproducible. Run against a fresh service (sortition serve --db memory:)`,
        409,
        null,
      );
    }
    this.base = doc;
    return doc;
  }

  async advanceTo(t: number): Promise<number> {
    await this.clock.advanceTo(t);
    return this.clock.now();
  }

  async dryRun(part: ConfigPart): Promise<PlanReport> {
    const base = await this.latest(part);
    const r = await this.call('POST', '/v1/config/plan', { config: mergeConfig(base, part, base.version + 1) });
    if (r.status !== 200) this.fail('POST /v1/config/plan', r);
    return r.body as PlanReport;
  }

  private async latest(part: ConfigPart): Promise<ConfigDocument> {
    const first = await this.current(part);
    if (this.experiment === '') return first;
    const r = await this.call('GET', '/v1/config');
    if (r.status !== 200) this.fail('GET /v1/config', r);
    return (r.body as { doc: ConfigDocument }).doc;
  }

  async publish(part: ConfigPart, reason: string): Promise<PublishResult> {
    const base = await this.latest(part);
    const r = await this.call('POST', '/v1/config/versions', { config: mergeConfig(base, part, base.version + 1), baseVersion: base.version, reason });
    if (r.status === 409) {
      const impact = (r.body as { error?: { details?: { impact?: PlanReport } } }).error?.details?.impact;
      if (impact !== undefined) throw new PlanRefusedError(`the service's planner refused "${reason}": ${refusalReasons(impact).join('; ')}`, impact);
    }
    if (r.status !== 201) this.fail('POST /v1/config/versions', r);
    const body = r.body as { version: number; createdAt: number | string; impact: PlanReport };
    this.experiment = part.experiment.key;
    return { version: body.version, createdAt: typeof body.createdAt === 'number' ? body.createdAt : Date.parse(body.createdAt), report: body.impact };
  }

  async serve(units: readonly string[]): Promise<Served[]> {
    const out: Served[] = [];
    for (let i = 0; i < units.length; i += BATCH) {
      const chunk = units.slice(i, i + BATCH);
      const r = await this.call('POST', '/v1/evaluate/batch', { requests: chunk.map((u) => ({ units: { [UNIT_TYPE]: u }, experiments: [this.experiment], exposure: false })) });
      if (r.status !== 200) this.fail('POST /v1/evaluate/batch', r);
      for (const response of (r.body as { responses: { results: Served[] }[] }).responses) {
        const s = response.results[0];
        if (s === undefined) throw new ServiceError('POST /v1/evaluate/batch: a response without a result', r.status, r.body);
        out.push({ variant: s.variant, phase: s.phase, slot: s.slot, reason: s.reason, configVersion: s.configVersion });
      }
    }
    return out;
  }

  async expose(exposures: readonly ExposureEvent[]): Promise<void> {
    for (const e of exposures) this.batcher.track(e);
    await this.batcher.flush();
    if (this.batcher.rejected > 0 || this.batcher.dropped > 0 || this.batcher.pending > 0) {
      throw new ServiceError(`POST /v1/exposures: ${this.batcher.rejected} exposures refused, ${this.batcher.dropped} dropped, ${this.batcher.pending} not delivered`, 0, null);
    }
  }

  async exposures(): Promise<ExposureRow[]> {
    const r = await this.call('GET', `/v1/export/exposures?experiment=${encodeURIComponent(this.experiment)}&format=jsonl`);
    if (r.status !== 200) this.fail('GET /v1/export/exposures', r);
    return r.text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => {
        const row = JSON.parse(line) as { unit_type: string; unit_id: string; experiment: string; phase: string; variant: string; slot: number; config_version: number; timestamp: string };
        return { unitType: row.unit_type, unit: row.unit_id, experiment: row.experiment, phase: row.phase, variant: row.variant, slot: row.slot, configVersion: row.config_version, at: Date.parse(row.timestamp) };
      });
  }

  async close(): Promise<void> {
    await this.batcher.close();
  }
}
