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
 *   node bench/server.mjs --only sqlite --scenarios returning --bin packages/cli/dist/main.js --bin /tmp/old/packages/cli/dist/main.js
 *
 * With several --bin (builds of the CLI to compare), each store runs one server per build, and every
 * round measures each build in turn (the order rotating between rounds), each with its own ceiling:
 * an A/B comparison made in the same minutes, which the VM's drifting speed would otherwise blur.
 * The `others` column is the CPU the rest of the machine used meanwhile (the local PostgreSQL
 * excluded); with --max-others N, rounds in which it exceeded N CPUs are waited out and measured again.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, fdatasyncSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
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
    /** Builds of the CLI to compare (default: this checkout's packages/cli/dist/main.js). */
    bin: { type: 'string', multiple: true },
    /**
     * Measure a round again when other programs used more than this many CPUs during it (see the
     * `others` column; up to 5 attempts). Default: keep every round.
     */
    'max-others': { type: 'string' },
    /** Scenarios besides the ceiling, comma-separated: returning, fresh (default both). */
    scenarios: { type: 'string', default: 'returning,fresh' },
    json: { type: 'string' },
    pg: { type: 'string', default: process.env.SORTITION_TEST_PG ?? 'postgres://127.0.0.1:5432/test' },
  },
});
const duration = Number(args.duration);
const rounds = Number(args.rounds);
const connections = Number(args.connections);
const bins = args.bin ?? [fileURLToPath(new URL('../packages/cli/dist/main.js', import.meta.url))];
const scenarios = new Set(args.scenarios.split(','));
/** Short names of the compared builds: b1, b2, ... in --bin order (printed with their paths). */
const binName = (index) => `b${index + 1}`;
const maxOthers = args['max-others'] === undefined ? null : Number(args['max-others']);
const MAX_ATTEMPTS = 5;
/** Rounds measured again because other programs were busy (--max-others). */
let discarded = 0;
for (const s of scenarios) if (s !== 'returning' && s !== 'fresh') throw new Error(`--scenarios: unknown scenario ${s} (returning, fresh)`);
const ATTRS = { country: 'DE', appVersion: '4.3.1' };
const RETURNING_UNITS = 20_000;
/** Fresh units prepared per connection and round: enough for this many requests/s in total. */
const FRESH_RATE_CAP = 15_000;

function pgUrl(base) {
  const url = new URL(base);
  if (url.username === '') url.username = process.env.PGUSER ?? process.env.USER ?? 'root';
  return url.toString();
}

async function startServer(bin, db) {
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

/** CPU time (µs) each process of the local PostgreSQL has used so far, by pid (Linux; empty elsewhere). */
function databaseCpuByPid() {
  const byPid = new Map();
  if (!existsSync('/proc/self/stat')) return byPid;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // the process ended while the list was read
    }
    const close = stat.lastIndexOf(')');
    if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
    const fields = stat.slice(close + 2).split(' ');
    byPid.set(entry, (Number(fields[11]) + Number(fields[12])) * (1e6 / 100));
  }
  return byPid;
}

/**
 * CPU time (µs) the local PostgreSQL used since `before` (databaseCpuByPid()): part of the work of a
 * PostgreSQL run, so not counted as other programs' CPU. A backend that ended meanwhile is missing
 * (which only makes the others' figure larger); one that started counts in full.
 */
function databaseCpuSince(before) {
  let total = 0;
  for (const [pid, micros] of databaseCpuByPid()) total += micros - (before.get(pid) ?? 0);
  return total;
}

/** CPU time (µs) all processes of the machine have used so far, from /proc/stat (Linux); null elsewhere. */
function machineCpuMicros() {
  if (!existsSync('/proc/stat')) return null;
  const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + steal) * (1e6 / 100);
}

/**
 * Waits (at most two minutes) until the rest of the machine has used at most --max-others CPUs
 * for two seconds in a row, the idle `servers` aside.
 */
async function untilQuiet(servers) {
  let quiet = 0;
  for (let waited = 0; quiet < 2 && waited < 120; waited++) {
    const cpu = () => servers.reduce((sum, s) => sum + (cpuMicros(s.child.pid) ?? 0), 0) + process.cpuUsage().user + process.cpuUsage().system;
    const machine0 = machineCpuMicros();
    const database0 = databaseCpuByPid();
    const own0 = cpu();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const others = (machineCpuMicros() - machine0 - (cpu() - own0) - databaseCpuSince(database0)) / 1e6;
    quiet = others <= maxOthers ? quiet + 1 : 0;
  }
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
  const machine0 = machineCpuMicros();
  const database0 = databaseCpuByPid();
  const self0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  recording = false;
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  const self = process.cpuUsage(self0);
  const cpu1 = cpuMicros(server.child.pid);
  const machine1 = machineCpuMicros();
  const database = databaseCpuSince(database0);
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
    // CPU the local PostgreSQL used meanwhile, and the rest of the machine (other programs, the
    // kernel's threads and interrupts), in CPUs: on a 2-core machine anything of the others above a
    // few hundredths takes CPU from the service or the generator.
    databaseCpu: database / 1e6 / elapsed,
    othersCpu: cpu0 === null || cpu1 === null || machine0 === null || machine1 === null ? null : Math.max(0, machine1 - machine0 - (cpu1 - cpu0) - (self.user + self.system) - database) / 1e6 / elapsed,
    ...(unitsMustBeFresh && wrapped ? { note: 'some connections ran out of fresh units and repeated them' } : {}),
  };
}

