// The few places where DuckDB's and PostgreSQL's SQL differ. Everything else the engine writes
// (FILTER clauses, window functions, percentile_cont ... WITHIN GROUP, bit_or, CAST) is the same
// text in both; see script.ts.

export type DialectName = 'duckdb' | 'postgres';

/** Buckets of the cumulative series (date_trunc units; weeks start on Monday in both engines). */
export type SeriesInterval = 'hour' | 'day' | 'week';

export interface Dialect {
  readonly name: DialectName;
  /** The floating-point type name. */
  readonly double: string;
  /** True when a DOUBLE expression is neither NaN nor ±Infinity (NULL stays NULL). */
  isFinite(expr: string): string;
  /** A text expression in byte order, for ORDER BY tie-breaks (PostgreSQL compares under the database collation otherwise). */
  bytes(expr: string): string;
  /**
   * Whether the experiment's variants and phases are numbered in byte order (ENUM types built from
   * the valid exposures: script-exposures.ts). The exposure rows then carry `pk`, the first-exposure
   * order packed in one BIGINT, and `variant` / `phase` as those ENUMs.
   */
  readonly numbered: boolean;
  /**
   * The first row of a group by (ts, variant, phase) in byte order: aggregate expressions named
   * `first_agg*` for the inner GROUP BY, and the projection of `first_ts`, `arm`, `stratum` from them.
   * `keep` restricts the aggregate to the rows that matter (the others fall in one NULL group).
   */
  firstExposure(keep: string): { readonly aggregates: string; readonly project: string };
  /**
   * A distinct INTEGER per row of the table aliased `alias` (the units' uid): DuckDB's rowid, which
   * measured a third of the time of a row_number() window at 5M units; PostgreSQL numbers the rows.
   */
  unitNumber(alias: string): string;
  /** 'YYYY-MM-DD' of a DATE expression. */
  dayText(dateExpr: string): string;
  /** Epoch milliseconds (a BIGINT) of a TIMESTAMP expression. */
  epochMs(tsExpr: string): string;
  /** The value of `valueExpr` at the earliest `tsExpr` in the group (ties: the smallest value, NULLs last). */
  valueAtFirst(valueExpr: string, tsExpr: string): string;
  /**
   * Whether the engine has ASOF JOIN (the latest right row at or before each left row): DuckDB's
   * took about half the time of a join of every earlier exposure and a row_number() window, which
   * PostgreSQL runs instead.
   */
  readonly asofJoin: boolean;
}

/** The ENUM types numbering the experiment's variants and phases (DuckDB), and the packing constants from them. */
export const CODES = {
  variantType: 'sortition_variant',
  phaseType: 'sortition_phase',
  /** Number of phases. */
  P: 'len(enum_range(NULL::sortition_phase))',
  /** Number of (variant, phase) codes. */
  R: '(len(enum_range(NULL::sortition_variant)) * len(enum_range(NULL::sortition_phase)))',
} as const;

export const duckdbDialect: Dialect = {
  name: 'duckdb',
  double: 'DOUBLE',
  isFinite: (expr) => `isfinite(${expr})`,
  bytes: (expr) => expr,
  numbered: true,
  // The exposure rows carry pk = epoch_us(ts) * R + (variant code * P + phase code), with P phases and
  // R = variants * P (the ENUMs number them in byte order), so the (ts, variant, phase) order is the
  // order of one BIGINT and its min is a primitive aggregate: at 10M exposures the step took
  // 1.5-1.8 s instead of 2.7-3.1 s with a min over a struct of (ts, variant, phase) as text. pk is
  // NULL where it could overflow (ts before 1970, or more than 292,000 / R years after it: year 2262
  // at R = 1,000; ±infinity); those rows keep the struct min, whose timestamps lie outside every
  // packed one, so the earlier of the two is the first exposure. (A HUGEINT key without that split
  // measured several times slower.)
  firstExposure: () => {
    const packedTs = `make_timestamp(first_agg_pk // ${CODES.R})`;
    const packed = `first_agg_rest IS NULL OR first_agg_rest.ts > ${packedTs}`;
    return {
      aggregates: "min(pk) AS first_agg_pk, min(CASE WHEN pk IS NULL THEN {'ts': ts, 'variant': variant, 'phase': phase} END) AS first_agg_rest",
      project: [
        `CASE WHEN ${packed} THEN ${packedTs} ELSE first_agg_rest.ts END AS first_ts`,
        `CASE WHEN ${packed} THEN enum_range(NULL::${CODES.variantType})[CAST((first_agg_pk % ${CODES.R}) // ${CODES.P} AS INTEGER) + 1] ELSE CAST(first_agg_rest.variant AS VARCHAR) END AS arm`,
        `CASE WHEN ${packed} THEN enum_range(NULL::${CODES.phaseType})[CAST(first_agg_pk % ${CODES.P} AS INTEGER) + 1] ELSE CAST(first_agg_rest.phase AS VARCHAR) END AS stratum`,
      ].join(', '),
    };
  },
  unitNumber: (alias) => `CAST(${alias}.rowid AS INTEGER)`,
  dayText: (dateExpr) => `strftime(${dateExpr}, '%Y-%m-%d')`,
  epochMs: (tsExpr) => `epoch_ms(${tsExpr})`,
  valueAtFirst: (valueExpr, tsExpr) => `arg_min(${valueExpr}, {'t': ${tsExpr}, 'v': COALESCE(${valueExpr}, 9223372036854775807)})`,
  asofJoin: true,
};

export const postgresDialect: Dialect = {
  name: 'postgres',
  numbered: false,
  double: 'DOUBLE PRECISION',
  // PostgreSQL orders NaN above every number and treats NaN = NaN, so NOT IN catches all three.
  isFinite: (expr) => `(${expr} NOT IN (CAST('NaN' AS DOUBLE PRECISION), CAST('Infinity' AS DOUBLE PRECISION), CAST('-Infinity' AS DOUBLE PRECISION)))`,
  bytes: (expr) => `(${expr} COLLATE "C")`,
  firstExposure: (keep) => {
    const order = `ORDER BY ts, variant COLLATE "C", phase COLLATE "C"`;
    return {
      aggregates: `min(ts) FILTER (WHERE ${keep}) AS first_agg_ts, (array_agg(variant ${order}) FILTER (WHERE ${keep}))[1] AS first_agg_variant, (array_agg(phase ${order}) FILTER (WHERE ${keep}))[1] AS first_agg_phase`,
      project: 'first_agg_ts AS first_ts, first_agg_variant AS arm, first_agg_phase AS stratum',
    };
  },
  unitNumber: () => 'CAST(row_number() OVER () AS INTEGER)',
  dayText: (dateExpr) => `to_char(${dateExpr}, 'YYYY-MM-DD')`,
  epochMs: (tsExpr) => `CAST(round(extract(epoch FROM ${tsExpr}) * 1000) AS BIGINT)`,
  valueAtFirst: (valueExpr, tsExpr) => `(array_agg(${valueExpr} ORDER BY ${tsExpr}, ${valueExpr} NULLS LAST))[1]`,
  asofJoin: false,
};

export function dialectFor(name: DialectName): Dialect {
  return name === 'postgres' ? postgresDialect : duckdbDialect;
}
