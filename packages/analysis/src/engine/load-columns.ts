// The columns read from each input, whatever it is read from (files in DuckDB, tables in a warehouse).
import { type InputKind } from './types.js';

export interface ColumnSpec {
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
