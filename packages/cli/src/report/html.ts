/**
 * One self-contained HTML report: inline CSS and inline SVG charts drawn here, no scripts, fonts or
 * network resources. Every value from the data goes through `esc`.
 *
 * Per comparison: the cumulative lift over time with its interval (cumulative-chart.ts; when the
 * analysis computed the series) and a forest plot of each phase, the primary estimate and the
 * sensitivity views.
 */
import { type Comparison, type Estimate, type MetricResult, type NaiveEstimate } from '@sortition/analysis';
import { cumulativeChart } from './cumulative-chart.js';
import { count, num, pct, pValue, share, signed, type AnalyzeReport } from './model.js';
import { esc, PALETTE, resetChartIds, STATUS_CLASS, svgOpen, ticks } from './svg.js';

export { esc } from './svg.js';

interface ForestRow {
  readonly label: string;
  readonly estimate: number;
  readonly lower: number;
  readonly upper: number;
  readonly strong: boolean;
  readonly note: string;
}

function forestRows(c: Comparison): ForestRow[] {
  const rows: ForestRow[] = [];
  const add = (label: string, e: Estimate | NaiveEstimate | null, strong: boolean, note = ''): void => {
    if (e !== null) rows.push({ label, estimate: e.difference.estimate, lower: e.difference.lower, upper: e.difference.upper, strong, note });
  };
  add('Primary (by phase)', c.primary, true);
  if (c.primary !== null && c.primary.strata.length > 1) {
    for (const s of c.primary.strata) rows.push({ label: `phase ${s.stratum}`, estimate: s.difference.estimate, lower: s.difference.lower, upper: s.difference.upper, strong: false, note: `weight ${share(s.weight, 1)}` });
  }
  add('Pooled', c.pooled, false, c.pooled?.biasedIfStrataDiffer === true ? 'not headline' : '');
  add('Crossovers excluded', c.crossoversExcluded, false);
  add('CUPED', c.cuped, false);
  add('Naive event-time', c.naiveEventTime, false, c.naiveEventTime?.disagreesWithPrimary === true ? 'disagrees' : '');
  return rows.filter((r) => Number.isFinite(r.estimate));
}

function forestPlot(metric: MetricResult, c: Comparison, level: string): string {
  const rows = forestRows(c);
  if (rows.length === 0) return '<p>No estimate: too few units in the arms.</p>';
  const width = 760;
  const left = 190;
  const right = 230;
  const rowH = 26;
  const top = 10;
  const height = top + rows.length * rowH + 40;
  const finite = rows.flatMap((r) => [r.lower, r.upper, r.estimate]).filter(Number.isFinite);
  let lo = Math.min(0, ...finite);
  let hi = Math.max(0, ...finite);
  if (hi === lo) {
    lo -= 1;
    hi += 1;
  }
  const pad = (hi - lo) * 0.05;
  lo -= pad;
  hi += pad;
  const x = (v: number): number => left + ((Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo)) * (width - left - right);
  const { open } = svgOpen(width, height, `Lift of ${metric.metric}, ${c.treatment} minus ${c.control}, with ${level} intervals`, `Forest plot: ${rows.map((r) => `${r.label} ${signed(r.estimate)} from ${signed(r.lower)} to ${signed(r.upper)}`).join('; ')}`);
  const parts = [open];
  const axisY = top + rows.length * rowH + 6;
  for (const t of ticks(lo, hi)) {
    parts.push(`<line x1="${x(t)}" x2="${x(t)}" y1="${top}" y2="${axisY}" class="grid"/><text x="${x(t)}" y="${axisY + 16}" text-anchor="middle" class="tick">${esc(num(t, 3))}</text>`);
  }
  parts.push(`<line x1="${x(0)}" x2="${x(0)}" y1="${top}" y2="${axisY}" class="zero"/>`);
  rows.forEach((r, i) => {
    const y = top + i * rowH + rowH / 2;
    const colour = r.strong ? '#1f5fa8' : r.note === 'disagrees' ? '#b03a2e' : '#555';
    parts.push(`<text x="${left - 10}" y="${y + 4}" text-anchor="end" class="${r.strong ? 'label strong' : 'label'}">${esc(r.label)}</text>`);
    parts.push(`<line x1="${x(r.lower)}" x2="${x(r.upper)}" y1="${y}" y2="${y}" stroke="${colour}" stroke-width="${r.strong ? 3 : 2}"/>`);
    parts.push(`<rect x="${x(r.estimate) - (r.strong ? 5 : 4)}" y="${y - (r.strong ? 5 : 4)}" width="${r.strong ? 10 : 8}" height="${r.strong ? 10 : 8}" fill="${colour}"/>`);
    parts.push(`<text x="${width - right + 8}" y="${y + 4}" class="tick">${esc(`${signed(r.estimate, 3)} [${signed(r.lower, 3)}, ${signed(r.upper, 3)}]`)}${r.note === '' ? '' : ` <tspan class="note">${esc(r.note)}</tspan>`}</text>`);
  });
  parts.push(`<text x="${(left + width - right) / 2}" y="${height - 2}" text-anchor="middle" class="tick">difference (${esc(c.treatment)} − ${esc(c.control)})</text>`);
  parts.push('</svg>');
  return parts.join('');
}

