/**
 * The dashboard (@sortition/dashboard, a Vite build) served at `/`: hashed assets cached for a year,
 * index.html never cached, client routes (/experiments/..., /verify) answered with index.html, and
 * everything under the API's prefixes left to the API (whose 404s stay JSON). When the dashboard has
 * not been built the service still starts and `/` says how to build it.
 */
import { existsSync } from 'node:fs';
import { join, sep } from 'node:path';
import fastifyStatic from '@fastify/static';
import { dashboardAssetsDir } from '@sortition/dashboard/assets-dir';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from '../errors.js';

/** Paths that belong to the API: never answered with the dashboard's index.html. */
const API_PREFIXES = ['/v1/', '/.well-known/'];
const API_PATHS = new Set(['/v1', '/health', '/openapi.json']);

/**
 * The dashboard's own scripts, styles and the API on the same origin; nothing inline, no framing.
 * Chart.js and React set styles through the CSSOM, which style-src does not restrict.
 */
const CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export interface DashboardMount {
  /** Whether the built dashboard was found (index.html present) when the app was built. */
  readonly built: boolean;
  readonly dir: string | null;
}

function pathOf(request: FastifyRequest): string {
  return request.url.split('?')[0] ?? '/';
}

function wantsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return typeof accept === 'string' && accept.includes('text/html');
}

/** A browser navigating to a client route of the dashboard (not an API path, not a file). */
export function isDashboardNavigation(request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const path = pathOf(request);
  if (API_PATHS.has(path) || API_PREFIXES.some((p) => path.startsWith(p))) return false;
  return path === '/' || wantsHtml(request);
}

function htmlHeaders(reply: FastifyReply): void {
  void reply
    .header('cache-control', 'no-cache')
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY');
}

const NOT_BUILT = new HttpError(503, 'DASHBOARD_NOT_BUILT', 'the dashboard has not been built, so there is nothing to serve at /', {
  fix: 'run `npm run build` (or `npm run build -w @sortition/dashboard`) and restart the service; the API under /v1 works without it',
});

function notBuiltPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Sortition: dashboard not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5">
<h1>The dashboard has not been built</h1>
<p>The service is running and its API answers under <code>/v1</code> (see <a href="/openapi.json">/openapi.json</a>), but the dashboard's files are missing.</p>
<p>Build them with <code>npm run build</code> (or <code>npm run build -w @sortition/dashboard</code>) and restart the service.</p>
</body></html>
`;
}

/** Registers static serving of the built dashboard (when present) and returns where it was looked for. */
export function mountDashboard(app: FastifyInstance, dir: string | null | undefined): DashboardMount {
  const root = dir === undefined ? dashboardAssetsDir : dir;
  const built = root !== null && existsSync(join(root, 'index.html'));
  if (built) {
    void app.register(fastifyStatic, {
      root,
      prefix: '/',
      wildcard: true,
      index: ['index.html'],
      dotfiles: 'ignore',
      cacheControl: false,
      setHeaders: (reply: FastifyReply, path: string) => {
        void reply.header('x-content-type-options', 'nosniff');
        if (path.endsWith('.html')) htmlHeaders(reply);
        else if (path.includes(`${sep}assets${sep}`)) void reply.header('cache-control', 'public, max-age=31536000, immutable');
        else void reply.header('cache-control', 'public, max-age=3600');
      },
    });
  } else {
    app.get('/', async (request, reply) => sendNotBuilt(request, reply));
  }
  return { built, dir: root };
}

function sendNotBuilt(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (wantsHtml(request)) return reply.code(503).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-cache').send(notBuiltPage());
  return reply.code(503).header('content-type', 'application/json; charset=utf-8').send(NOT_BUILT.toBody());
}

/** For the not-found handler: answers a dashboard navigation (index.html, or the not-built message); false otherwise. */
export function answerDashboardNavigation(mount: DashboardMount, request: FastifyRequest, reply: FastifyReply): boolean {
  if (!isDashboardNavigation(request)) return false;
  if (!mount.built) {
    void sendNotBuilt(request, reply);
    return true;
  }
  htmlHeaders(reply);
  void reply.header('x-content-type-options', 'nosniff').type('text/html; charset=utf-8').sendFile('index.html');
  return true;
}
