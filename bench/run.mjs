#!/usr/bin/env node
/**
 * The assignment benchmark (see bench/README.md). Run from the repository root with `npm run bench`
 * (builds the core first), or `node bench/run.mjs [options]` after a build.
 *
 * Each implementation lives in its own child process (this script with --child), so no SDK's global
 * state or JIT feedback reaches another's. The children are set up one at a time, then the parent
 * runs their passes round-robin, one child at a time: warm-up round(s) first, then the timed rounds.
 */
import { fork } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CHUNK, serveChild } from './lib/child.mjs';
import { checkSplit, formatReport, median, summarize } from './lib/report.mjs';
import { IMPLEMENTATIONS } from './impls/index.mjs';

const USAGE = `usage: node bench/run.mjs [options]

  --ids N        distinct ids ("user_0" ...) per pass (default 1000000)
  --passes N     timed passes per implementation; the median is reported (default 5)
  --warmup N     untimed warm-up passes first (default 1)
  --only a,b     measure only these implementations (ids below)
  --json FILE    also write the full results as JSON to FILE
  --verbose      echo each child's own output (SDK logs) to stderr
  --list         list the implementations and exit

implementations:
${IMPLEMENTATIONS.map((i) => `  ${i.id.padEnd(24)} ${i.kind.padEnd(10)} ${i.api}`).join('\n')}
`;

class UsageError extends Error {}