function crossoverChart(report: AnalyzeReport): string {
  const days = report.drift.days;
  if (days.length === 0) return '<p>No exposure days.</p>';
  const width = 760;
  const height = 260;
  const left = 60;
  const right = 20;
  const top = 16;
  const bottom = 50;
  const maxShare = Math.max(0.01, ...days.map((d) => Math.max(d.share, d.cumulativeShare)));
  const yTicks = ticks(0, maxShare, 4);
  const yMax = Math.max(maxShare, yTicks.at(-1) ?? maxShare);
  const x = (i: number): number => (days.length === 1 ? (left + width - right) / 2 : left + (i / (days.length - 1)) * (width - left - right));
  const y = (v: number): number => top + (1 - v / yMax) * (height - top - bottom);
  const last = days.at(-1);
  const { open } = svgOpen(width, height, 'Crossover share over time', `Per UTC day from ${days[0]?.day ?? ''} to ${last?.day ?? ''}: the share of exposed units seen in a variant other than their arm, and the cumulative share of crossover units, ending at ${share(last?.cumulativeShare)}.`);
  const parts = [open];
  for (const t of yTicks) parts.push(`<line x1="${left}" x2="${width - right}" y1="${y(t)}" y2="${y(t)}" class="grid"/><text x="${left - 6}" y="${y(t) + 4}" text-anchor="end" class="tick">${esc(share(t, 1))}</text>`);
  const labelEvery = Math.max(1, Math.ceil(days.length / 8));
  days.forEach((d, i) => {
    if (i % labelEvery === 0 || i === days.length - 1) parts.push(`<text x="${x(i)}" y="${height - bottom + 16}" text-anchor="middle" class="tick">${esc(d.day.slice(5))}</text>`);
  });
  const line = (pick: (d: (typeof days)[number]) => number, colour: string, dash: string): void => {
    const pts = days.map((d, i) => `${x(i).toFixed(1)},${y(pick(d)).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${pts}" fill="none" stroke="${colour}" stroke-width="2"${dash === '' ? '' : ` stroke-dasharray="${dash}"`}/>`);
    days.forEach((d, i) => parts.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(pick(d)).toFixed(1)}" r="2.5" fill="${colour}"/>`));
  };
  line((d) => d.share, '#d9730d', '4 3');
  line((d) => d.cumulativeShare, '#1f5fa8', '');
  const first = report.drift.firstFlipDay;
  const fi = first === null ? -1 : days.findIndex((d) => d.day === first);
  if (fi >= 0) parts.push(`<line x1="${x(fi)}" x2="${x(fi)}" y1="${top}" y2="${height - bottom}" stroke="#b03a2e" stroke-dasharray="2 2"/><text x="${x(fi) + 4}" y="${top + 10}" class="tick" fill="#b03a2e">first flip</text>`);
  parts.push(`<g class="tick"><line x1="${left}" x2="${left + 24}" y1="${height - 12}" y2="${height - 12}" stroke="#1f5fa8" stroke-width="2"/><text x="${left + 30}" y="${height - 8}">cumulative crossover share</text><line x1="${left + 230}" x2="${left + 254}" y1="${height - 12}" y2="${height - 12}" stroke="#d9730d" stroke-width="2" stroke-dasharray="4 3"/><text x="${left + 260}" y="${height - 8}">share of the day's exposed units seen in another arm</text></g>`);
  parts.push('</svg>');
  return parts.join('');
}

