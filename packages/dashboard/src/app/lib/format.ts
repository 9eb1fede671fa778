/** Numbers, shares and times as people read them (en-GB style, UTC where it matters). */

const integer = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 0 });

export function fmtInt(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '–' : integer.format(n);
}

export function fmtPct(share: number | null | undefined, digits = 1): string {
  if (share === null || share === undefined || !Number.isFinite(share)) return '–';
  return `${(share * 100).toFixed(digits)}%`;
}

/** Significant digits, with a sign when asked (for differences). */
export function fmtNum(n: number | null | undefined, options: { signed?: boolean; digits?: number } = {}): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  const digits = options.digits ?? 4;
  const abs = Math.abs(n);
  const text = abs !== 0 && (abs < 1e-3 || abs >= 1e7) ? n.toExponential(2) : Number(n.toPrecision(digits)).toString();
  return options.signed === true && n > 0 ? `+${text}` : text;
}

export function fmtP(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return '–';
  return p < 0.0001 ? '< 0.0001' : p.toFixed(4);
}

/** "2026-11-22 10:04 UTC". */
export function fmtTime(ms: number | string | null | undefined): string {
  if (ms === null || ms === undefined) return '–';
  const t = typeof ms === 'string' ? Date.parse(ms) : ms;
  if (!Number.isFinite(t)) return String(ms);
  return `${new Date(t).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${fmtInt(n)} ${n === 1 ? one : many}`;
}
