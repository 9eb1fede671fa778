// The analysis on any runner: build the script for the runner's dialect, run it, count the bad
// rows (and refuse them unless allowed), and assemble the result. analyze() (DuckDB) and
// analyzePostgres() differ only in how they make the two source relations.
import { type Dialect, type SeriesInterval } from './dialect.js';
import { AnalysisError } from './errors.js';
import { validateCaps } from './estimate.js';
import { fetchExamples } from './examples.js';
import { readResults, runSteps } from './pipeline.js';
import { assembleResult, badRowsDetail, countReport, exposureMaskCounts } from './result.js';
import { eventRules, type Rule } from './rules.js';
import { type SqlRunner } from './runner.js';
import { buildScript, type Step } from './script.js';
import { quoteLiteral } from './sql.js';
import { type AnalysisOptions, type AnalysisResult, type AnalysisWarning, type LoadReport, type RuleViolation } from './types.js';

/** One input as the script sees it: its report so far, its rules, and the relation to take examples from. */
export interface PreparedSource {
  readonly base: Omit<LoadReport, 'rows' | 'badRows' | 'violations'>;
  readonly rules: readonly Rule[];
  readonly checked: string;
}

const INTERVALS: readonly SeriesInterval[] = ['hour', 'day', 'week'];

/** Checks the options that shape the SQL and returns the script for `dialect`. */
export function scriptFor(dialect: Dialect, options: AnalysisOptions, exposureRules: readonly Rule[]): Step[] {
  if (typeof options.experiment !== 'string' || options.experiment === '') {
    throw new AnalysisError('INVALID_OPTION', 'experiment must be a non-empty string: pass the experiment key to analyse');
  }
  if (options.metrics !== undefined) {
    const seen = new Set<string>();
    for (const m of options.metrics) {
      if (typeof m.name !== 'string' || m.name.trim() === '') throw new AnalysisError('INVALID_OPTION', 'metrics: every metric needs a non-empty name');
      if (m.kind !== 'sum' && m.kind !== 'conversion') throw new AnalysisError('INVALID_OPTION', `metric "${m.name}": kind must be "sum" or "conversion"`);
      if (seen.has(m.name)) throw new AnalysisError('INVALID_OPTION', `metric "${m.name}" is listed twice`);
      seen.add(m.name);
    }
  }
  if (options.cumulative !== undefined && !INTERVALS.includes(options.cumulative)) {
    throw new AnalysisError('INVALID_OPTION', `cumulative must be one of ${INTERVALS.join(', ')}, got ${String(options.cumulative)}`);
  }
  quoteLiteral(options.experiment);
  return buildScript(dialect, {
    experiment: options.experiment,
    exposureRules,
    metrics: options.metrics === undefined ? null : options.metrics.map((m) => m.name),
    naive: options.naiveView !== false,
    caps: validateCaps(options.cap, options.metrics ?? null),
    interval: options.cumulative ?? null,
  });
}

async function withExamples(runner: SqlRunner, report: LoadReport, source: PreparedSource): Promise<LoadReport> {
  if (report.badRows === 0) return report;
  const violations: RuleViolation[] = [];
  for (const v of report.violations) {
    const rule = source.rules.find((r) => r.name === v.rule);
    violations.push(rule === undefined ? v : { ...v, examples: await fetchExamples(runner, report.kind, source.checked, rule) });
  }
  return { ...report, violations };
}

export async function runAnalysis(
  runner: SqlRunner,
  options: AnalysisOptions,
  sources: { readonly exposures: PreparedSource; readonly events: PreparedSource },
  mapError?: (step: Step, error: unknown) => unknown,
): Promise<AnalysisResult> {
  const steps = scriptFor(runner.dialect, options, sources.exposures.rules);
  const data = readResults(await runSteps(runner, steps, { onStage: options.onStage, onStep: options.onStep }, mapError));
  const exposures = await withExamples(runner, countReport(sources.exposures.base, sources.exposures.rules, exposureMaskCounts(data, sources.exposures.rules)), sources.exposures);
  const events = await withExamples(runner, countReport(sources.events.base, eventRules(runner.dialect), data.eventCounts), sources.events);
  const warnings: AnalysisWarning[] = [];
  if (exposures.badRows + events.badRows > 0) {
    const detail = badRowsDetail([exposures, events]);
    if (options.allowBadRows !== true) {
      const error = new AnalysisError('BAD_ROWS', `invalid input rows: ${detail}. Fix the rows, or pass allowBadRows: true to exclude them (the report counts them).`);
      Object.assign(error, { reports: { exposures, events } });
      throw error;
    }
    warnings.push({ code: 'BAD_ROWS_EXCLUDED', message: `excluded invalid rows: ${detail}` });
  }
  return assembleResult({ options, data, reports: { exposures, events }, warnings });
}
