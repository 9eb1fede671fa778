/**
 * The API as a table of routes: method, path, who may call it, schemas and handler. The Fastify app
 * registers exactly these, and /openapi.json is generated from the same table.
 */
import { Readable } from 'node:stream';
import { canonicalUnitId, type Assignment, type CompiledConfig } from '@sortition/core';
import type { TSchema } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { EvaluateRequest, Evaluator } from '../assignments/evaluator.js';
import type { ConfigHistory, CurrentConfig } from '../config/history.js';
import { allows, createKey, type Permission } from '../keys.js';
import { buildBundle } from '../proofs/bundle.js';
import type { ProofService } from '../proofs/service.js';
import type { ApiKeyRecord, Store, StoredAssignment, StoredExposure } from '../store/types.js';
import { HttpError } from './errors.js';
import {
  AssignmentResult,
  BatchEvaluateBody,
  BatchEvaluateResponse,
  ConsistencyQuery,
  ConsistencyResponse,
  CreateKeyBody,
  DiffQuery,
  ErrorResponse,
  EvaluateBody,
  EvaluateResponse,
  ExportQuery,
  ExposuresBody,
  InclusionQuery,
  InclusionResponse,
  KeyIdParams,
  KeySetResponse,
  LogEntryResponse,
  LogIndexParams,
  PlanBody,
  ProofQuery,
  PublishBody,
  VersionParams,
} from './schemas.js';

export interface AppContext {
  readonly store: Store;
  readonly history: ConfigHistory;
  readonly evaluator: Evaluator;
  readonly proofs: ProofService;
  readonly clock: () => number;
}

export interface RouteSchemas {
  readonly body?: TSchema;
  readonly querystring?: TSchema;
  readonly params?: TSchema;
  readonly response?: Readonly<Record<number, TSchema>>;
}

export interface Route {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly url: string;
  readonly summary: string;
  readonly tag: string;
  /** null: public. */
  readonly permission: Permission | null;
  readonly schema: RouteSchemas;
  readonly bodyLimit?: number;
  readonly handler: (ctx: AppContext, request: FastifyRequest, reply: FastifyReply, key: ApiKeyRecord | null) => Promise<unknown>;
}

function requireConfig(ctx: AppContext): CurrentConfig {
  const current = ctx.history.current();
  if (current === null) throw new HttpError(503, 'NO_CONFIG', 'no config version has been published yet', { fix: 'publish one with POST /v1/config/versions' });
  return current;
}

function toResult(r: Assignment): Record<string, unknown> {
  return {
    experiment: r.experiment,
    variant: r.variant,
    value: r.value,
    reason: r.reason,
    error: r.error,
    layer: r.layer,
    slot: r.slot,
    phase: r.phase,
    configVersion: r.configVersion,
    targeting: r.targeting,
    holdout: r.holdout,
    stickyStatus: r.stickyStatus,
    firstAssignment: r.stickyWrite !== null,
  };
}

/** Rejects what the schema cannot express: unit ids that are not canonicalisable, unknown experiments. */
function checkEvaluate(config: CompiledConfig, body: EvaluateRequest, at: string): void {
  for (const [type, id] of Object.entries(body.units)) {
    const c = canonicalUnitId(id);
    if (typeof c !== 'string') throw new HttpError(400, c.code, c.message, { field: `${at}/units/${type}`, fix: 'send a non-empty, well-formed string of at most 256 UTF-8 bytes without control characters' });
  }
  for (const [i, key] of (body.experiments ?? []).entries()) {
    if (!config.experiments.has(key)) {
      throw new HttpError(404, 'EXPERIMENT_NOT_FOUND', `experiment "${key}" is not in config version ${config.version}`, { field: `${at}/experiments/${i}`, fix: `use one of: ${[...config.experiments.keys()].join(', ')}` });
    }
  }
}

