/**
 * Proof bundles (format "sortition-proof-bundle/v1"): everything an auditor needs to check, offline,
 * which variant a unit had in an experiment at a time `at` (verified by `sortition verify`).
 *
 *   {
 *     format: "sortition-proof-bundle/v1",
 *     unit, unitType, experiment,
 *     at: milliseconds since the epoch,
 *     attributes?: targeting attributes (attached by the caller; the service does not store them),
 *     assignment: the stored first assignment of the unit's lineage current at `at`, or null,
 *     receipt?: compact JWS (attached by the caller: receipts are not stored),
 *     receiptConsistency?: hex[] RFC 9162 proof from the receipt's checkpoint to `checkpoint`,
 *     config: evidence for the config version in force at `at` (latest createdAt <= at),
 *     assignmentConfig?: the same for the stored assignment's config version when it differs,
 *     checkpoint: the latest signed checkpoint (C2SP note text),
 *     keys: {origin, keys: [{kid, alg, purpose, publicKey, noteVerifierKey?}]}
 *           (the verification fields of /.well-known/sortition-keys.json),
 *     commitment?: reserved for committed layers (§4.1); never produced yet
 *   }
 *   evidence = {document, leafIndex, leaf (the leaf text, verbatim), inclusion: hex[] (to `checkpoint`)}
 *
 * The bundle carries no redundant copies (sizes and roots come from the checkpoint, versions from
 * the leaf), so every byte is either checked by the verifier or part of the statement being proven.
 */
import { compileConfig, canonicalUnitId, type CompiledExperiment } from '@sortition/core';
import type { Store, StoredAssignment } from '../store/types.js';
import type { PublicKeySet } from './keys.js';
import type { TransparencyLog } from './log.js';

export const BUNDLE_FORMAT = 'sortition-proof-bundle/v1';

export interface BundleKey {
  readonly kid: string;
  readonly alg: 'Ed25519';
  readonly purpose: string;
  readonly publicKey: string;
  readonly noteVerifierKey?: string;
}

export interface BundleKeySet {
  readonly origin: string;
  readonly keys: readonly BundleKey[];
}

export interface ConfigEvidence {
  readonly document: unknown;
  readonly leafIndex: number;
  readonly leaf: string;
  readonly inclusion: readonly string[];
}

export interface ProofBundle {
  readonly format: typeof BUNDLE_FORMAT;
  readonly unit: string;
  readonly unitType: string;
  readonly experiment: string;
  readonly at: number;
  readonly attributes?: Readonly<Record<string, string | number | boolean | null>>;
  readonly assignment: StoredAssignment | null;
  readonly receipt?: string;
  readonly receiptConsistency?: readonly string[];
  readonly config: ConfigEvidence;
  readonly assignmentConfig?: ConfigEvidence;
  readonly checkpoint: string;
  readonly keys: BundleKeySet;
  readonly commitment?: unknown;
}

export type BundleOutcome =
  | { readonly ok: true; readonly bundle: ProofBundle }
  | { readonly ok: false; readonly status: 400 | 404; readonly code: string; readonly message: string; readonly field: string; readonly fix: string };

/** The verification fields of the published key set (metadata such as creation times is left out). */
export function bundleKeySet(set: PublicKeySet): BundleKeySet {
  return {
    origin: set.origin,
    keys: set.keys.map((k) => ({ kid: k.kid, alg: k.alg, purpose: k.purpose, publicKey: k.publicKey, ...(k.noteVerifierKey === undefined ? {} : { noteVerifierKey: k.noteVerifierKey }) })),
  };
}

/** The id of the phase that opened the lineage current at `now` (null before the first phase). */
export function lineageAt(experiment: CompiledExperiment, now: number): string | null {
  for (let i = experiment.phases.length - 1; i >= 0; i--) {
    const phase = experiment.phases[i]!;
    if (phase.startsAt <= now) return experiment.phases[phase.lineageStart]!.id;
  }
  return null;
}

