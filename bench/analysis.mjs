#!/usr/bin/env node
/**
 * The analysis engine against a hand-written DuckDB query computing the same per-arm sums (first
 * exposure per unit; per arm and metric Σy and Σy² over the events at or after it), on generated
 * exposures and events, in the same run. Each measurement is its own process, so each has its own
 * peak RSS; the methods take turns within every round (the first method rotates), so slow drift
 * in machine load reaches all of them.
 *
 *   npm run bench:analysis                                  # 1M exposures / 5M events, 3 rounds
 *   npm run bench:analysis -- --large                       # also 10M / 50M (memory limit 3GB)
 *   npm run bench:analysis -- --sizes 200000:1000000 --runs 5 --format csv --json /tmp/analysis.json
 *
 * Options: --sizes E:V[,E:V...] (default 1000000:5000000), --large (adds 10000000:50000000),
 * --runs N (default 3), --threads N (DuckDB threads, default 2), --memory-limit X (DuckDB
 * memory_limit for every method; default none, 3GB at 10M exposures and above), --format
 * parquet|csv (default parquet), --no-series (skip analyze() with the cumulative series),
 * --no-naive (add analyze() without the naive view), --keep DIR (keep the generated files there),
 * --json FILE (every measurement).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ANALYSIS = new URL('../packages/analysis/dist/index.js', import.meta.url).href;
const SELF = fileURLToPath(import.meta.url);

const { values } = parseArgs({
  options: {
    child: { type: 'string' },
    exposures: { type: 'string' },
    events: { type: 'string' },
    sizes: { type: 'string', default: '1000000:5000000' },
    large: { type: 'boolean', default: false },
    runs: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    'memory-limit': { type: 'string' },
    format: { type: 'string', default: 'parquet' },
    'no-series': { type: 'boolean', default: false },
    'no-naive': { type: 'boolean', default: false },
    keep: { type: 'string' },
    json: { type: 'string' },
  },
});

/** One measurement in this process; prints one JSON line. */
async function child(method) {
  const { runEngine, runHandQuery } = await import(ANALYSIS);
  const common = { exposuresPath: values.exposures, eventsPath: values.events, threads: Number(values.threads), ...(values['memory-limit'] === undefined ? {} : { memoryLimit: values['memory-limit'] }) };
  let r;
  if (method === 'hand') r = await runHandQuery(common);
  else if (method === 'engine') r = await runEngine(common);
  else if (method === 'engine-no-naive') r = await runEngine({ ...common, naiveView: false });
  else if (method === 'engine-series') r = await runEngine({ ...common, cumulative: 'day' });
  else throw new Error(`unknown method ${method}`);
  const usage = process.resourceUsage();
  process.stdout.write(`${JSON.stringify({ method, ms: r.ms, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000, peakRssBytes: usage.maxRSS * 1024, sums: r.sums, steps: r.steps ?? null })}\n`);
}

function runChild(method, inputs, memoryLimit) {
  const args = [SELF, '--child', method, '--exposures', inputs.exposuresPath, '--events', inputs.eventsPath, '--threads', values.threads];
  if (memoryLimit !== undefined) args.push('--memory-limit', memoryLimit);
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1))) : reject(new Error(`${method} exited with ${code}`))));
  });
}