function evaluateRequest(headers, unit) {
  return { method: 'POST', path: '/v1/evaluate', headers, body: JSON.stringify({ units: { userId: unit }, attributes: ATTRS }) };
}

/** Starts a server of `bin` on `db`, creates an SDK key, pre-assigns the returning units and warms it up. */
async function prepare(bin, db) {
  const server = await startServer(bin, db);
  try {
    const sdk = (await post(server.url, server.admin, '/v1/keys', { kind: 'sdk', label: 'bench' })).secret;
    const headers = { authorization: `Bearer ${sdk}`, 'content-type': 'application/json' };
    // Pre-assign the returning units (batched), so the timed scenario only reads.
    for (let i = 0; i < RETURNING_UNITS; i += 500) {
      await post(server.url, sdk, '/v1/evaluate/batch', { requests: Array.from({ length: 500 }, (_, k) => ({ units: { userId: `ret_${i + k}` }, attributes: ATTRS })) });
    }
    const returning = Array.from({ length: connections }, (_, c) => {
      const list = [];
      for (let u = c; u < RETURNING_UNITS; u += connections) list.push(evaluateRequest(headers, `ret_${u}`));
      return list;
    });
    return { server, headers, returning };
  } catch (error) {
    await stopServer(server);
    throw error;
  }
}

async function stopServer(server) {
  server.child.kill('SIGTERM');
  await new Promise((resolve) => server.child.on('exit', resolve));
}

