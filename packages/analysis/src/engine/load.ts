// Loading exposures and metric events into DuckDB, with validation done in SQL. Each input becomes
// a view over the file (CSV, JSONL or Parquet; nothing is copied into JavaScript): `<kind>_checked`
// has the typed columns plus one boolean per validation rule, `<kind>` holds the valid rows only.
// Bad rows are never dropped silently: `loadInput` counts them per rule with up to five examples,
// and `analyze` refuses to run while any exist unless the caller passes `allowBadRows: true`.
import { writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { type DuckDBConnection } from '@duckdb/node-api';
import { AnalysisError } from './errors.js';
import { num, queryRows, quoteIdentifier, quoteLiteral, str, type Row, type Scalar } from './sql.js';

export type InputFormat = 'csv' | 'jsonl' | 'parquet';

/** A file (format from the extension unless given) or rows in memory (objects keyed by column). */
export type InputSource =
  | { readonly path: string; readonly format?: InputFormat }
  | { readonly rows: readonly object[] };

export type InputKind = 'exposures' | 'events';

interface ColumnSpec {
  readonly name: string;
  readonly required: boolean;
}

/** Columns read from each input; any other column (unit_type, slot, count, last_at, ...) is ignored. */
export const INPUT_COLUMNS: Readonly<Record<InputKind, readonly ColumnSpec[]>> = {
  exposures: [
    { name: 'unit_id', required: true },
    { name: 'experiment', required: true },
    { name: 'variant', required: true },
    { name: 'timestamp', required: true },
    { name: 'phase', required: false },
    { name: 'config_version', required: false },
    { name: 'source', required: false },
  ],
  events: [
    { name: 'unit_id', required: true },
    { name: 'timestamp', required: true },
    { name: 'metric', required: true },
    { name: 'value', required: true },
  ],
};

export interface RuleExample {
  /** 1-based data row (CSV: header not counted; JSONL: line; Parquet and in-memory rows: row index + 1). */
  readonly row: number;
  readonly values: Readonly<Record<string, Scalar>>;
}

export interface RuleViolation {
  readonly rule: string;
  readonly description: string;
  readonly count: number;
  readonly examples: readonly RuleExample[];
}

export interface LoadReport {
  readonly kind: InputKind;
  readonly source: string;
  readonly format: InputFormat;
  readonly rows: number;
  /** Rows breaking at least one rule (a row breaking two rules is counted once here). */
  readonly badRows: number;
  /** Only the rules with at least one violation. */
  readonly violations: readonly RuleViolation[];
  /** Optional columns found in the input. */
  readonly optionalColumns: readonly string[];
}

interface Rule {
  readonly name: string;
  readonly description: string;
  /** True when the row breaks the rule; over the columns of `<kind>_checked`. */
  readonly sql: string;
}

const EXAMPLES_PER_RULE = 5;

export function detectFormat(source: { readonly path: string; readonly format?: InputFormat }): InputFormat {
  if (source.format !== undefined) {
    if (source.format !== 'csv' && source.format !== 'jsonl' && source.format !== 'parquet') {
      throw new AnalysisError('UNSUPPORTED_FORMAT', `unsupported format "${String(source.format)}": use csv, jsonl or parquet`);
    }
    return source.format;
  }
  const ext = extname(source.path).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.parquet') return 'parquet';
  throw new AnalysisError(
    'UNSUPPORTED_FORMAT',
    `cannot tell the format of ${source.path} from its extension "${ext}": name it .csv, .jsonl, .ndjson or .parquet, or pass { format: 'csv' | 'jsonl' | 'parquet' }`,
  );
}

/**
 * Creates the views `<kind>_checked` and `<kind>` for one input on `connection` and returns the
 * validation report. In-memory rows are written as JSONL into `scratchDir` (owned by the caller).
 */
export async function loadInput(
  connection: DuckDBConnection,
  kind: InputKind,
  source: InputSource,
  scratchDir: string,
): Promise<LoadReport> {
  let path: string;
  let format: InputFormat;
  let label: string;
  if ('rows' in source) {
    path = join(scratchDir, `${kind}.jsonl`);
    await writeFile(path, source.rows.map((row) => JSON.stringify(row)).join('\n') + '\n', 'utf8');
    format = 'jsonl';
    label = `(${source.rows.length} in-memory rows)`;
    if (source.rows.length === 0) {
      throw new AnalysisError('NO_UNITS', `no ${kind} rows were given: pass at least one row`);
    }
  } else {
    path = source.path;
    format = detectFormat(source);
    label = source.path;
  }

  const reader = readerSql(format, path);
  const columns = await discoverColumns(connection, format, reader, label);
  const specs = INPUT_COLUMNS[kind];
  for (const spec of specs) {
    if (spec.required && !columns.has(spec.name)) {
      throw new AnalysisError(
        'MISSING_COLUMN',
        `${kind} input ${label} has no column "${spec.name}" (found: ${[...columns.keys()].join(', ') || 'none'}). ` +
          `Fix: add a "${spec.name}" column (required ${kind} columns: ${specs.filter((s) => s.required).map((s) => s.name).join(', ')}), or rename the column holding it.`,
      );
    }
  }
  const optionalColumns = specs.filter((s) => !s.required && columns.has(s.name)).map((s) => s.name);

  const ref = (name: string): string => (format === 'jsonl' ? `json_extract_string(json, ${quoteLiteral(`$.${JSON.stringify(name)}`)})` : quoteIdentifier(name));
  const text = (name: string): string => (columns.has(name) ? `CAST(${ref(name)} AS VARCHAR)` : 'CAST(NULL AS VARCHAR)');
  const typeOf = (name: string): string => columns.get(name) ?? 'VARCHAR';

  const select: string[] = [];
  const rules: Rule[] = [];
  const nonEmpty = (name: string): void => {
    select.push(`${text(name)} AS ${name}`);
    rules.push({ name: `${name}_empty`, description: `${name} is missing or empty`, sql: `(${name} IS NULL OR trim(${name}) = '')` });
  };
  nonEmpty('unit_id');
  if (kind === 'exposures') {
    nonEmpty('experiment');
    nonEmpty('variant');
  } else {
    nonEmpty('metric');
  }
  select.push(`${timestampSql(ref('timestamp'), typeOf('timestamp'))} AS ts`, `${text('timestamp')} AS timestamp_raw`);
  rules.push({
    name: 'timestamp_invalid',
    description: 'timestamp is missing or not an ISO 8601 date-time or integer epoch milliseconds',
    sql: 'ts IS NULL',
  });
  if (kind === 'exposures') {
    select.push(`NULLIF(${text('phase')}, '') AS phase`, `NULLIF(${text('source')}, '') AS source`);
    if (columns.has('config_version')) {
      select.push(`TRY_CAST(${ref('config_version')} AS BIGINT) AS config_version`, `NULLIF(trim(${text('config_version')}), '') AS config_version_raw`);
      rules.push({ name: 'config_version_invalid', description: 'config_version is present but not an integer', sql: '(config_version_raw IS NOT NULL AND config_version IS NULL)' });
    } else {
      select.push('CAST(NULL AS BIGINT) AS config_version', 'CAST(NULL AS VARCHAR) AS config_version_raw');
    }
  } else {
    const valueType = typeOf('value');
    const value = /^(DOUBLE|FLOAT|REAL|BIGINT|INTEGER|SMALLINT|TINYINT|UBIGINT|UINTEGER|USMALLINT|UTINYINT|HUGEINT|DECIMAL)/.test(valueType)
      ? `CAST(${ref('value')} AS DOUBLE)`
      : `TRY_CAST(${ref('value')} AS DOUBLE)`;
    select.push(`${value} AS value`, `${text('value')} AS value_raw`);
    rules.push({ name: 'value_invalid', description: 'value is missing, not a number, or not finite', sql: '(value IS NULL OR NOT isfinite(value))' });
  }

  const checked = `${kind}_checked`;
  const badSql = rules.map((r) => r.sql).join(' OR ');
  await queryRows(connection, `CREATE OR REPLACE VIEW ${checked} AS SELECT ${select.join(', ')} FROM ${reader}`);
  const outputColumns = kind === 'exposures' ? 'unit_id, experiment, variant, ts, phase, config_version, source' : 'unit_id, metric, ts, value';
  await queryRows(connection, `CREATE OR REPLACE VIEW ${kind} AS SELECT ${outputColumns} FROM ${checked} WHERE NOT (${badSql})`);

  let counts: Row;
  try {
    const rows = await queryRows(
      connection,
      `SELECT count(*) AS n, count(*) FILTER (WHERE ${badSql}) AS bad, ${rules.map((r, i) => `count(*) FILTER (WHERE ${r.sql}) AS r${i}`).join(', ')} FROM ${checked}`,
    );
    counts = rows[0] ?? {};
  } catch (error) {
    throw new AnalysisError('UNREADABLE_INPUT', `cannot read ${kind} input ${label} as ${format}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }

  const violations: RuleViolation[] = [];
  for (const [i, rule] of rules.entries()) {
    const count = num(counts, `r${i}`);
    if (count === 0) continue;
    const rawColumns = kind === 'exposures' ? 'unit_id, experiment, variant, timestamp_raw AS timestamp, phase, config_version_raw AS config_version' : 'unit_id, metric, timestamp_raw AS timestamp, value_raw AS value';
    const examples = await queryRows(
      connection,
      `SELECT * FROM (SELECT row_number() OVER () AS __row, * FROM ${checked}) WHERE ${rule.sql} ORDER BY __row LIMIT ${EXAMPLES_PER_RULE}`,
    );
    violations.push({
      rule: rule.name,
      description: rule.description,
      count,
      examples: examples.map((row) => ({
        row: num(row, '__row'),
        values: Object.fromEntries(rawColumns.split(', ').map((c) => {
          const [from, as] = c.split(' AS ');
          const key = (as ?? from) as string;
          return [key, row[from as string] ?? null];
        })),
      })),
    });
  }
  return { kind, source: label, format, rows: num(counts, 'n'), badRows: num(counts, 'bad'), violations, optionalColumns };
}

function readerSql(format: InputFormat, path: string): string {
  const p = quoteLiteral(path);
  switch (format) {
    case 'csv':
      return `read_csv(${p}, all_varchar = true, header = true)`;
    case 'jsonl':
      return `read_ndjson_objects(${p})`;
    case 'parquet':
      return `read_parquet(${p})`;
  }
}

/** Column name -> DuckDB type. JSONL keys come from the first 1,000 lines. */
async function discoverColumns(connection: DuckDBConnection, format: InputFormat, reader: string, label: string): Promise<Map<string, string>> {
  try {
    if (format === 'jsonl') {
      const rows = await queryRows(connection, `SELECT DISTINCT unnest(json_keys(json)) AS k FROM (SELECT json FROM ${reader} LIMIT 1000)`);
      return new Map(rows.map((r) => [str(r, 'k'), 'VARCHAR']));
    }
    const rows = await queryRows(connection, `DESCRIBE SELECT * FROM ${reader}`);
    return new Map(rows.map((r) => [str(r, 'column_name'), str(r, 'column_type')]));
  } catch (error) {
    throw new AnalysisError('UNREADABLE_INPUT', `cannot read ${label} as ${format}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/**
 * A TIMESTAMP (UTC) from a column: typed timestamps as they are (with a zone: converted to UTC),
 * integers as epoch milliseconds, strings as ISO 8601 (an offset is applied; none means UTC) or
 * as an integer of epoch milliseconds. NULL when unparseable.
 */
function timestampSql(ref: string, type: string): string {
  if (/^TIMESTAMP WITH TIME ZONE|^TIMESTAMPTZ/.test(type)) return `timezone('UTC', ${ref})`;
  if (/^TIMESTAMP|^DATE/.test(type)) return `CAST(${ref} AS TIMESTAMP)`;
  if (/^(BIGINT|INTEGER|SMALLINT|TINYINT|UBIGINT|UINTEGER|HUGEINT)/.test(type)) return `epoch_ms(CAST(${ref} AS BIGINT))`;
  const s = `CAST(${ref} AS VARCHAR)`;
  return `COALESCE(timezone('UTC', TRY_CAST(${s} AS TIMESTAMPTZ)), CASE WHEN regexp_full_match(${s}, '-?[0-9]{1,15}') THEN epoch_ms(CAST(${s} AS BIGINT)) END)`;
}
