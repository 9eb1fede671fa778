/** The data the report renderers take: the engine's result plus the split the CLI derived. */
import { type AnalysisResult } from '@sortition/analysis';

export type SplitSource = 'split-option' | 'config-history';

/** The split in force used for SRM, and where each one came from. */
export interface ExpectedSplitReport {
  readonly split: Readonly<Record<string, number>> | null;
  readonly phases: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly sources: Readonly<Record<string, SplitSource>>;
  /** Config versions the config history held for this experiment (in the order given). */
  readonly configVersions: readonly number[];
}

/** The engine's result plus the expected split the CLI derived from its options. */
export type AnalyzeReport = AnalysisResult & { readonly expectedSplit: ExpectedSplitReport };

/** A number for people: 4 significant digits, thousands kept whole; NaN/Infinity spelled out. */
export function num(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined || Number.isNaN(x)) return 'n/a';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '-∞';
  if (x !== 0 && Math.abs(x) >= 10 ** digits) return Math.round(x).toLocaleString('en-US');
  if (x !== 0 && Math.abs(x) < 1e-4) return x.toExponential(2);
  return String(Number(x.toPrecision(digits)));
}

export function signed(x: number | null | undefined, digits = 4): string {
  const s = num(x, digits);
  return x !== null && x !== undefined && x > 0 ? `+${s}` : s;
}

export function pct(x: number | null | undefined, digits = 2): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return 'n/a';
  return `${x > 0 ? '+' : ''}${(x * 100).toFixed(digits)}%`;
}

export function share(x: number | null | undefined, digits = 2): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return 'n/a';
  return `${(x * 100).toFixed(digits)}%`;
}

export function pValue(p: number | null | undefined): string {
  if (p === null || p === undefined || Number.isNaN(p)) return 'n/a';
  if (p < 1e-4) return '< 0.0001';
  return p.toFixed(4);
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}
