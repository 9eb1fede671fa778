/**
 * Building a config's lookup tables (no validation here: see compile.ts and trusted.ts). Compiling a validated config into lookup tables: slot → variant per phase, slot → holdout per
 * layer, and one keyed slot function per layer (HMAC pad states cached). Done once per config
 * version, off the hot path; assign() then does one MAC and a few array reads.
 */
import { createSlotFunction, type SlotFunction } from '../crypto/derivation.js';
import { fromHex } from '../encoding/hex.js';
import type { ConfigIssue } from '../errors.js';
import { paint } from './ranges.js';
import type {
  ConditionDocument,
  ConfigDocument,
  ExperimentDocument,
  HoldoutDocument,
  LayerDocument,
  PhaseDocument,
  VariantDocument,
} from './schema.js';
import { parseTimestamp } from './rules.js';

export interface CompiledLayer {
  readonly doc: LayerDocument;
  readonly id: string;
  readonly slots: number;
  /** Name of the unit type (key in AssignInput.units) this layer buckets by. */
  readonly unit: string;
  readonly epoch: number;
  readonly slotOf: SlotFunction;
  /** Holdouts reserving slots in this layer, in config order. */
  readonly holdouts: readonly HoldoutDocument[];
  /** slot → 1 + index into `holdouts`, or 0. */
  readonly holdoutTable: Uint8Array;
}

export interface CompiledPhase {
  readonly doc: PhaseDocument;
  readonly id: string;
  readonly index: number;
  readonly startsAt: number;
  readonly carryover: 'sticky' | 'rerandomize';
  /** slot → 1 + index into the experiment's variants, or 0 (not allocated). */
  readonly table: Uint8Array;
  /** slot → 1 when an excluded earlier phase allocated it, or null when nothing is excluded. */
  readonly excluded: Uint8Array | null;
  readonly excludedPhases: ReadonlySet<string>;
  /** Index of the latest phase at or before this one with carryover "rerandomize" (0 if none). */
  readonly lineageStart: number;
}

export interface GlobalHoldout {
  readonly holdout: HoldoutDocument;
  readonly layer: CompiledLayer;
  readonly table: Uint8Array;
}

export interface CompiledExperiment {
  readonly doc: ExperimentDocument;
  readonly key: string;
  readonly layer: CompiledLayer;
  readonly variants: readonly VariantDocument[];
  readonly variantIndex: ReadonlyMap<string, number>;
  readonly phases: readonly CompiledPhase[];
  readonly phaseIndex: ReadonlyMap<string, number>;
  readonly endsAt: number;
  readonly targeting: ConditionDocument | undefined;
  /** Global holdouts in layers with the same unit type, evaluated before the experiment's layer. */
  readonly globalHoldouts: readonly GlobalHoldout[];
}

export interface CompiledConfig {
  readonly doc: ConfigDocument;
  readonly version: number;
  readonly layers: ReadonlyMap<string, CompiledLayer>;
  readonly experiments: ReadonlyMap<string, CompiledExperiment>;
}

export type CompileResult =
  | { readonly ok: true; readonly config: CompiledConfig }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

function compileLayer(doc: LayerDocument, holdouts: readonly HoldoutDocument[]): CompiledLayer {
  const key = fromHex(doc.key);
  if (key === undefined) throw new RangeError('unreachable: key validated as hex');
  const mine = holdouts.filter((h) => h.layer === doc.id);
  const holdoutTable = new Uint8Array(doc.slots);
  mine.forEach((h, i) => paint(holdoutTable, h.ranges, i + 1));
  return {
    doc,
    id: doc.id,
    slots: doc.slots,
    unit: doc.unit,
    epoch: doc.epoch ?? 1,
    slotOf: createSlotFunction(doc.algorithm, { layerId: doc.id, key, slots: doc.slots }),
    holdouts: mine,
    holdoutTable,
  };
}

function compileExperiment(doc: ExperimentDocument, layers: ReadonlyMap<string, CompiledLayer>, holdouts: readonly HoldoutDocument[]): CompiledExperiment {
  const layer = layers.get(doc.layer);
  if (layer === undefined) throw new RangeError('unreachable: layer validated');
  const variantIndex = new Map(doc.variants.map((v, i) => [v.key, i]));
  const phaseIndex = new Map(doc.phases.map((p, i) => [p.id, i]));
  const tables: Uint8Array[] = [];
  let lineageStart = 0;
  const phases = doc.phases.map((p, index): CompiledPhase => {
    const table = new Uint8Array(layer.slots);
    for (const [variant, ranges] of Object.entries(p.allocation)) paint(table, ranges, (variantIndex.get(variant) ?? -1) + 1);
    tables.push(table);
    const excludedPhases = new Set(p.exclude ?? []);
    let excluded: Uint8Array | null = null;
    for (const id of excludedPhases) {
      const earlier = tables[phaseIndex.get(id) ?? -1];
      if (earlier === undefined) continue;
      excluded ??= new Uint8Array(layer.slots);
      for (let s = 0; s < earlier.length; s++) if (earlier[s] !== 0) excluded[s] = 1;
    }
    const carryover = p.carryover ?? 'sticky';
    if (carryover === 'rerandomize') lineageStart = index;
    return { doc: p, id: p.id, index, startsAt: parseTimestamp(p.startsAt), carryover, table, excluded, excludedPhases, lineageStart };
  });
  const globalHoldouts: GlobalHoldout[] = [];
  for (const h of holdouts) {
    const hl = layers.get(h.layer);
    if (h.scope !== 'global' || hl === undefined || hl.unit !== layer.unit) continue;
    const table = new Uint8Array(hl.slots);
    paint(table, h.ranges, 1);
    globalHoldouts.push({ holdout: h, layer: hl, table });
  }
  return {
    doc,
    key: doc.key,
    layer,
    variants: doc.variants,
    variantIndex,
    phases,
    phaseIndex,
    endsAt: doc.endsAt === undefined ? Number.POSITIVE_INFINITY : parseTimestamp(doc.endsAt),
    targeting: doc.targeting,
    globalHoldouts,
  };
}

/** The lookup tables of a config that has already been validated. */
export function buildCompiled(doc: ConfigDocument): CompiledConfig {
  const holdouts = doc.holdouts ?? [];
  const layers = new Map(doc.layers.map((l) => [l.id, compileLayer(l, holdouts)]));
  const experiments = new Map(doc.experiments.map((e) => [e.key, compileExperiment(e, layers, holdouts)]));
  return { doc, version: doc.version, layers, experiments };
}