function integer(name, text, min) {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got "${text}"`);
  return n;
}

function parseOptions(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        ids: { type: 'string', default: '1000000' },
        passes: { type: 'string', default: '5' },
        warmup: { type: 'string', default: '1' },
        only: { type: 'string' },
        json: { type: 'string' },
        verbose: { type: 'boolean', default: false },
        list: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        child: { type: 'string' },
      },
      strict: true,
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values } = parsed;
  const only =
    values.only === undefined
      ? IMPLEMENTATIONS.map((i) => i.id)
      : values.only
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
  for (const id of only) {
    if (!IMPLEMENTATIONS.some((i) => i.id === id)) throw new UsageError(`unknown implementation "${id}" (see --list)`);
  }
  return {
    ids: integer('ids', values.ids, 1),
    passes: integer('passes', values.passes, 1),
    warmup: integer('warmup', values.warmup, 0),
    only,
    json: values.json,
    verbose: values.verbose,
    list: values.list,
    help: values.help,
    child: values.child,
  };
}

/** The installed version of a package, found by walking up from its resolved entry point. */
function packageVersion(pkg) {
  if (pkg === null) return `node ${process.versions.node}`;
  let dir = dirname(fileURLToPath(import.meta.resolve(pkg)));
  for (;;) {
    try {
      const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (json.name === pkg) return json.version;
    } catch (error) {
      if (error.code !== 'ENOENT') throw error;
    }
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** A child process measuring one implementation; `next()` resolves with its next message. */
class Child {
  constructor(impl, options) {
    this.output = '';
    this.inbox = [];
    this.waiting = null;
    this.exited = null;
    this.finished = false;
    this.process = fork(fileURLToPath(import.meta.url), ['--child', impl.id, '--ids', String(options.ids)], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const collect = (chunk) => {
      this.output += chunk;
      if (options.verbose) process.stderr.write(chunk);
    };
    this.process.stdout.setEncoding('utf8').on('data', collect);
    this.process.stderr.setEncoding('utf8').on('data', collect);
    this.process.on('message', (message) => this.deliver(message));
    this.process.on('exit', (code, signal) => {
      this.exited = `child exited with ${signal ?? `code ${code}`}`;
      if (!this.finished) this.deliver({ type: 'error', message: this.exited });
    });
  }

  /** The measurement is over (the child replied to 'close'): end the child; its exit is expected now. */
  finish() {
    this.finished = true;
    if (this.exited === null) this.process.kill();
  }

  deliver(message) {
    if (this.waiting !== null) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve(message);
    } else this.inbox.push(message);
  }

  next() {
    if (this.inbox.length > 0) return Promise.resolve(this.inbox.shift());
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  async request(cmd) {
    if (this.exited !== null) return { type: 'error', message: this.exited };
    this.process.send({ cmd });
    return this.next();
  }
}

function failed(run, message) {
  run.error = message;
  if (run.child.exited === null) run.child.process.kill();
}

async function measureAll(options) {
  const runs = [];
  for (const id of options.only) {
    const impl = IMPLEMENTATIONS.find((i) => i.id === id);
    const run = { impl, child: new Child(impl, options), ready: null, warmups: [], passes: [], closed: null, error: null };
    runs.push(run);
    process.stderr.write(`setup ${impl.id} ...`);
    const ready = await run.child.next();
    if (ready.type === 'ready') {
      run.ready = ready;
      process.stderr.write(` ${ready.setupMs.toFixed(0)} ms\n`);
    } else {
      failed(run, ready.message);
      process.stderr.write(` FAILED: ${ready.message}\n`);
    }
  }

  const rounds = [...Array.from({ length: options.warmup }, () => 'warmup'), ...Array.from({ length: options.passes }, () => 'timed')];
  for (const [r, round] of rounds.entries()) {
    const line = [];
    for (const run of runs) {
      if (run.error !== null) continue;
      const reply = await run.child.request('pass');
      if (reply.type !== 'pass') {
        failed(run, reply.message);
        line.push(`${run.impl.id} FAILED`);
        continue;
      }
      (round === 'warmup' ? run.warmups : run.passes).push(reply);
      line.push(`${run.impl.id} ${(reply.ns / options.ids).toFixed(0)}`);
    }
    process.stderr.write(`${round === 'warmup' ? 'warm-up' : 'timed'} round ${r + 1}/${rounds.length} (ns/assign): ${line.join(', ')}\n`);
  }

  for (const run of runs) {
    if (run.error !== null) continue;
    const reply = await run.child.request('close');
    if (reply.type === 'closed') {
      run.closed = reply;
      run.child.finish();
    } else failed(run, reply.message);
  }
  return runs;
}

function resultOf(run, options) {
  const { impl } = run;
  const base = { id: impl.id, kind: impl.kind, label: impl.label, pkg: impl.pkg, version: packageVersion(impl.pkg), api: impl.api };
  const outputLines = run.child.output === '' ? 0 : run.child.output.trimEnd().split('\n').length;
  if (run.error !== null) return { ...base, ok: false, error: run.error, output: run.child.output, outputLines };
  const all = [...run.warmups, ...run.passes];
  const first = all[0];
  const same = (p) => Object.keys(first.counts).every((k) => p.counts[k] === first.counts[k]);
  const nsPasses = run.passes.map((p) => p.ns / options.ids);
  return {
    ...base,
    ok: true,
    async: run.ready.async,
    setupMs: run.ready.setupMs,
    nsPerAssignment: median(nsPasses),
    nsPasses,
    warmupNs: run.warmups.map((p) => p.ns / options.ids),
    split: first.counts,
    splitCheck: checkSplit(first.counts),
    firstOther: first.firstOther,
    deterministic: all.every(same),
    notes: run.ready.notes,
    network: run.closed.network,
    outputLines,
  };
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  if (options.child !== undefined) return serveChild(options.child, options.ids);
  if (options.help || options.list) {
    process.stdout.write(USAGE);
    return;
  }

  const runs = await measureAll(options);
  const results = runs.map((run) => resultOf(run, options));
  const report = {
    schema: 'sortition-bench/v1',
    date: new Date().toISOString(),
    environment: {
      node: process.versions.node,
      v8: process.versions.v8,
      platform: process.platform,
      arch: process.arch,
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cpus: os.cpus().length,
    },
    options: { ids: options.ids, passes: options.passes, warmup: options.warmup, chunk: CHUNK },
    results,
    summary: summarize(results),
  };
  process.stdout.write(`${formatReport(report)}\n`);
  if (options.json !== undefined) writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
  if (report.summary.failed.length > 0) process.exitCode = 1;
}

main().catch((error) => {
  if (error instanceof UsageError) process.stderr.write(`${error.message}\n\n${USAGE}`);
  else process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 2;
});
