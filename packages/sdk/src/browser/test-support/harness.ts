/**
 * Node side of the browser tests: Chromium (Debian's package, driven by playwright-core), esbuild
 * bundles for the page, and a loopback HTTP server. A missing Chromium fails the tests (never skips).
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_INSTALL = 'apt-get update && apt-get install -y chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM_PATH}; the browser tests need it. Install it with: ${CHROMIUM_INSTALL} (.ci/run does this)`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

/** Maps the bare import "vitest" to the in-page stand-in, so shared suites run inside the page. */
const inPageVitest: Plugin = {
  name: 'in-page-vitest',
  setup(b) {
    const shim = fileURLToPath(new URL('./in-page-vitest.ts', import.meta.url));
    b.onResolve({ filter: /^vitest$/ }, () => ({ path: shim }));
  },
};

export interface BrowserBundle {
  readonly script: string;
  /** The files bundled (esbuild metafile paths, relative to the working directory). */
  readonly inputs: readonly string[];
}

/**
 * Bundles one entry for the browser (ESM) as a browser bundler would: platform "browser" turns on the
 * "browser" export condition (so @sortition/core's "#sha256-compress" is the compact compression),
 * plus "source" so workspace packages resolve to their sources.
 */
export async function bundleForBrowser(entry: string): Promise<BrowserBundle> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    conditions: ['source'],
    plugins: [inPageVitest],
    metafile: true,
    logLevel: 'silent',
  });
  const out = result.outputFiles[0];
  if (out === undefined) throw new Error(`esbuild produced no output for ${entry}`);
  return { script: out.text, inputs: Object.keys(result.metafile.inputs) };
}

export interface Resource {
  readonly type: string;
  readonly body: string | Uint8Array;
}

export interface LocalServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `resolve(pathname)` on 127.0.0.1 (an ephemeral port); unknown paths are 404. */
export async function serveLocally(resolve: (pathname: string) => Resource | undefined): Promise<LocalServer> {
  const server = createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    let resource: Resource | undefined;
    try {
      resource = resolve(pathname);
    } catch {
      resource = undefined;
    }
    if (resource === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': resource.type, 'cache-control': 'no-store' }).end(resource.body);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
