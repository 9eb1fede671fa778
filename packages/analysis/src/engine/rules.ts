// The validation rules, as SQL predicates over an input's typed relation (the same columns in
// DuckDB and PostgreSQL; see load.ts and postgres-source.ts). A predicate is true when the row
// breaks the rule. The engine never runs a separate validation scan: the exposures rules become
// one bit each of a mask computed in the attribution pass, and the events rules are folded into
// the events pass (script.ts); the predicates here also select the example rows of a report.
import { type Dialect } from './dialect.js';

export interface Rule {
  readonly name: string;
  readonly description: string;
  readonly sql: string;
}

/**
 * True when a text expression is NULL, empty or only spaces (what trim removes, in both engines).
 * Only a value that starts with a space is trimmed: the prefix test is the cheaper one, and at 10M
 * exposures the trims of every id took about 40% of the pass that computes the validation mask.
 */
export function blank(expr: string): string {
  return `(${expr} IS NULL OR ${expr} = '' OR (${expr} LIKE ' %' AND trim(${expr}) = ''))`;
}

const nonEmpty = (column: string): Rule => ({ name: `${column}_empty`, description: `${column} is missing or empty`, sql: blank(column) });

const TIMESTAMP_RULE: Rule = { name: 'timestamp_invalid', description: 'timestamp is missing or not an ISO 8601 date-time or integer epoch milliseconds', sql: '(ts IS NULL)' };

/** Exposures: ids present, a valid timestamp, and (when the input carries it as text) an integer config_version. */
export function exposureRules(configVersionText: boolean): Rule[] {
  const rules = [nonEmpty('unit_id'), nonEmpty('experiment'), nonEmpty('variant'), TIMESTAMP_RULE];
  if (configVersionText) {
    rules.push({ name: 'config_version_invalid', description: 'config_version is present but not an integer', sql: '(config_version_raw IS NOT NULL AND config_version IS NULL)' });
  }
  return rules;
}

/** Events: in this order, which the events pass relies on (script.ts, eventsPass). */
export function eventRules(dialect: Dialect): Rule[] {
  return [
    nonEmpty('unit_id'),
    nonEmpty('metric'),
    TIMESTAMP_RULE,
    { name: 'value_invalid', description: 'value is missing, not a number, or not finite', sql: `(value IS NULL OR NOT ${dialect.isFinite('value')})` },
  ];
}

/** The columns shown for an example row, as `source AS shown` over the relation's columns. */
export const EXAMPLE_COLUMNS = {
  exposures: ['unit_id', 'experiment', 'variant', 'timestamp_raw AS timestamp', 'phase', 'config_version_raw AS config_version'],
  events: ['unit_id', 'metric', 'timestamp_raw AS timestamp', 'value_raw AS value'],
} as const;
