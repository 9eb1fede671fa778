/**
 * The API as a table of routes: method, path, who may call it, schemas and handler. The Fastify app
 * registers exactly these, and /openapi.json is generated from the same table.
 */
import { canonicalUnitId, MAX_UNIT_ID_BYTES, type Assignment, type CompiledConfig } from '@sortition/core';
import type { EvaluateRequest } from '../assignments/evaluator.js';
import type { CurrentConfig } from '../config/history.js';
import { allows, createKey } from '../keys.js';
import { StaleConfigError } from '../store/errors.js';
import { HttpError } from './errors.js';
import { parseVersion, requireConfig, type AppContext, type Route, type RouteSchemas } from './route.js';
import { committedRoutes } from './routes/committed.js';
import { exportRoute } from './routes/export.js';
import { insightRoutes } from './routes/insights.js';
import { keyRotationRoutes } from './routes/keys-rotation.js';
import { metricRoutes } from './routes/metrics.js';
import { proofRoutes } from './routes/proofs.js';
import {
  AssignmentResult,
  BatchEvaluateBody,
  BatchEvaluateResponse,
  CreateKeyBody,
  DiffQuery,
  ErrorResponse,
  EvaluateBody,
  EvaluateResponse,
  ExposuresAccepted,
  ExposuresBody,
  serializeBatchEvaluateResponse,
  serializeEvaluateResponse,
  type EvaluatedUnit,
  KeyIdParams,
  PlanBody,
  PublishBody,
  VersionParams,
} from './schemas.js';

export type { AppContext, Route, RouteSchemas };

/** Printable ASCII of 1 to MAX_UNIT_ID_BYTES characters: already canonical (NFC, no controls, its own UTF-8). */
function isPlainUnitId(id: unknown): boolean {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_UNIT_ID_BYTES) return false;
  for (let i = 0; i < id.length; i++) {
    const code = id.charCodeAt(i);
    if (code < 0x20 || code > 0x7e) return false;
  }
  return true;
}

/** Rejects what the schema cannot express: unit ids that are not canonicalisable, unknown experiments. */
function checkEvaluate(config: CompiledConfig, body: EvaluateRequest, at: string): void {
  for (const type of Object.keys(body.units)) {
    const id = body.units[type];
    if (isPlainUnitId(id)) continue;
    const c = canonicalUnitId(id);
    if (typeof c !== 'string') throw new HttpError(400, c.code, c.message, { field: `${at}/units/${type}`, fix: 'send a non-empty, well-formed string of at most 256 UTF-8 bytes without control characters' });
  }
  const experiments = body.experiments ?? [];
  for (let i = 0; i < experiments.length; i++) {
    const key = experiments[i]!;
    if (!config.experiments.has(key)) {
      throw new HttpError(404, 'EXPERIMENT_NOT_FOUND', `experiment "${key}" is not in config version ${config.version}`, { field: `${at}/experiments/${i}`, fix: `use one of: ${[...config.experiments.keys()].join(', ')}` });
    }
  }
}

type EvaluateBodyRequest = EvaluateRequest & { receipt?: boolean };

/** Evaluates one request; with `receipt: true`, first assignments carry a signed receipt. */
async function evaluateOne(ctx: AppContext, config: CompiledConfig, body: EvaluateBodyRequest, now: number): Promise<EvaluatedUnit> {
  // Committed layers (proofs/committed.ts): evaluated with their derived keys, or an ERROR result until their beacon is known.
  const results = await ctx.proofs.committed.evaluate(ctx.evaluator, config, body, now);
  // Returning units (no stickyWrite) take the plain path even when a receipt was asked for.
  if (body.receipt !== true || results.every((r) => r.stickyWrite === null)) return { results, receipts: null };
  // Only first assignments are signed; returning units (stickyWrite === null) skip this entirely.
  const receipts = await Promise.all(results.map((r) => (r.stickyWrite === null ? null : ctx.proofs.receipt(config, r, body.attributes, now))));
  return { results, receipts };
}

