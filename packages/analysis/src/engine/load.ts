// Reading exposures and metric events into DuckDB: each input becomes a view over the file (CSV,
// JSONL or Parquet; nothing is copied into JavaScript) with typed columns and the raw text of the
// parsed ones, and the script's source relation over it. The validation rules (rules.ts) are
// evaluated inside the script's passes, never in a scan of their own; bad rows are never dropped
// silently: the report counts them per rule with up to five examples (examples.ts), and
// `analyze` refuses to run while any exist unless the caller passes `allowBadRows: true`.
import { writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { type DuckDBConnection } from '@duckdb/node-api';
import { duckdbDialect } from './dialect.js';
import { AnalysisError } from './errors.js';
import { eventRules, exposureRules } from './rules.js';
import { type PreparedSource } from './core.js';
import { SOURCES } from './script.js';
import { execute, queryRows, quoteIdentifier, quoteLiteral, str } from './sql.js';
import { INPUT_COLUMNS } from './load-columns.js';
import { type InputFormat, type InputKind, type InputSource } from './types.js';

export { INPUT_COLUMNS } from './load-columns.js';

export type { InputFormat, InputKind, InputSource, LoadReport, RuleExample, RuleViolation } from './types.js';

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
 * Creates `sortition_<kind>_checked` (a view over the input: typed columns plus the raw text of
 * the ones that are parsed) and the script's source relation `sortition_<kind>_src` over it on
 * `connection` (the script reads each input once). In-memory rows are written as JSONL into
 * `scratchDir` (owned by the caller).
 */
export async function prepareInput(connection: DuckDBConnection, kind: InputKind, source: InputSource, scratchDir: string): Promise<PreparedSource> {
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

  const select = [`${text('unit_id')} AS unit_id`];
  if (kind === 'exposures') select.push(`${text('experiment')} AS experiment`, `${text('variant')} AS variant`);
  else select.push(`${text('metric')} AS metric`);
  select.push(`${timestampSql(ref('timestamp'), typeOf('timestamp'))} AS ts`, `${text('timestamp')} AS timestamp_raw`);
  if (kind === 'exposures') {
    select.push(`NULLIF(${text('phase')}, '') AS phase`, `NULLIF(${text('source')}, '') AS source`);
    if (columns.has('config_version')) {
      select.push(`${configVersionSql(ref('config_version'), typeOf('config_version'))} AS config_version`, `NULLIF(trim(${text('config_version')}), '') AS config_version_raw`);
    } else {
      select.push('CAST(NULL AS BIGINT) AS config_version', 'CAST(NULL AS VARCHAR) AS config_version_raw');
    }
  } else {
    const valueType = typeOf('value');
    const value = /^(DOUBLE|FLOAT|REAL|BIGINT|INTEGER|SMALLINT|TINYINT|UBIGINT|UINTEGER|USMALLINT|UTINYINT|HUGEINT|DECIMAL)/.test(valueType)
      ? `CAST(${ref('value')} AS DOUBLE)`
      : `TRY_CAST(${ref('value')} AS DOUBLE)`;
    select.push(`${value} AS value`, `${text('value')} AS value_raw`);
  }

  const checked = `sortition_${kind}_checked`;
  const src = kind === 'exposures' ? SOURCES.exposures : SOURCES.events;
  // A column of a type that always fits a BIGINT cannot break the config_version rule: not checked.
  const checkConfigVersion = columns.has('config_version') && !FITS_BIGINT.test(typeOf('config_version'));
  const rules = kind === 'exposures' ? exposureRules(checkConfigVersion) : eventRules(duckdbDialect);
  await execute(connection, `CREATE OR REPLACE VIEW ${checked} AS SELECT ${select.join(', ')} FROM ${reader}`);
  await execute(connection, `CREATE OR REPLACE VIEW ${src} AS SELECT * FROM ${checked}`);
  return { base: { kind, source: label, format, optionalColumns }, rules, checked };
}

/** Integer types whose every value is a BIGINT. */
const FITS_BIGINT = /^(BIGINT|INTEGER|SMALLINT|TINYINT|UINTEGER|USMALLINT|UTINYINT)$/;

/**
 * config_version as a BIGINT, NULL when the value is not an integer (the rule then counts the
 * row). DuckDB's casts round ('1.5' and 1.5 both become 2) and read '1e3' as 1000, so text must
 * be digits with an optional sign, and a floating-point or decimal value must have no fraction.
 */
function configVersionSql(ref: string, type: string): string {
  if (FITS_BIGINT.test(type)) return `CAST(${ref} AS BIGINT)`;
  if (/^(UBIGINT|HUGEINT|UHUGEINT)$/.test(type)) return `TRY_CAST(${ref} AS BIGINT)`;
  if (/^(DOUBLE|FLOAT|REAL|DECIMAL)/.test(type)) return `CASE WHEN ${ref} = trunc(${ref}) THEN TRY_CAST(${ref} AS BIGINT) END`;
  const t = `trim(CAST(${ref} AS VARCHAR))`;
  return `CASE WHEN regexp_full_match(${t}, '[+-]?[0-9]+') THEN TRY_CAST(${t} AS BIGINT) END`;
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