/** Evaluates one request; with `receipt: true`, first assignments carry a signed receipt. */
async function evaluateOne(ctx: AppContext, config: CompiledConfig, body: EvaluateRequest & { receipt?: boolean }, now: number): Promise<Record<string, unknown>[]> {
  const results = await ctx.evaluator.evaluate(config, body, now);
  if (body.receipt !== true) return results.map(toResult);
  // Only first assignments are signed; returning units (stickyWrite === null) skip this entirely.
  return Promise.all(
    results.map(async (r) => {
      const receipt = r.stickyWrite === null ? null : await ctx.proofs.receipt(config, r, body.attributes, now);
      return receipt === null ? toResult(r) : { ...toResult(r), receipt };
    }),
  );
}

function parseLogNumber(text: string, field: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new HttpError(400, 'INVALID_LOG_INDEX', `${text} is not a log index or size`, { field, fix: 'use a non-negative integer' });
  return n;
}

function logEntryBody(entry: { index: number; leaf: string; leafHash: string; configVersion: number | null }): Record<string, unknown> {
  return { index: entry.index, leaf: Buffer.from(entry.leaf, 'utf8').toString('base64'), leafHash: entry.leafHash, configVersion: entry.configVersion };
}

/** `at`: epoch milliseconds or an RFC 3339 time with a zone. */
function parseAt(text: string): number {
  const t = /^\d{1,15}$/.test(text) ? Number(text) : /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i.test(text) ? Date.parse(text) : NaN;
  if (!Number.isSafeInteger(t) || t < 0) throw new HttpError(400, 'INVALID_TIME', `at=${text} is not a time`, { field: '/at', fix: 'use an RFC 3339 time such as 2026-04-15T00:00:00Z, or epoch milliseconds' });
  return t;
}