export interface BundleRequest {
  readonly unit: string;
  readonly experiment: string;
  readonly at: number;
  readonly unitType?: string | undefined;
}

/** Builds the bundle for (unit, experiment, at) from the store and the transparency log. */
export async function buildBundle(store: Store, log: TransparencyLog, keys: PublicKeySet, request: BundleRequest): Promise<BundleOutcome> {
  const unit = canonicalUnitId(request.unit);
  if (typeof unit !== 'string') return { ok: false, status: 400, code: unit.code, message: unit.message, field: '/unit', fix: 'send a non-empty, well-formed unit id of at most 256 UTF-8 bytes' };
  const versions = (await store.listConfigs()).filter((c) => c.createdAt <= request.at).sort((a, b) => b.version - a.version);
  const summary = versions[0];
  if (summary === undefined) return { ok: false, status: 404, code: 'VERSION_NOT_FOUND', message: `no config version was in force at ${new Date(request.at).toISOString()}`, field: '/at', fix: 'use a time after the first config version was published' };
  const record = await store.getConfig(summary.version);
  if (record === null) return { ok: false, status: 404, code: 'VERSION_NOT_FOUND', message: `config version ${summary.version} does not exist`, field: '/at', fix: 'list versions with GET /v1/config/versions' };
  const compiled = compileConfig(record.doc);
  if (!compiled.ok) throw new Error(`config version ${record.version} no longer compiles`);
  const experiment = compiled.config.experiments.get(request.experiment);
  if (experiment === undefined) {
    return { ok: false, status: 404, code: 'EXPERIMENT_NOT_FOUND', message: `experiment "${request.experiment}" is not in config version ${record.version} (in force at ${new Date(request.at).toISOString()})`, field: '/experiment', fix: `use one of: ${[...compiled.config.experiments.keys()].join(', ')}` };
  }
  const unitType = experiment.layer.unit;
  if (request.unitType !== undefined && request.unitType !== unitType) {
    return { ok: false, status: 400, code: 'UNIT_TYPE_MISMATCH', message: `experiment "${request.experiment}" buckets by ${unitType}, not ${request.unitType}`, field: '/unitType', fix: `omit unitType or send ${unitType}` };
  }
  const lineage = lineageAt(experiment, request.at);
  const stored = lineage === null ? [] : await store.getAssignments([{ unitType, unit, experiment: request.experiment }]);
  const found = stored.find((a) => a.lineage === lineage && a.assignedAt <= request.at);
  const assignment = found === undefined ? null : { unitType: found.unitType, unit: found.unit, experiment: found.experiment, lineage: found.lineage, phase: found.phase, variant: found.variant, slot: found.slot, layerEpoch: found.layerEpoch, configVersion: found.configVersion, assignedAt: found.assignedAt };

  await log.refresh();
  await log.ensureVersion(record.version);
  if (assignment !== null) await log.ensureVersion(assignment.configVersion);
  const checkpoint = log.checkpoint();
  const evidence = async (version: number, document: unknown): Promise<ConfigEvidence> => {
    const entry = log.entryForConfig(version);
    if (entry === undefined) throw new Error(`config version ${version} is not in the transparency log`);
    return { document, leafIndex: entry.index, leaf: entry.leaf, inclusion: log.inclusion(entry.index, checkpoint.size).proof };
  };
  let assignmentConfig: ConfigEvidence | undefined;
  if (assignment !== null && assignment.configVersion !== record.version) {
    const other = await store.getConfig(assignment.configVersion);
    if (other === null) throw new Error(`config version ${assignment.configVersion} of a stored assignment does not exist`);
    assignmentConfig = await evidence(other.version, other.doc);
  }
  return {
    ok: true,
    bundle: {
      format: BUNDLE_FORMAT,
      unit,
      unitType,
      experiment: request.experiment,
      at: request.at,
      assignment,
      config: await evidence(record.version, record.doc),
      ...(assignmentConfig === undefined ? {} : { assignmentConfig }),
      checkpoint: checkpoint.note,
      keys: bundleKeySet(keys),
    },
  };
}