const fmtMs = (ms) => `${(ms / 1000).toFixed(2)} s`;
const fmtGb = (b) => `${(b / 1e9).toFixed(2)} GB`;
const range = (xs, f) => (xs.length === 0 ? 'n/a' : `${f(Math.min(...xs))} – ${f(Math.max(...xs))}`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const { writePerfInputs } = await import(ANALYSIS);
  const sizes = values.sizes.split(',').map((s) => s.split(':').map(Number));
  if (values.large) sizes.push([10_000_000, 50_000_000]);
  const runs = Number(values.runs);
  const methods = ['hand', 'engine', ...(values['no-series'] ? [] : ['engine-series']), ...(values['no-naive'] ? ['engine-no-naive'] : [])];
  const all = [];
  console.log(`analysis benchmark: ${runs} round(s), DuckDB threads ${values.threads}, ${values.format} inputs, methods ${methods.join(', ')}`);
  console.log('(each measurement is a fresh process; on a shared machine single runs vary: read the ranges)');
  for (const [exposures, events] of sizes) {
    if (!(exposures > 0 && events > 0)) throw new Error(`bad size ${exposures}:${events}`);
    const dir = values.keep === undefined ? mkdtempSync(join(tmpdir(), 'sortition-bench-analysis-')) : join(values.keep, `${exposures}-${events}`);
    if (values.keep !== undefined) mkdirSync(dir, { recursive: true });
    const memoryLimit = values['memory-limit'] ?? (exposures >= 10_000_000 ? '3GB' : undefined);
    try {
      const t = performance.now();
      const inputs = await writePerfInputs({ dir, exposures, events, threads: Number(values.threads), format: values.format });
      console.log(`\n${exposures.toLocaleString('en-US')} exposures / ${events.toLocaleString('en-US')} events (${inputs.units.toLocaleString('en-US')} units), generated in ${fmtMs(performance.now() - t)}${memoryLimit === undefined ? '' : `, memory_limit ${memoryLimit}`}`);
      const results = Object.fromEntries(methods.map((m) => [m, []]));
      for (let round = 0; round < runs; round++) {
        const order = methods.map((_, i) => methods[(i + round) % methods.length]);
        const byMethod = {};
        for (const m of order) byMethod[m] = await runChild(m, inputs, memoryLimit);
        for (const m of methods) results[m].push({ ...byMethod[m], ratio: byMethod[m].ms / byMethod.hand.ms });
        console.log(`  round ${round + 1}: ${methods.map((m) => `${m} ${fmtMs(byMethod[m].ms)}${m === 'hand' ? '' : ` (${(byMethod[m].ms / byMethod.hand.ms).toFixed(2)}x)`}`).join(', ')}`);
      }
      for (const m of methods) {
        const rs = results[m];
        const cpu = rs.map((r, i) => r.cpuMs / results.hand[i].cpuMs);
        console.log(`  ${m.padEnd(16)} wall ${range(rs.map((r) => r.ms), fmtMs)} (median ${fmtMs(median(rs.map((r) => r.ms)))})${m === 'hand' ? '' : `, ratio ${range(rs.map((r) => r.ratio), (x) => `${x.toFixed(2)}x`)} (median ${median(rs.map((r) => r.ratio)).toFixed(2)}x)`}; process CPU ${range(rs.map((r) => r.cpuMs), fmtMs)}${m === 'hand' ? '' : ` (${range(cpu, (x) => `${x.toFixed(2)}x`)})`}; peak RSS ${range(rs.map((r) => r.peakRssBytes), fmtGb)}`);
      }
      const steps = results.engine.at(-1)?.steps;
      if (steps) console.log(`  engine steps (last round, s): ${Object.entries(steps).map(([k, v]) => `${k.replace(/^sortition_/, '')} ${(v / 1000).toFixed(2)}`).join(', ')}`);
      // The engine's Σy per arm and metric must be the hand-written query's.
      const hand = results.hand[0].sums;
      const engine = results.engine[0].sums;
      const bad = hand.filter((h) => {
        const e = engine.find((x) => x.arm === h.arm && x.metric === h.metric);
        return e === undefined || Math.abs(e.sum - h.sum) > 1e-9 * Math.max(1, Math.abs(h.sum));
      });
      console.log(bad.length === 0 ? '  per-arm sums: engine = hand-written query' : `  per-arm sums DIFFER: ${JSON.stringify(bad)}`);
      if (bad.length > 0) process.exitCode = 1;
      all.push({ exposures, events, units: inputs.units, memoryLimit: memoryLimit ?? null, results });
    } finally {
      if (values.keep === undefined) rmSync(dir, { recursive: true, force: true });
    }
  }
  if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify({ threads: Number(values.threads), format: values.format, runs, sizes: all }, null, 2)}\n`);
}

if (values.child !== undefined) await child(values.child);
else await main();
