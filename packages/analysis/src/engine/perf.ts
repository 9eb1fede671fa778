// Performance harness: generates N exposures and M events with DuckDB (range() and hash();
// deterministic), then times analyze() against a hand-written DuckDB query computing the same
// per-arm sums (first exposure per unit, events at or after it, per arm and metric: units, Σy, Σy²).
// bench/analysis.mjs runs the pieces in separate processes (for per-run peak memory); runPerf runs
// them in this one (the test does, at a tiny scale).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DuckDBInstance } from '@duckdb/node-api';
import { analyze } from './analyze.js';
import { quoteLiteral } from './sql.js';
import { type SeriesInterval } from './types.js';

export interface PerfOptions {
  readonly exposures: number;
  readonly events: number;
  /** DuckDB threads for every step; default 2. */
  readonly threads?: number;
  /** DuckDB memory_limit for analyze() and the hand-written query, e.g. "3GB". */
  readonly memoryLimit?: string;
  /** Also time analyze() without the naive event-time view; default true. */
  readonly withoutNaive?: boolean;
}

export interface PerfResult {
  readonly exposures: number;
  readonly events: number;
  readonly units: number;
  readonly generateMs: number;
  readonly handQueryMs: number;
  readonly analyzeMs: number;
  readonly analyzeWithoutNaiveMs: number | null;
  /** analyzeMs / handQueryMs. */
  readonly ratio: number;
  readonly ratioWithoutNaive: number | null;
  /** process.resourceUsage().maxRSS, in bytes (peak over the process's life). */
  readonly peakRssBytes: number;
  /** The hand-written query's per-arm sums, and analyze()'s, for the primary metric (to check they agree). */
  readonly handSums: readonly PerArmSum[];
  readonly engineSums: readonly PerArmSum[];
}

export interface PerArmSum {
  readonly arm: string;
  readonly metric: string;
  readonly n: number;
  readonly sum: number;
}

const DAY_MS = 86_400_000;
const START_MS = Date.UTC(2024, 0, 1);

export type PerfFormat = 'parquet' | 'csv';

/**
 * Writes `exposures.<format>` and `events.<format>` into `dir`: unit i % units (units =
 * exposures / 2); arm from hash(unit); 2% of exposures land in the other arm (crossovers); two
 * phases by exposure time (first week p1, second p2); events over 15 days, a quarter "purchase".
 */
export async function writePerfInputs(options: { readonly dir: string; readonly exposures: number; readonly events: number; readonly threads?: number; readonly format?: PerfFormat }): Promise<{ exposuresPath: string; eventsPath: string; units: number }> {
  const units = Math.max(2, Math.floor(options.exposures / 2));
  const format = options.format ?? 'parquet';
  const exposuresPath = join(options.dir, `exposures.${format}`);
  const eventsPath = join(options.dir, `events.${format}`);
  const copy = format === 'parquet' ? '(FORMAT parquet)' : '(FORMAT csv, HEADER)';
  const gen = await DuckDBInstance.create(':memory:', { threads: String(options.threads ?? 2) });
  const g = await gen.connect();
  try {
    await g.run(`COPY (
      SELECT 'u' || (i % ${units}) AS unit_id, 'perf' AS experiment,
             CASE WHEN ((hash(i % ${units}) % 2 = 0) <> (hash(i, 7) % 100 < 2)) THEN 'control' ELSE 'treatment' END AS variant,
             make_timestamp(CAST((${START_MS} + hash(i, 1) % ${14 * DAY_MS}) * 1000 AS BIGINT)) AS timestamp,
             CASE WHEN hash(i, 1) % ${14 * DAY_MS} < ${7 * DAY_MS} THEN 'p1' ELSE 'p2' END AS phase,
             CAST(1 + hash(i, 1) % ${14 * DAY_MS} // ${7 * DAY_MS} AS BIGINT) AS config_version
      FROM range(${options.exposures}) t(i)) TO ${quoteLiteral(exposuresPath)} ${copy}`);
    await g.run(`COPY (
      SELECT 'u' || (hash(j, 2) % ${units}) AS unit_id,
             make_timestamp(CAST((${START_MS} + hash(j, 3) % ${15 * DAY_MS}) * 1000 AS BIGINT)) AS timestamp,
             CASE WHEN j % 4 = 0 THEN 'purchase' ELSE 'revenue' END AS metric,
             CAST(hash(j, 4) % 10000 AS DOUBLE) / 100 AS value
      FROM range(${options.events}) t(j)) TO ${quoteLiteral(eventsPath)} ${copy}`);
  } finally {
    g.closeSync();
    gen.closeSync();
  }
  return { exposuresPath, eventsPath, units };
}

