/**
 * `sortition analyze`: runs the analysis engine (@sortition/analysis) on exposure and event files
 * (embedded DuckDB) or on tables in PostgreSQL (./analyze-postgres.ts) and returns data;
 * rendering (text, JSON, HTML) lives in ../report/.
 */
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import { AnalysisError, analyze, type AnalysisOptions, type AnalysisResult, type LoadReport, type MetricSpec, type SeriesInterval } from '@sortition/analysis';
import { compileConfig } from '@sortition/core';
import { type Command, Option } from 'commander';
import { CliError, formatIssues, readConfigDocument } from '../config-file.js';
import { renderHtml } from '../report/html.js';
import { type AnalyzeReport, type SplitSource } from '../report/model.js';
import { startProgress } from '../report/progress.js';
import { renderText } from '../report/text.js';
import { analyzeInPostgres, postgresSql, type PostgresSource } from './analyze-postgres.js';

export type AnalyzeFormat = 'text' | 'json' | 'html';
export type { AnalyzeReport, ExpectedSplitReport, SplitSource } from '../report/model.js';

export interface AnalyzeCommandOptions {
  /** Exposures and events files; or `postgres` (tables in a PostgreSQL database). */
  readonly exposures?: string | undefined;
  readonly events?: string | undefined;
  readonly postgres?: PostgresSource | undefined;
  readonly experiment?: string | undefined;
  readonly control?: string | undefined;
  /** NAME or NAME:sum or NAME:conversion. */
  readonly metrics?: readonly string[] | undefined;
  /** PHASE=a:50,b:50, or a:50,b:50 for every phase not listed. */
  readonly splits?: readonly string[] | undefined;
  /** A JSON (or YAML) array of config documents; each phase's split from its allocation's slot counts. */
  readonly configHistory?: string | undefined;
  readonly allowBadRows?: boolean | undefined;
  /** The cumulative series' bucket; default 'day'; 'none' skips it (it costs a second pass over the events). */
  readonly cumulative?: SeriesInterval | 'none' | undefined;
  /** Called with a stage name while the analysis runs (for a progress indicator). */
  readonly onStage?: ((stage: string) => void) | undefined;
}

const INTERVALS = new Set(['hour', 'day', 'week', 'none']);

const METRIC_KINDS = new Set(['sum', 'conversion']);

export function parseMetric(value: string): MetricSpec {
  const at = value.lastIndexOf(':');
  const suffix = at >= 0 ? value.slice(at + 1) : '';
  if (at >= 0 && METRIC_KINDS.has(suffix)) {
    const name = value.slice(0, at);
    if (name === '') throw new CliError('INVALID_ARGUMENT', `--metric "${value}": the metric name is empty; use NAME or NAME:sum or NAME:conversion`);
    return { name, kind: suffix as MetricSpec['kind'] };
  }
  if (value === '') throw new CliError('INVALID_ARGUMENT', '--metric: the metric name is empty; use NAME or NAME:sum or NAME:conversion');
  return { name: value, kind: 'sum' };
}

/** Parses `PHASE=a:50,b:50` (phase given) or `a:50,b:50` (every phase not listed). */
export function parseSplit(value: string): { phase: string | null; split: Record<string, number> } {
  const eq = value.indexOf('=');
  const phase = eq >= 0 ? value.slice(0, eq) : null;
  const body = eq >= 0 ? value.slice(eq + 1) : value;
  const fix = 'use PHASE=variant:weight,variant:weight (e.g. --split ramp=control:90,treatment:10) or variant:weight,... for every phase';
  if (phase === '') throw new CliError('INVALID_ARGUMENT', `--split "${value}": the phase name is empty; ${fix}`);
  const split: Record<string, number> = {};
  for (const part of body.split(',')) {
    const colon = part.lastIndexOf(':');
    const name = colon > 0 ? part.slice(0, colon).trim() : '';
    const weight = Number(part.slice(colon + 1).trim());
    if (colon <= 0 || name === '' || part.slice(colon + 1).trim() === '' || !Number.isFinite(weight) || weight < 0) {
      throw new CliError('INVALID_ARGUMENT', `--split "${value}": "${part}" is not variant:weight with a weight >= 0; ${fix}`);
    }
    if (Object.hasOwn(split, name)) throw new CliError('INVALID_ARGUMENT', `--split "${value}": variant "${name}" is listed twice; ${fix}`);
    split[name] = weight;
  }
  if (Object.values(split).every((w) => w === 0)) throw new CliError('INVALID_ARGUMENT', `--split "${value}": every weight is 0; ${fix}`);
  return { phase, split };
}

