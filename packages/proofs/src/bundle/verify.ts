/**
 * Offline verification of a proof bundle (sortition-proof-bundle/v1, see format.ts). Isomorphic:
 * no I/O, no clock, no Node or DOM APIs; the bundle and the published material are parameters.
 *
 * Steps (each PASS, WARN, FAIL or N/A with a message; any FAIL fails the bundle):
 *   0 bundle       strict JSON with exactly the v1 fields; the key set is self-consistent and, given
 *                  published keys, a subset of them (the published set, with validity windows, is used).
 *   1 checkpoint   the checkpoint note verifies under a checkpoint key of the set, origin = keys.origin.
 *   2 leaf         each config leaf is canonical JSON of a config event whose hash is SHA-256 of the
 *                  bundled document's canonical JSON; the version in force at `at` was created by then.
 *   3 inclusion    every bundled leaf is in the checkpoint's tree at its index (RFC 9162).
 *   4 in-force     the upper bound: the next version's leaf (created after `at`) or every later
 *                  leaf (none a config version); likewise for the assignment's version at its time.
 *   5 consistency  given a later checkpoint: it verifies and extends the bundled one.
 *   6 receipt      the JWS verifies under a receipt key valid at its issuedAt and matches the stored
 *                  assignment; its checkpoint is the bundled one or a prefix of it holding the leaf.
 *   7 commitment   committed layers: launch record, seed reveal (commitment opened), relaunches.
 *   8 beacon       committed layers: the drand round named in the launch (BLS-verified; an
 *                  operator-supplied beacon is a WARN).
 *   9 derivation   @sortition/core assign() re-derives the stored assignment at its time and the
 *                  answer at `at` (committed layers: with the key derived from seed and beacon).
 */
import { activePhase, assign, canonicalJson, canonicalUnitId, sha256, toHex, fromHex, type Assignment, type CompiledConfig, type StickyRecord } from '@sortition/core';
import { utf8Encode } from '../bytes.js';
import { verifyCheckpoint, type Checkpoint } from '../checkpoint.js';
import { leafHash, verifyConsistency, verifyInclusion } from '../merkle.js';
import { attrsHash, unitHash, verifyReceipt } from '../receipt.js';
import { checkCommitted, type CommittedOutcome } from './committed.js';
import { compileVariant, conditionAttributes, iso, lineageAt, usedAttributes } from './derive.js';
import { BUNDLE_FORMAT, fields, hexList, parseBundle, parseKeySet, type ConfigEvidence, type LeafEvidence, type ProofBundle } from './format.js';
import { checkInForce } from './in-force.js';
import { checkKeySets, validAt, type CheckedKeys } from './keys.js';
import { configLeaf } from './leaves.js';
import { StepRecorder, type BundleStatement, type BundleVerification } from './steps.js';

/** What the verifier may be given besides the bundle, all public. */
export interface PublishedMaterial {
  /** The /.well-known/sortition-keys.json document (parsed JSON): the trusted keys. */
  readonly keys?: unknown;
  /** A later signed checkpoint (note text), e.g. one the auditor kept from earlier. */
  readonly checkpoint?: string;
  /** The JSON of GET /v1/log/proof/consistency between the bundled and the later checkpoint. */
  readonly consistency?: unknown;
}

const hexBytes = (hex: string): Uint8Array => fromHex(hex) ?? new Uint8Array(0);

interface Leaf {
  version: number;
  createdAt: number;
  config: CompiledConfig;
  document: unknown;
}

function checkLeaf(e: ConfigEvidence, path: string): Leaf {
  const event = configLeaf(e.leaf, `${path}/leaf`);
  const hash = toHex(sha256(utf8Encode(canonicalJson(e.document))));
  if (event.hash !== hash) throw new Error(`${path}: the leaf's config hash ${event.hash} is not SHA-256 of the bundled document's canonical JSON (${hash})`);
  const doc = typeof e.document === 'object' && e.document !== null ? (e.document as Record<string, unknown>) : {};
  if (doc['version'] !== event.version) throw new Error(`${path}: the document's version ${String(doc['version'])} is not the leaf's version ${event.version}`);
  return { version: event.version, createdAt: event.createdAt, config: compileVariant(e.document), document: e.document };
}