/**
 * Runs an evaluation under the config in force, and once more under the newest one if the store
 * refused a first assignment because a newer version was published meanwhile (possibly by another
 * instance: store/errors.ts). A second refusal is a 503 the client may retry.
 */
async function underLatestConfig<A, T>(ctx: AppContext, run: (ctx: AppContext, current: CurrentConfig, arg: A) => Promise<T>, arg: A): Promise<T> {
  try {
    return await run(ctx, requireConfig(ctx), arg);
  } catch (error) {
    if (!(error instanceof StaleConfigError)) throw error;
  }
  await ctx.history.refresh();
  try {
    return await run(ctx, requireConfig(ctx), arg);
  } catch (error) {
    if (!(error instanceof StaleConfigError)) throw error;
    throw new HttpError(503, 'CONFIG_CHANGING', `config version ${error.configVersion} was replaced by ${error.latest} while this request was evaluated`, { fix: 'retry the request' });
  }
}

/** POST /v1/evaluate under `current`: the response body. */
async function evaluateUnder(ctx: AppContext, current: CurrentConfig, body: EvaluateBodyRequest): Promise<string> {
  checkEvaluate(current.compiled, body, '');
  return serializeEvaluateResponse(current.compiled.version, await evaluateOne(ctx, current.compiled, body, ctx.clock()));
}

/** POST /v1/evaluate/batch under `current`: the response body. */
async function evaluateBatchUnder(ctx: AppContext, current: CurrentConfig, requests: readonly EvaluateBodyRequest[]): Promise<string> {
  requests.forEach((r, i) => checkEvaluate(current.compiled, r, `/requests/${i}`));
  const now = ctx.clock();
  const units = await Promise.all(requests.map((r) => evaluateOne(ctx, current.compiled, r, now)));
  return serializeBatchEvaluateResponse(current.compiled.version, units);
}

/** Evaluate responses are written by their own serializer (schemas.ts), not the generic one. */
const JSON_UTF8 = 'application/json; charset=utf-8';

export function payloadEtag(current: CurrentConfig): string {
  return `"v${current.record.version}-${current.record.hash.slice(0, 16)}"`;
}

/**
 * The SDK payload. `serverOnly` lists experiments in committed layers (spec §4.1): the config names
 * their seed commitment, not their secret key, so clients must ask the service for them.
 */
export function sdkPayload(current: CurrentConfig, serverOnly: readonly string[] = []): Record<string, unknown> {
  const payload = { version: current.record.version, hash: current.record.hash, createdAt: current.record.createdAt, config: current.record.doc };
  if (serverOnly.length === 0) return payload;
  return { ...payload, serverOnly: { experiments: serverOnly, reason: 'committed layer: the key is secret until revealed; evaluate these experiments with POST /v1/evaluate' } };
}

