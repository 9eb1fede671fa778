/**
 * The SQLite store's hot writes as programs for its writer (sqlite-writer.ts): what each batch runs
 * in its one transaction, and how the results read back.
 */
import { oldestVersion } from './errors.js';
import { copyAssignment } from './records.js';
import { assignmentValues, describeKey, failure } from './sqlite-sql.js';
import type { WriteStep } from './sqlite-writer.js';
import type { EnrollOutcome, Enrollment, ExposureInput, StoredAssignment } from './types.js';

/**
 * One transaction (one commit, one fsync) for a batch of first assignments: the stale-config
 * guard, then per enrollment the insert-or-keep, the exposure of the stored winner (if asked for),
 * and the winner itself.
 */
export function assignmentProgram(enrollments: readonly Enrollment[]): { readonly steps: WriteStep[]; readonly oldest: number } {
  const oldest = oldestVersion(enrollments.map((e) => e.assignment));
  const steps: WriteStep[] = [{ kind: 'guard', statement: 'latestVersion', params: [], field: 'latest', max: oldest }];
  for (const { assignment: r, exposure } of enrollments) {
    steps.push({ kind: 'run', statement: 'insertAssignment', params: assignmentValues(r) });
    if (exposure !== null) {
      steps.push({
        kind: 'run',
        statement: 'recordEnrollmentExposure',
        params: [r.configVersion, exposure.at, exposure.source, exposure.at, r.unitType, r.unit, r.experiment, r.lineage, r.phase],
      });
    }
    steps.push({ kind: 'get', statement: 'assignmentByKey', params: [r.unitType, r.unit, r.experiment, r.lineage] });
  }
  return { steps, oldest };
}

/** The outcome of each enrollment, from the results of its assignmentProgram. */
export function assignmentOutcomes(enrollments: readonly Enrollment[], results: readonly unknown[], op: string): EnrollOutcome[] {
  let at = 1;
  return enrollments.map((e): EnrollOutcome => {
    // Inserted: changes = 1. Otherwise an earlier row (possibly from this same batch, so a
    // duplicate resolves to its first occurrence) is the winner.
    const stored = results[at] === 1;
    at += e.exposure === null ? 1 : 2;
    const winner = results[at++] as StoredAssignment | null;
    if (winner === null) throw failure(op, new Error(`no stored assignment after a conflicting insert for ${describeKey(e.assignment)}`));
    return { assignment: stored ? copyAssignment(e.assignment) : winner, stored };
  });
}

/** Exposures (first ones stored, repeats added to their count) in one transaction. */
export function exposureProgram(events: readonly ExposureInput[]): WriteStep[] {
  return events.map((e) => ({ kind: 'run', statement: 'recordExposure', params: [e.unitType, e.unit, e.experiment, e.phase, e.variant, e.slot, e.configVersion, e.at, e.source, e.count ?? 1, e.at] }));
}
