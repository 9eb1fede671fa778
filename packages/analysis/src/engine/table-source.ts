// The script's source relations over tables that are already typed (a warehouse's exposures and
// events tables, or views over them): a temp view per input that renames nothing but casts each
// column to what the script expects (text ids, a UTC TIMESTAMP, a DOUBLE value, a BIGINT config
// version) and keeps the raw text of the parsed ones for the validation examples.
import { type Dialect } from './dialect.js';
import { AnalysisError } from './errors.js';
import { INPUT_COLUMNS } from './load-columns.js';
import { eventRules, exposureRules, type Rule } from './rules.js';
import { SOURCES } from './script.js';
import { quoteIdentifier } from './sql.js';
import { type InputKind } from './types.js';

/** How a column's type is read: the categories the casts below handle. */
export type ColumnCategory = 'text' | 'integer' | 'float' | 'timestamptz' | 'timestamp' | 'date' | 'other';

/** Column name → its SQL type as the database names it (e.g. "timestamp with time zone", "bigint"). */
export type ColumnTypes = ReadonlyMap<string, string>;

export function categorize(type: string): ColumnCategory {
  const t = type.toLowerCase().trim();
  if (/^(timestamp with time zone|timestamptz|timestamp_tz)/.test(t)) return 'timestamptz';
  if (/^(timestamp|datetime)/.test(t)) return 'timestamp';
  if (t === 'date') return 'date';
  if (/^(bigint|integer|int|int2|int4|int8|smallint|tinyint|hugeint|ubigint|uinteger|usmallint|utinyint)\b/.test(t)) return 'integer';
  if (/^(double precision|double|float|float4|float8|real|numeric|decimal)\b/.test(t)) return 'float';
  if (/^(text|varchar|character varying|character|char|bpchar|string|uuid|name|citext)\b/.test(t)) return 'text';
  return 'other';
}

function timestampSql(dialect: Dialect, column: string, category: ColumnCategory, where: string): string {
  switch (category) {
    case 'timestamptz':
      return dialect.name === 'postgres' ? `(${column} AT TIME ZONE 'UTC')` : `timezone('UTC', ${column})`;
    case 'timestamp':
      return column;
    case 'date':
      return `CAST(${column} AS TIMESTAMP)`;
    case 'integer':
      return dialect.name === 'postgres' ? `(TIMESTAMP '1970-01-01 00:00:00' + CAST(${column} AS BIGINT) * INTERVAL '1 millisecond')` : `epoch_ms(CAST(${column} AS BIGINT))`;
    default:
      throw new AnalysisError(
        'UNSUPPORTED_FORMAT',
        `${where}: column "timestamp" must be a timestamp, timestamp with time zone, date or integer epoch milliseconds. Fix: cast it in a view (e.g. CAST(timestamp AS TIMESTAMPTZ) AS timestamp) and analyse the view`,
      );
  }
}

export interface TableSource {
  /** CREATE TEMP VIEW statement of the source relation (it has the raw columns too, so it is also the examples relation). */
  readonly sql: string;
  readonly rules: readonly Rule[];
  readonly optionalColumns: readonly string[];
}

/** The source view of one input over `relation` (already quoted), whose columns have `types`. */
export function tableSource(dialect: Dialect, kind: InputKind, relation: string, types: ColumnTypes, label: string): TableSource {
  const specs = INPUT_COLUMNS[kind];
  for (const spec of specs) {
    if (spec.required && !types.has(spec.name)) {
      throw new AnalysisError(
        'MISSING_COLUMN',
        `${kind} table ${label} has no column "${spec.name}" (found: ${[...types.keys()].join(', ') || 'none'}). ` +
          `Fix: add a "${spec.name}" column (required ${kind} columns: ${specs.filter((s) => s.required).map((s) => s.name).join(', ')}), or analyse a view that renames the column holding it.`,
      );
    }
  }
  const optionalColumns = specs.filter((s) => !s.required && types.has(s.name)).map((s) => s.name);
  const col = quoteIdentifier;
  const text = (name: string): string => (types.has(name) ? `CAST(${col(name)} AS VARCHAR)` : 'CAST(NULL AS VARCHAR)');
  const category = (name: string): ColumnCategory => categorize(types.get(name) ?? 'text');
  const select = [`${text('unit_id')} AS unit_id`];
  if (kind === 'exposures') select.push(`${text('experiment')} AS experiment`, `${text('variant')} AS variant`);
  else select.push(`${text('metric')} AS metric`);
  select.push(`${timestampSql(dialect, col('timestamp'), category('timestamp'), `${kind} table ${label}`)} AS ts`, `${text('timestamp')} AS timestamp_raw`);
  if (kind === 'exposures') {
    select.push(`NULLIF(${text('phase')}, '') AS phase`, `NULLIF(${text('source')}, '') AS source`);
    if (types.has('config_version')) {
      if (category('config_version') !== 'integer') {
        throw new AnalysisError('UNSUPPORTED_FORMAT', `exposures table ${label}: column "config_version" must be an integer type. Fix: cast it in a view, or leave the column out`);
      }
      select.push(`CAST(${col('config_version')} AS BIGINT) AS config_version`, `${text('config_version')} AS config_version_raw`);
    } else {
      select.push('CAST(NULL AS BIGINT) AS config_version', 'CAST(NULL AS VARCHAR) AS config_version_raw');
    }
  } else {
    const c = category('value');
    if (c !== 'float' && c !== 'integer') {
      throw new AnalysisError('UNSUPPORTED_FORMAT', `events table ${label}: column "value" must be numeric (double precision, numeric, integer). Fix: cast it in a view`);
    }
    select.push(`CAST(${col('value')} AS ${dialect.double}) AS value`, `${text('value')} AS value_raw`);
  }
  const name = kind === 'exposures' ? SOURCES.exposures : SOURCES.events;
  return {
    sql: `CREATE TEMP VIEW ${name} AS SELECT ${select.join(', ')} FROM ${relation}`,
    // A typed config_version never breaks the integer rule, so it is not checked.
    rules: kind === 'exposures' ? exposureRules(false) : eventRules(dialect),
    optionalColumns,
  };
}