function allLeaves(bundle: ProofBundle): [string, LeafEvidence][] {
  const out: [string, LeafEvidence][] = [];
  const add = (path: string, e: ConfigEvidence): void => {
    out.push([path, e]);
    if (e.next !== undefined) out.push([`${path}/next`, e.next]);
    e.rest?.forEach((r, i) => out.push([`${path}/rest/${i}`, r]));
  };
  add('/config', bundle.config);
  if (bundle.assignmentConfig !== undefined) add('/assignmentConfig', bundle.assignmentConfig);
  const c = bundle.committed;
  if (c !== undefined) {
    out.push(['/committed/launch', c.launch]);
    if (c.beacon !== undefined) out.push(['/committed/beacon', c.beacon]);
    if (c.reveal !== undefined) out.push(['/committed/reveal', c.reveal]);
  }
  return out;
}

function checkConsistencyStep(r: StepRecorder, published: PublishedMaterial, keys: CheckedKeys, checkpoint: Checkpoint): void {
  if (published.checkpoint === undefined) {
    r.record('consistency', 'N/A', 'no later checkpoint given');
    return;
  }
  const later = verifyCheckpoint(published.checkpoint, keys.notes, { origin: keys.origin });
  if (!later.ok) {
    r.record('consistency', 'FAIL', `later checkpoint: ${later.reason}`);
    return;
  }
  const l = later.checkpoint;
  if (l.size === checkpoint.size) {
    const same = toHex(l.rootHash) === toHex(checkpoint.rootHash);
    r.record('consistency', same ? 'PASS' : 'FAIL', same ? 'the later checkpoint has the same size and root' : `two checkpoints of size ${l.size} with different roots: the log forked`);
    return;
  }
  const [a, b] = l.size < checkpoint.size ? [l, checkpoint] : [checkpoint, l];
  if (published.consistency === undefined) {
    r.record('consistency', 'N/A', `no consistency proof given (GET /v1/log/proof/consistency?from=${a.size}&to=${b.size})`);
    return;
  }
  const consistency = published.consistency;
  const res = r.attempt('consistency', () => {
    const o = fields(consistency, 'consistency', ['proof'], ['from', 'to', 'fromRoot', 'toRoot']);
    const v = verifyConsistency(a.size, b.size, hexList(o['proof'], 'consistency/proof').map(hexBytes), a.rootHash, b.rootHash);
    if (!v.ok) throw new Error(`the checkpoints of sizes ${a.size} and ${b.size} are not consistent: ${v.reason}`);
    return `the checkpoint of size ${b.size} extends the one of size ${a.size}`;
  });
  if (res.ok) r.record('consistency', 'PASS', res.value);
}

