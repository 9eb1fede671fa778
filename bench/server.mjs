#!/usr/bin/env node
/**
 * Service benchmark: `sortition serve` as its own process, loaded with autocannon (64 connections,
 * loopback) from this process. For SQLite and PostgreSQL it measures, round after round in the same
 * server process:
 *   - the ceiling: GET /health on the same process (no store, no auth);
 *   - returning units: POST /v1/evaluate for units that already hold their assignment;
 *   - fresh units: POST /v1/evaluate for units never seen (a first assignment is stored per request).
 * It prints requests/s, p50 and p99 latency, each scenario's share of the ceiling in its round, the
 * server's and the load generator's CPU time per request, and the range over the rounds.
 *
 * The load generator does the same work per request in every scenario: each connection is its own
 * autocannon instance with its own list of prebuilt requests (distinct units per connection, no
 * JavaScript run per request), and the instances' latency histograms are merged. Building each
 * request in a setupRequest callback would cost the generator about twice as much per request as
 * the static health request does, and on a 2-core machine that CPU is taken from the server.
 *
 *   npm run bench:server                                  # both stores, 3 rounds of 5 s per scenario
 *   npm run bench:server -- --rounds 5 --duration 10 --only sqlite --json /tmp/server.json
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, fdatasyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '64' },
    only: { type: 'string' },
    json: { type: 'string' },
    pg: { type: 'string', default: process.env.SORTITION_TEST_PG ?? 'postgres://127.0.0.1:5432/test' },
  },
});
const duration = Number(args.duration);
const rounds = Number(args.rounds);
const connections = Number(args.connections);
const bin = fileURLToPath(new URL('../packages/cli/dist/main.js', import.meta.url));
const ATTRS = { country: 'DE', appVersion: '4.3.1' };
const RETURNING_UNITS = 20_000;
/** Fresh units prepared per connection and round: enough for this many requests/s in total. */
const FRESH_RATE_CAP = 15_000;

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

/** CPU time (µs) the process has used so far, from /proc (Linux); null elsewhere. */
function cpuMicros(pid) {
  const file = `/proc/${pid}/stat`;
  if (!existsSync(file)) return null;
  const fields = readFileSync(file, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * (1e6 / 100);
}

/**
 * One autocannon instance per connection, each cycling through its own prebuilt requests
 * (`lists[c]`). Building the requests takes a while (autocannon prepares every request buffer when an
 * instance starts), so the instances run longer than the window and only a steady window of
 * `seconds` is measured: requests completed in it, their latencies, and the CPU both processes used.
 */
async function measure(server, name, lists, seconds, unitsMustBeFresh = false) {
  const SETTLE_MS = 500;
  const latencies = [];
  let recording = false;
  let failures = 0;
  const answered = new Array(lists.length).fill(0);
  const instances = [];
  const done = lists.map(
    (requests, c) =>
      new Promise((resolve, reject) => {
        const instance = autocannon({ url: server.url, connections: 1, duration: seconds + 30, pipelining: 1, requests }, (error) => (error ? reject(error) : resolve()));
        instance.on('response', (_client, status, _bytes, ms) => {
          answered[c]++;
          if (!recording) return;
          latencies.push(ms);
          if (status < 200 || status > 299) failures++;
        });
        instance.on('reqError', () => recording && failures++);
        instances.push(instance);
      }),
  );
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  recording = true;
  const cpu0 = cpuMicros(server.child.pid);
  const self0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  recording = false;
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  const self = process.cpuUsage(self0);
  const cpu1 = cpuMicros(server.child.pid);
  for (const instance of instances) instance.stop();
  await Promise.all(done);
  latencies.sort((a, b) => a - b);
  const at = (q) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] * 10) / 10;
  const requests = latencies.length;
  const wrapped = lists.some((list, c) => answered[c] > list.length);
  return {
    scenario: name,
    requestsPerSecond: requests / elapsed,
    p50: at(0.5),
    p99: at(0.99),
    requests,
    failures,
    serverCpuUsPerRequest: cpu0 === null || cpu1 === null ? null : (cpu1 - cpu0) / requests,
    loaderCpuUsPerRequest: (self.user + self.system) / requests,
    ...(unitsMustBeFresh && wrapped ? { note: 'some connections ran out of fresh units and repeated them' } : {}),
  };
}

