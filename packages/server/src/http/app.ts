/**
 * The Fastify application: registers the route table with authentication, JSON errors everywhere
 * (stable code, message naming the field and the fix, never a stack trace), body limits, the SSE
 * stream, /openapi.json, and the dashboard at `/` (routes/dashboard.ts).
 *
 * Closing the app ends every open SSE stream first (a preClose hook): otherwise the server would
 * wait for SDKs to hang up, which they never do. The SDKs see the stream end and reconnect (to
 * another instance behind the load balancer); new requests during the close are answered 503.
 */
import type { ServerResponse } from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { hashKey, allows, type Permission } from '../keys.js';
import type { ApiKeyRecord } from '../store/types.js';
import { HttpError } from './errors.js';
import { openApiDocument } from './openapi.js';
import { payloadEtag, routes, type AppContext, type Route } from './routes.js';
import { answerDashboardNavigation, mountDashboard } from './routes/dashboard.js';

export interface AppOptions {
  readonly logger?: boolean;
  /** How long a successful key lookup is trusted before the store is asked again. */
  readonly keyCacheMs?: number;
  readonly version?: string;
  /**
   * Directory of the built dashboard served at `/` (default: @sortition/dashboard's dist/); null
   * serves none. A directory without index.html counts as not built: `/` then says how to build it.
   */
  readonly dashboardDir?: string | null;
}

interface AjvError {
  readonly instancePath: string;
  readonly keyword: string;
  readonly message?: string;
  readonly params: Record<string, unknown>;
}

function validationError(error: FastifyError): HttpError {
  const first = (error.validation as AjvError[] | undefined)?.[0];
  const context = (error as { validationContext?: string }).validationContext ?? 'body';
  if (first === undefined) return new HttpError(400, 'VALIDATION_FAILED', error.message);
  let field = first.instancePath || '/';
  let fix = 'see /openapi.json for the expected shape';
  switch (first.keyword) {
    case 'required':
      field = `${first.instancePath}/${String(first.params['missingProperty'])}`;
      fix = `add ${field}`;
      break;
    case 'additionalProperties':
      field = `${first.instancePath}/${String(first.params['additionalProperty'])}`;
      fix = `remove ${field}: it is not part of this request`;
      break;
    case 'type':
      fix = `send a JSON ${String(first.params['type'])}${String(first.params['type']) === 'string' ? ' (unit ids are strings: send integers as their decimal string)' : ''}`;
      break;
    case 'pattern':
      fix = `match ${String(first.params['pattern'])}`;
      break;
    case 'maxItems':
    case 'maxLength':
    case 'maxProperties':
      fix = `send at most ${String(first.params['limit'])}`;
      break;
    case 'minItems':
    case 'minLength':
    case 'minProperties':
      fix = `send at least ${String(first.params['limit'])}`;
      break;
    default:
      break;
  }
  const where = context === 'body' ? '' : ` in the ${context}`;
  return new HttpError(400, 'VALIDATION_FAILED', `${field}${where} ${first.message ?? 'is invalid'}`, { field, fix });
}

function toHttpError(error: FastifyError): HttpError {
  if (error instanceof HttpError) return error;
  if (error.validation !== undefined) return validationError(error);
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpError(413, 'BODY_TOO_LARGE', 'the request body is larger than this endpoint accepts', { fix: 'send a smaller body (split batches)' });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'the request body must be JSON', { fix: 'send Content-Type: application/json' });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new HttpError(400, 'EMPTY_BODY', 'the request body is empty', { fix: 'send a JSON object' });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new HttpError(400, 'INVALID_JSON', 'the request body is not valid JSON', { fix: 'send well-formed JSON' });
    default:
      break;
  }
  if (error instanceof SyntaxError || (error.statusCode === 400 && /JSON/i.test(error.message))) {
    return new HttpError(400, 'INVALID_JSON', 'the request body is not valid JSON', { fix: 'send well-formed JSON' });
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) return new HttpError(status, error.code ?? 'BAD_REQUEST', error.message);
  return new HttpError(500, 'INTERNAL', 'the service failed to handle this request; it has been logged', { cause: error });
}

class KeyCache {
  /**
   * By Authorization header, i.e. by secret (held only in this process's memory): a hit costs one
   * map lookup, not a header parse and a SHA-256. Only well-formed headers of valid keys are held.
   */
  private readonly entries = new Map<string, { key: ApiKeyRecord; until: number }>();
  constructor(private readonly ttlMs: number) {}
  /** The key of `header` if it was looked up less than the TTL ago, else undefined. */
  hit(header: string, now: number): ApiKeyRecord | undefined {
    const hit = this.entries.get(header);
    return hit !== undefined && hit.until > now ? hit.key : undefined;
  }
  async lookup(ctx: AppContext, header: string, secret: string): Promise<ApiKeyRecord | null> {
    const now = ctx.clock();
    const hit = this.hit(header, now);
    if (hit !== undefined) return hit;
    const key = await ctx.store.findKeyByHash(hashKey(secret));
    if (key === null || key.revokedAt !== null) {
      this.entries.delete(header);
      return null;
    }
    if (this.entries.size > 10_000) this.entries.clear();
    this.entries.set(header, { key, until: now + this.ttlMs });
    return key;
  }
  forget(): void {
    this.entries.clear();
  }
}

