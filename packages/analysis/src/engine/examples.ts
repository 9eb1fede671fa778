// Example rows of a broken rule, for the validation report: only queried when a report has bad rows.
import { EXAMPLE_COLUMNS, type Rule } from './rules.js';
import { type SqlRunner } from './runner.js';
import { num } from './sql.js';
import { type InputKind, type RuleExample } from './types.js';

const EXAMPLES_PER_RULE = 5;

/**
 * Up to five rows breaking `rule`, with their row number (1-based position in the input's scan
 * order: the file's order for DuckDB inputs) and the raw values of the shown columns.
 */
export async function fetchExamples(runner: SqlRunner, kind: InputKind, checked: string, rule: Rule): Promise<RuleExample[]> {
  const rows = await runner.query(`SELECT * FROM (SELECT row_number() OVER () AS sortition_row, * FROM ${checked}) q WHERE ${rule.sql} ORDER BY sortition_row LIMIT ${EXAMPLES_PER_RULE}`);
  return rows.map((row) => ({
    row: num(row, 'sortition_row'),
    values: Object.fromEntries(
      EXAMPLE_COLUMNS[kind].map((c) => {
        const [from = c, as] = c.split(' AS ');
        return [as ?? from, row[from] ?? null];
      }),
    ),
  }));
}
