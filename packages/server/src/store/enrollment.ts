import type { Enrollment, ExposureInput, StoredAssignment } from './types.js';

/** The exposure an enrollment records, given the assignment that won. */
export function enrollmentExposure(e: Enrollment, winner: StoredAssignment): ExposureInput | null {
  if (e.exposure === null) return null;
  const a = e.assignment;
  return { unitType: a.unitType, unit: a.unit, experiment: a.experiment, phase: a.phase, variant: winner.variant, slot: winner.slot, configVersion: a.configVersion, at: e.exposure.at, source: e.exposure.source };
}
