/**
 * One metric's results: for each treatment against the control, the first-exposure,
 * phase-stratified difference with its interval (the headline), and the naive event-time view beside
 * it when the two disagree, as an interval chart (0 = no effect) and a table.
 */
import type { ChartConfiguration, Plugin } from 'chart.js';
import { useMemo, type ReactNode } from 'react';
import { variantColor } from '../lib/config.js';
import { fmtInt, fmtNum, fmtP, fmtPct } from '../lib/format.js';
import type { Comparison, Estimate, Interval, MetricResult } from '../lib/types.js';
import { Badge } from './Badge.js';
import { ChartCanvas, zeroLine } from './Chart.js';

interface Row {
  readonly label: string;
  readonly view: 'primary' | 'naive';
  readonly comparison: Comparison;
  readonly estimate: Estimate;
}

function rowsOf(metric: MetricResult): Row[] {
  return metric.comparisons.flatMap((c) => {
    const rows: Row[] = [];
    if (c.primary !== null) rows.push({ label: `${c.treatment} − ${c.control}, first exposure by phase`, view: 'primary', comparison: c, estimate: c.primary });
    if (c.naiveEventTime?.disagreesWithPrimary === true) rows.push({ label: `${c.treatment} − ${c.control}, naive event-time`, view: 'naive', comparison: c, estimate: c.naiveEventTime });
    return rows;
  });
}

/** A diamond at each row's point estimate. */
function estimateMarkers(estimates: readonly number[]): Plugin<'bar'> {
  return {
    id: 'estimateMarkers',
    afterDatasetsDraw(chart) {
      const x = chart.scales['x'];
      const meta = chart.getDatasetMeta(0);
      if (x === undefined) return;
      const { ctx } = chart;
      ctx.save();
      meta.data.forEach((bar, i) => {
        const value = estimates[i];
        if (value === undefined || !Number.isFinite(value)) return;
        const px = x.getPixelForValue(value);
        const py = bar.y;
        ctx.fillStyle = '#111827';
        ctx.beginPath();
        ctx.moveTo(px, py - 8);
        ctx.lineTo(px + 6, py);
        ctx.lineTo(px, py + 8);
        ctx.lineTo(px - 6, py);
        ctx.closePath();
        ctx.fill();
      });
      ctx.restore();
    },
  };
}

const interval = (i: Interval, relative = false): string =>
  relative ? `${fmtPct(i.estimate, 2)} [${fmtPct(i.lower, 2)}, ${fmtPct(i.upper, 2)}]` : `${fmtNum(i.estimate, { signed: true })} [${fmtNum(i.lower, { signed: true })}, ${fmtNum(i.upper, { signed: true })}]`;

/** Which way the interval points; no colour judges it, since "lower" is good for some metrics. */
function verdict(c: Comparison): { text: string; tone: 'info' | 'neutral' } {
  const d = c.primary?.difference;
  if (d === undefined || !Number.isFinite(d.lower) || !Number.isFinite(d.upper)) return { text: 'no estimate', tone: 'neutral' };
  if (d.lower > 0) return { text: `${c.treatment} higher`, tone: 'info' };
  if (d.upper < 0) return { text: `${c.treatment} lower`, tone: 'info' };
  return { text: 'no clear difference', tone: 'neutral' };
}

export function MetricCard({ metric, variants, confidence }: { readonly metric: MetricResult; readonly variants: readonly string[]; readonly confidence: number }): ReactNode {
  const rows = rowsOf(metric);
  const chart = useMemo<ChartConfiguration<'bar', [number, number][]>>(
    () => ({
      type: 'bar',
      data: {
        labels: rows.map((r) => r.label),
        datasets: [
          {
            label: `${Math.round(confidence * 100)}% interval of the difference`,
            data: rows.map((r) => [r.estimate.difference.lower, r.estimate.difference.upper]),
            backgroundColor: rows.map((r) => (r.view === 'naive' ? '#d1d5db' : variantColor(variants.indexOf(r.comparison.treatment)))),
            borderColor: rows.map((r) => (r.view === 'naive' ? '#6b7280' : '#1f2937')),
            borderWidth: 1,
            barPercentage: 0.5,
          },
        ],
      },
      options: {
        indexAxis: 'y',
        plugins: { legend: { display: false }, tooltip: { callbacks: { label: (item) => interval(rows[item.dataIndex]!.estimate.difference) } } },
        scales: { x: { title: { display: true, text: `difference in ${metric.kind === 'conversion' ? 'conversion rate' : `${metric.metric} per unit`} (treatment − control)` } } },
      },
      plugins: [zeroLine, estimateMarkers(rows.map((r) => r.estimate.difference.estimate))],
    }),
    [metric, variants, confidence],
  );
  const disagreements = metric.comparisons.filter((c) => c.naiveEventTime?.disagreesWithPrimary === true);
  return (
    <section className="card" aria-labelledby={`metric-${metric.metric}`}>
      <h3 id={`metric-${metric.metric}`}>
        {metric.metric} <span className="muted normal">{metric.kind === 'conversion' ? 'conversion' : 'sum per unit'}</span>{' '}
        {metric.comparisons.map((c) => (
          <Badge key={c.treatment} tone={verdict(c).tone}>
            {verdict(c).text}
          </Badge>
        ))}
      </h3>
      {disagreements.length === 0 ? (
        <p className="muted small">The naive event-time view agrees with the first-exposure estimate (each lies inside the other's interval), so only the headline is drawn.</p>
      ) : (
        <p className="callout">
          The naive event-time view disagrees with the first-exposure estimate. Crossovers make event-time attribution unreliable: trust the first-exposure, phase-stratified estimate; the naive one is drawn in grey for comparison.
        </p>
      )}
      <ChartCanvas config={chart} label={`${metric.metric}: ${rows.map((r) => `${r.label} ${interval(r.estimate.difference)}`).join('; ')}`} height={80 + rows.length * 46} />
      <div className="table-wrap">
        <table>
          <caption className="visually-hidden">{metric.metric} estimates</caption>
          <thead>
            <tr>
              <th scope="col">Comparison</th>
              <th scope="col" className="num">Difference [interval]</th>
              <th scope="col" className="num">Relative [interval]</th>
              <th scope="col" className="num">p</th>
              <th scope="col" className="num">Control (n)</th>
              <th scope="col" className="num">Treatment (n)</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.label} className={r.view === 'naive' ? 'muted-row' : undefined}>
                <th scope="row">{r.label}</th>
                <td className="num">{interval(r.estimate.difference)}</td>
                <td className="num">{r.estimate.relative === null ? '–' : interval(r.estimate.relative, true)}</td>
                <td className="num">{fmtP(r.estimate.pValue)}</td>
                <td className="num">
                  {fmtNum(r.estimate.control.estimate)} ({fmtInt(r.estimate.control.n)})
                </td>
                <td className="num">
                  {fmtNum(r.estimate.treatment.estimate)} ({fmtInt(r.estimate.treatment.n)})
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