/**
 * Per phase of the experiment, the share of the layer's slots each variant holds (holdout slots and
 * slots reserved by excluded earlier phases left out). Later documents override earlier ones.
 */
export async function splitsFromConfigHistory(file: string, experiment: string): Promise<{ phases: Record<string, Record<string, number>>; versions: number[] }> {
  const doc = await readConfigDocument(file);
  if (!Array.isArray(doc)) throw new CliError('CONFIG_INVALID', `${file}: --config-history must be a JSON array of config documents (oldest first)`);
  const phases: Record<string, Record<string, number>> = {};
  const versions: number[] = [];
  doc.forEach((entry: unknown, index) => {
    const compiled = compileConfig(entry);
    if (!compiled.ok) throw new CliError('CONFIG_INVALID', `${file}[${index}] is not a valid Sortition config:\n${formatIssues(`${file}[${index}]`, compiled.issues)}`);
    const exp = compiled.config.experiments.get(experiment);
    if (exp === undefined) return;
    versions.push(compiled.config.version);
    for (const phase of exp.phases) {
      const counts: Record<string, number> = Object.fromEntries(exp.variants.map((v) => [v.key, 0]));
      for (let slot = 0; slot < phase.table.length; slot++) {
        const v = phase.table[slot] ?? 0;
        if (v === 0 || (exp.layer.holdoutTable[slot] ?? 0) !== 0 || (phase.excluded?.[slot] ?? 0) !== 0) continue;
        const key = exp.variants[v - 1]?.key;
        if (key !== undefined) counts[key] = (counts[key] ?? 0) + 1;
      }
      if (Object.values(counts).some((c) => c > 0)) phases[phase.id] = counts;
    }
  });
  if (versions.length === 0) throw new CliError('CONFIG_INVALID', `${file}: no config document in the history defines experiment "${experiment}"`);
  return { phases, versions };
}