function reader(path: string): string {
  return path.endsWith('.csv') ? `read_csv(${quoteLiteral(path)}, header = true)` : `read_parquet(${quoteLiteral(path)})`;
}

/** The baseline: per arm and metric, units with events after their first exposure, Σy and Σy², in one query. */
export async function runHandQuery(options: { readonly exposuresPath: string; readonly eventsPath: string; readonly threads?: number; readonly memoryLimit?: string }): Promise<{ ms: number; sums: PerArmSum[] }> {
  const t = performance.now();
  const config: Record<string, string> = { threads: String(options.threads ?? 2) };
  if (options.memoryLimit !== undefined) config['memory_limit'] = options.memoryLimit;
  const hand = await DuckDBInstance.create(':memory:', config);
  const h = await hand.connect();
  try {
    const result = await h.runAndReadAll(`
      WITH f AS (SELECT unit_id, arg_min(variant, ts_v) AS arm, min(timestamp) AS first_ts
                 FROM (SELECT *, (timestamp, variant) AS ts_v FROM ${reader(options.exposuresPath)}) GROUP BY unit_id),
      u AS (SELECT e.unit_id, f.arm, e.metric, sum(e.value) AS y
            FROM ${reader(options.eventsPath)} e JOIN f ON e.unit_id = f.unit_id
            WHERE e.timestamp >= f.first_ts GROUP BY ALL)
      SELECT arm, metric, count(*) AS units_with_events, sum(y) AS sy, sum(y * y) AS syy FROM u GROUP BY ALL ORDER BY ALL`);
    const sums = result.getRowObjectsJS().map((r) => ({ arm: String(r['arm']), metric: String(r['metric']), n: Number(r['units_with_events']), sum: Number(r['sy']) }));
    return { ms: performance.now() - t, sums };
  } finally {
    h.closeSync();
    hand.closeSync();
  }
}

/** analyze() on the generated inputs (both metrics as sums); returns its time, the per-arm sums and the time per SQL step. */
export async function runEngine(options: {
  readonly exposuresPath: string;
  readonly eventsPath: string;
  readonly threads?: number;
  readonly memoryLimit?: string;
  readonly naiveView?: boolean;
  readonly cumulative?: SeriesInterval;
}): Promise<{ ms: number; sums: PerArmSum[]; steps: Record<string, number> }> {
  const steps: Record<string, number> = {};
  const t = performance.now();
  const r = await analyze({
    exposures: { path: options.exposuresPath },
    events: { path: options.eventsPath },
    experiment: 'perf',
    metrics: [
      { name: 'purchase', kind: 'sum' },
      { name: 'revenue', kind: 'sum' },
    ],
    naiveView: options.naiveView !== false,
    duckdb: options.memoryLimit === undefined ? { threads: options.threads ?? 2 } : { threads: options.threads ?? 2, memoryLimit: options.memoryLimit },
    ...(options.cumulative === undefined ? {} : { cumulative: options.cumulative }),
    onStep: (step, ms) => {
      steps[step] = (steps[step] ?? 0) + ms;
    },
  });
  const ms = performance.now() - t;
  const sums = r.metrics.flatMap((m) => {
    const perArm = new Map<string, { n: number; sum: number }>();
    for (const s of m.statistics) {
      const a = perArm.get(s.arm) ?? { n: 0, sum: 0 };
      perArm.set(s.arm, { n: a.n + s.n, sum: a.sum + s.sum });
    }
    return [...perArm].map(([arm, a]) => ({ arm, metric: m.metric, n: a.n, sum: a.sum }));
  });
  return { ms, sums, steps };
}

export async function runPerf(options: PerfOptions): Promise<PerfResult> {
  const dir = await mkdtemp(join(tmpdir(), 'sortition-perf-'));
  try {
    const t0 = performance.now();
    const inputs = await writePerfInputs({ dir, exposures: options.exposures, events: options.events, ...(options.threads === undefined ? {} : { threads: options.threads }) });
    const generateMs = performance.now() - t0;
    const common = { exposuresPath: inputs.exposuresPath, eventsPath: inputs.eventsPath, threads: options.threads ?? 2, ...(options.memoryLimit === undefined ? {} : { memoryLimit: options.memoryLimit }) };
    const hand = await runHandQuery(common);
    const full = await runEngine(common);
    const lean = options.withoutNaive === false ? null : await runEngine({ ...common, naiveView: false });
    return {
      exposures: options.exposures,
      events: options.events,
      units: inputs.units,
      generateMs,
      handQueryMs: hand.ms,
      analyzeMs: full.ms,
      analyzeWithoutNaiveMs: lean?.ms ?? null,
      ratio: full.ms / hand.ms,
      ratioWithoutNaive: lean === null ? null : lean.ms / hand.ms,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      handSums: hand.sums,
      engineSums: full.sums,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
