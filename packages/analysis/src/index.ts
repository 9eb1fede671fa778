// @sortition/analysis: the statistics of experiment analysis, as pure functions over per-arm
// sufficient statistics. See README.md for the formulas and references.
export {
  summarizeMean,
  summarizeProportion,
  type CovariateStats,
  type MeanStats,
  type MeanSummary,
  type ProportionStats,
  type ProportionSummary,
  type RatioStats,
} from './stats/summary.js';
export { absoluteLift, relativeLift, type ArmEstimate, type Interval, type LiftOptions } from './stats/lift.js';
export { twoProportionZTest, type ProportionTestResult } from './stats/proportion-test.js';
export { welchTTest, welchTTestFromSummaries, type WelchArm, type WelchTestResult } from './stats/welch.js';
export { ratioTest, summarizeRatio, type RatioSummary, type RatioTestResult } from './stats/ratio.js';
export { cupedTest, type CupedArm, type CupedResult } from './stats/cuped.js';
export {
  DEFAULT_MSPRT_ALPHA,
  DEFAULT_MSPRT_PLANNED_SAMPLE_SIZE,
  msprt,
  msprtDefaultTau2,
  type MsprtInput,
  type MsprtOptions,
  type MsprtResult,
} from './stats/msprt.js';
export { benjaminiHochberg, holm } from './stats/multiple-testing.js';
export { capValues, quantile, winsorize, type CapBounds, type CappedValues } from './stats/capping.js';
export {
  DEFAULT_SRM_ALERT_BELOW,
  DEFAULT_SRM_MINIMUM_PER_ARM,
  DEFAULT_SRM_WARN_BELOW,
  srmChiSquare,
  srmStatus,
  type SrmOptions,
  type SrmResult,
  type SrmStatus,
  type SrmThresholds,
} from './stats/srm.js';
export {
  DEFAULT_SEQUENTIAL_SRM_CONCENTRATION,
  sequentialSrm,
  type SequentialSrmOptions,
  type SequentialSrmResult,
} from './stats/sequential-srm.js';
// The analysis engine: load and validate exposures and events, attribute units to their first
// exposure, and estimate per phase of first exposure, on an embedded DuckDB (analyze) or on a
// PostgreSQL warehouse (analyzePostgres, the same SQL). See README.md.
export { analyze } from './engine/analyze.js';
export type {
  AlwaysValid,
  AnalysisOptions,
  AnalysisResult,
  AnalysisWarning,
  AnalyzeOptions,
  ArmSummary,
  CapApplied,
  CapSpec,
  Comparison,
  CumulativePoint,
  CumulativeSeries,
  Drift,
  Estimate,
  ExpectedSplit,
  InputFormat,
  InputKind,
  InputSource,
  LoadReport,
  MetricKind,
  MetricResult,
  MetricSpec,
  NaiveEstimate,
  PrimaryEstimate,
  RuleExample,
  RuleViolation,
  SeriesInterval,
  SrmPhase,
  StratumResult,
  UnitCount,
} from './engine/types.js';
export { AnalysisError, type AnalysisErrorCode } from './engine/errors.js';
export { detectFormat, INPUT_COLUMNS } from './engine/load.js';
export { analysisSql, analyzePostgres, DEFAULT_COLUMN_TYPES, describePostgresTables, type PostgresAnalyzeOptions, type PostgresColumnTypes, type PostgresTables } from './engine/postgres.js';
export { type PostgresClient } from './engine/runner.js';
export { type DialectName } from './engine/dialect.js';
export { runEngine, runHandQuery, runPerf, writePerfInputs, type PerArmSum, type PerfFormat, type PerfOptions, type PerfResult } from './engine/perf.js';
