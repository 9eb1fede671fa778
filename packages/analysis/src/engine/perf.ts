// Performance harness: generates N exposures and M events as Parquet with DuckDB (range() and
// hash(); deterministic), then times analyze() against a hand-written DuckDB query computing the
// same per-arm sums (first exposure per unit, events at or after it, per arm and metric: units,
// Σy, Σy²). Returns the timings and the process's peak resident set size.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DuckDBInstance } from '@duckdb/node-api';
import { analyze } from './analyze.js';
import { quoteLiteral } from './sql.js';

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
  readonly handSums: readonly { readonly arm: string; readonly metric: string; readonly n: number; readonly sum: number }[];
  readonly engineSums: readonly { readonly arm: string; readonly metric: string; readonly n: number; readonly sum: number }[];
}

const DAY_MS = 86_400_000;
const START_MS = Date.UTC(2024, 0, 1);

export async function runPerf(options: PerfOptions): Promise<PerfResult> {
  const threads = String(options.threads ?? 2);
  const units = Math.max(2, Math.floor(options.exposures / 2));
  const dir = await mkdtemp(join(tmpdir(), 'sortition-perf-'));
  const exposuresPath = join(dir, 'exposures.parquet');
  const eventsPath = join(dir, 'events.parquet');
  try {
    const t0 = performance.now();
    const gen = await DuckDBInstance.create(':memory:', { threads });
    const g = await gen.connect();
    try {
      // Unit i % units; arm from hash(unit); 2% of exposures land in the other arm (crossovers);
      // two phases by exposure time (first week p1, second p2).
      await g.run(`COPY (
        SELECT 'u' || (i % ${units}) AS unit_id, 'perf' AS experiment,
               CASE WHEN ((hash(i % ${units}) % 2 = 0) <> (hash(i, 7) % 100 < 2)) THEN 'control' ELSE 'treatment' END AS variant,
               make_timestamp(CAST((${START_MS} + hash(i, 1) % ${14 * DAY_MS}) * 1000 AS BIGINT)) AS timestamp,
               CASE WHEN hash(i, 1) % ${14 * DAY_MS} < ${7 * DAY_MS} THEN 'p1' ELSE 'p2' END AS phase,
               CAST(1 + hash(i, 1) % ${14 * DAY_MS} // ${7 * DAY_MS} AS BIGINT) AS config_version
        FROM range(${options.exposures}) t(i)) TO ${quoteLiteral(exposuresPath)} (FORMAT parquet)`);
      await g.run(`COPY (
        SELECT 'u' || (hash(j, 2) % ${units}) AS unit_id,
               make_timestamp(CAST((${START_MS} + hash(j, 3) % ${15 * DAY_MS}) * 1000 AS BIGINT)) AS timestamp,
               CASE WHEN j % 4 = 0 THEN 'purchase' ELSE 'revenue' END AS metric,
               CAST(hash(j, 4) % 10000 AS DOUBLE) / 100 AS value
        FROM range(${options.events}) t(j)) TO ${quoteLiteral(eventsPath)} (FORMAT parquet)`);
    } finally {
      g.closeSync();
      gen.closeSync();
    }
    const generateMs = performance.now() - t0;

    const t1 = performance.now();
    const config: Record<string, string> = { threads };
    if (options.memoryLimit !== undefined) config['memory_limit'] = options.memoryLimit;
    const hand = await DuckDBInstance.create(':memory:', config);
    const h = await hand.connect();
    let handSums: { arm: string; metric: string; n: number; sum: number }[];
    try {
      const reader = await h.runAndReadAll(`
        WITH f AS (SELECT unit_id, arg_min(variant, ts_v) AS arm, min(timestamp) AS first_ts
                   FROM (SELECT *, (timestamp, variant) AS ts_v FROM read_parquet(${quoteLiteral(exposuresPath)})) GROUP BY unit_id),
        u AS (SELECT e.unit_id, f.arm, e.metric, sum(e.value) AS y
              FROM read_parquet(${quoteLiteral(eventsPath)}) e JOIN f ON e.unit_id = f.unit_id
              WHERE e.timestamp >= f.first_ts GROUP BY ALL)
        SELECT arm, metric, count(*) AS units_with_events, sum(y) AS sy, sum(y * y) AS syy FROM u GROUP BY ALL ORDER BY ALL`);
      handSums = reader.getRowObjectsJS().map((r) => ({ arm: String(r['arm']), metric: String(r['metric']), n: Number(r['units_with_events']), sum: Number(r['sy']) }));
    } finally {
      h.closeSync();
      hand.closeSync();
    }
    const handQueryMs = performance.now() - t1;

    const duckdb = options.memoryLimit === undefined ? { threads: Number(threads) } : { threads: Number(threads), memoryLimit: options.memoryLimit };
    const run = async (naiveView: boolean): Promise<{ ms: number; sums: { arm: string; metric: string; n: number; sum: number }[] }> => {
      const t = performance.now();
      const r = await analyze({
        exposures: { path: exposuresPath },
        events: { path: eventsPath },
        experiment: 'perf',
        metrics: [{ name: 'purchase', kind: 'sum' }, { name: 'revenue', kind: 'sum' }],
        naiveView,
        duckdb,
      });
      const sums = r.metrics.flatMap((m) => {
        const perArm = new Map<string, { n: number; sum: number }>();
        for (const s of m.statistics) {
          const a = perArm.get(s.arm) ?? { n: 0, sum: 0 };
          perArm.set(s.arm, { n: a.n + s.n, sum: a.sum + s.sum });
        }
        return [...perArm].map(([arm, a]) => ({ arm, metric: m.metric, n: a.n, sum: a.sum }));
      });
      return { ms: performance.now() - t, sums };
    };
    const full = await run(true);
    const lean = options.withoutNaive === false ? null : await run(false);
    return {
      exposures: options.exposures,
      events: options.events,
      units,
      generateMs,
      handQueryMs,
      analyzeMs: full.ms,
      analyzeWithoutNaiveMs: lean?.ms ?? null,
      ratio: full.ms / handQueryMs,
      ratioWithoutNaive: lean === null ? null : lean.ms / handQueryMs,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      handSums,
      engineSums: full.sums,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
