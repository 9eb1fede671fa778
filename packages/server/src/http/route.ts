/** The shape of one API route and the context handlers receive; shared by the route modules. */
import type { TSchema } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Evaluator } from '../assignments/evaluator.js';
import type { ConfigHistory, CurrentConfig } from '../config/history.js';
import type { Permission } from '../keys.js';
import type { ProofService } from '../proofs/service.js';
import type { ApiKeyRecord, Store } from '../store/types.js';
import { HttpError } from './errors.js';

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

export function requireConfig(ctx: AppContext): CurrentConfig {
  const current = ctx.history.current();
  if (current === null) throw new HttpError(503, 'NO_CONFIG', 'no config version has been published yet', { fix: 'publish one with POST /v1/config/versions' });
  return current;
}

export function parseVersion(text: string, field: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new HttpError(400, 'INVALID_VERSION', `${text} is not a version number`, { field, fix: 'use a positive integer' });
  return n;
}