function proofRoutes(): Route[] {
  return [
    {
      method: 'GET',
      url: '/v1/proofs',
      summary: 'A proof bundle (sortition-proof-bundle/v1) for one unit, experiment and time: the config in force with its log inclusion proof, the stored assignment, the latest checkpoint and the public keys; verify offline with `sortition verify`',
      tag: 'proofs',
      permission: 'config:read',
      schema: { querystring: ProofQuery },
      handler: async (ctx, request) => {
        const q = request.query as { unit: string; experiment: string; at: string; unitType?: string };
        const outcome = await buildBundle(ctx.store, ctx.proofs.log, ctx.proofs.keys.publicKeySet(), { unit: q.unit, experiment: q.experiment, at: parseAt(q.at), unitType: q.unitType });
        if (!outcome.ok) throw new HttpError(outcome.status, outcome.code, outcome.message, { field: outcome.field, fix: outcome.fix });
        return outcome.bundle;
      },
    },
    {
      method: 'GET',
      url: '/.well-known/sortition-keys.json',
      summary: 'The public keys of the service: the checkpoint key (signed notes) and the receipt key (JWS); never a private key',
      tag: 'proofs',
      permission: null,
      schema: { response: { 200: KeySetResponse } },
      handler: async (ctx, _request, reply) => {
        void reply.header('cache-control', 'public, max-age=300');
        return ctx.proofs.keys.publicKeySet();
      },
    },
    {
      method: 'GET',
      url: '/v1/log/checkpoint',
      summary: 'The latest signed checkpoint of the config transparency log (C2SP tlog-checkpoint, text/plain)',
      tag: 'proofs',
      permission: null,
      schema: {},
      handler: async (ctx, _request, reply) => {
        await ctx.proofs.log.refresh();
        const checkpoint = ctx.proofs.log.checkpoint();
        void reply.header('content-type', 'text/plain; charset=utf-8').header('cache-control', 'no-cache');
        return reply.send(checkpoint.note);
      },
    },
    {
      method: 'GET',
      url: '/v1/log/entries/:index',
      summary: 'One log leaf: its bytes (base64) and leaf hash (hex)',
      tag: 'proofs',
      permission: null,
      schema: { params: LogIndexParams, response: { 200: LogEntryResponse } },
      handler: async (ctx, request) => {
        const index = parseLogNumber((request.params as { index: string }).index, '/index');
        if (index >= ctx.proofs.log.size) await ctx.proofs.log.refresh();
        const entry = ctx.proofs.log.entry(index);
        if (entry === undefined) throw new HttpError(404, 'LOG_ENTRY_NOT_FOUND', `the log has no entry ${index} (size ${ctx.proofs.log.size})`, { field: '/index', fix: 'use an index below the size of GET /v1/log/checkpoint' });
        return logEntryBody(entry);
      },
    },
    {
      method: 'GET',
      url: '/v1/log/config/:version',
      summary: 'The log leaf of one config version',
      tag: 'proofs',
      permission: null,
      schema: { params: VersionParams, response: { 200: LogEntryResponse } },
      handler: async (ctx, request) => {
        const version = parseVersion((request.params as { version: string }).version, '/version');
        if (version > ctx.proofs.log.loggedVersion) await ctx.proofs.log.refresh();
        const entry = ctx.proofs.log.entryForConfig(version);
        if (entry === undefined) throw new HttpError(404, 'LOG_ENTRY_NOT_FOUND', `config version ${version} is not in the log`, { field: '/version', fix: 'list versions with GET /v1/config/versions' });
        return logEntryBody(entry);
      },
    },
    {
      method: 'GET',
      url: '/v1/log/proof/inclusion',
      summary: 'RFC 9162 inclusion proof of leaf `index` in the tree of `size` leaves (hashes in hex)',
      tag: 'proofs',
      permission: null,
      schema: { querystring: InclusionQuery, response: { 200: InclusionResponse } },
      handler: async (ctx, request) => {
        const q = request.query as { index: string; size: string };
        const index = parseLogNumber(q.index, '/index');
        const size = parseLogNumber(q.size, '/size');
        if (size > ctx.proofs.log.size) await ctx.proofs.log.refresh();
        if (size > ctx.proofs.log.size) throw new HttpError(400, 'LOG_SIZE_TOO_LARGE', `the log has ${ctx.proofs.log.size} entries, fewer than ${size}`, { field: '/size', fix: 'use the size of a checkpoint the log has published' });
        if (index >= size) throw new HttpError(400, 'LOG_INDEX_OUT_OF_RANGE', `index ${index} is not below size ${size}`, { field: '/index', fix: 'use 0 <= index < size' });
        return { index, size, ...ctx.proofs.log.inclusion(index, size) };
      },
    },
    {
      method: 'GET',
      url: '/v1/log/proof/consistency',
      summary: 'RFC 9162 consistency proof from the tree of `from` leaves to the tree of `to` leaves (hashes in hex)',
      tag: 'proofs',
      permission: null,
      schema: { querystring: ConsistencyQuery, response: { 200: ConsistencyResponse } },
      handler: async (ctx, request) => {
        const q = request.query as { from: string; to: string };
        const from = parseLogNumber(q.from, '/from');
        const to = parseLogNumber(q.to, '/to');
        if (to > ctx.proofs.log.size) await ctx.proofs.log.refresh();
        if (to > ctx.proofs.log.size) throw new HttpError(400, 'LOG_SIZE_TOO_LARGE', `the log has ${ctx.proofs.log.size} entries, fewer than ${to}`, { field: '/to', fix: 'use the size of a checkpoint the log has published' });
        if (from > to) throw new HttpError(400, 'LOG_RANGE_INVALID', `from (${from}) is larger than to (${to})`, { field: '/from', fix: 'use 1 <= from <= to' });
        return { from, to, ...ctx.proofs.log.consistency(from, to) };
      },
    },
  ];
}

function parseVersion(text: string, field: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new HttpError(400, 'INVALID_VERSION', `${text} is not a version number`, { field, fix: 'use a positive integer' });
  return n;
}

const CSV_COLUMNS = {
  assignments: ['unit_type', 'unit_id', 'experiment', 'lineage', 'phase', 'variant', 'slot', 'layer_epoch', 'config_version', 'assigned_at'],
  exposures: ['unit_type', 'unit_id', 'experiment', 'phase', 'variant', 'slot', 'config_version', 'timestamp', 'source', 'count', 'last_at'],
} as const;

