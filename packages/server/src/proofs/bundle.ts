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
 *     keys: {origin, keys: [{kid, alg, purpose, publicKey, noteVerifierKey?}]} (the verification
 *           fields of /.well-known/sortition-keys.json, current and retired keys; the validity
 *           windows are checked against the published set, which the verifier takes separately),
 *     committed?: for an experiment in a committed layer (§4.1): the leaves of its launch, its
 *           beacon and its seed reveal (once revealed), and beaconStatus
 *   }
 *   leaf evidence = {leafIndex, leaf (the leaf text, verbatim), inclusion: hex[] (to `checkpoint`)}
 *   evidence = leaf evidence + {document, next | rest}: next is the following config version's leaf
 *              (the upper bound of "in force at `at`"); without one, rest is every later leaf of
 *              the checkpoint's tree (none a config version: this was the latest version)
 *
 * The bundle carries no redundant copies (sizes and roots come from the checkpoint, versions from
 * the leaf), so every byte is either checked by the verifier or part of the statement being proven.
 */
import { compileConfig, canonicalUnitId, type CompiledExperiment } from '@sortition/core';
import { BUNDLE_FORMAT, type BundleKeySet, type ConfigEvidence, type LeafEvidence } from '@sortition/proofs';
import type { Store, StoredAssignment } from '../store/types.js';
import type { CommittedLayers } from './committed.js';
import type { PublicKeySet } from './keys.js';
import type { TransparencyLog } from './log.js';

// The bundle's parts are the verifier's types (one definition, in @sortition/proofs).
export { BUNDLE_FORMAT };

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
  readonly committed?: { readonly launch: LeafEvidence; readonly beacon?: LeafEvidence; readonly reveal?: LeafEvidence; readonly beaconStatus?: 'drand-verified' | 'operator-supplied' };
}

export type BundleOutcome =
  | { readonly ok: true; readonly bundle: ProofBundle }
  | { readonly ok: false; readonly status: 400 | 404; readonly code: string; readonly message: string; readonly field: string; readonly fix: string };

/** The verification fields of the published key set (metadata such as creation times is left out). */
export function bundleKeySet(set: PublicKeySet): BundleKeySet {
  return {
    origin: set.origin,
    keys: set.keys.map((k) => ({
      kid: k.kid,
      alg: k.alg,
      purpose: k.purpose,
      publicKey: k.publicKey,
      ...(k.noteVerifierKey === undefined ? {} : { noteVerifierKey: k.noteVerifierKey }),
    })),
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
export async function buildBundle(store: Store, log: TransparencyLog, keys: PublicKeySet, request: BundleRequest, committed?: CommittedLayers): Promise<BundleOutcome> {
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

  if (committed === undefined) await log.refresh();
  else await committed.refresh();
  await log.ensureVersion(record.version);
  if (assignment !== null) await log.ensureVersion(assignment.configVersion);
  const checkpoint = log.checkpoint();
  const size = checkpoint.size;
  const leafEvidence = (index: number): LeafEvidence => ({ leafIndex: index, leaf: log.entry(index)!.leaf, inclusion: log.inclusion(index, size).proof });
  const evidence = async (version: number, document: unknown): Promise<ConfigEvidence> => {
    const entry = log.entryForConfig(version);
    if (entry === undefined || entry.index >= size) throw new Error(`config version ${version} is not in the transparency log`);
    // The upper bound: the next version's leaf, or every later leaf (none a config version).
    const next = log.entryForConfig(version + 1);
    const bound = next !== undefined && next.index < size ? { next: leafEvidence(next.index) } : { rest: Array.from({ length: size - entry.index - 1 }, (_, i) => leafEvidence(entry.index + 1 + i)) };
    return { document, ...leafEvidence(entry.index), ...bound };
  };
  let assignmentConfig: ConfigEvidence | undefined;
  if (assignment !== null && assignment.configVersion !== record.version) {
    const other = await store.getConfig(assignment.configVersion);
    if (other === null) throw new Error(`config version ${assignment.configVersion} of a stored assignment does not exist`);
    assignmentConfig = await evidence(other.version, other.doc);
  }
  // A committed layer: the config names its launch by the seed commitment it uses as the key.
  const launch = committed?.launchFor(experiment.layer.doc.key);
  let committedEvidence: ProofBundle['committed'];
  if (committed !== undefined && launch !== undefined && launch.layer === experiment.layer.id && launch.index < size) {
    const at = committed.leavesOf(launch);
    const within = (i: number | undefined): i is number => i !== undefined && i < size;
    committedEvidence = {
      launch: leafEvidence(at.launch),
      ...(within(at.beacon) ? { beacon: leafEvidence(at.beacon), beaconStatus: launch.beacon?.source === 'drand' ? 'drand-verified' : 'operator-supplied' } : {}),
      ...(within(at.reveal) ? { reveal: leafEvidence(at.reveal) } : {}),
    };
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
      ...(committedEvidence === undefined ? {} : { committed: committedEvidence }),
    },
  };
}
