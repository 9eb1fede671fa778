/**
 * A quick look at an events file before uploading it: the distinct metric names (so the person can
 * say which are conversions) and a clear message when the columns are missing. The service
 * validates every row; this only reads what the form needs.
 */
export type EventsFormat = 'csv' | 'jsonl';

const REQUIRED = ['unit_id', 'timestamp', 'metric', 'value'];

/** Splits one CSV line (RFC 4180 quoting). */
export function csvCells(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      cells.push(cell);
      cell = '';
    } else cell += ch;
  }
  cells.push(cell);
  return cells;
}

export function metricNames(content: string, format: EventsFormat, limit = 100): { ok: true; metrics: string[] } | { ok: false; error: string } {
  const lines = content.split(/\r?\n/).filter((l) => l.trim() !== '');
  const found = new Set<string>();
  if (format === 'csv') {
    const header = csvCells(lines[0] ?? '').map((c) => c.trim());
    const missing = REQUIRED.filter((c) => !header.includes(c));
    if (missing.length > 0) return { ok: false, error: `the CSV header lacks ${missing.join(', ')} (found: ${header.join(', ') || 'nothing'}); the first line must name the columns unit_id, timestamp, metric, value` };
    const at = header.indexOf('metric');
    for (const line of lines.slice(1)) {
      const m = csvCells(line)[at]?.trim() ?? '';
      if (m !== '') found.add(m);
      if (found.size > limit) break;
    }
  } else {
    for (const [i, line] of lines.entries()) {
      let row: unknown;
      try {
        row = JSON.parse(line) as unknown;
      } catch (error) {
        if (!(error instanceof SyntaxError)) throw error;
        return { ok: false, error: `line ${i + 1} is not JSON: each line must be one object with unit_id, timestamp, metric and value` };
      }
      const m = typeof row === 'object' && row !== null ? (row as { metric?: unknown }).metric : undefined;
      if (typeof m === 'string' && m.trim() !== '') found.add(m.trim());
      if (found.size > limit) break;
    }
  }
  if (found.size === 0) return { ok: false, error: 'the file has no events with a metric name: add rows with unit_id, timestamp, metric and value' };
  if (found.size > limit) return { ok: false, error: `the file names more than ${limit} metrics; split it, or analyse it with \`sortition analyze\`` };
  return { ok: true, metrics: [...found].sort() };
}
