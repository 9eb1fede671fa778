/**
 * Health and results of one experiment, computed on request from the store's exposures with
 * @sortition/analysis (embedded DuckDB): units per arm against the split in force and SRM per phase
 * of first exposure, crossovers per day with their cause, and on metric events (those stored through
 * POST /v1/metrics, or an uploaded file) the first-exposure, phase-stratified lift beside the naive
 * event-time view.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as Analysis from '@sortition/analysis';
import type { AnalysisError, AnalysisResult, AnalysisWarning, Drift, LoadReport, MetricSpec, SrmPhase } from '@sortition/analysis';
import type { CompiledConfig } from '@sortition/core';
import type { Store } from '../../store/types.js';
import { HttpError } from '../errors.js';
import { compiledVersion, snapshotExposures, snapshotMetricEvents, splitsInForce, type ExposureSnapshot, type PhaseSplit, type UnitSummary } from './insights-data.js';

export interface ArmHealth {
  readonly variant: string;
  /** Units whose first exposure in this experiment was to this variant, in this phase. */
  readonly units: number;
  /** Exposure events recorded in this phase for this variant (repeats included). */
  readonly exposures: number;
  readonly observedShare: number;
  readonly expectedUnits: number | null;
  readonly expectedShare: number | null;
}

export interface PhaseHealth {
  readonly phase: string;
  readonly units: number;
  readonly arms: readonly ArmHealth[];
  readonly split: PhaseSplit | null;
  readonly srm: Pick<SrmPhase, 'chiSquare' | 'pValue' | 'status' | 'sequential'>;
}

export interface CrossoverCause {
  /** The phase in which the units were first served another variant. */
  readonly phase: string;
  readonly units: number;
  readonly kind: 'rerandomized' | 'undeclared';
  /** The re-randomizing phase responsible (when kind is rerandomized). */
  readonly rerandomizedBy: string | null;
  /** The config version that introduced that phase, with its author and reason. */
  readonly version: { readonly version: number; readonly author: string; readonly reason: string; readonly createdAt: number } | null;
  readonly sources: readonly string[];
  readonly explanation: string;
}

export interface HealthReport {
  readonly experiment: string;
  readonly generatedAt: number;
  readonly exposureRows: number;
  readonly units: number;
  readonly phases: readonly PhaseHealth[];
  readonly crossovers: Omit<Drift, 'flipConfigVersions'> & { readonly causes: readonly CrossoverCause[] };
  readonly warnings: readonly AnalysisWarning[];
}

export interface EventsUpload {
  readonly format: 'csv' | 'jsonl';
  readonly content: string;
}

export interface ResultsRequest {
  readonly experiment: string;
  /** An uploaded events file; without it, the metric events stored through POST /v1/metrics. */
  readonly events?: EventsUpload;
  readonly metrics?: readonly MetricSpec[];
  readonly control?: string;
  readonly allowBadRows?: boolean;
}

/** Where the metric events came from: the store (POST /v1/metrics) or the request's upload. */
export type EventsSource = 'store' | 'upload';

export type ResultsReport = Omit<AnalysisResult, 'inputs'> & {
  readonly inputs: { readonly events: Omit<LoadReport, 'source'> & { readonly source: EventsSource }; readonly exposures: LoadReport };
  readonly exposureRows: number;
};

const EMPTY_EVENTS = 'unit_id,timestamp,metric,value\n';

interface EventsFile {
  readonly path: string;
  readonly format: 'csv' | 'jsonl';
  readonly source: EventsSource;
}

function field(code: AnalysisError['code'], source: EventsSource): string {
  switch (code) {
    case 'INVALID_OPTION':
      return '/control';
    case 'NO_UNITS':
      return '/experiment';
    default:
      return source === 'upload' ? '/events/content' : '/events';
  }
}

function fixFor(code: AnalysisError['code'], source: EventsSource): string {
  if (source === 'store' && (code === 'MISSING_COLUMN' || code === 'UNREADABLE_INPUT' || code === 'UNSUPPORTED_FORMAT' || code === 'BAD_ROWS')) {
    return 'export the stored events with GET /v1/export/metrics and analyse them with `sortition analyze`, or upload an events file in /events';
  }
  switch (code) {
    case 'MISSING_COLUMN':
      return 'upload events with the columns unit_id, timestamp, metric and value (CSV with a header row, or JSON Lines)';
    case 'UNREADABLE_INPUT':
    case 'UNSUPPORTED_FORMAT':
      return 'upload a CSV file with a header row, or JSON Lines (one object per line), and pick the matching format';
    case 'BAD_ROWS':
      return 'fix the rows listed in details, or send allowBadRows: true to exclude them (they are counted)';
    case 'NO_UNITS':
      return 'wait for exposures (evaluate units or report exposures), or check the experiment key';
    case 'INVALID_OPTION':
      return 'name a variant that has exposed units as the control';
    default:
      return 'retry; if it persists, analyse the export with `sortition analyze`';
  }
}

/**
 * The analysis engine (DuckDB, a native module) is loaded on first use, so a service nobody asks for
 * health or results never loads it.
 */
