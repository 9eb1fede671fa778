/**
 * First assignments on PostgreSQL (PostgresStore.insertAssignments and enroll): one batched
 * statement inserts the assignments, guarded by the config head, and the exposures of the rows it
 * inserted; losers of a race are resolved to the stored winner by a second read.
 */
import { oldestVersion, StaleConfigError } from './errors.js';
import type { Query } from './postgres-metrics.js';
import { assignmentFromRow, assignmentKey, compareAssignmentKeys, type AssignmentRow } from './postgres-rows.js';
import type { Statements } from './postgres-sql.js';
import { copyAssignment, enrollmentExposure } from './records.js';
import type { EnrollOutcome, Enrollment, ExposureInput, StoredAssignment } from './types.js';

/** What the writer needs of the store. */
export interface AssignmentWriting {
  readonly query: Query;
  readonly sql: Statements;
  readonly recordExposures: (events: readonly ExposureInput[]) => Promise<void>;
}

/**
 * One statement inserts the assignments and, with `exposures`, the exposure of each one it
 * inserted (one round trip, one commit: the usual case of a first assignment). Exposures of
 * enrollments that lost to a stored row, or repeat a key earlier in the batch, need the winner,
 * known only afterwards, and are written by a second statement (races only).
 */
export async function writeAssignments(w: AssignmentWriting, enrollments: readonly Enrollment[], exposures: boolean): Promise<EnrollOutcome[]> {
  if (enrollments.length === 0) return [];
  // First occurrence of each key, in a global key order (see the header on deadlocks).
  const firsts = new Map<string, Enrollment>();
  for (const e of enrollments) {
    const key = assignmentKey(e.assignment);
    if (!firsts.has(key)) firsts.set(key, e);
  }
  const unique = [...firsts.values()].sort((a, b) => compareAssignmentKeys(a.assignment, b.assignment));
  const rows = unique.map((e) => e.assignment);
  const oldest = oldestVersion(rows);
  const params: unknown[] = [
    rows.map((r) => r.unitType),
    rows.map((r) => r.unit),
    rows.map((r) => r.experiment),
    rows.map((r) => r.lineage),
    rows.map((r) => r.phase),
    rows.map((r) => r.variant),
    rows.map((r) => r.slot),
    rows.map((r) => r.layerEpoch),
    rows.map((r) => r.configVersion),
    rows.map((r) => r.assignedAt),
    oldest,
  ];
  const withExposures = exposures && unique.some((e) => e.exposure !== null);
  if (withExposures) params.push(unique.map((e) => e.exposure?.at ?? null), unique.map((e) => e.exposure?.source ?? null));
  const inserted = await w.query<Pick<AssignmentRow, 'unit_type' | 'unit' | 'experiment' | 'lineage'>>(
    withExposures ? 'enroll' : 'insertAssignments',
    withExposures ? w.sql.enroll : w.sql.insertAssignments,
    params,
  );
  const winners = new Map<string, StoredAssignment>();
  /** Keys this statement inserted. */
  const stored = new Set<string>();
  for (const row of inserted) {
    const key = assignmentKey({ unitType: row.unit_type, unit: row.unit, experiment: row.experiment, lineage: row.lineage });
    const input = firsts.get(key);
    if (input === undefined) throw new Error(`postgres store: insertAssignments: the database returned a key that was not sent: ${key}`);
    winners.set(key, copyAssignment(input.assignment));
    stored.add(key);
  }

  // The rest lost to a row that was committed before our insert finished (ON CONFLICT waits for
  // a concurrent inserter's transaction). This is a new statement, so under READ COMMITTED it
  // takes a new snapshot that includes that row; rows are never updated or deleted, so what it
  // reads is the permanent winner.
  const losers = rows.filter((r) => !winners.has(assignmentKey(r)));
  if (losers.length > 0) {
    const found = await w.query<AssignmentRow>('insertAssignments (reading winners)', w.sql.assignmentsByFullKey, [
      losers.map((r) => r.unitType),
      losers.map((r) => r.unit),
      losers.map((r) => r.experiment),
      losers.map((r) => r.lineage),
    ]);
    for (const row of found) {
      const stored = assignmentFromRow(row);
      winners.set(assignmentKey(stored), stored);
    }
  }
  if (winners.size < unique.length) {
    // Not inserted and not stored: the guard refused the batch (a newer config version is the head).
    const [head] = await w.query<{ version: number }>('insertAssignments (reading the config head)', w.sql.configHead, []);
    if (head !== undefined && head.version > oldest) throw new StaleConfigError(oldest, head.version);
  }
  const result = enrollments.map((e): EnrollOutcome => {
    const key = assignmentKey(e.assignment);
    const winner = winners.get(key);
    if (winner === undefined) throw new Error(`postgres store: insertAssignments: no stored assignment after a conflicting insert for ${key}`);
    // Stored by this call: the first occurrence of an inserted key (its exposure was written with it).
    return { assignment: winner, stored: stored.has(key) && firsts.get(key) === e };
  });
  if (exposures) {
    const rest = enrollments.flatMap((e, i) => (result[i]!.stored ? [] : (enrollmentExposure(e, result[i]!.assignment) ?? [])));
    if (rest.length > 0) await w.recordExposures(rest);
  }
  return result;
}
