/**
 * A layer's slots as one horizontal bar: each run of slots a segment, coloured by variant, hatched
 * for holdouts and excluded phases, grey for other experiments, white when free. The same runs are
 * listed as text below the figure for people who do not see colour or the picture.
 */
import type { ReactNode } from 'react';
import { variantColor, type Segment } from '../lib/config.js';
import { fmtPct } from '../lib/format.js';

const KIND_TEXT: Readonly<Record<Segment['kind'], string>> = {
  variant: 'variant',
  holdout: 'holdout',
  other: 'other experiment',
  excluded: 'excluded phase',
  free: 'unallocated',
};

function fill(segment: Segment): string {
  switch (segment.kind) {
    case 'variant':
      return variantColor(segment.variantIndex);
    case 'holdout':
      return 'url(#hatch-holdout)';
    case 'excluded':
      return 'url(#hatch-excluded)';
    case 'other':
      return '#c9ced6';
    default:
      return '#ffffff';
  }
}

export function describeSegment(s: Segment, slots: number): string {
  const what = s.kind === 'free' ? 'unallocated' : `${KIND_TEXT[s.kind]} ${s.label}`;
  return `${what}: slots [${s.from}, ${s.to}) — ${s.to - s.from} slots, ${fmtPct((s.to - s.from) / slots, 2)}`;
}

/** Hatch patterns used by every slot bar; rendered once per page. */
export function SlotPatterns(): ReactNode {
  return (
    <svg width="0" height="0" style={{ position: 'absolute' }} aria-hidden="true" focusable="false">
      <defs>
        <pattern id="hatch-holdout" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
          <rect width="8" height="8" fill="#4b5563" />
          <line x1="0" y1="0" x2="0" y2="8" stroke="#9ca3af" strokeWidth="3" />
        </pattern>
        <pattern id="hatch-excluded" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(-45)">
          <rect width="8" height="8" fill="#f3f4f6" />
          <line x1="0" y1="0" x2="0" y2="8" stroke="#9ca3af" strokeWidth="3" />
        </pattern>
      </defs>
    </svg>
  );
}

export function SlotBar({ segments, slots, label }: { readonly segments: readonly Segment[]; readonly slots: number; readonly label: string }): ReactNode {
  return (
    <svg className="slot-bar" viewBox={`0 0 1000 40`} preserveAspectRatio="none" role="img" aria-label={label}>
      {segments.map((s) => (
        <rect key={`${s.from}-${s.kind}-${s.label}`} x={(s.from / slots) * 1000} y={0} width={Math.max(((s.to - s.from) / slots) * 1000, 0.5)} height={40} fill={fill(s)}>
          <title>{describeSegment(s, slots)}</title>
        </rect>
      ))}
      <rect x={0} y={0} width={1000} height={40} fill="none" stroke="#6b7280" strokeWidth={1} vectorEffect="non-scaling-stroke" />
    </svg>
  );
}

export interface LegendItem {
  readonly key: string;
  readonly label: string;
  readonly swatch: 'variant' | Segment['kind'];
  readonly index?: number;
}

export function Legend({ items }: { readonly items: readonly LegendItem[] }): ReactNode {
  return (
    <ul className="legend">
      {items.map((item) => (
        <li key={item.key}>
          <span className={`swatch swatch-${item.swatch}`} style={item.swatch === 'variant' ? { background: variantColor(item.index ?? 0) } : undefined} aria-hidden="true" />
          {item.label}
        </li>
      ))}
    </ul>
  );
}
