/**
 * The simulation's Sortition config: one layer of 100 000 slots with a key derived from the seed,
 * and one experiment whose phases the run adds as it goes. Documents are built as plain data; the
 * backends merge them into whatever config is in force (the library starts from nothing, a live
 * service may hold other experiments).
 */
import type { ExperimentDocument, LayerDocument, PhaseDocument, SlotRange } from '@sortition/core';
import { Rng } from './rng.js';

export const SORTITION_LAYER = 'sim-postmortem';
export const SORTITION_EXPERIMENT = 'sat_model';
export const SLOTS = 100_000;
export const VARIANTS = ['control', 'treatment'] as const;
/**
 * The unit type the simulation's layers bucket by. Its own type, so that a live service's global
 * holdouts (which apply to every layer of their unit type, e.g. userId) leave simulated users alone.
 */
export const UNIT_TYPE = 'simUser';

/** An allocation as a config document holds it. */
export type Allocation = Record<string, [number, number][]>;

export function documentAllocation(allocation: Readonly<Record<string, readonly SlotRange[]>>): Allocation {
  return Object.fromEntries(Object.entries(allocation).map(([k, v]) => [k, v.map((r): [number, number] => [r[0], r[1]])]));
}

/** What the simulation owns inside a config: its layer and its experiment. */
export interface ConfigPart {
  readonly layer: LayerDocument;
  readonly experiment: ExperimentDocument;
}

/** The time format of the config schema: UTC, milliseconds only when there are any. */
export function configTime(t: number): string {
  const s = new Date(t).toISOString();
  return s.endsWith('.000Z') ? `${s.slice(0, -5)}Z` : s;
}

export function layerKey(seed: number): string {
  return Rng.stream(seed, 'sortition-layer-key').hex32();
}

export function layerDocument(seed: number, id = SORTITION_LAYER): LayerDocument {
  return { id, algorithm: 'v1', slots: SLOTS, key: layerKey(seed), unit: UNIT_TYPE, normalization: 'nfc', description: `Simulation layer (key derived from seed ${seed}).` };
}

export function launchPart(seed: number, startsAt: number, experiment = SORTITION_EXPERIMENT, layer = SORTITION_LAYER): ConfigPart {
  return {
    layer: layerDocument(seed, layer),
    experiment: {
      key: experiment,
      layer,
      description: 'The new model against the current one (simulated).',
      variants: VARIANTS.map((key) => ({ key })),
      phases: [{ id: 'launch', startsAt: configTime(startsAt), allocation: { control: [[0, SLOTS / 2]], treatment: [[SLOTS / 2, SLOTS]] } }],
    },
  };
}

export function withPhase(part: ConfigPart, phase: PhaseDocument): ConfigPart {
  return { ...part, experiment: { ...part.experiment, phases: [...part.experiment.phases, phase] } };
}

/** The part with the allocation of phase `id` replaced. */
export function withAllocation(part: ConfigPart, id: string, allocation: Readonly<Record<string, readonly SlotRange[]>>): ConfigPart {
  const doc = documentAllocation(allocation);
  return { ...part, experiment: { ...part.experiment, phases: part.experiment.phases.map((p) => (p.id === id ? { ...p, allocation: doc } : p)) } };
}

export function phaseAllocation(part: ConfigPart, id: string): Allocation {
  const phase = part.experiment.phases.find((p) => p.id === id);
  if (phase === undefined) throw new Error(`phase ${id} is not in experiment ${part.experiment.key}`);
  return documentAllocation(phase.allocation);
}

/** Per phase, the share of slots per variant: the split a fresh unit meets (for SRM). */
export function phaseSplits(part: ConfigPart): Record<string, Record<string, number>> {
  return Object.fromEntries(part.experiment.phases.map((p) => [p.id, Object.fromEntries(Object.entries(p.allocation).map(([k, ranges]) => [k, ranges.reduce((a, r) => a + r[1] - r[0], 0)]))]));
}