function allocationChart(report: AnalyzeReport): string {
  const variants = report.variants;
  const phases = report.strata;
  const n = (phase: string, arm: string): number => report.units.perStratum.filter((u) => u.stratum === phase && u.arm === arm).reduce((a, u) => a + u.n, 0);
  const width = 760;
  const groupW = Math.min(200, (width - 80) / Math.max(1, phases.length));
  const height = 260;
  const left = 70;
  const top = 16;
  const bottom = 56;
  const max = Math.max(1, ...phases.flatMap((p) => variants.map((v) => n(p, v))));
  const yTicks = ticks(0, max, 4);
  const yMax = Math.max(max, yTicks.at(-1) ?? max);
  const y = (v: number): number => top + (1 - v / yMax) * (height - top - bottom);
  const barW = (groupW - 20) / Math.max(1, variants.length);
  const { open } = svgOpen(width, height, 'Units by arm and phase of first exposure', phases.map((p) => `phase ${p}: ${variants.map((v) => `${v} ${n(p, v)}`).join(', ')}`).join('; '));
  const parts = [open];
  for (const t of yTicks) parts.push(`<line x1="${left}" x2="${width - 10}" y1="${y(t)}" y2="${y(t)}" class="grid"/><text x="${left - 6}" y="${y(t) + 4}" text-anchor="end" class="tick">${esc(count(t))}</text>`);
  phases.forEach((p, gi) => {
    const gx = left + 10 + gi * groupW;
    const total = variants.reduce((a, v) => a + n(p, v), 0);
    variants.forEach((v, vi) => {
      const value = n(p, v);
      const bx = gx + vi * barW;
      parts.push(`<rect x="${bx.toFixed(1)}" y="${y(value).toFixed(1)}" width="${(barW - 4).toFixed(1)}" height="${(y(0) - y(value)).toFixed(1)}" fill="${PALETTE[vi % PALETTE.length] ?? '#555'}"><title>${esc(`phase ${p}, ${v}: ${count(value)} units (${share(total > 0 ? value / total : 0, 1)})`)}</title></rect>`);
      parts.push(`<text x="${(bx + (barW - 4) / 2).toFixed(1)}" y="${(y(value) - 4).toFixed(1)}" text-anchor="middle" class="tick">${esc(share(total > 0 ? value / total : 0, 1))}</text>`);
    });
    parts.push(`<text x="${(gx + (groupW - 20) / 2).toFixed(1)}" y="${height - bottom + 16}" text-anchor="middle" class="label">${esc(p)}</text>`);
  });
  let lx = left;
  variants.forEach((v, vi) => {
    parts.push(`<rect x="${lx}" y="${height - 20}" width="12" height="12" fill="${PALETTE[vi % PALETTE.length] ?? '#555'}"/><text x="${lx + 16}" y="${height - 10}" class="tick">${esc(v)}</text>`);
    lx += 24 + Math.min(200, v.length * 7);
  });
  parts.push('</svg>');
  return parts.join('');
}

