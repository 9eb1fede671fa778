/** SVG helpers shared by the report's charts: escaping, round ticks, and an accessible <svg> opening. */

export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

export const PALETTE = ['#1f5fa8', '#d9730d', '#2e8540', '#8e44ad', '#b03a2e', '#117a8b', '#7d6608', '#555555'];
export const STATUS_CLASS: Record<string, string> = { ok: 'ok', warn: 'warn', alert: 'alert', 'insufficient-data': 'muted', 'expected-split-unknown': 'muted' };

let chartId = 0;

/** Restarts the chart ids (each report numbers its charts from 1). */
export function resetChartIds(): void {
  chartId = 0;
}

/** Round tick values covering [lo, hi]. */
export function ticks(lo: number, hi: number, target = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw) as number;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

export function svgOpen(width: number, height: number, title: string, desc: string): { open: string; id: string } {
  const id = `chart${++chartId}`;
  return {
    id,
    open: `<svg viewBox="0 0 ${width} ${height}" width="100%" style="max-width:${width}px" role="img" aria-labelledby="${id}-t ${id}-d"><title id="${id}-t">${esc(title)}</title><desc id="${id}-d">${esc(desc)}</desc>`,
  };
}

