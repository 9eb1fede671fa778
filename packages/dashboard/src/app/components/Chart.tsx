/**
 * Chart.js in React: one canvas per chart, created once and updated in place, destroyed on unmount.
 * Only the controllers and elements the dashboard uses are registered (tree-shaken bundle). Every
 * chart carries a text label, and the pages show the same numbers in a table beside it.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartConfiguration,
  type ChartType,
  type Plugin,
} from 'chart.js';
import { useEffect, useRef, type ReactNode } from 'react';

Chart.register(BarController, BarElement, LineController, LineElement, PointElement, CategoryScale, LinearScale, Tooltip, Legend);
Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
Chart.defaults.color = '#374151';
Chart.defaults.animation = false;

export function ChartCanvas<T extends ChartType>({ config, label, height = 260 }: { readonly config: ChartConfiguration<T>; readonly label: string; readonly height?: number }): ReactNode {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<T> | null>(null);
  useEffect(() => {
    const element = canvas.current;
    if (element === null) return;
    const options = { ...config.options, responsive: true, maintainAspectRatio: false } as ChartConfiguration<T>['options'];
    if (chart.current === null) {
      chart.current = new Chart(element, { ...config, options });
    } else {
      chart.current.data = config.data;
      if (options !== undefined) chart.current.options = options;
      chart.current.update();
    }
  }, [config]);
  useEffect(
    () => () => {
      chart.current?.destroy();
      chart.current = null;
    },
    [],
  );
  return (
    <div className="chart" style={{ height }}>
      <canvas ref={canvas} role="img" aria-label={label} />
    </div>
  );
}

/** Draws a vertical line at x = 0 on horizontal charts (the "no effect" line of an interval chart). */
export const zeroLine: Plugin<'bar'> = {
  id: 'zeroLine',
  afterDatasetsDraw(chart) {
    const x = chart.scales['x'];
    if (x === undefined || x.min > 0 || x.max < 0) return;
    const { ctx, chartArea } = chart;
    const px = x.getPixelForValue(0);
    ctx.save();
    ctx.strokeStyle = '#111827';
    ctx.setLineDash([4, 3]);
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(px, chartArea.top);
    ctx.lineTo(px, chartArea.bottom);
    ctx.stroke();
    ctx.restore();
  },
};