function checkReceiptStep(r: StepRecorder, bundle: ProofBundle, keys: CheckedKeys, checkpoint: Checkpoint, current: Leaf, assignmentEvidence: ConfigEvidence | undefined): void {
  const token = bundle.receipt;
  if (token === undefined) {
    r.record('receipt', 'N/A', 'no receipt in the bundle (attach one with prove --receipt)');
    return;
  }
  const res = r.attempt('receipt', () => {
    const publicKeys = new Map([...keys.receipts].map(([kid, k]) => [kid, k.publicKey]));
    const v = verifyReceipt(token, publicKeys);
    if (!v.ok) throw new Error(`receipt: ${v.reason}`);
    const p = v.payload;
    const key = keys.receipts.get(v.header.kid)!;
    if (!validAt(key, p.issuedAt)) throw new Error(`receipt: key ${key.kid} was not valid at ${iso(p.issuedAt)} (valid ${key.notBefore === undefined ? '' : `from ${iso(key.notBefore)} `}${key.notAfter === undefined ? '' : `until ${iso(key.notAfter)}`})`);
    const a = bundle.assignment;
    if (a === null) throw new Error('receipt: the bundle has no stored assignment for the receipt to match');
    const mismatch = (what: string, got: unknown, want: unknown): Error => new Error(`receipt: ${what} is ${JSON.stringify(got)}, the bundle says ${JSON.stringify(want)}`);
    if (p.experiment !== bundle.experiment) throw mismatch('experiment', p.experiment, bundle.experiment);
    const uh = unitHash(bundle.unit);
    if (p.unitHash !== uh) throw mismatch('unitHash', p.unitHash, uh);
    if (bundle.attributes !== undefined) {
      const ah = attrsHash(usedAttributes(current.config.experiments.get(bundle.experiment)?.targeting, bundle.attributes));
      if (p.attrsHash !== ah) throw mismatch('attrsHash', p.attrsHash, ah);
    }
    for (const k of ['configVersion', 'phase', 'variant', 'slot'] as const) if (p[k] !== a[k]) throw mismatch(k, p[k], a[k]);
    if (p.issuedAt !== a.assignedAt) throw mismatch('issuedAt', p.issuedAt, a.assignedAt);
    if (assignmentEvidence === undefined) throw new Error(`receipt: config version ${p.configVersion} is not bundled`);
    if (p.checkpoint.size <= assignmentEvidence.leafIndex) throw new Error(`receipt: its checkpoint (size ${p.checkpoint.size}) does not contain config leaf ${assignmentEvidence.leafIndex}`);
    if (p.checkpoint.size > checkpoint.size) throw new Error(`receipt: its checkpoint (size ${p.checkpoint.size}) is later than the bundled one (${checkpoint.size})`);
    if (p.checkpoint.size === checkpoint.size) {
      if (bundle.receiptConsistency !== undefined && bundle.receiptConsistency.length > 0) throw new Error('receipt: receiptConsistency must be empty for equal sizes');
      if (p.checkpoint.rootHash !== toHex(checkpoint.rootHash)) throw new Error('receipt: its checkpoint root differs from the bundled checkpoint of the same size');
    } else {
      const c = verifyConsistency(p.checkpoint.size, checkpoint.size, (bundle.receiptConsistency ?? []).map(hexBytes), hexBytes(p.checkpoint.rootHash), checkpoint.rootHash);
      if (!c.ok) throw new Error(`receipt: its checkpoint (size ${p.checkpoint.size}) is not consistent with the bundled one: ${c.reason}`);
    }
    return `signed by ${v.header.kid}${key.notAfter === undefined ? '' : ` (retired ${iso(key.notAfter)}, valid when issued)`}: ${p.experiment} ${p.phase}/${p.variant}, slot ${p.slot}, config version ${p.configVersion}, issued ${iso(p.issuedAt)}${bundle.attributes === undefined ? ' (attrsHash not checked: no attributes bundled)' : ''}`;
  });
  if (res.ok) r.record('receipt', 'PASS', res.value);
}

