/** Public proof material: the key set, the transparency log and its proofs, and proof bundles. */
import { buildBundle } from '../../proofs/bundle.js';
import { HttpError } from '../errors.js';
import { parseVersion, type Route } from '../route.js';
import { Type } from '@sinclair/typebox';
import { ConsistencyQuery, ConsistencyResponse, InclusionQuery, InclusionResponse, LogEntryResponse, LogIndexParams, ProofQuery, VersionParams } from '../schemas.js';

const PublishedKey = Type.Object({
  kid: Type.String({ description: 'key id: purpose "-" first 16 hex digits of SHA-256 of the public key; receipts name it in their JWS header' }),
  alg: Type.Literal('Ed25519'),
  purpose: Type.Union([Type.Literal('checkpoint'), Type.Literal('receipt')]),
  publicKey: Type.String({ description: 'base64url of the 32-byte Ed25519 public key' }),
  jwk: Type.Object({ kty: Type.Literal('OKP'), crv: Type.Literal('Ed25519'), x: Type.String(), kid: Type.String(), alg: Type.Literal('Ed25519'), use: Type.Literal('sig') }),
  noteVerifierKey: Type.Optional(Type.String({ description: 'signed-note verifier key (name+keyid+base64), checkpoint keys only; its key ID is the one in each checkpoint signature line' })),
  notBefore: Type.Integer({ description: 'unix ms from which the key signs' }),
  notAfter: Type.Union([Type.Integer(), Type.Null()], { description: 'unix ms from which it no longer signs (rotated), null while current' }),
  created: Type.String(),
  rotated: Type.Union([Type.String(), Type.Null()]),
});
const KeySetResponse = Type.Object({ origin: Type.String(), keys: Type.Array(PublishedKey) });

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

export function proofRoutes(): Route[] {
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
        const outcome = await buildBundle(ctx.store, ctx.proofs.log, ctx.proofs.keys.publicKeySet(), { unit: q.unit, experiment: q.experiment, at: parseAt(q.at), unitType: q.unitType }, ctx.proofs.committed);
        if (!outcome.ok) throw new HttpError(outcome.status, outcome.code, outcome.message, { field: outcome.field, fix: outcome.fix });
        return outcome.bundle;
      },
    },
    {
      method: 'GET',
      url: '/.well-known/sortition-keys.json',
      summary: 'The public keys of the service, current and retired, with their validity windows: checkpoint keys (signed notes) and receipt keys (JWS); never a private key',
      tag: 'proofs',
      permission: null,
      schema: { response: { 200: KeySetResponse } },
      handler: async (ctx, _request, reply) => {
        void reply.header('cache-control', 'public, max-age=60');
        await ctx.proofs.keys.refresh();
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
