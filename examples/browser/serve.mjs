#!/usr/bin/env node
/**
 * Serves the browser example: bundles main.js (with @sortition/sdk and @sortition/core, from their
 * sources) for the browser with esbuild and serves it beside index.html.
 *
 *   node examples/browser/serve.mjs [--port 8081]     then open http://127.0.0.1:8081/
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));

/** The example's script, bundled for the browser (ESM). */
export async function bundleExample({ minify = false } = {}) {
  const result = await build({
    entryPoints: [`${here}main.js`],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    conditions: ['source'],
    minify,
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '8081' }, host: { type: 'string', default: '127.0.0.1' } } });
  const app = await bundleExample();
  const html = readFileSync(`${here}index.html`, 'utf8');
  createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/' || path === '/index.html') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    else if (path === '/app.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(app);
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  }).listen(Number(values.port), values.host, () => console.log(`Sortition browser example on http://${values.host}:${values.port}/`));
}
