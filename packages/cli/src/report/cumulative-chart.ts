/**
 * The cumulative lift chart: the primary (phase-stratified, first-exposure) difference as of the
 * end of each hour, day or week, with its confidence interval as a band. Inline SVG, no script.
 */
import { type Comparison, type CumulativePoint, type MetricResult } from '@sortition/analysis';
import { signed } from './model.js';
import { esc, svgOpen, ticks } from './svg.js';

const WIDTH = 760;
const HEIGHT = 280;
const LEFT = 70;
const RIGHT = 150;
const TOP = 16;
const BOTTOM = 56;

function label(end: string, interval: string): string {
  // The point is "as of the end of the bucket": label it with the bucket's start (its day or hour).
  const start = new Date(Date.parse(end) - (interval === 'hour' ? 3_600_000 : interval === 'week' ? 7 * 86_400_000 : 86_400_000)).toISOString();
  return interval === 'hour' ? `${start.slice(5, 10)} ${start.slice(11, 13)}h` : start.slice(5, 10);
}

export function cumulativeChart(metric: MetricResult, c: Comparison, level: string): string {
  const series = c.cumulative;
  if (series === null) return '';
  const points = series.points.filter((p) => Number.isFinite(p.difference.estimate));
  if (points.length === 0) return `<p>No ${esc(series.interval)} has at least 2 units in both arms yet: no cumulative lift to draw.</p>`;
  const finite = points.flatMap((p) => [p.difference.lower, p.difference.upper, p.difference.estimate]).filter(Number.isFinite);
  let lo = Math.min(0, ...finite);
  let hi = Math.max(0, ...finite);
  if (hi === lo) {
    lo -= 1;
    hi += 1;
  }
  // Round the range out to whole ticks, so the top and bottom are labelled.
  const inner = ticks(lo, hi, 7);
  const step = inner.length > 1 ? (inner[1] as number) - (inner[0] as number) : Math.max(1e-12, hi - lo);
  lo = Math.floor(lo / step + 1e-9) * step;
  hi = Math.ceil(hi / step - 1e-9) * step;
  const yTicks = ticks(lo, hi, Math.round((hi - lo) / step));
  const t0 = Date.parse(points[0]?.end ?? '');
  const t1 = Date.parse(points.at(-1)?.end ?? '');
  const x = (p: CumulativePoint): number => (t1 === t0 ? (LEFT + WIDTH - RIGHT) / 2 : LEFT + ((Date.parse(p.end) - t0) / (t1 - t0)) * (WIDTH - LEFT - RIGHT));
  const y = (v: number): number => TOP + (1 - (Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo)) * (HEIGHT - TOP - BOTTOM);
  const last = points.at(-1) as CumulativePoint;
  const fmt = (p: CumulativePoint): string => `${signed(p.difference.estimate, 3)} [${signed(p.difference.lower, 3)}, ${signed(p.difference.upper, 3)}]`;
  const { open } = svgOpen(
    WIDTH,
    HEIGHT,
    `Cumulative lift of ${metric.metric}, ${c.treatment} minus ${c.control}, by ${series.interval}, with ${level} intervals`,
    `The primary estimate with all exposures and events before the end of each ${series.interval}, from ${label(points[0]?.end ?? '', series.interval)} to ${label(last.end, series.interval)} (${points.length} points), ending at ${fmt(last)}.`,
  );
  const parts = [open];
  for (const t of yTicks) parts.push(`<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" class="grid"/><text x="${LEFT - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end" class="tick">${esc(signed(t, 3))}</text>`);
  parts.push(`<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${y(0).toFixed(1)}" y2="${y(0).toFixed(1)}" class="zero"/>`);
  const band = [...points.map((p) => `${x(p).toFixed(1)},${y(p.difference.upper).toFixed(1)}`), ...[...points].reverse().map((p) => `${x(p).toFixed(1)},${y(p.difference.lower).toFixed(1)}`)].join(' ');
  parts.push(`<polygon points="${band}" fill="#1f5fa8" fill-opacity="0.15" stroke="#1f5fa8" stroke-opacity="0.35" stroke-width="1"/>`);
  parts.push(`<polyline points="${points.map((p) => `${x(p).toFixed(1)},${y(p.difference.estimate).toFixed(1)}`).join(' ')}" fill="none" stroke="#1f5fa8" stroke-width="2"/>`);
  for (const p of points) {
    parts.push(`<circle cx="${x(p).toFixed(1)}" cy="${y(p.difference.estimate).toFixed(1)}" r="2.5" fill="#1f5fa8"><title>${esc(`before ${p.end}: ${fmt(p)}, n = ${p.control.n} / ${p.treatment.n}`)}</title></circle>`);
  }
  const every = Math.max(1, Math.ceil(points.length / 8));
  points.forEach((p, i) => {
    if (i % every === 0 || i === points.length - 1) parts.push(`<text x="${x(p).toFixed(1)}" y="${HEIGHT - BOTTOM + 16}" text-anchor="middle" class="tick">${esc(label(p.end, series.interval))}</text>`);
  });
  parts.push(`<text x="${(x(last) + 8).toFixed(1)}" y="${(y(last.difference.estimate) + 4).toFixed(1)}" class="tick">${esc(fmt(last))}</text>`);
  parts.push(
    `<g class="tick"><line x1="${LEFT}" x2="${LEFT + 24}" y1="${HEIGHT - 12}" y2="${HEIGHT - 12}" stroke="#1f5fa8" stroke-width="2"/><text x="${LEFT + 30}" y="${HEIGHT - 8}">difference (${esc(c.treatment)} − ${esc(c.control)})</text>` +
      `<rect x="${LEFT + 290}" y="${HEIGHT - 18}" width="24" height="12" fill="#1f5fa8" fill-opacity="0.15"/><text x="${LEFT + 320}" y="${HEIGHT - 8}">${esc(level)} confidence interval</text></g>`,
  );
  parts.push('</svg>');
  return parts.join('');
}