/** `db(i)` is the store of the i-th build's server (each build gets its own). */
async function benchStore(label, db) {
  const prepared = [];
  try {
    for (const [i, bin] of bins.entries()) prepared.push({ bin, ...(await prepare(bin, db(i))) });
    const health = Array.from({ length: connections }, () => [{ method: 'GET', path: '/health' }]);
    const freshPerConnection = Math.ceil((FRESH_RATE_CAP * (duration + 1)) / connections);
    const stamp = Date.now().toString(36);
    const fresh = (round, headers) => Array.from({ length: connections }, (_, c) => Array.from({ length: freshPerConnection }, (_, k) => evaluateRequest(headers, `fresh_${stamp}_${round}_${c}_${k}`)));

    // Warm the JIT on both routes before timing.
    for (const { server, returning } of prepared) {
      await measure(server, 'warm-up', health, 2);
      await measure(server, 'warm-up', returning, 2);
    }
    const rows = [];
    for (let round = 1; round <= rounds; round++) {
      // With several builds, each is measured in turn, the first one rotating between rounds.
      for (let k = 0; k < prepared.length; k++) {
        const binIndex = (round - 1 + k) % prepared.length;
        const { bin, server, headers, returning } = prepared[binIndex];
        let inRound;
        for (let attempt = 0; ; attempt++) {
          inRound = [await measure(server, 'ceiling: GET /health', health, duration)];
          if (scenarios.has('returning')) inRound.push(await measure(server, 'returning units: POST /v1/evaluate', returning, duration));
          if (scenarios.has('fresh')) inRound.push(await measure(server, 'fresh units: POST /v1/evaluate', fresh(`${round}_${attempt}`, headers), duration, true));
          // Fresh units make the kernel's I/O threads busy (every answer waits for a commit), so
          // only the ceiling and the returning units decide whether a round is measured again.
          const busiest = Math.max(...inRound.filter((row) => !row.scenario.startsWith('fresh')).map((row) => row.othersCpu ?? 0));
          if (maxOthers === null || busiest <= maxOthers) break;
          if (attempt + 1 >= MAX_ATTEMPTS) {
            for (const row of inRound) row.note = `other programs used up to ${busiest.toFixed(2)} CPUs in all ${MAX_ATTEMPTS} attempts`;
            break;
          }
          discarded++;
          await untilQuiet(prepared.map((p) => p.server));
          console.error(`${label} round ${round}${bins.length > 1 ? ` ${binName(binIndex)}` : ''}: other programs used ${busiest.toFixed(2)} CPUs; measuring the round again`);
        }
        const ceiling = inRound[0].requestsPerSecond;
        rows.push(...inRound.map((row) => ({ store: label, ...(bins.length > 1 ? { bin, binIndex } : {}), round, ...row, shareOfCeiling: row.requestsPerSecond / ceiling })));
      }
    }
    return rows;
  } finally {
    for (const { server } of prepared) await stopServer(server);
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
  if (only === undefined || only.includes('sqlite')) results.push(...(await benchStore('sqlite', (i) => join(dir, `bench${i}.db`))));
  if (only === undefined || only.includes('postgres')) results.push(...(await benchStore('postgres', (i) => `${pgUrl(args.pg)}?schema=${schema}_${i}`)));
} finally {
  rmSync(dir, { recursive: true, force: true });
  if (only === undefined || only.includes('postgres')) {
    const client = new pg.Client({ connectionString: pgUrl(args.pg) });
    await client.connect();
    for (let i = 0; i < bins.length; i++) await client.query(`DROP SCHEMA IF EXISTS "${schema}_${i}" CASCADE`);
    await client.end();
  }
}

const pad = (s, n, right = false) => (right ? String(s).padEnd(n) : String(s).padStart(n));
const us = (v) => (v === null ? '-' : v.toFixed(0));
const pct = (v) => `${(v * 100).toFixed(0)}%`;
const load1 = existsSync('/proc/loadavg') ? readFileSync('/proc/loadavg', 'utf8').split(' ')[0] : '?';
console.log(`Sortition service benchmark: autocannon, ${connections} connections (one prebuilt request list each), ${rounds} round(s) of ${duration} s per scenario, loopback, node ${process.versions.node}, load average ${load1}`);
if (discarded > 0) console.log(`${discarded} round(s) were measured again: other programs used more than ${maxOthers} CPUs during them`);
console.log(`fdatasync of a 4 KiB append on this disk: p50 ${fsync.p50.toFixed(1)} ms, p99 ${fsync.p99.toFixed(1)} ms (a first assignment waits for at least one commit)`);
if (bins.length > 1) bins.forEach((bin, i) => console.log(`${binName(i)}: ${bin}`));
const binColumn = (row) => (bins.length > 1 ? pad(binName(row.binIndex), 4, true) : '');
console.log(`${pad('store', 9, true)}${bins.length > 1 ? pad('bin', 4, true) : ''}${pad('round', 6)}  ${pad('scenario', 36, true)}${pad('req/s', 9)}${pad('p50 ms', 8)}${pad('p99 ms', 8)}${pad('of ceiling', 11)}${pad('server µs/req', 14)}${pad('loader µs/req', 14)}${pad('others', 8)}${pad('failures', 10)}`);
for (const row of results) {
  console.log(
    `${pad(row.store, 9, true)}${binColumn(row)}${pad(row.round, 6)}  ${pad(row.scenario, 36, true)}${pad(Math.round(row.requestsPerSecond).toLocaleString('en-US'), 9)}${pad(row.p50, 8)}${pad(row.p99, 8)}${pad(pct(row.shareOfCeiling), 11)}${pad(us(row.serverCpuUsPerRequest), 14)}${pad(us(row.loaderCpuUsPerRequest), 14)}${pad(row.othersCpu === null ? '-' : row.othersCpu.toFixed(2), 8)}${pad(row.failures, 10)}${row.note === undefined ? '' : `  (${row.note})`}`,
  );
}
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
/** min-max (median) of `values`, each formatted by `f`. */
const ms = (v) => String(Math.round(v * 10) / 10);
const range = (values, f) => (Math.min(...values) === Math.max(...values) ? f(values[0]) : `${f(Math.min(...values))}-${f(Math.max(...values))} (${f(median(values))})`);
const serverUs = (rows) => (rows.some((r) => r.serverCpuUsPerRequest === null) ? '-' : `${range(rows.map((r) => r.serverCpuUsPerRequest), us)} µs/req`);
for (const store of new Set(results.map((r) => r.store))) {
  for (let b = 0; b < bins.length; b++) {
    const of = (prefix) => results.filter((r) => r.store === store && (bins.length === 1 || r.binIndex === b) && r.scenario.startsWith(prefix));
    const label = bins.length > 1 ? `${store} ${binName(b)}` : store;
    const ceiling = of('ceiling');
    const parts = [`ceiling ${serverUs(ceiling)}, p99 ${range(ceiling.map((r) => r.p99), ms)} ms`];
    for (const [name, rows] of [['returning', of('returning')], ['fresh', of('fresh')]]) {
      if (rows.length === 0) continue;
      const met = rows.filter((r) => r.shareOfCeiling >= 0.5).length;
      const verdict = name === 'returning' ? ` (target >= 50%: ${met === rows.length ? 'PASS' : met === 0 ? 'MISS' : `PASS in ${met} of ${rows.length} rounds`})` : '';
      const p99 = rows.map((r) => r.p99);
      parts.push(`${name} units at ${range(rows.map((r) => r.shareOfCeiling), pct)} of the ceiling${verdict}, ${serverUs(rows)}, p99 ${range(p99, ms)} ms (target < 10 ms: ${p99.every((v) => v < 10) ? 'PASS' : 'MISS'})`);
    }
    console.log(`${label}: ${parts.join('; ')}`);
  }
}
if (args.json !== undefined) writeFileSync(args.json, JSON.stringify({ connections, duration, rounds, bins, maxOthers, discarded, fsync, results }, null, 2));
if (results.some((r) => r.failures > 0)) process.exitCode = 1;