function summaryTable(report: AnalyzeReport): string {
  const level = `${Math.round(report.confidence * 100)}%`;
  const rows: string[] = [];
  for (const m of report.metrics) {
    for (const c of m.comparisons) {
      const p = c.primary;
      const naive = c.naiveEventTime;
      rows.push(
        `<tr><th scope="row">${esc(m.metric)} <span class="muted">(${esc(m.kind)})</span></th><td>${esc(c.treatment)} vs ${esc(c.control)}</td>` +
          (p === null
            ? '<td colspan="5">n/a (too few units)</td>'
            : `<td class="num">${esc(num(p.control.estimate))}</td><td class="num">${esc(num(p.treatment.estimate))}</td><td class="num">${esc(signed(p.difference.estimate))} <span class="muted">[${esc(signed(p.difference.lower))}, ${esc(signed(p.difference.upper))}]</span></td><td class="num">${p.relative === null ? 'n/a' : `${esc(pct(p.relative.estimate))} <span class="muted">[${esc(pct(p.relative.lower))}, ${esc(pct(p.relative.upper))}]</span>`}</td><td class="num">${esc(pValue(p.pValue))}</td>`) +
          `<td>${naive?.disagreesWithPrimary === true ? '<span class="badge alert">naive view disagrees</span>' : ''}${c.pooled?.biasedIfStrataDiffer === true ? ' <span class="badge muted">pooled not headline</span>' : ''}</td></tr>`,
      );
    }
  }
  return `<table><caption>Primary estimates (stratified by phase of first exposure; ${esc(level)} intervals)</caption><thead><tr><th scope="col">Metric</th><th scope="col">Comparison</th><th scope="col">Control</th><th scope="col">Treatment</th><th scope="col">Difference</th><th scope="col">Relative lift</th><th scope="col">p</th><th scope="col">Flags</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function srmTable(report: AnalyzeReport): string {
  const rows = report.srm.map((s) => {
    const source = report.expectedSplit.sources[s.phase] ?? (report.expectedSplit.split === null ? '' : 'split-option');
    return `<tr><th scope="row">${esc(s.phase)}</th><td>${s.variants.map((v, i) => `${esc(v)}: ${esc(count(s.observed[i] ?? 0))}`).join('<br>')}</td><td>${s.expectedShares === null ? 'unknown' : `${s.variants.map((v, i) => `${esc(v)}: ${esc(share(s.expectedShares?.[i] ?? 0, 1))}`).join('<br>')}${source === '' ? '' : ` <span class="muted">(${esc(source)})</span>`}`}</td><td class="num">${esc(num(s.chiSquare))}</td><td class="num">${esc(pValue(s.pValue))}</td><td><span class="badge ${STATUS_CLASS[s.status] ?? 'muted'}">${esc(s.status)}</span></td></tr>`;
  });
  return `<table><caption>Sample ratio mismatch per phase of first exposure (alert p &lt; 0.001, warn p &lt; 0.01)</caption><thead><tr><th scope="col">Phase</th><th scope="col">Observed units</th><th scope="col">Expected split</th><th scope="col">χ²</th><th scope="col">p</th><th scope="col">Status</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function driftSection(report: AnalyzeReport): string {
  const d = report.drift;
  const flips = d.flipMatrix.length === 0 ? '<p>No unit was exposed to more than one variant.</p>' : `<table><caption>Flip matrix (distinct units)</caption><thead><tr><th scope="col">First variant</th><th scope="col">Later variant</th><th scope="col">Units</th></tr></thead><tbody>${d.flipMatrix.map((f) => `<tr><td>${esc(f.from)}</td><td>${esc(f.to)}</td><td class="num">${esc(count(f.units))}</td></tr>`).join('')}</tbody></table>`;
  const versions = d.flipConfigVersions.length === 0 ? '' : `<p>Config version in force at each unit's first flip: ${d.flipConfigVersions.map((v) => `${v.configVersion === null ? 'unknown' : `v${esc(v.configVersion)}`} (${esc(count(v.units))} units)`).join(', ')}.</p>`;
  return `<p class="${d.warning ? 'alert-text' : ''}">${esc(count(d.crossoverUnits))} of ${esc(count(d.units))} units (${esc(share(d.crossoverShare))}) were exposed to more than one variant; first flip day: ${esc(d.firstFlipDay ?? 'none')}. Crossover units stay in the arm of their first exposure.</p>${flips}${versions}`;
}

const CSS = `
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;background:#fff;margin:0 auto;max-width:1000px;padding:24px}
h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.25em;margin:32px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:1.05em;margin:20px 0 6px}
table{border-collapse:collapse;width:100%;margin:8px 0 16px}caption{text-align:left;font-weight:600;padding:4px 0}
th,td{border:1px solid #d0d0d0;padding:5px 8px;text-align:left;vertical-align:top}thead th{background:#f1f3f5}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}.muted{color:#666}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:.85em;font-weight:600;border:1px solid}
.badge.ok{background:#e6f4ea;color:#1e6b34;border-color:#1e6b34}.badge.warn{background:#fff4e0;color:#8a4b00;border-color:#8a4b00}
.badge.alert{background:#fde7e7;color:#9b1c1c;border-color:#9b1c1c}.badge.muted{background:#f1f3f5;color:#444;border-color:#888}
.warnings{background:#fff8e6;border:1px solid #e0b040;border-radius:6px;padding:8px 16px}.warnings li{margin:4px 0}
.alert-text{color:#9b1c1c;font-weight:600}
svg .grid{stroke:#e3e3e3}svg .zero{stroke:#333;stroke-width:1.5}svg .tick{font-size:11px;fill:#444}svg .label{font-size:12px;fill:#222}svg .strong{font-weight:700}svg .note{fill:#b03a2e;font-weight:600}
`;

export function renderHtml(report: AnalyzeReport): string {
  resetChartIds();
  const level = `${Math.round(report.confidence * 100)}%`;
  const warnings =
    report.warnings.length === 0
      ? '<p>No warnings.</p>'
      : `<ul class="warnings">${report.warnings.map((w) => `<li><strong>${esc(w.code)}</strong>: ${esc(w.message)}</li>`).join('')}</ul>`;
  const lifts = report.metrics
    .flatMap((m) =>
      m.comparisons.map((c) => {
        const cumulative = c.cumulative === null ? '' : `<figure>${cumulativeChart(m, c, level)}<figcaption class="muted">Cumulative lift: the primary (phase-stratified, first-exposure) difference ${esc(c.treatment)} − ${esc(c.control)} as of the end of each ${esc(c.cumulative.interval)}, with its ${esc(level)} interval; the last point is the headline estimate. Early points rest on few units and phases; a trend that settles is not a reason to stop early (see the always-valid p-value).</figcaption></figure>`;
        return `<h3>${esc(m.metric)}: ${esc(c.treatment)} vs ${esc(c.control)}</h3>${cumulative}<figure>${forestPlot(m, c, level)}<figcaption class="muted">Difference ${esc(c.treatment)} − ${esc(c.control)} with ${esc(level)} intervals: the primary (phase-stratified) estimate, each phase, and the sensitivity views.</figcaption></figure>`;
      }),
    )
    .join('');
  const ex = report.inputs.excludedBadRows;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sortition analysis: ${esc(report.experiment)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header>
<h1>Experiment <code>${esc(report.experiment)}</code></h1>
<p>${esc(count(report.units.total))} units; control <strong>${esc(report.control)}</strong>; variants ${report.variants.map((v) => `<code>${esc(v)}</code>`).join(', ')}; phases of first exposure ${report.strata.map((s) => `<code>${esc(s)}</code>`).join(', ')}.
Inputs: ${esc(count(report.inputs.exposures.rows))} exposure rows, ${esc(count(report.inputs.events.rows))} event rows${ex.exposures + ex.events > 0 ? `; excluded bad rows: ${esc(ex.exposures)} exposures, ${esc(ex.events)} events` : ''}.</p>
</header>
<section aria-labelledby="h-warnings"><h2 id="h-warnings">Warnings (${esc(report.warnings.length)})</h2>${warnings}</section>
<section aria-labelledby="h-summary"><h2 id="h-summary">Summary</h2>${summaryTable(report)}</section>
<section aria-labelledby="h-lift"><h2 id="h-lift">Lift over time, by phase and by view</h2>${lifts}</section>
<section aria-labelledby="h-crossover"><h2 id="h-crossover">Crossover share over time</h2><figure>${crossoverChart(report)}</figure>${driftSection(report)}</section>
<section aria-labelledby="h-allocation"><h2 id="h-allocation">Allocation by phase</h2><figure>${allocationChart(report)}</figure></section>
<section aria-labelledby="h-srm"><h2 id="h-srm">Sample ratio mismatch per phase</h2>${srmTable(report)}</section>
</main>
</body>
</html>
`;
}