function csvCell(value: string | number): string {
  const s = String(value);
  return /[",\r\n]/.test(s) || /^[=+\-@\t]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function assignmentRow(a: StoredAssignment): Record<string, string | number> {
  return { unit_type: a.unitType, unit_id: a.unit, experiment: a.experiment, lineage: a.lineage, phase: a.phase, variant: a.variant, slot: a.slot, layer_epoch: a.layerEpoch, config_version: a.configVersion, assigned_at: new Date(a.assignedAt).toISOString() };
}

function exposureRow(e: StoredExposure): Record<string, string | number> {
  return { unit_type: e.unitType, unit_id: e.unit, experiment: e.experiment, phase: e.phase, variant: e.variant, slot: e.slot, config_version: e.configVersion, timestamp: new Date(e.at).toISOString(), source: e.source, count: e.count, last_at: new Date(e.lastAt).toISOString() };
}

async function* lines<T>(rows: AsyncIterable<T>, toRow: (row: T) => Record<string, string | number>, format: 'jsonl' | 'csv', columns: readonly string[]): AsyncIterable<string> {
  if (format === 'csv') yield `${columns.join(',')}\n`;
  for await (const row of rows) {
    const r = toRow(row);
    yield format === 'csv' ? `${columns.map((c) => csvCell(r[c] ?? '')).join(',')}\n` : `${JSON.stringify(r)}\n`;
  }
}

function exportRoute(kind: 'assignments' | 'exposures'): Route {
  return {
    method: 'GET',
    url: `/v1/export/${kind}`,
    summary: `Stream every stored ${kind === 'assignments' ? 'first assignment' : 'exposure'} as JSON Lines (default) or CSV`,
    tag: 'export',
    permission: 'export',
    schema: { querystring: ExportQuery },
    handler: async (ctx, request, reply) => {
      const q = request.query as { experiment?: string; format?: 'jsonl' | 'csv' };
      const format = q.format ?? 'jsonl';
      const filter = { experiment: q.experiment };
      const body =
        kind === 'assignments'
          ? lines(ctx.store.exportAssignments(filter), assignmentRow, format, CSV_COLUMNS.assignments)
          : lines(ctx.store.exportExposures(filter), exposureRow, format, CSV_COLUMNS.exposures);
      void reply.header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
      return reply.send(Readable.from(body));
    },
  };
}

export function payloadEtag(current: CurrentConfig): string {
  return `"v${current.record.version}-${current.record.hash.slice(0, 16)}"`;
}

export function sdkPayload(current: CurrentConfig): Record<string, unknown> {
  return { version: current.record.version, hash: current.record.hash, createdAt: current.record.createdAt, config: current.record.doc };
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
      handler: async (ctx, request) => {
        const current = requireConfig(ctx);
        const body = request.body as EvaluateRequest;
        checkEvaluate(current.compiled, body, '');
        return { configVersion: current.compiled.version, results: await evaluateOne(ctx, current.compiled, body, ctx.clock()) };
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
      handler: async (ctx, request) => {
        const current = requireConfig(ctx);
        const { requests } = request.body as { requests: EvaluateRequest[] };
        requests.forEach((r, i) => checkEvaluate(current.compiled, r, `/requests/${i}`));
        const now = ctx.clock();
        const responses = await Promise.all(requests.map(async (r) => ({ results: await evaluateOne(ctx, current.compiled, r, now) })));
        return { configVersion: current.compiled.version, responses };
      },
    },
    {
      method: 'POST',
      url: '/v1/exposures',
      summary: 'Report exposures observed by an SDK that evaluated locally',
      tag: 'evaluate',
      permission: 'evaluate',
      bodyLimit: 1024 * 1024,
      schema: { body: ExposuresBody },
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
        return sdkPayload(current);
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
  ];
}

export const sharedSchemas = { ErrorResponse, AssignmentResult };
export { allows };