const loadAnalysis = (): Promise<typeof Analysis> => import('@sortition/analysis');

/** AnalysisError → HttpError, with the scratch directory's path taken out of the message. */
function toHttp(error: unknown, snapshot: ExposureSnapshot, source: EventsSource, AnalysisErrorClass: typeof AnalysisError): unknown {
  if (!(error instanceof AnalysisErrorClass)) return error;
  const message = error.message.split(snapshot.dir).join(source === 'upload' ? '<upload>' : '<stored events>');
  const reports = (error as AnalysisError & { reports?: unknown }).reports;
  const status = error.code === 'DUCKDB_ERROR' ? 500 : 422;
  return new HttpError(status, `ANALYSIS_${error.code}`, message, { field: field(error.code, source), fix: fixFor(error.code, source), cause: error, ...(reports === undefined ? {} : { details: { reports } }) });
}

/** The uploaded events, written beside the exposures snapshot. */
async function uploadedEvents(snapshot: ExposureSnapshot, events: EventsUpload): Promise<EventsFile> {
  const path = join(snapshot.dir, `events.${events.format}`);
  await writeFile(path, events.content, 'utf8');
  return { path, format: events.format, source: 'upload' };
}

/** The stored metric events of the experiment's exposed units (422 NO_METRIC_EVENTS when there are none). */
async function storedEvents(store: Store, snapshot: ExposureSnapshot, experiment: string): Promise<EventsFile> {
  const stored = await snapshotMetricEvents(store, snapshot, experiment);
  if (stored.rows === 0) {
    throw new HttpError(
      422,
      'NO_METRIC_EVENTS',
      stored.scanned === 0
        ? 'no metric events are stored for the unit type of this experiment, and none were uploaded'
        : `${stored.scanned} metric events are stored for this unit type, but none of a unit exposed in experiment "${experiment}"`,
      { field: '/events', fix: "report metric events with POST /v1/metrics (the SDK's client.track()), or upload an events file in /events" },
    );
  }
  return { path: stored.file, format: 'jsonl', source: 'store' };
}

async function runAnalysis(snapshot: ExposureSnapshot, experiment: string, splits: readonly PhaseSplit[], events: EventsFile | null, extra: Partial<Pick<ResultsRequest, 'metrics' | 'control' | 'allowBadRows'>>): Promise<AnalysisResult> {
  let eventsFile = events;
  if (eventsFile === null) {
    const path = join(snapshot.dir, 'no-events.csv');
    await writeFile(path, EMPTY_EVENTS, 'utf8');
    eventsFile = { path, format: 'csv', source: 'upload' };
  }
  const { analyze, AnalysisError: AnalysisErrorClass } = await loadAnalysis();
  try {
    return await analyze({
      exposures: { path: snapshot.file, format: 'jsonl' },
      events: { path: eventsFile.path, format: eventsFile.format },
      experiment,
      config: { phases: Object.fromEntries(splits.map((s) => [s.phase, s.expected])) },
      ...(extra.metrics === undefined || extra.metrics.length === 0 ? {} : { metrics: extra.metrics }),
      ...(extra.control === undefined ? {} : { controlVariant: extra.control }),
      ...(extra.allowBadRows === true ? { allowBadRows: true } : {}),
      ...(events === null ? { naiveView: false } : {}),
    });
  } catch (error) {
    throw toHttp(error, snapshot, eventsFile.source, AnalysisErrorClass);
  }
}

function armsOf(srm: SrmPhase, split: PhaseSplit | null, counts: ReadonlyMap<string, number> | undefined): ArmHealth[] {
  const units = srm.observed.reduce((a, b) => a + b, 0);
  const expectedTotal = split === null ? 0 : Object.values(split.expected).reduce((a, b) => a + b, 0);
  return srm.variants.map((variant, i) => {
    const n = srm.observed[i] ?? 0;
    const expected = split === null || expectedTotal === 0 ? null : (split.expected[variant] ?? 0);
    return {
      variant,
      units: n,
      exposures: counts?.get(variant) ?? 0,
      observedShare: units === 0 ? 0 : n / units,
      expectedUnits: expected,
      expectedShare: expected === null ? null : expected / expectedTotal,
    };
  });
}

interface Introduction {
  readonly version: number;
  readonly author: string;
  readonly reason: string;
  readonly createdAt: number;
}

/** The first config version whose document has `phase` in `experiment`. */
async function introducedIn(store: Store, experiment: string, phase: string): Promise<Introduction | null> {
  for (const summary of await store.listConfigs()) {
    const compiled = await compiledVersion(store, summary.version);
    if (compiled?.experiments.get(experiment)?.phaseIndex.has(phase) === true) {
      return { version: summary.version, author: summary.author, reason: summary.reason, createdAt: summary.createdAt };
    }
  }
  return null;
}