function derive(bundle: ProofBundle, current: Leaf, assignmentLeaf: Leaf | undefined, committed: CommittedOutcome | null): { verdict: 'PASS' | 'WARN'; message: string; statement: BundleStatement } {
  const experiment = current.config.experiments.get(bundle.experiment);
  if (experiment === undefined) throw new Error(`experiment ${bundle.experiment} is not in config version ${current.version}`);
  if (experiment.layer.unit !== bundle.unitType) throw new Error(`unitType ${bundle.unitType} is not the layer's unit type ${experiment.layer.unit}`);
  if (canonicalUnitId(bundle.unit) !== bundle.unit) throw new Error(`unit ${JSON.stringify(bundle.unit)} is not a canonical unit id`);
  const read = conditionAttributes(experiment.targeting);
  const extra = Object.keys(bundle.attributes ?? {}).filter((k) => !read.has(k));
  if (extra.length > 0) throw new Error(`attributes ${extra.join(', ')} are not read by the experiment's targeting`);
  const layerKeys = committed?.layerKeys;
  const unrevealed = committed !== null && layerKeys === undefined;
  const keyed = (l: Leaf, withoutTargeting: boolean): CompiledConfig =>
    layerKeys === undefined && !withoutTargeting ? l.config : compileVariant(l.document, { ...(withoutTargeting ? { withoutTargetingOf: bundle.experiment } : {}), ...(layerKeys === undefined ? {} : { layerKeys }) });
  const units = { [bundle.unitType]: bundle.unit };
  const attributes = bundle.attributes === undefined ? {} : { attributes: bundle.attributes };
  const beacon = committed?.beaconSource === undefined ? {} : { beacon: committed.beaconSource };
  const notes: string[] = [];
  let sticky: StickyRecord | null = null;
  const a = bundle.assignment;
  if (a === null && unrevealed) throw new Error('no stored assignment and the committed layer\'s seed is not revealed: nothing can be derived');
  if (a !== null) {
    if (a.unitType !== bundle.unitType || a.unit !== bundle.unit || a.experiment !== bundle.experiment) throw new Error('the stored assignment is for another unit or experiment');
    if (assignmentLeaf === undefined) throw new Error(`the stored assignment's config version ${a.configVersion} is not bundled`);
    if (a.assignedAt > bundle.at) throw new Error(`the stored assignment (${iso(a.assignedAt)}) is later than at (${iso(bundle.at)})`);
    if (assignmentLeaf.createdAt > a.assignedAt) throw new Error(`config version ${a.configVersion} was created after the assignment`);
    const lineage = lineageAt(experiment, bundle.at);
    if (a.lineage !== lineage) throw new Error(`the stored assignment's lineage ${a.lineage} is not the lineage current at ${iso(bundle.at)} (${String(lineage)})`);
    const ae = assignmentLeaf.config.experiments.get(bundle.experiment);
    if (ae === undefined) throw new Error(`experiment ${bundle.experiment} is not in config version ${a.configVersion}`);
    if (ae.layer.epoch !== a.layerEpoch) throw new Error(`the stored layerEpoch ${a.layerEpoch} is not the layer's epoch ${ae.layer.epoch}`);
    if (unrevealed) {
      // The slot depends on the secret key: only what does not need it can be checked.
      const phase = activePhase(experiment, bundle.at);
      const message = `stored ${a.phase}/${a.variant} (slot ${a.slot}, ${iso(a.assignedAt)}, config version ${a.configVersion}) NOT re-derived: the committed layer's seed is not revealed yet, so the slot is the service's claim until then`;
      return { verdict: 'WARN', message, statement: { unit: bundle.unit, experiment: bundle.experiment, at: iso(bundle.at), reason: 'STICKY', variant: a.variant, slot: a.slot, phase: phase?.id ?? null, configVersion: current.version, ...beacon } };
    }
    const targeted = ae.targeting !== undefined && bundle.attributes === undefined;
    const then = assign(keyed(assignmentLeaf, targeted), { experiment: bundle.experiment, units, ...attributes, now: a.assignedAt, sticky: null, mode: 'peek' });
    if (then.reason !== 'ASSIGNED' || then.variant !== a.variant || then.slot !== a.slot || then.phase !== a.phase) {
      throw new Error(`re-deriving at the assignment time (${iso(a.assignedAt)}, config version ${a.configVersion}) gives ${then.reason} ${then.phase ?? '-'}/${then.variant ?? '-'} slot ${String(then.slot)}, not the stored ${a.phase}/${a.variant} slot ${a.slot}`);
    }
    notes.push(`stored ${a.phase}/${a.variant} (slot ${a.slot}) re-derived at ${iso(a.assignedAt)} under config version ${a.configVersion}${committed === null ? '' : ' with the revealed layer key'}${targeted ? ' (targeting not checked: no attributes bundled)' : ''}`);
    sticky = { experiment: a.experiment, phase: a.phase, variant: a.variant, slot: a.slot, layerEpoch: a.layerEpoch, configVersion: a.configVersion, assignedAt: a.assignedAt };
  }
  const now: Assignment = assign(keyed(current, false), { experiment: bundle.experiment, units, ...attributes, now: bundle.at, sticky, mode: 'peek' });
  if (now.reason === 'ERROR') throw new Error(`assign() at ${iso(bundle.at)}: ${now.error?.message ?? 'error'}`);
  if (a !== null && now.slot !== a.slot) throw new Error(`the unit's slot is ${String(now.slot)}, the stored assignment says ${a.slot}`);
  notes.push(`at ${iso(bundle.at)} under config version ${current.version}: ${now.reason}${now.variant === null ? '' : ` ${now.phase ?? '-'}/${now.variant}`}, slot ${String(now.slot)}`);
  const statement: BundleStatement = { unit: bundle.unit, experiment: bundle.experiment, at: iso(bundle.at), reason: now.reason, variant: now.variant, slot: now.slot, phase: now.phase, configVersion: now.configVersion, ...beacon };
  return { verdict: 'PASS', message: notes.join('; '), statement };
}

/**
 * Verifies a proof bundle (bytes, text or parsed JSON) against the published material, offline.
 * Every step is reported with its verdict and a message naming what was checked or what failed.
 */
