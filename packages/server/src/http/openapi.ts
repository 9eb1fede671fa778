/** /openapi.json, generated from the route table and the same schemas that validate requests. */
import type { TSchema } from '@sinclair/typebox';
import type { Route } from './routes.js';
import { ErrorResponse } from './schemas.js';

const plain = (schema: TSchema): unknown => JSON.parse(JSON.stringify(schema)) as unknown;

function parameters(schema: TSchema | undefined, where: 'query' | 'path'): unknown[] {
  if (schema === undefined) return [];
  const s = plain(schema) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(s.properties ?? {}).map(([name, sub]) => ({ name, in: where, required: where === 'path' || (s.required ?? []).includes(name), schema: sub }));
}

export function openApiDocument(routes: readonly Route[], version: string): unknown {
  const paths: Record<string, Record<string, unknown>> = {};
  const errorResponse = { description: 'error', content: { 'application/json': { schema: plain(ErrorResponse) } } };
  for (const route of routes) {
    const path = route.url.replace(/:([A-Za-z]+)/g, '{$1}');
    // The documented success status: the route's declared 2xx response, else 201 for publishing a
    // version and 200 otherwise.
    const declared = Object.keys(route.schema.response ?? {}).find((k) => /^2\d\d$/.test(k));
    const status = declared ?? (route.method === 'POST' && route.url.endsWith('/versions') ? '201' : '200');
    const ok = declared === undefined ? undefined : (route.schema.response as Record<string, TSchema>)[declared];
    const operation: Record<string, unknown> = {
      operationId: `${route.method.toLowerCase()}${path.replace(/[{}]/g, '').replace(/[/.-](\w)/g, (_, c: string) => c.toUpperCase())}`,
      summary: route.summary,
      tags: [route.tag],
      parameters: [...parameters(route.schema.params, 'path'), ...parameters(route.schema.querystring, 'query')],
      responses: {
        [status]: { description: 'success', ...(ok === undefined ? {} : { content: { 'application/json': { schema: plain(ok) } } }) },
        '400': errorResponse,
        ...(route.permission === null ? {} : { '401': errorResponse, '403': errorResponse }),
        default: errorResponse,
      },
      ...(route.permission === null ? { security: [] } : {}),
      ...(route.permission === null ? {} : { 'x-permission': route.permission }),
    };
    if (route.schema.body !== undefined) operation['requestBody'] = { required: true, content: { 'application/json': { schema: plain(route.schema.body) } } };
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation };
  }
  paths['/v1/sdk/stream'] = {
    get: {
      operationId: 'getV1SdkStream',
      summary: 'Server-sent events: a "config" event with the payload ETag and version on connect and whenever a new version is published',
      tags: ['sdk'],
      'x-permission': 'evaluate',
      responses: { '200': { description: 'text/event-stream' }, '401': errorResponse, '403': errorResponse },
    },
  };
  return {
    openapi: '3.1.0',
    info: { title: 'Sortition assignment service', version, description: 'Experiment assignment that never drifts unless deliberately re-randomized. Authenticate with `Authorization: Bearer <key>`.' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  };
}
