#!/usr/bin/env node
/**
 * Browser bundle size: what a browser app ships to evaluate experiments locally. Bundles, with esbuild
 * (platform browser, format esm, target es2022), one entry that imports Sortition's browser client
 * (@sortition/sdk's SortitionClient and LocalStorageStickyAdapter, which pull in @sortition/core) and
 * one that imports @growthbook/growthbook's browser client (GrowthBook, through its ESM "import"
 * entry), then reports raw (bundled, not minified), minified and minified+gzip (node:zlib, level 9)
 * bytes, the ratio, and PASS/MISS for the target "ours is smaller" (gzip).
 *
 * Resolution is a browser bundler's: esbuild's platform "browser" turns on the "browser" export
 * condition (so @sortition/core's "#sha256-compress" import picks the compact SHA-256 compression)
 * and the "browser" package.json field. By default workspace packages resolve to their sources
 * through the extra "source" condition (no build needed); --dist drops it and bundles the built
 * dist/ files a consumer's bundler would see (run `npm run build -w @sortition/core -w @sortition/sdk`
 * first). Either way the run fails if the bundle holds the unrolled (Node) compression.
 * --analyze lists the largest inputs of our minified bundle (esbuild metafile); --json FILE writes
 * everything as JSON.
 *
 *   npm run bench:size                 (from the repository root)
 *   node bench/size.mjs --dist --analyze --json /tmp/size.json
 */
import { writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const benchDir = dirname(fileURLToPath(import.meta.url));

const ENTRIES = [
  {
    id: 'sortition',
    what: '@sortition/sdk SortitionClient + LocalStorageStickyAdapter (+ @sortition/core)',
    code: "export { SortitionClient, LocalStorageStickyAdapter } from '@sortition/sdk';\n",
  },
  {
    id: 'growthbook',
    what: '@growthbook/growthbook GrowthBook (browser ESM entry)',
    code: "export { GrowthBook } from '@growthbook/growthbook';\n",
  },
];

const { values } = parseArgs({ options: { analyze: { type: 'boolean', default: false }, dist: { type: 'boolean', default: false }, json: { type: 'string' } } });

async function bundle(code, minify) {
  const result = await build({
    stdin: { contents: code, resolveDir: benchDir, sourcefile: 'entry.mjs', loader: 'js' },
    bundle: true,
    write: false,
    minify,
    metafile: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    // platform "browser" adds the "browser" condition; "source" (default) resolves workspace packages
    // to their TypeScript sources as the tests do, --dist to what is published.
    conditions: values.dist ? [] : ['source'],
    define: { 'process.env.NODE_ENV': '"production"' },
    legalComments: 'none',
    logLevel: 'silent',
  });
  return { bytes: result.outputFiles[0].contents, metafile: result.metafile };
}

async function measure(entry) {
  const raw = await bundle(entry.code, false);
  const min = await bundle(entry.code, true);
  const output = Object.values(min.metafile.outputs)[0];
  return {
    id: entry.id,
    what: entry.what,
    raw: raw.bytes.length,
    minified: min.bytes.length,
    gzip: gzipSync(min.bytes, { level: 9 }).length,
    inputs: Object.entries(output.inputs)
      .map(([path, info]) => ({ path, bytes: info.bytesInOutput }))
      .sort((a, b) => b.bytes - a.bytes),
  };
}

/** Groups minified bytes by package (or by source folder for the workspace packages). */
function groups(inputs) {
  const out = new Map();
  for (const { path, bytes } of inputs) {
    let key = path.replace(/^.*node_modules\/((?:@[^/]+\/)?[^/]+)\/.*$/, '$1');
    if (key === path) key = path.replace(/^(?:\.\.\/)*(packages\/[^/]+\/(?:src|dist)(?:\/[^/]+(?=\/))?).*$/, '$1');
    out.set(key, (out.get(key) ?? 0) + bytes);
  }
  return [...out].sort((a, b) => b[1] - a[1]);
}

const kb = (n) => `${(n / 1024).toFixed(1)} KiB`.padStart(10);

const results = [];
for (const entry of ENTRIES) results.push(await measure(entry));
const [ours, peer] = results;

console.log(`Browser bundle size (esbuild: bundle, platform browser, esm, es2022; gzip level 9; workspace packages from ${values.dist ? 'dist/' : 'sources'})\n`);
console.log(`${'bundle'.padEnd(12)} ${'raw'.padStart(10)} ${'minified'.padStart(10)} ${'gzip'.padStart(10)}  what`);
for (const r of results) console.log(`${r.id.padEnd(12)} ${kb(r.raw)} ${kb(r.minified)} ${kb(r.gzip)}  ${r.what}`);
const ratio = { minified: ours.minified / peer.minified, gzip: ours.gzip / peer.gzip };
console.log(`${'ours/peer'.padEnd(12)} ${''.padStart(10)} ${`${ratio.minified.toFixed(2)}x`.padStart(10)} ${`${ratio.gzip.toFixed(2)}x`.padStart(10)}`);
const pass = ours.gzip < peer.gzip;
console.log(`\ntarget: ours smaller than @growthbook/growthbook (minified + gzip): ${pass ? 'PASS' : 'MISS'} (${ours.gzip} vs ${peer.gzip} bytes)`);

// The browser condition must have picked the compact SHA-256 compression (the unrolled one is ~14 KiB).
const compression = ours.inputs.map((i) => i.path).filter((p) => /sha256-compress(-compact)?\.(ts|js)$/.test(p));
const compact = compression.length === 1 && /sha256-compress-compact\.(ts|js)$/.test(compression[0]);
console.log(`SHA-256 compression bundled: ${compression.join(', ') || '(none)'} (${compact ? 'compact, as the browser condition selects' : 'NOT the compact one'})`);

if (values.analyze || !pass) {
  console.log('\nwhere our minified bytes come from:');
  for (const [name, bytes] of groups(ours.inputs).slice(0, 12)) console.log(`  ${kb(bytes)}  ${name}`);
  console.log('largest files:');
  for (const { path, bytes } of ours.inputs.slice(0, 10)) console.log(`  ${kb(bytes)}  ${path}`);
}
if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify({ resolution: values.dist ? 'dist' : 'source', compression, results, ratio, pass }, null, 2)}\n`);
if (!compact) process.exitCode = 1;
