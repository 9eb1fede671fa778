#!/usr/bin/env node
/**
 * Service benchmark: `sortition serve` as its own process, loaded with autocannon (64 connections,
 * loopback) from this process. For SQLite and PostgreSQL it measures, in the same run:
 *   - the ceiling: GET /health on the same process (no store, no auth);
 *   - returning units: POST /v1/evaluate for units that already hold their assignment;
 *   - fresh units: POST /v1/evaluate for units never seen (a first assignment is stored per request).
 * It prints requests/s, p50 and p99 latency, and each scenario's share of the ceiling.
 *
 *   npm run bench:server                     # both stores, 10 s per scenario
 *   npm run bench:server -- --duration 5 --only sqlite --json /tmp/server.json
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
    only: { type: 'string' },
    json: { type: 'string' },
    pg: { type: 'string', default: process.env.SORTITION_TEST_PG ?? 'postgres://127.0.0.1:5432/test' },
  },
});
const duration = Number(args.duration);
const connections = Number(args.connections);
const bin = fileURLToPath(new URL('../packages/cli/dist/main.js', import.meta.url));
const ATTRS = { country: 'DE', appVersion: '4.3.1' };
const RETURNING_UNITS = 20_000;

function pgUrl(base) {
  const url = new URL(base);
  if (url.username === '') url.username = process.env.PGUSER ?? process.env.USER ?? 'root';
  return url.toString();
}

async function startServer(db) {
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--db', db], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d.toString();
      if (/Admin key \(shown once, stored hashed\): \S+\n/.test(out)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}:\n${out}`)));
  });
  const url = /listening on (http:\/\/[\d.:]+)/.exec(out)[1];
  const admin = /Admin key \(shown once, stored hashed\): (\S+)/.exec(out)[1];
  return { child, url, admin };
}

async function post(url, key, path, body) {
  const response = await fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

function run(options) {
  return new Promise((resolve, reject) => {
    autocannon({ connections, duration, pipelining: 1, ...options }, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

function summarise(name, result) {
  const non2xx = result.non2xx + result.errors + result.timeouts;
  return { scenario: name, requestsPerSecond: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, requests: result.requests.total, failures: non2xx };
}

async function benchStore(label, db) {
  const server = await startServer(db);
  try {
    const sdk = (await post(server.url, server.admin, '/v1/keys', { kind: 'sdk', label: 'bench' })).secret;
    const headers = { authorization: `Bearer ${sdk}`, 'content-type': 'application/json' };
    // Pre-assign the returning units (batched), so the timed scenario only reads.
    for (let i = 0; i < RETURNING_UNITS; i += 500) {
      await post(server.url, sdk, '/v1/evaluate/batch', { requests: Array.from({ length: 500 }, (_, k) => ({ units: { userId: `ret_${i + k}` }, attributes: ATTRS })) });
    }
    const rows = [];
    // Warm the JIT on every route before timing.
    await run({ url: `${server.url}/health`, duration: 2 });
    rows.push(summarise('ceiling: GET /health', await run({ url: `${server.url}/health` })));
    let r = 0;
    rows.push(
      summarise(
        'returning units: POST /v1/evaluate',
        await run({
          url: `${server.url}/v1/evaluate`,
          requests: [{ method: 'POST', headers, setupRequest: (req) => ({ ...req, body: JSON.stringify({ units: { userId: `ret_${r++ % RETURNING_UNITS}` }, attributes: ATTRS }) }) }],
        }),
      ),
    );
    let f = 0;
    const stamp = Date.now().toString(36);
    rows.push(
      summarise(
        'fresh units: POST /v1/evaluate',
        await run({
          url: `${server.url}/v1/evaluate`,
          requests: [{ method: 'POST', headers, setupRequest: (req) => ({ ...req, body: JSON.stringify({ units: { userId: `fresh_${stamp}_${f++}` }, attributes: ATTRS }) }) }],
        }),
      ),
    );
    const ceiling = rows[0].requestsPerSecond;
    return rows.map((row) => ({ store: label, ...row, shareOfCeiling: row.requestsPerSecond / ceiling }));
  } finally {
    server.child.kill('SIGTERM');
    await new Promise((resolve) => server.child.on('exit', resolve));
  }
}

const results = [];
const only = args.only?.split(',');
const dir = mkdtempSync(join(tmpdir(), 'sortition-bench-'));
const schema = `bench_${Date.now().toString(36)}`;
try {
  if (only === undefined || only.includes('sqlite')) results.push(...(await benchStore('sqlite', join(dir, 'bench.db'))));
  if (only === undefined || only.includes('postgres')) results.push(...(await benchStore('postgres', `${pgUrl(args.pg)}?schema=${schema}`)));
} finally {
  rmSync(dir, { recursive: true, force: true });
  if (only === undefined || only.includes('postgres')) {
    const client = new pg.Client({ connectionString: pgUrl(args.pg) });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  }
}

const pad = (s, n, right = false) => (right ? String(s).padEnd(n) : String(s).padStart(n));
console.log(`Sortition service benchmark: autocannon, ${connections} connections, ${duration} s per scenario, loopback, node ${process.versions.node}`);
console.log(`${pad('store', 9, true)}${pad('scenario', 38, true)}${pad('req/s', 10)}${pad('p50 ms', 8)}${pad('p99 ms', 8)}${pad('of ceiling', 12)}${pad('failures', 10)}`);
for (const row of results) {
  console.log(`${pad(row.store, 9, true)}${pad(row.scenario, 38, true)}${pad(Math.round(row.requestsPerSecond).toLocaleString('en-US'), 10)}${pad(row.p50, 8)}${pad(row.p99, 8)}${pad(`${(row.shareOfCeiling * 100).toFixed(0)}%`, 12)}${pad(row.failures, 10)}`);
}
for (const store of new Set(results.map((r) => r.store))) {
  const returning = results.find((r) => r.store === store && r.scenario.startsWith('returning'));
  const worstP99 = Math.max(...results.filter((r) => r.store === store && !r.scenario.startsWith('ceiling')).map((r) => r.p99));
  console.log(`${store}: returning units at ${(returning.shareOfCeiling * 100).toFixed(0)}% of the ceiling (target >= 50%: ${returning.shareOfCeiling >= 0.5 ? 'PASS' : 'MISS'}); worst evaluate p99 ${worstP99} ms (target < 10 ms: ${worstP99 < 10 ? 'PASS' : 'MISS'})`);
}
if (args.json !== undefined) writeFileSync(args.json, JSON.stringify({ connections, duration, results }, null, 2));
if (results.some((r) => r.failures > 0)) process.exitCode = 1;