export function verifyBundle(input: Uint8Array | string | object, published: PublishedMaterial = {}): BundleVerification {
  const r = new StepRecorder();

  // 0: bundle shape and key set.
  const parsed = r.attempt('bundle', () => {
    const bundle = parseBundle(input);
    const keys = checkKeySets(bundle.keys, published.keys === undefined ? undefined : parseKeySet(published.keys, 'published keys', true));
    return { bundle, keys };
  });
  if (!parsed.ok) return r.done();
  const { bundle, keys } = parsed.value;
  r.record('bundle', 'PASS', `${BUNDLE_FORMAT}: unit ${JSON.stringify(bundle.unit)}, experiment ${bundle.experiment}, at ${iso(bundle.at)}; keys ${published.keys === undefined ? 'as bundled' : 'match the published key set'}`);

  // 1: checkpoint signature.
  const cp = verifyCheckpoint(bundle.checkpoint, keys.notes, { origin: keys.origin });
  if (!cp.ok) {
    r.record('checkpoint', 'FAIL', `checkpoint: ${cp.reason}`);
    return r.done();
  }
  const checkpoint = cp.checkpoint;
  const signer = keys.notes.find((k) => cp.verifiedBy.some((v) => v.publicKey === k.publicKey));
  r.record('checkpoint', 'PASS', `checkpoint of size ${checkpoint.size} signed by ${signer?.kid ?? keys.origin}${signer?.notAfter === undefined ? '' : ` (a key retired ${iso(signer.notAfter)})`}`);

  // 2: config leaves.
  const evidences: [string, ConfigEvidence][] = [['/config', bundle.config], ...(bundle.assignmentConfig === undefined ? [] : [['/assignmentConfig', bundle.assignmentConfig] as [string, ConfigEvidence]])];
  const leaves = r.attempt('leaf', () => {
    const out = evidences.map(([path, e]) => checkLeaf(e, path));
    const current = out[0]!;
    if (current.createdAt > bundle.at) throw new Error(`/config: version ${current.version} was created at ${iso(current.createdAt)}, after at (${iso(bundle.at)})`);
    if (out[1] !== undefined && out[1].version === current.version) throw new Error('/assignmentConfig repeats the config version of /config');
    return out;
  });
  if (!leaves.ok) return r.done();
  r.record('leaf', 'PASS', leaves.value.map((l) => `config version ${l.version} (created ${iso(l.createdAt)}) matches its leaf`).join('; '));

  // 3: inclusion of every bundled leaf.
  const included = allLeaves(bundle);
  for (const [path, e] of included) {
    const v = verifyInclusion(e.leafIndex, checkpoint.size, leafHash(utf8Encode(e.leaf)), e.inclusion.map(hexBytes), checkpoint.rootHash);
    if (!v.ok) {
      r.record('inclusion', 'FAIL', `${path}: leaf ${e.leafIndex} is not in the checkpoint's tree: ${v.reason}`);
      return r.done();
    }
  }
  r.record('inclusion', 'PASS', `${included.length} leaves (${included.map(([, e]) => e.leafIndex).join(', ')}) included in the tree of size ${checkpoint.size}`);

  // 4: upper bound of the versions in force.
  const current = leaves.value[0]!;
  const a = bundle.assignment;
  const assignmentIndex = a === null ? -1 : leaves.value.findIndex((l) => l.version === a.configVersion);
  const inForce = r.attempt('in-force', () => {
    const notes = [checkInForce(bundle.config, '/config', bundle.at, checkpoint.size, 'at')];
    if (a !== null && bundle.assignmentConfig !== undefined && assignmentIndex === 1) notes.push(checkInForce(bundle.assignmentConfig, '/assignmentConfig', a.assignedAt, checkpoint.size, 'the assignment', true));
    return notes.join('; ');
  });
  if (inForce.ok) r.record('in-force', 'PASS', inForce.value);

  // 5: consistency with a later checkpoint.
  checkConsistencyStep(r, published, keys, checkpoint);

  // 6: receipt.
  const assignmentLeaf = assignmentIndex < 0 ? undefined : leaves.value[assignmentIndex];
  const assignmentEvidence = assignmentIndex < 0 ? undefined : evidences[assignmentIndex]?.[1];
  checkReceiptStep(r, bundle, keys, checkpoint, current, assignmentEvidence);

  // 7, 8: commitment and beacon of a committed layer.
  const committed = checkCommitted(r, bundle, current.config, assignmentLeaf?.config);

  // 9: derivation.
  const d = r.attempt('derivation', () => derive(bundle, current, assignmentLeaf, committed));
  if (d.ok) r.record('derivation', d.value.verdict, d.value.message);
  return r.done(d.ok ? d.value.statement : null);
}
