// The exposures half of the script (see script.ts): the input scanned into a table with each
// row's validation mask (in DuckDB after a scan of the variant and phase columns that numbers
// them), then from that table the attribution to the first exposure, the day counts, and the
// crossover units' exposures for drift and the naive view.
import { CODES, type Dialect } from './dialect.js';
import { quoteLiteral } from './sql.js';
import { NO_PHASE, SOURCES, TABLES, type ScriptSpec, type Step } from './script-types.js';

/** The validation mask: bit i set when rule i breaks. */
export function maskSql(spec: ScriptSpec): string {
  return spec.exposureRules.length === 0 ? '0' : spec.exposureRules.map((r, i) => `CASE WHEN ${r.sql} THEN ${2 ** i} ELSE 0 END`).join(' + ');
}

/**
 * Drops a table no later step reads. The per-row exposures and the per-unit attribution take about
 * 1.3 GB at 10M exposures; dropped before the events pass, that memory goes to its aggregation
 * (under a 3 GB limit, peak RSS fell from 3.5–4.0 to 2.6–3.5 GB; see README.md, Performance).
 */
function dropStep(table: string, why: string): Step {
  return { name: `drop_${table}`, drops: table, returnsRows: false, comment: why, sql: `DROP TABLE ${table}` };
}

/**
 * DuckDB: the ENUM types numbering the variants and phases of the experiment's valid exposures in
 * byte order (see dialect.ts, firstExposure), from one scan of the two columns.
 */
function codeSteps(masked: string): Step[] {
  const type = (name: string, column: string): Step => ({
    name,
    returnsRows: false,
    comment: `the experiment's ${column}s in byte order, numbered (an ENUM type)`,
    sql: `CREATE TYPE ${name} AS ENUM (SELECT DISTINCT ${column} FROM ${TABLES.codes} ORDER BY 1)`,
  });
  return [
    {
      name: TABLES.codes,
      returnsRows: false,
      comment: "the (variant, phase) pairs of the experiment's valid exposures",
      sql: `CREATE TEMP TABLE ${TABLES.codes} AS
SELECT DISTINCT variant, COALESCE(phase, '${NO_PHASE}') AS phase FROM (${masked}) s WHERE mine AND bad = 0`,
    },
    type(CODES.variantType, 'variant'),
    type(CODES.phaseType, 'phase'),
  ];
}

/** The exposures table: the columns of the experiment's rows (NULL for other experiments' rows), `mine` and the mask. */
function exposureTableSql(dialect: Dialect, masked: string): string {
  if (!dialect.numbered) {
    return `CREATE TEMP TABLE ${TABLES.exp} AS
SELECT CASE WHEN mine THEN unit_id END AS unit_id, CASE WHEN mine THEN variant END AS variant, CASE WHEN mine THEN ts END AS ts,
       CASE WHEN mine THEN COALESCE(phase, '${NO_PHASE}') END AS phase, CASE WHEN mine THEN config_version END AS config_version, mine, bad
FROM (${masked}) s`;
  }
  // variant and phase as the ENUMs (valid rows only), and pk: see dialect.ts, firstExposure.
  const limit = `9223372036854775807 // ${CODES.R} - 1`;
  return `CREATE TEMP TABLE ${TABLES.exp} AS
SELECT CASE WHEN mine THEN unit_id END AS unit_id, v AS variant, CASE WHEN mine THEN ts END AS ts, p AS phase,
       CASE WHEN mine THEN config_version END AS config_version, mine, bad,
       CASE WHEN v IS NOT NULL AND epoch_us(ts) BETWEEN 0 AND ${limit} THEN epoch_us(ts) * ${CODES.R} + enum_code(v) * ${CODES.P} + enum_code(p) END AS pk
FROM (SELECT s0.*, CASE WHEN mine AND bad = 0 THEN CAST(variant AS ${CODES.variantType}) END AS v,
             CASE WHEN mine AND bad = 0 THEN CAST(COALESCE(phase, '${NO_PHASE}') AS ${CODES.phaseType}) END AS p
      FROM (${masked}) s0) s`;
}