export function routes(): Route[] {
  return [
    {
      method: 'GET',
      url: '/health',
      summary: 'Liveness: the process answers (no store access)',
      tag: 'service',
      permission: null,
      schema: {},
      handler: async () => ({ status: 'ok' }),
    },
    {
      method: 'POST',
      url: '/v1/evaluate',
      summary: 'Assign one unit to experiments; the first assignment is stored, later calls return it',
      tag: 'evaluate',
      permission: 'evaluate',
      bodyLimit: 64 * 1024,
      schema: { body: EvaluateBody, response: { 200: EvaluateResponse } },
      // Not async itself: the answer is underLatestConfig's promise (errors replace the content type).
      handler: (ctx, request, reply) => {
        void reply.type(JSON_UTF8);
        return underLatestConfig(ctx, evaluateUnder, request.body as EvaluateBodyRequest);
      },
    },
    {
      method: 'POST',
      url: '/v1/evaluate/batch',
      summary: 'Evaluate up to 1,000 units in one request',
      tag: 'evaluate',
      permission: 'evaluate',
      bodyLimit: 4 * 1024 * 1024,
      schema: { body: BatchEvaluateBody, response: { 200: BatchEvaluateResponse } },
      handler: (ctx, request, reply) => {
        void reply.type(JSON_UTF8);
        return underLatestConfig(ctx, evaluateBatchUnder, (request.body as { requests: EvaluateBodyRequest[] }).requests);
      },
    },
    {
      method: 'POST',
      url: '/v1/exposures',
      summary: 'Report exposures observed by an SDK that evaluated locally',
      tag: 'evaluate',
      permission: 'evaluate',
      bodyLimit: 1024 * 1024,
      schema: { body: ExposuresBody, response: { 202: ExposuresAccepted } },
      handler: async (ctx, request, reply) => {
        const { exposures } = request.body as { exposures: NonNullable<Assignment['exposure']>[] };
        exposures.forEach((e, i) => {
          const c = canonicalUnitId(e.unit);
          if (typeof c !== 'string') throw new HttpError(400, c.code, c.message, { field: `/exposures/${i}/unit`, fix: 'send the canonical unit id the SDK evaluated' });
        });
        await ctx.evaluator.recordExposures(exposures.map((e) => ({ exposure: { ...e, unit: e.unit.normalize('NFC'), layer: '', first: false } })), 'sdk');
        void reply.code(202);
        return { accepted: exposures.length };
      },
    },
    {
      method: 'GET',
      url: '/v1/sdk/payload',
      summary: 'The config in force for local evaluation (ETag / If-None-Match supported); contains no secrets',
      tag: 'sdk',
      permission: 'evaluate',
      schema: {},
      handler: async (ctx, request, reply) => {
        const current = requireConfig(ctx);
        const etag = payloadEtag(current);
        void reply.header('etag', etag).header('cache-control', 'no-cache');
        if (request.headers['if-none-match'] === etag) return reply.code(304).send();
        return sdkPayload(current, ctx.proofs.committed.serverOnlyExperiments(current.compiled));
      },
    },
    {
      method: 'GET',
      url: '/v1/config',
      summary: 'The config version in force, with its metadata',
      tag: 'config',
      permission: 'config:read',
      schema: {},
      handler: async (ctx) => requireConfig(ctx).record,
    },
    {
      method: 'GET',
      url: '/v1/config/versions',
      summary: 'Every published config version (author, reason, time, content hash)',
      tag: 'config',
      permission: 'config:read',
      schema: {},
      handler: async (ctx) => ({ versions: await ctx.store.listConfigs() }),
    },
    {
      method: 'GET',
      url: '/v1/config/versions/:version',
      summary: 'One config version, with the impact report made when it was published',
      tag: 'config',
      permission: 'config:read',
      schema: { params: VersionParams },
      handler: async (ctx, request) => {
        const v = parseVersion((request.params as { version: string }).version, '/version');
        const record = await ctx.store.getConfig(v);
        if (record === null) throw new HttpError(404, 'VERSION_NOT_FOUND', `config version ${v} does not exist`, { field: '/version', fix: 'list versions with GET /v1/config/versions' });
        return record;
      },
    },
    {
      method: 'GET',
      url: '/v1/config/diff',
      summary: 'Structural diff between two config versions',
      tag: 'config',
      permission: 'config:read',
      schema: { querystring: DiffQuery },
      handler: async (ctx, request) => {
        const q = request.query as { from: string; to: string };
        const from = parseVersion(q.from, '/from');
        const to = parseVersion(q.to, '/to');
        const diff = await ctx.history.diff(from, to);
        if (diff === null) throw new HttpError(404, 'VERSION_NOT_FOUND', `config version ${from} or ${to} does not exist`, { field: '/from', fix: 'list versions with GET /v1/config/versions' });
        return { from, to, ...diff };
      },
    },
    {
      method: 'POST',
      url: '/v1/config/plan',
      summary: 'Dry run: who would move if this config replaced the one in force (nothing is stored)',
      tag: 'config',
      permission: 'config:write',
      bodyLimit: 2 * 1024 * 1024,
      schema: { body: PlanBody },
      handler: async (ctx, request) => ctx.history.propose((request.body as { config: unknown }).config, ctx.clock()),
    },
    {
      method: 'POST',
      url: '/v1/config/versions',
      summary: 'Publish a new config version; refused with 409 and the impact if it would move exposed units undeclared',
      tag: 'config',
      permission: 'config:write',
      bodyLimit: 2 * 1024 * 1024,
      schema: { body: PublishBody },
      handler: async (ctx, request, reply, key) => {
        const body = request.body as { config: unknown; baseVersion: number; reason: string };
        const outcome = await ctx.history.publish({ doc: body.config, baseVersion: body.baseVersion, reason: body.reason, author: key === null ? 'system' : `${key.label} (key ${key.id})`, now: ctx.clock() });
        if (outcome.ok) {
          // The committed version gets its log leaf now (start-up and the background poll also catch up).
          await ctx.proofs.log.ensureVersion(outcome.record.version);
          const entry = ctx.proofs.log.entryForConfig(outcome.record.version);
          void reply.code(201);
          return { version: outcome.record.version, hash: outcome.record.hash, createdAt: outcome.record.createdAt, impact: outcome.report, ...(entry === undefined ? {} : { logIndex: entry.index }) };
        }
        switch (outcome.code) {
          case 'CONFIG_INVALID': {
            const first = outcome.issues[0]!;
            throw new HttpError(422, 'CONFIG_INVALID', `the config is invalid: ${first.path}: ${first.message}`, { field: `/config${first.path}`, fix: first.fix, details: { issues: outcome.issues } });
          }
          case 'BASE_VERSION_MISMATCH':
            throw new HttpError(409, 'BASE_VERSION_MISMATCH', `the change was planned against version ${body.baseVersion} but version ${outcome.latest} is in force`, { field: '/baseVersion', fix: `re-plan against version ${outcome.latest} and resubmit with baseVersion ${outcome.latest}` });
          default:
            throw new HttpError(409, 'CHANGE_REFUSED', 'the change would move exposed units without declaring it', {
              field: '/config',
              fix: 'declare a new phase with carryover: rerandomize and a reason (or exclude the moved units); see details.impact',
              details: { impact: outcome.report },
            });
        }
      },
    },
    {
      method: 'POST',
      url: '/v1/keys',
      summary: 'Create an API key (the secret is shown once)',
      tag: 'keys',
      permission: 'config:write',
      schema: { body: CreateKeyBody },
      handler: async (ctx, request, reply) => {
        const body = request.body as { kind: 'admin' | 'sdk' | 'read'; label: string };
        const created = await createKey(ctx.store, body.kind, body.label, ctx.clock());
        void reply.code(201);
        return { id: created.record.id, kind: created.record.kind, label: created.record.label, secret: created.secret };
      },
    },
    {
      method: 'GET',
      url: '/v1/keys',
      summary: 'List API keys (never their secrets)',
      tag: 'keys',
      permission: 'config:write',
      schema: {},
      handler: async (ctx) => ({ keys: (await ctx.store.listKeys()).map(({ hash: _hash, ...k }) => k) }),
    },
    {
      method: 'DELETE',
      url: '/v1/keys/:id',
      summary: 'Revoke an API key',
      tag: 'keys',
      permission: 'config:write',
      schema: { params: KeyIdParams },
      handler: async (ctx, request) => {
        const { id } = request.params as { id: string };
        if (!(await ctx.store.revokeKey(id, ctx.clock()))) throw new HttpError(404, 'KEY_NOT_FOUND', `no key with id ${id}`, { field: '/id', fix: 'list keys with GET /v1/keys' });
        return { revoked: id };
      },
    },
    exportRoute('assignments'),
    exportRoute('exposures'),
    ...proofRoutes(),
    ...committedRoutes(),
    ...keyRotationRoutes(),
    ...insightRoutes(),
    ...metricRoutes(),
  ];
}

export const sharedSchemas = { ErrorResponse, AssignmentResult };
export { allows };