/** Distinct `experiment` values of a CSV or JSONL exposures file (streamed); null for Parquet. */
export async function experimentsInFile(path: string): Promise<string[] | null> {
  const ext = extname(path).toLowerCase();
  if (ext !== '.csv' && ext !== '.jsonl' && ext !== '.ndjson') return null;
  const found = new Set<string>();
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let column = -1;
  let first = true;
  try {
    for await (const line of lines) {
      if (line.trim() === '') continue;
      if (ext === '.csv') {
        const cells = splitCsvLine(line);
        if (first) column = cells.findIndex((c) => c.trim() === 'experiment');
        else if (column >= 0) {
          const v = cells[column]?.trim() ?? '';
          if (v !== '') found.add(v);
        }
        first = false;
        if (column < 0) break;
      } else {
        try {
          const row = JSON.parse(line) as { experiment?: unknown };
          if (typeof row.experiment === 'string' && row.experiment.trim() !== '') found.add(row.experiment);
        } catch {
          // an unparsable line is the engine's to report
        }
      }
      if (found.size > 20) break;
    }
  } catch (error) {
    throw new CliError('INPUT_UNREADABLE', `${path}: cannot read exposures (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { cause: error });
  }
  return [...found].sort();
}

function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      cells.push(cell);
      cell = '';
    } else cell += ch;
  }
  cells.push(cell);
  return cells;
}

async function resolveExperiment(options: AnalyzeCommandOptions): Promise<string> {
  if (options.experiment !== undefined) {
    if (options.experiment === '') throw new CliError('INVALID_ARGUMENT', '--experiment is empty: pass the experiment key');
    return options.experiment;
  }
  if (options.exposures === undefined) throw new CliError('INVALID_ARGUMENT', 'pass --experiment KEY (it is only detected automatically in CSV and JSONL exposures files)');
  const found = await experimentsInFile(options.exposures);
  if (found === null) throw new CliError('INVALID_ARGUMENT', `${options.exposures}: pass --experiment KEY (the experiment is only detected automatically in CSV and JSONL exposures)`);
  if (found.length === 1 && found[0] !== undefined) return found[0];
  if (found.length === 0) throw new CliError('INVALID_ARGUMENT', `${options.exposures}: no experiment found in the exposures; pass --experiment KEY`);
  throw new CliError('INVALID_ARGUMENT', `${options.exposures} holds several experiments (${found.slice(0, 20).join(', ')}${found.length > 20 ? ', ...' : ''}): pass --experiment KEY`);
}

/** A bad-rows report: per input, the rule counts and up to 3 example rows each. */
export function formatBadRows(reports: readonly LoadReport[]): string {
  const lines = ['invalid input rows (nothing was analysed):'];
  for (const r of reports) {
    if (r.badRows === 0) continue;
    lines.push(`  ${r.kind} ${r.source}: ${r.badRows} of ${r.rows} rows are invalid`);
    for (const v of r.violations) {
      lines.push(`    ${v.rule}: ${v.count} row${v.count === 1 ? '' : 's'} (${v.description})`);
      for (const e of v.examples.slice(0, 3)) lines.push(`      row ${e.row}: ${JSON.stringify(e.values)}`);
    }
  }
  lines.push('fix the rows, or pass --allow-bad-rows to exclude them (the report counts them)');
  return lines.join('\n');
}

/** Either two files or PostgreSQL with two tables, never both. */
function checkSources(options: AnalyzeCommandOptions): void {
  const files = options.exposures !== undefined || options.events !== undefined;
  if (options.postgres !== undefined) {
    if (files) throw new CliError('INVALID_ARGUMENT', 'pass either --exposures and --events (files) or --postgres with --exposures-table and --events-table, not both');
    if (options.postgres.exposuresTable === '' || options.postgres.eventsTable === '') throw new CliError('INVALID_ARGUMENT', '--postgres needs --exposures-table and --events-table');
    if (options.experiment === undefined) throw new CliError('INVALID_ARGUMENT', '--postgres needs --experiment KEY');
    return;
  }
  if (options.exposures === undefined || options.events === undefined) {
    throw new CliError('INVALID_ARGUMENT', 'pass --exposures FILE and --events FILE, or --postgres URL with --exposures-table and --events-table');
  }
}

/** The engine options every source shares (the expected split read from --split and --config-history). */
async function engineOptions(options: AnalyzeCommandOptions): Promise<{ analysis: AnalysisOptions; expectedSplit: AnalyzeReport['expectedSplit'] }> {
  const stage = options.onStage ?? ((): void => undefined);
  const metrics = options.metrics === undefined || options.metrics.length === 0 ? undefined : options.metrics.map(parseMetric);
  const parsedSplits = (options.splits ?? []).map(parseSplit);
  const cumulative = options.cumulative ?? 'day';
  if (!INTERVALS.has(cumulative)) throw new CliError('INVALID_ARGUMENT', `--cumulative "${cumulative}": use hour, day, week or none`);
  stage('reading the experiment key');
  const experiment = await resolveExperiment(options);

  const phases: Record<string, Record<string, number>> = {};
  const sources: Record<string, SplitSource> = {};
  let configVersions: number[] = [];
  if (options.configHistory !== undefined) {
    stage('reading the config history');
    const history = await splitsFromConfigHistory(options.configHistory, experiment);
    configVersions = history.versions;
    for (const [phase, split] of Object.entries(history.phases)) {
      phases[phase] = split;
      sources[phase] = 'config-history';
    }
  }
  let split: Record<string, number> | null = null;
  for (const s of parsedSplits) {
    if (s.phase === null) {
      if (split !== null) throw new CliError('INVALID_ARGUMENT', '--split without a phase is given twice: pass one default split, or PHASE=... per phase');
      split = s.split;
    } else {
      if (sources[s.phase] === 'split-option') throw new CliError('INVALID_ARGUMENT', `--split for phase "${s.phase}" is given twice`);
      phases[s.phase] = s.split;
      sources[s.phase] = 'split-option';
    }
  }
  const analysis: AnalysisOptions = {
    experiment,
    ...(options.control === undefined ? {} : { controlVariant: options.control }),
    ...(metrics === undefined ? {} : { metrics }),
    ...(options.allowBadRows === true ? { allowBadRows: true } : {}),
    ...(cumulative === 'none' ? {} : { cumulative: cumulative as SeriesInterval }),
    config: { phases, ...(split === null ? {} : { split }) },
    onStage: stage,
  };
  return { analysis, expectedSplit: { split, phases, sources, configVersions } };
}

export async function runAnalyze(options: AnalyzeCommandOptions): Promise<AnalyzeReport> {
  checkSources(options);
  const { analysis, expectedSplit } = await engineOptions(options);
  let result: AnalysisResult;
  try {
    if (options.postgres !== undefined) {
      result = await analyzeInPostgres(options.postgres, analysis);
    } else {
      analysis.onStage?.('analysing (DuckDB)');
      result = await analyze({ ...analysis, exposures: { path: options.exposures ?? '' }, events: { path: options.events ?? '' } });
    }
  } catch (error) {
    if (error instanceof AnalysisError) {
      const reports = (error as AnalysisError & { reports?: { exposures: LoadReport; events: LoadReport } }).reports;
      if (error.code === 'BAD_ROWS' && reports !== undefined) throw new CliError('BAD_ROWS', formatBadRows([reports.exposures, reports.events]), { cause: error, exitCode: 1 });
      throw new CliError(error.code, error.message, { cause: error, exitCode: error.code === 'BAD_ROWS' ? 1 : 2 });
    }
    throw error;
  }
  return { ...result, expectedSplit };
}

/** `--print-sql`: the SQL the analysis runs in PostgreSQL over the two tables (nothing is run). */
export async function printAnalyzeSql(options: AnalyzeCommandOptions & { readonly exposuresTable?: string | undefined; readonly eventsTable?: string | undefined; readonly url?: string | undefined }): Promise<string> {
  if (options.exposuresTable === undefined || options.eventsTable === undefined) throw new CliError('INVALID_ARGUMENT', '--print-sql needs --exposures-table and --events-table (and --postgres URL to read their column types)');
  if (options.experiment === undefined) throw new CliError('INVALID_ARGUMENT', '--print-sql needs --experiment KEY');
  const { analysis } = await engineOptions(options);
  return postgresSql({ url: options.url, exposuresTable: options.exposuresTable, eventsTable: options.eventsTable }, analysis);
}

/** Renders a report; `null` numbers (NaN) serialise as null in JSON. */
export function renderAnalyze(report: AnalyzeReport, format: AnalyzeFormat): string {
  if (format === 'json') return JSON.stringify(report, null, 2);
  if (format === 'html') return renderHtml(report);
  return renderText(report);
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

interface AnalyzeCliOptions {
  exposures?: string;
  events?: string;
  postgres?: string;
  exposuresTable?: string;
  eventsTable?: string;
  printSql?: boolean;
  experiment?: string;
  control?: string;
  metric: string[];
  split: string[];
  configHistory?: string;
  allowBadRows?: boolean;
  cumulative: string;
  format: AnalyzeFormat;
  out?: string;
}

export function registerAnalyze(program: Command, emit: (out: { stdout: string; exitCode: number }) => void): void {
  program
    .command('analyze')
    .description('analyse an experiment from exposure and event files (DuckDB) or PostgreSQL tables: per-phase lift, cumulative lift, SRM and drift (text, JSON or HTML)')
    .option('--exposures <file>', 'exposures: CSV, JSONL or Parquet (unit_id, experiment, variant, timestamp[, phase, config_version])')
    .option('--events <file>', 'events: CSV, JSONL or Parquet (unit_id, metric, value, timestamp)')
    .option('--postgres <url>', 'analyse tables in this PostgreSQL database instead of files (with --exposures-table, --events-table and --experiment)')
    .option('--exposures-table <table>', 'with --postgres: the exposures table or view ([schema.]name)')
    .option('--events-table <table>', 'with --postgres: the events table or view ([schema.]name)')
    .option('--print-sql', 'print the SQL the analysis runs in PostgreSQL over --exposures-table and --events-table, and run nothing (with --postgres: for their actual column types)')
    .option('--experiment <key>', 'experiment key (required when the exposures hold several, are Parquet, or are a table)')
    .option('--control <variant>', 'control variant (default: "control", else the first in byte order)')
    .option('--metric <name[:sum|conversion]>', 'metric to analyse (repeatable; default: every metric, as sums)', collect, [])
    .option('--split <phase=a:50,b:50>', 'split in force per phase for SRM, or a:50,b:50 for every phase (repeatable)', collect, [])
    .option('--config-history <file>', 'JSON array of config documents: each phase\'s split from its allocation\'s slot counts')
    .option('--allow-bad-rows', 'exclude invalid rows (counted in the report) instead of failing')
    .addOption(new Option('--cumulative <interval>', 'cumulative lift over time, per hour, day or week (none: skip; it reads the events a second time)').choices(['hour', 'day', 'week', 'none']).default('day'))
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'html']).default('text'))
    .option('--out <file>', 'write the report to FILE (required for html)')
    .action(async (o: AnalyzeCliOptions) => {
      const common = {
        experiment: o.experiment,
        control: o.control,
        metrics: o.metric,
        splits: o.split,
        configHistory: o.configHistory,
        allowBadRows: o.allowBadRows,
        cumulative: o.cumulative as SeriesInterval | 'none',
      };
      if (o.printSql === true) {
        if (o.exposures !== undefined || o.events !== undefined) throw new CliError('INVALID_ARGUMENT', '--print-sql prints the PostgreSQL analysis of tables: pass --exposures-table and --events-table, not files');
        return emit({ stdout: await printAnalyzeSql({ ...common, exposuresTable: o.exposuresTable, eventsTable: o.eventsTable, url: o.postgres }), exitCode: 0 });
      }
      if (o.format === 'html' && o.out === undefined) throw new CliError('INVALID_ARGUMENT', '--format html needs --out FILE (the report is a self-contained HTML file)');
      if (o.postgres === undefined && (o.exposuresTable !== undefined || o.eventsTable !== undefined)) throw new CliError('INVALID_ARGUMENT', '--exposures-table and --events-table need --postgres URL');
      const progress = startProgress(process.stderr);
      let report: AnalyzeReport;
      try {
        report = await runAnalyze({
          ...common,
          exposures: o.exposures,
          events: o.events,
          postgres: o.postgres === undefined ? undefined : { url: o.postgres, exposuresTable: o.exposuresTable ?? '', eventsTable: o.eventsTable ?? '' },
          onStage: progress.stage,
        });
      } finally {
        progress.stop();
      }
      const rendered = renderAnalyze(report, o.format);
      if (o.out === undefined) return emit({ stdout: rendered, exitCode: 0 });
      try {
        await writeFile(o.out, o.format === 'json' ? `${rendered}\n` : rendered, 'utf8');
      } catch (error) {
        throw new CliError('OUTPUT_UNWRITABLE', `${o.out}: cannot write the report (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { cause: error });
      }
      emit({ stdout: `wrote the ${o.format} report for ${report.experiment} (${report.units.total} units, ${report.warnings.length} warning${report.warnings.length === 1 ? '' : 's'}) to ${o.out}`, exitCode: 0 });
    });
}
