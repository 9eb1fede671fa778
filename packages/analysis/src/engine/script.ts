// The analysis as one SQL script, written once for both engines (the differences are in
// dialect.ts). Each input is read in as few passes as possible:
//
// exposures (the relation `sortition_exposures_src`):
//   1. one aggregation per unit: every validation rule as a bit of `bad`, the first exposure
//      (earliest ts, then the smaller variant, then the smaller phase, byte order), whether the unit
//      saw more than one variant, and the row counts per mask (invalid rows and rows of other
//      experiments fall in one group per mask);
//   2. per UTC day the distinct units exposed (one more scan);
//   3. the exposures of crossover units only (one more scan, joined against the few crossover units):
//      flips, the config version at each first flip, and the exposure timeline for the naive view.
// events (the relation `sortition_events_src`): one scan, joined to the units and to the metric
//   dictionary (without a metric list, the dictionary is a scan of the metric column first),
//   grouped per unit and metric on integer keys (plus, for crossover units, per event time) with
//   the validation folded in: the timestamp and the value are checked per row, the unit and the
//   metric by the joins, and invalid rows land in their own groups, which give the counts. With a
//   series, a second pass groups the valid events per unit, metric and time bucket.
// Everything after that reads the per-unit table and the small tables.
import { type Dialect } from './dialect.js';
import { AnalysisError } from './errors.js';
import { eventsSteps } from './script-events.js';
import { exposuresSteps } from './script-exposures.js';
import { type ScriptSpec, type Step } from './script-types.js';

export { NO_PHASE, SOURCES, TABLES, type CapSpec, type ScriptSpec, type Step } from './script-types.js';

export function buildScript(dialect: Dialect, spec: ScriptSpec): Step[] {
  if (spec.exposureRules.length > 30) throw new AnalysisError('INVALID_OPTION', 'at most 30 exposure rules fit the validation mask');
  return [...exposuresSteps(dialect, spec), ...eventsSteps(dialect, spec)];
}

/** The script as text: each step with its comment, for `sortition analyze --print-sql`. */
export function renderScript(steps: readonly Step[]): string {
  return steps.map((s) => `-- ${s.returnsRows ? `result "${s.name}"` : s.drops === undefined ? `table ${s.name}` : `drop ${s.drops}`}: ${s.comment}\n${s.sql.trim()};\n`).join('\n');
}