function evaluateRequest(headers, unit) {
  return { method: 'POST', path: '/v1/evaluate', headers, body: JSON.stringify({ units: { userId: unit }, attributes: ATTRS }) };
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
    const health = Array.from({ length: connections }, () => [{ method: 'GET', path: '/health' }]);
    const returning = Array.from({ length: connections }, (_, c) => {
      const list = [];
      for (let u = c; u < RETURNING_UNITS; u += connections) list.push(evaluateRequest(headers, `ret_${u}`));
      return list;
    });
    const freshPerConnection = Math.ceil((FRESH_RATE_CAP * (duration + 1)) / connections);
    const stamp = Date.now().toString(36);
    const fresh = (round) => Array.from({ length: connections }, (_, c) => Array.from({ length: freshPerConnection }, (_, k) => evaluateRequest(headers, `fresh_${stamp}_${round}_${c}_${k}`)));

    // Warm the JIT on both routes before timing.
    await measure(server, 'warm-up', health, 2);
    await measure(server, 'warm-up', returning, 2);
    const rows = [];
    for (let round = 1; round <= rounds; round++) {
      const freshLists = fresh(round);
      const inRound = [
        await measure(server, 'ceiling: GET /health', health, duration),
        await measure(server, 'returning units: POST /v1/evaluate', returning, duration),
        await measure(server, 'fresh units: POST /v1/evaluate', freshLists, duration, true),
      ];
      const ceiling = inRound[0].requestsPerSecond;
      rows.push(...inRound.map((row) => ({ store: label, round, ...row, shareOfCeiling: row.requestsPerSecond / ceiling })));
    }
    return rows;
  } finally {
    server.child.kill('SIGTERM');
    await new Promise((resolve) => server.child.on('exit', resolve));
  }
}

/** fdatasync latency of a 4 KiB append in `dir` (ms): no first assignment can be acknowledged faster. */
function syncLatency(dir) {
  const file = join(dir, 'fsync-probe');
  const fd = openSync(file, 'w');
  const times = [];
  try {
    const block = Buffer.alloc(4096, 1);
    for (let i = 0; i < 200; i++) {
      writeSync(fd, block);
      const t = process.hrtime.bigint();
      fdatasyncSync(fd);
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  times.sort((a, b) => a - b);
  return { p50: times[100], p99: times[198] };
}

const results = [];
const only = args.only?.split(',');
const dir = mkdtempSync(join(tmpdir(), 'sortition-bench-'));
const schema = `bench_${Date.now().toString(36)}`;
let fsync;
try {
  fsync = syncLatency(dir);
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
const us = (v) => (v === null ? '-' : v.toFixed(0));
const pct = (v) => `${(v * 100).toFixed(0)}%`;
const load1 = existsSync('/proc/loadavg') ? readFileSync('/proc/loadavg', 'utf8').split(' ')[0] : '?';
console.log(`Sortition service benchmark: autocannon, ${connections} connections (one prebuilt request list each), ${rounds} round(s) of ${duration} s per scenario, loopback, node ${process.versions.node}, load average ${load1}`);
console.log(`fdatasync of a 4 KiB append on this disk: p50 ${fsync.p50.toFixed(1)} ms, p99 ${fsync.p99.toFixed(1)} ms (a first assignment waits for at least one commit)`);
console.log(`${pad('store', 9, true)}${pad('round', 6)}  ${pad('scenario', 36, true)}${pad('req/s', 9)}${pad('p50 ms', 8)}${pad('p99 ms', 8)}${pad('of ceiling', 11)}${pad('server µs/req', 14)}${pad('loader µs/req', 14)}${pad('failures', 10)}`);
for (const row of results) {
  console.log(
    `${pad(row.store, 9, true)}${pad(row.round, 6)}  ${pad(row.scenario, 36, true)}${pad(Math.round(row.requestsPerSecond).toLocaleString('en-US'), 9)}${pad(row.p50, 8)}${pad(row.p99, 8)}${pad(pct(row.shareOfCeiling), 11)}${pad(us(row.serverCpuUsPerRequest), 14)}${pad(us(row.loaderCpuUsPerRequest), 14)}${pad(row.failures, 10)}${row.note === undefined ? '' : `  (${row.note})`}`,
  );
}
const range = (values, f) => (Math.min(...values) === Math.max(...values) ? f(values[0]) : `${f(Math.min(...values))}-${f(Math.max(...values))}`);
for (const store of new Set(results.map((r) => r.store))) {
  const of = (prefix) => results.filter((r) => r.store === store && r.scenario.startsWith(prefix));
  const returning = of('returning');
  const fresh = of('fresh');
  const shares = returning.map((r) => r.shareOfCeiling);
  const met = returning.filter((r) => r.shareOfCeiling >= 0.5).length;
  const p99 = (rows) => rows.map((r) => r.p99);
  console.log(
    `${store}: returning units at ${range(shares, pct)} of the ceiling (target >= 50%: ${met === returning.length ? 'PASS' : met === 0 ? 'MISS' : `PASS in ${met} of ${returning.length} rounds`}); ` +
      `p99 returning ${range(p99(returning), String)} ms, fresh ${range(p99(fresh), String)} ms (target < 10 ms: returning ${p99(returning).every((v) => v < 10) ? 'PASS' : 'MISS'}, fresh ${p99(fresh).every((v) => v < 10) ? 'PASS' : 'MISS'})`,
  );
}
if (args.json !== undefined) writeFileSync(args.json, JSON.stringify({ connections, duration, rounds, fsync, results }, null, 2));
if (results.some((r) => r.failures > 0)) process.exitCode = 1;
