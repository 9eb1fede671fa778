/**
 * `sortition simulate postmortem` and `sortition simulate partitioned-ramp`: option parsing and
 * validation; the simulation itself is @sortition/sim (it returns data), rendering is in
 * simulate-report*.ts, and only main prints.
 */
import { Rng, runCalibration, runPartitionedRamp, runPostmortem, ServiceBackend, ServiceError, PARTITIONED_DEFAULTS, type CalibrationResult, type PartitionedRampResult, type PostmortemResult, type ServiceClock } from '@sortition/sim';
import type { Command } from 'commander';
import { CliError } from '../config-file.js';
import { renderPostmortem } from './simulate-report.js';
import { renderCalibration, renderPartitionedRamp } from './simulate-report-ramp.js';

export const POSTMORTEM_DEFAULTS = { users: 20_000, days: 10, effect: 0, seed: 1, out: 'sortition-sim' } as const;

export interface PostmortemCommandOptions {
  readonly users?: string | undefined;
  readonly days?: string | undefined;
  readonly effect?: string | undefined;
  readonly seed?: string | undefined;
  readonly out?: string | undefined;
  readonly replicates?: string | undefined;
  readonly viaServer?: string | undefined;
  readonly key?: string | undefined;
  /** The service's clock as seen from here (tests with an in-process service); default the real clock. */
  readonly serviceClock?: ServiceClock;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly onStage?: (stage: string) => void;
}

export type PostmortemOutcome = { readonly kind: 'world'; readonly result: PostmortemResult } | { readonly kind: 'replicates'; readonly result: CalibrationResult };

function integer(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) throw new CliError('INVALID_ARGUMENT', `--${name} ${value}: use an integer from ${min} to ${max}`);
  return n;
}

function number(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new CliError('INVALID_ARGUMENT', `--${name} ${value}: use a number from ${min} to ${max}`);
  return n;
}

export async function runSimulatePostmortem(o: PostmortemCommandOptions): Promise<PostmortemOutcome> {
  const users = integer('users', o.users, POSTMORTEM_DEFAULTS.users, 100, 2_000_000);
  const days = integer('days', o.days, POSTMORTEM_DEFAULTS.days, 2, 120);
  const effect = number('effect', o.effect, POSTMORTEM_DEFAULTS.effect, -0.3, 0.3);
  const seed = integer('seed', o.seed, POSTMORTEM_DEFAULTS.seed, 0, 0xffffffff);
  if (o.replicates !== undefined) {
    if (o.viaServer !== undefined) throw new CliError('INVALID_ARGUMENT', '--replicates runs the library in memory; leave out --via-server (run one world through the service instead)');
    const replicates = integer('replicates', o.replicates, 1, 1, 100_000);
    return { kind: 'replicates', result: await runCalibration({ users, days, effect, seed, replicates, onProgress: (done, total) => o.onStage?.(`world ${done} of ${total}`) }) };
  }
  let backend: ServiceBackend | undefined;
  if (o.viaServer !== undefined) {
    const key = o.key ?? o.env?.['SORTITION_ADMIN_KEY'];
    if (key === undefined || key === '') throw new CliError('INVALID_ARGUMENT', '--via-server needs an admin key to publish the simulation\'s config: pass --key sk_admin_... or set SORTITION_ADMIN_KEY');
    let url: URL;
    try {
      url = new URL(o.viaServer);
    } catch (error) {
      throw new CliError('INVALID_ARGUMENT', `--via-server ${o.viaServer} is not a URL; use e.g. http://127.0.0.1:8080`, { cause: error });
    }
    backend = new ServiceBackend({ url: url.toString(), key, rng: Rng.stream(seed, 'service-backoff'), ...(o.serviceClock === undefined ? {} : { clock: o.serviceClock }) });
  }
  try {
    const result = await runPostmortem({ users, days, effect, seed, out: o.out ?? POSTMORTEM_DEFAULTS.out, ...(backend === undefined ? {} : { backend }), ...(o.onStage === undefined ? {} : { onStage: o.onStage }) });
    return { kind: 'world', result };
  } catch (error) {
    if (error instanceof ServiceError) throw new CliError('SERVICE_ERROR', error.message, { cause: error });
    throw error;
  }
}

export interface PartitionedRampCommandOptions {
  readonly users?: string | undefined;
  readonly days?: string | undefined;
  readonly seed?: string | undefined;
  readonly replicates?: string | undefined;
  readonly novelty?: string | undefined;
  readonly settled?: string | undefined;
  readonly onStage?: (stage: string) => void;
}