/** The re-randomizing phase between a unit's first exposure and its flip (inclusive of the flip's phase), if any. */
function rerandomizingPhase(config: CompiledConfig | null, experiment: string, from: string, to: string): string | null {
  const exp = config?.experiments.get(experiment);
  if (exp === undefined) return null;
  const start = exp.phaseIndex.get(from) ?? -1;
  const end = exp.phaseIndex.get(to);
  if (end === undefined) return null;
  for (let i = end; i > start; i--) if (exp.phases[i]?.carryover === 'rerandomize') return exp.phases[i]!.id;
  return null;
}

async function crossoverCauses(store: Store, experiment: string, units: ReadonlyMap<string, UnitSummary>): Promise<CrossoverCause[]> {
  const groups = new Map<string, { phase: string; by: string | null; units: number; sources: Set<string> }>();
  for (const { first, flip } of units.values()) {
    if (flip === null) continue;
    const by = rerandomizingPhase(await compiledVersion(store, flip.configVersion), experiment, first.phase, flip.phase);
    const key = `${flip.phase}\u0000${by ?? ''}`;
    const group = groups.get(key) ?? { phase: flip.phase, by, units: 0, sources: new Set<string>() };
    group.units++;
    group.sources.add(flip.source);
    groups.set(key, group);
  }
  const causes: CrossoverCause[] = [];
  for (const g of groups.values()) {
    const version = g.by === null ? null : await introducedIn(store, experiment, g.by);
    const sources = [...g.sources].sort();
    causes.push({
      phase: g.phase,
      units: g.units,
      kind: g.by === null ? 'undeclared' : 'rerandomized',
      rerandomizedBy: g.by,
      version,
      sources,
      explanation:
        g.by === null
          ? `served another variant in phase "${g.phase}" although no phase since their first exposure re-randomizes (reported by ${sources.join(', ')}): a client evaluating without durable sticky storage, or on a stale config`
          : `declared re-randomization: phase "${g.by}"${version === null ? '' : ` (config version ${version.version}: ${version.reason})`} assigns every unit afresh`,
    });
  }
  return causes.sort((a, b) => b.units - a.units);
}

/** Health of one experiment (exposures, SRM per phase, crossovers); an experiment nobody saw yet has empty sections. */
export async function experimentHealth(store: Store, experiment: string, current: CompiledConfig, now: number): Promise<HealthReport> {
  const snapshot = await snapshotExposures(store, experiment);
  try {
    const empty: HealthReport = {
      experiment,
      generatedAt: now,
      exposureRows: snapshot.rows,
      units: 0,
      phases: [],
      crossovers: { units: 0, crossoverUnits: 0, crossoverShare: 0, warning: false, flipMatrix: [], firstFlipDay: null, days: [], causes: [] },
      warnings: [],
    };
    if (snapshot.rows === 0) return empty;
    const splits = await splitsInForce(store, experiment, snapshot.units, current);
    const result = await runAnalysis(snapshot, experiment, splits, null, {});
    const phases = result.srm.map((srm): PhaseHealth => {
      const split = splits.find((s) => s.phase === srm.phase) ?? null;
      return {
        phase: srm.phase,
        units: srm.observed.reduce((a, b) => a + b, 0),
        arms: armsOf(srm, split, snapshot.exposureCounts.get(srm.phase)),
        split,
        srm: { chiSquare: srm.chiSquare, pValue: srm.pValue, status: srm.status, sequential: srm.sequential },
      };
    });
    const { flipConfigVersions: _versions, ...drift } = result.drift;
    return {
      ...empty,
      units: result.units.total,
      phases,
      crossovers: { ...drift, causes: await crossoverCauses(store, experiment, snapshot.units) },
      warnings: result.warnings.filter((w) => w.code === 'SRM_ALERT' || w.code === 'SRM_WARN' || w.code === 'CROSSOVER' || w.code === 'SRM_SPLIT_UNKNOWN'),
    };
  } finally {
    await snapshot.dispose();
  }
}

/**
 * Results of one experiment against the store's exposures, on the metric events stored through
 * POST /v1/metrics, or on uploaded ones when the request carries them.
 */
export async function experimentResults(store: Store, request: ResultsRequest, current: CompiledConfig): Promise<ResultsReport> {
  const snapshot = await snapshotExposures(store, request.experiment);
  try {
    if (snapshot.rows === 0) {
      throw new HttpError(422, 'NO_EXPOSURES', `experiment "${request.experiment}" has no stored exposures yet, so there is nothing to attribute metric events to`, {
        field: '/experiment',
        fix: 'wait until units are exposed (POST /v1/evaluate or /v1/exposures), then analyse again',
      });
    }
    const events = request.events === undefined ? await storedEvents(store, snapshot, request.experiment) : await uploadedEvents(snapshot, request.events);
    const splits = await splitsInForce(store, request.experiment, snapshot.units, current);
    const result = await runAnalysis(snapshot, request.experiment, splits, events, request);
    const { inputs, ...rest } = result;
    return { ...rest, inputs: { events: { ...inputs.events, source: events.source }, exposures: { ...inputs.exposures, source: 'store' } }, exposureRows: snapshot.rows };
  } finally {
    await snapshot.dispose();
  }
}
