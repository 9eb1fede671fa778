/** The terminal summary of an analysis: warnings first, then per metric the lift, then SRM and drift. */
import { type Comparison, type CumulativeSeries, type Estimate } from '@sortition/analysis';
import { count, num, pct, pValue, share, signed, type AnalyzeReport } from './model.js';

function interval(e: { estimate: number; lower: number; upper: number }, fmt: (x: number) => string = signed): string {
  return `${fmt(e.estimate)} [${fmt(e.lower)}, ${fmt(e.upper)}]`;
}

function estimateLine(label: string, e: Estimate | Comparison['naiveEventTime'], level: string): string {
  if (e === null) return `    ${label.padEnd(22)} n/a (too few units)`;
  const rel = e.relative === null ? 'relative n/a' : `relative ${interval(e.relative, (x) => pct(x))}`;
  return `    ${label.padEnd(22)} ${interval(e.difference)} (${level} CI), ${rel}, p = ${pValue(e.pValue)}`;
}

const MAX_SERIES_LINES = 12;

/** The cumulative series: every point when few, else the first, evenly spaced ones and the last (all are in JSON and HTML). */
function seriesLines(series: CumulativeSeries | null, level: string): string[] {
  if (series === null) return [];
  const points = series.points;
  if (points.length === 0) return [`    cumulative by ${series.interval}: no ${series.interval} with 2 units in both arms yet`];
  const step = Math.max(1, Math.ceil((points.length - 1) / (MAX_SERIES_LINES - 1)));
  const shown = points.filter((_, i) => i % step === 0 || i === points.length - 1);
  const label = (end: string): string => (series.interval === 'hour' ? `${end.slice(0, 13)}:00Z` : end.slice(0, 10));
  const out = [`    cumulative by ${series.interval} (as of the end of each ${series.interval}, ${level} CI)${shown.length < points.length ? `: ${shown.length} of ${points.length} points` : ''}:`];
  for (const p of shown) out.push(`      before ${label(p.end)}  ${interval(p.difference)}  n = ${count(p.control.n)} / ${count(p.treatment.n)}, p = ${pValue(p.pValue)}`);
  return out;
}

export function renderText(report: AnalyzeReport): string {
  const level = `${Math.round(report.confidence * 100)}%`;
  const out: string[] = [];
  out.push(`Experiment ${report.experiment}: ${count(report.units.total)} units, control ${report.control}, variants ${report.variants.join(', ')}`);
  out.push(`  phases of first exposure (strata): ${report.strata.join(', ')}`);
  const ex = report.inputs.excludedBadRows;
  out.push(`  inputs: ${count(report.inputs.exposures.rows)} exposure rows (${report.inputs.exposures.source}), ${count(report.inputs.events.rows)} event rows (${report.inputs.events.source})${ex.exposures + ex.events > 0 ? `; excluded bad rows: ${ex.exposures} exposures, ${ex.events} events` : ''}`);
  out.push('');
  if (report.warnings.length === 0) out.push('No warnings.');
  else {
    out.push(`WARNINGS (${report.warnings.length}):`);
    for (const w of report.warnings) out.push(`  ! ${w.code}: ${w.message}`);
  }

  for (const m of report.metrics) {
    out.push('', `Metric ${m.metric} (${m.kind === 'conversion' ? 'conversion rate' : 'sum per unit'})`);
    for (const c of m.comparisons) {
      out.push(`  ${c.treatment} vs ${c.control}`);
      const p = c.primary;
      if (p === null) {
        out.push('    primary: n/a (no stratum has at least 2 units in both arms)');
      } else {
        out.push(`    control ${num(p.control.estimate)} (n = ${count(p.control.n)}), ${c.treatment} ${num(p.treatment.estimate)} (n = ${count(p.treatment.n)})`);
        out.push(estimateLine(report.strata.length > 1 ? 'PRIMARY (by phase)' : 'PRIMARY', p, level));
        if (p.strata.length > 1) {
          for (const s of p.strata) out.push(`      phase ${s.stratum} (weight ${share(s.weight, 1)}): ${interval(s.difference)}, p = ${pValue(s.pValue)}`);
        }
        for (const s of p.excludedStrata) out.push(`      phase ${s.stratum} left out: ${s.reason}`);
      }
      out.push(...seriesLines(c.cumulative, level));
      out.push('    sensitivity:');
      const pooledLabel = c.pooled?.biasedIfStrataDiffer === true ? 'pooled (NOT headline)' : 'pooled';
      out.push(estimateLine(pooledLabel, c.pooled, level));
      if (c.pooled?.biasedIfStrataDiffer === true) out.push('      pooling mixes phases with different splits or baselines: reference only, may be biased');
      out.push(estimateLine('crossovers excluded', c.crossoversExcluded, level));
      if (m.kind === 'sum') out.push(estimateLine('CUPED', c.cuped, level));
      out.push(estimateLine('naive event-time', c.naiveEventTime, level));
      if (c.naiveEventTime?.disagreesWithPrimary === true) out.push('      ! the naive event-time view DISAGREES with the primary estimate (crossovers make it unreliable)');
    }
  }

  out.push('', 'Sample ratio mismatch (per phase of first exposure)');
  for (const s of report.srm) {
    const source = report.expectedSplit.sources[s.phase] ?? (report.expectedSplit.split === null ? null : 'split-option');
    const expected = s.expectedShares === null ? 'expected split unknown (pass --split or --config-history)' : `expected ${s.expectedShares.map((x) => share(x, 1)).join('/')}${source === null ? '' : ` (${source})`}`;
    const stat = s.chiSquare === null ? '' : `, χ² = ${num(s.chiSquare)}, p = ${pValue(s.pValue)}`;
    out.push(`  ${s.status.toUpperCase().padEnd(22)} phase ${s.phase}: ${s.variants.map((v, i) => `${v} ${count(s.observed[i] ?? 0)}`).join(', ')}; ${expected}${stat}`);
  }

  const d = report.drift;
  out.push('', 'Drift');
  out.push(`  crossover units: ${count(d.crossoverUnits)} of ${count(d.units)} (${share(d.crossoverShare)})${d.warning ? '  ! above the warning threshold' : ''}`);
  out.push(`  first flip day: ${d.firstFlipDay ?? 'none'}`);
  if (d.flipMatrix.length > 0) {
    out.push('  flips (first variant -> later variant: units):');
    for (const f of d.flipMatrix) out.push(`    ${f.from} -> ${f.to}: ${count(f.units)}`);
  }
  if (d.flipConfigVersions.length > 0) {
    out.push(`  config version at first flip: ${d.flipConfigVersions.map((v) => `${v.configVersion === null ? 'unknown' : `v${v.configVersion}`} (${count(v.units)} units)`).join(', ')}`);
  }
  if (report.expectedSplit.configVersions.length > 0) out.push(`  config history versions read: ${report.expectedSplit.configVersions.join(', ')}`);
  const last = d.days.at(-1);
  if (last !== undefined) out.push(`  days: ${d.days.length} (${d.days[0]?.day ?? ''} to ${last.day}); cumulative crossover share at the end ${share(last.cumulativeShare)}`);
  return out.join('\n');
}