export async function runSimulatePartitionedRamp(o: PartitionedRampCommandOptions): Promise<PartitionedRampResult> {
  return runPartitionedRamp({
    users: integer('users', o.users, PARTITIONED_DEFAULTS.users, 100, 2_000_000),
    days: integer('days', o.days, PARTITIONED_DEFAULTS.days, 4, 120),
    seed: integer('seed', o.seed, 1, 0, 0xffffffff),
    replicates: integer('replicates', o.replicates, PARTITIONED_DEFAULTS.replicates, 1, 10_000),
    novelty: number('novelty', o.novelty, PARTITIONED_DEFAULTS.novelty, 0, 0.5),
    settled: number('settled', o.settled, PARTITIONED_DEFAULTS.settled, -0.3, 0.3),
    noveltyDays: PARTITIONED_DEFAULTS.noveltyDays,
    onProgress: (done, total) => o.onStage?.(`world ${done} of ${total}`),
  });
}

export function renderSimulatePostmortem(outcome: PostmortemOutcome): string {
  return outcome.kind === 'world' ? renderPostmortem(outcome.result) : renderCalibration(outcome.result);
}

/** The JSON form: everything the simulation returned, without the engine's full results for one world (see the files). */
export function postmortemJson(outcome: PostmortemOutcome): unknown {
  if (outcome.kind === 'replicates') return outcome.result;
  const { analyses: _analyses, ...rest } = outcome.result;
  return rest;
}

/** A one-line stage indicator on stderr, only when it is a terminal. */
function stageWriter(): { stage: (s: string) => void; stop: () => void } {
  if (process.stderr.isTTY !== true) return { stage: () => undefined, stop: () => undefined };
  let drawn = false;
  return {
    stage: (s) => {
      process.stderr.write(`\r\x1b[2Ksortition simulate: ${s}`);
      drawn = true;
    },
    stop: () => {
      if (drawn) process.stderr.write('\r\x1b[2K');
    },
  };
}

interface Emit {
  (out: { stdout: string; exitCode: number }): void;
}

export function registerSimulate(program: Command, emit: Emit): void {
  const simulate = program.command('simulate').description('simulate traffic: the post-mortem\'s naive stack against Sortition, and canary ramps');

  simulate
    .command('postmortem')
    .description('one world served by the naive stack and by Sortition, both analysed (DuckDB); or --replicates R worlds for false-positive rate and power')
    .option('--users <n>', `population size (default ${POSTMORTEM_DEFAULTS.users})`)
    .option('--days <n>', `days simulated; the change is on the Sunday night halfway (default ${POSTMORTEM_DEFAULTS.days})`)
    .option('--effect <x>', 'true effect of treatment on the per-session satisfaction probability, absolute (default 0)')
    .option('--seed <n>', 'seed (default 1): the same seed gives the same output')
    .option('--out <dir>', `folder for the exposures and events each stack produced (default ./${POSTMORTEM_DEFAULTS.out})`)
    .option('--replicates <r>', 'run R worlds and report each analysis\'s rejection rate at p < 0.05 with a Wilson interval')
    .option('--via-server <url>', 'serve the Sortition side through a running service (evaluate, exposures, export) instead of the library')
    .option('--key <key>', 'admin key for --via-server (env SORTITION_ADMIN_KEY)')
    .option('--json', 'print the result as JSON')
    .action(async (o: { users?: string; days?: string; effect?: string; seed?: string; out?: string; replicates?: string; viaServer?: string; key?: string; json?: boolean }) => {
      const progress = stageWriter();
      let outcome: PostmortemOutcome;
      try {
        outcome = await runSimulatePostmortem({ ...o, env: process.env, onStage: progress.stage });
      } finally {
        progress.stop();
      }
      emit({ stdout: o.json === true ? JSON.stringify(postmortemJson(outcome), null, 2) : renderSimulatePostmortem(outcome), exitCode: 0 });
    });

  simulate
    .command('partitioned-ramp')
    .description('a 10% canary, then the full ramp three ways (straight, restart and reassign, partitioned): spillover and bias')
    .option('--users <n>', `population size (default ${PARTITIONED_DEFAULTS.users})`)
    .option('--days <n>', `days simulated; the canary runs the first half (default ${PARTITIONED_DEFAULTS.days})`)
    .option('--seed <n>', 'seed (default 1)')
    .option('--replicates <r>', `worlds to average the bias over (default ${PARTITIONED_DEFAULTS.replicates})`)
    .option('--novelty <x>', `extra satisfaction in a user's first ${PARTITIONED_DEFAULTS.noveltyDays} days with the treatment (default ${PARTITIONED_DEFAULTS.novelty})`)
    .option('--settled <x>', `the treatment's lasting effect (default ${PARTITIONED_DEFAULTS.settled})`)
    .option('--json', 'print the result as JSON')
    .action(async (o: { users?: string; days?: string; seed?: string; replicates?: string; novelty?: string; settled?: string; json?: boolean }) => {
      const progress = stageWriter();
      let result: PartitionedRampResult;
      try {
        result = await runSimulatePartitionedRamp({ ...o, onStage: progress.stage });
      } finally {
        progress.stop();
      }
      emit({ stdout: o.json === true ? JSON.stringify(result, null, 2) : renderPartitionedRamp(result), exitCode: 0 });
    });
}