function permitted(key: ApiKeyRecord, permission: Permission): ApiKeyRecord {
  if (!allows(key.kind, permission)) {
    throw new HttpError(403, 'FORBIDDEN', `a ${key.kind} key may not ${permission.replace(':', ' ')}`, { field: 'Authorization', fix: `use a key whose kind grants ${permission}` });
  }
  return key;
}

/**
 * The caller's key, checked against the route's permission (null: a public route). A key cached
 * less than the TTL ago is answered at once, without a promise; otherwise the header is parsed and
 * the store asked.
 */
function authenticate(ctx: AppContext, keys: KeyCache, route: Pick<Route, 'permission'>, request: FastifyRequest): ApiKeyRecord | null | Promise<ApiKeyRecord> {
  if (route.permission === null) return null;
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const cached = keys.hit(header, ctx.clock());
    if (cached !== undefined) return permitted(cached, route.permission);
  }
  return lookUp(ctx, keys, route.permission, header);
}

async function lookUp(ctx: AppContext, keys: KeyCache, permission: Permission, header: string | undefined): Promise<ApiKeyRecord> {
  const match = typeof header === 'string' ? /^Bearer (\S+)$/.exec(header) : null;
  if (match === null) throw new HttpError(401, 'UNAUTHENTICATED', 'this endpoint needs an API key', { field: 'Authorization', fix: 'send the header Authorization: Bearer <key>' });
  const key = await keys.lookup(ctx, match[0], match[1]!);
  if (key === null) throw new HttpError(401, 'UNAUTHENTICATED', 'the API key is unknown or revoked', { field: 'Authorization', fix: 'use a current key; admins can create one with POST /v1/keys' });
  return permitted(key, permission);
}

function sendError(reply: FastifyReply, error: HttpError): FastifyReply {
  return reply.code(error.status).header('content-type', 'application/json; charset=utf-8').send(error.toBody());
}

export function buildApp(ctx: AppContext, options: AppOptions = {}): FastifyInstance {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
    // Router-level failures (bad URL encoding, over-long path parameters) get the same JSON errors.
    frameworkErrors: (error, _request, reply) => {
      const status = (error as FastifyError).statusCode ?? 400;
      void sendError(reply, new HttpError(status, (error as FastifyError).code ?? 'BAD_REQUEST', error.message, { fix: 'send a well-formed, shorter URL' }));
    },
  });
  const keys = new KeyCache(options.keyCacheMs ?? 10_000);
  const table = routes();
  const openapi = openApiDocument(table, options.version ?? '0.1.0');

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const http = toHttpError(error);
    if (http.status >= 500) request.log.error({ err: error }, 'request failed');
    return sendError(reply, http);
  });
  const dashboard = mountDashboard(app, options.dashboardDir);
  app.setNotFoundHandler((request, reply) => {
    // A browser opening a dashboard page (/experiments/...) gets the dashboard; API paths stay JSON.
    if (answerDashboardNavigation(dashboard, request, reply)) return reply;
    return sendError(reply, new HttpError(404, 'NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0] ?? ''}`, { fix: 'see /openapi.json for the API' }));
  });

  app.get('/openapi.json', async () => openapi);

  for (const route of table) {
    // Creating or revoking a key forgets the cached ones.
    const changesKeys = route.url.startsWith('/v1/keys') && route.method !== 'GET';
    app.route({
      method: route.method,
      url: route.url,
      schema: route.schema,
      ...(route.bodyLimit === undefined ? {} : { bodyLimit: route.bodyLimit }),
      // Not async unless it must wait: with a cached key the route's own promise is the answer.
      handler: changesKeys
        ? async (request, reply) => {
            const result = await route.handler(ctx, request, reply, await authenticate(ctx, keys, route, request));
            keys.forget();
            return result;
          }
        : (request, reply) => {
            const auth = authenticate(ctx, keys, route, request);
            return auth instanceof Promise ? auth.then((key) => route.handler(ctx, request, reply, key)) : route.handler(ctx, request, reply, auth);
          },
    });
  }

  // Open config streams, ended when the app closes.
  const streams = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    await Promise.all(
      [...streams].map(
        (raw) =>
          new Promise<void>((resolve) => {
            // 'close' as well: a connection that breaks while ending never reports 'finish'.
            raw.once('close', resolve);
            raw.end(resolve);
          }),
      ),
    );
  });

  app.get('/v1/sdk/stream', async (request, reply) => {
    await authenticate(ctx, keys, { permission: 'evaluate' }, request);
    reply.hijack();
    const raw = reply.raw;
    streams.add(raw);
    raw.once('close', () => streams.delete(raw));
    raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    const send = (): void => {
      const current = ctx.history.current();
      if (current === null) return;
      raw.write(`id: ${current.record.version}\nevent: config\ndata: ${JSON.stringify({ version: current.record.version, etag: payloadEtag(current), hash: current.record.hash })}\n\n`);
    };
    send();
    const unsubscribe = ctx.history.subscribe(send);
    request.raw.on('close', unsubscribe);
  });

  return app;
}