export function exposuresSteps(dialect: Dialect, spec: ScriptSpec): Step[] {
  const S = SOURCES.exposures;
  const experiment = quoteLiteral(spec.experiment);
  const masked = `SELECT unit_id, variant, ts, phase, config_version, COALESCE(experiment = ${experiment}, FALSE) AS mine, ${maskSql(spec)} AS bad FROM ${S}`;
  const first = dialect.firstExposure('uk IS NOT NULL');
  const bucket = spec.interval === null ? null : `date_trunc('${spec.interval}', first_ts)`;
  return [
    ...(dialect.numbered ? codeSteps(masked) : []),
    {
      name: TABLES.exp,
      returnsRows: false,
      comment: 'the exposures in one table: every row with its validation mask (bit i = rule i broken); rows of other experiments keep only the mask',
      sql: exposureTableSql(dialect, masked),
    },
    {
      name: TABLES.u0,
      returnsRows: false,
      comment: 'one row per unit of the experiment (its first exposure, its arm, its phase, whether it saw another variant) and one per validation mask for the rest',
      sql: `CREATE TEMP TABLE ${TABLES.u0} AS
SELECT unit_id, bad, n_rows, crossover, ${first.project}
FROM (SELECT uk AS unit_id, bad, count(*) AS n_rows, min(variant) <> max(variant) AS crossover, ${first.aggregates}
      FROM (SELECT CASE WHEN bad = 0 AND mine THEN unit_id END AS uk, bad, ts, variant, phase${dialect.numbered ? ', pk' : ''} FROM ${TABLES.exp}) s1
      GROUP BY uk, bad) s2`,
    },
    {
      name: 'exposure_counts',
      returnsRows: true,
      comment: 'exposure rows per validation mask (bit i = rule i broken)',
      sql: `SELECT bad, sum(n_rows) AS n FROM ${TABLES.u0} GROUP BY bad ORDER BY bad`,
    },
    {
      name: TABLES.cells,
      returnsRows: false,
      comment: 'a small integer per (phase of first exposure, arm, crossover) cell',
      sql: `CREATE TEMP TABLE ${TABLES.cells} AS
SELECT stratum, arm, crossover, CAST(row_number() OVER (ORDER BY stratum, arm, crossover) AS INTEGER) AS cell
FROM (SELECT DISTINCT stratum, arm, crossover FROM ${TABLES.u0} WHERE unit_id IS NOT NULL) c`,
    },
    {
      name: TABLES.units,
      returnsRows: false,
      comment: 'the units the events are joined to: id, a small integer for it (uid: the later passes group and join on it), first exposure time, cell, crossover flag',
      sql: `CREATE TEMP TABLE ${TABLES.units} AS
SELECT u.unit_id, ${dialect.unitNumber('u')} AS uid, u.first_ts, c.cell, u.crossover AS xo
FROM ${TABLES.u0} u JOIN ${TABLES.cells} c ON c.stratum = u.stratum AND c.arm = u.arm AND c.crossover = u.crossover
WHERE u.unit_id IS NOT NULL`,
    },
    {
      name: 'units',
      returnsRows: true,
      comment: 'units per phase, arm, crossover flag and UTC day of first exposure' + (bucket === null ? '' : ` (and ${spec.interval} of first exposure, for the series)`),
      sql: `SELECT c.stratum, c.arm, c.crossover, ${dialect.dayText('g.day')} AS day${bucket === null ? '' : `, ${dialect.epochMs('g.bucket')} AS bucket`}, g.n
FROM (SELECT cell, CAST(first_ts AS DATE) AS day${bucket === null ? '' : `, ${bucket} AS bucket`}, count(*) AS n FROM ${TABLES.units} GROUP BY ${bucket === null ? '1, 2' : '1, 2, 3'}) g
JOIN ${TABLES.cells} c ON c.cell = g.cell`,
    },
    {
      name: TABLES.xexp,
      returnsRows: false,
      comment: 'the valid exposures of crossover units (by uid), with their arm',
      sql: `CREATE TEMP TABLE ${TABLES.xexp} AS
SELECT u.uid, s.ts, CAST(s.variant AS VARCHAR) AS variant, s.config_version, u.arm
FROM (SELECT unit_id, ts, variant, config_version FROM ${TABLES.exp} WHERE mine AND bad = 0) s
JOIN (SELECT x.unit_id, x.uid, c.arm FROM ${TABLES.units} x JOIN ${TABLES.cells} c ON c.cell = x.cell WHERE x.xo) u ON u.unit_id = s.unit_id`,
    },
    {
      name: 'days',
      returnsRows: true,
      comment: 'distinct units exposed per UTC day',
      sql: `SELECT ${dialect.dayText('d')} AS day, exposed
FROM (SELECT CAST(ts AS DATE) AS d, count(DISTINCT unit_id) AS exposed FROM ${TABLES.exp} WHERE mine AND bad = 0 GROUP BY 1) q`,
    },
    {
      name: 'crossover_days',
      returnsRows: true,
      comment: 'distinct units exposed per UTC day in a variant other than their arm',
      sql: `SELECT ${dialect.dayText('d')} AS day, other
FROM (SELECT CAST(ts AS DATE) AS d, count(DISTINCT uid) AS other FROM ${TABLES.xexp} WHERE variant <> arm GROUP BY 1) q`,
    },
    {
      name: 'crossover_pairs',
      returnsRows: true,
      comment: 'crossover units per arm and variant seen (the flip matrix where they differ)',
      sql: `SELECT arm, variant, count(DISTINCT uid) AS n FROM ${TABLES.xexp} GROUP BY arm, variant`,
    },
    {
      name: 'first_flips',
      returnsRows: true,
      comment: "units per UTC day of their first exposure outside their arm, and the config version of that exposure",
      sql: `SELECT ${dialect.dayText('CAST(flip_ts AS DATE)')} AS day, config_version, count(*) AS n
FROM (SELECT uid, min(ts) AS flip_ts, ${dialect.valueAtFirst('config_version', 'ts')} AS config_version FROM ${TABLES.xexp} WHERE variant <> arm GROUP BY uid) f
GROUP BY 1, 2`,
    },
    dropStep(TABLES.exp, 'the exposure rows: everything after this reads the units and the crossover exposures'),
    dropStep(TABLES.u0, 'the per-unit attribution: the units table has what the events pass needs'),
  ];
}
