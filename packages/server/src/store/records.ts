/** Record helpers every store driver shares. */
import type { Enrollment, ExposureInput, MetricEventInput, MetricSummary, StoredAssignment } from './types.js';

/**
 * The exposure an enrollment records, given the assignment that won: the winner's variant and slot
 * in the enrollment's phase. None if the winner was assigned in another phase of the lineage: what
 * the unit is served then depends on how the current phase treats that record (a partitioned ramp
 * may exclude it), which the caller finds out by evaluating again with the winner.
 */
export function enrollmentExposure(e: Enrollment, winner: StoredAssignment): ExposureInput | null {
  if (e.exposure === null || winner.phase !== e.assignment.phase) return null;
  const a = e.assignment;
  return { unitType: a.unitType, unit: a.unit, experiment: a.experiment, phase: a.phase, variant: winner.variant, slot: winner.slot, configVersion: a.configVersion, at: e.exposure.at, source: e.exposure.source };
}

/** A plain copy of an assignment (drivers never hand out objects they keep). */
export function copyAssignment(r: StoredAssignment): StoredAssignment {
  return {
    unitType: r.unitType,
    unit: r.unit,
    experiment: r.experiment,
    lineage: r.lineage,
    phase: r.phase,
    variant: r.variant,
    slot: r.slot,
    layerEpoch: r.layerEpoch,
    configVersion: r.configVersion,
    assignedAt: r.assignedAt,
  };
}

/** The events of a batch that may be stored: every event without an id, and the first of each id. */
export function firstOfEachId(events: readonly MetricEventInput[]): MetricEventInput[] {
  const seen = new Set<string>();
  return events.filter((e) => {
    if (e.id === null) return true;
    if (seen.has(e.id)) return false;
    seen.add(e.id);
    return true;
  });
}

/** Metric summaries sorted by name (UTF-16 code unit order, the same in every driver). */
export function byMetricName(summaries: MetricSummary[]): MetricSummary[] {
  return summaries.sort((a, b) => (a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : 0));
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/** JSON text exactly as JSON.stringify gives it (the stored bytes are what was published). */
export function encodeJson(driver: string, value: unknown, what: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (cause) {
    throw new Error(`${driver} store: ${what} is not serializable as JSON: ${describe(cause)}`, { cause });
  }
  if (text === undefined) throw new TypeError(`${driver} store: ${what} is not serializable as JSON (got ${typeof value})`);
  return text;
}

export function decodeJson(driver: string, text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new Error(`${driver} store: stored ${what} is not valid JSON: ${describe(cause)}`, { cause });
  }
}
