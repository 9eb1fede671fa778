/**
 * `sortition verify BUNDLE`: checks a proof bundle (sortition-proof-bundle/v1, built by GET
 * /v1/proofs or `sortition prove`) offline. No network: the bundle, optionally a trusted key set
 * (--keys, the /.well-known/sortition-keys.json document) and a later checkpoint (--checkpoint, with
 * --consistency: the JSON of GET /v1/log/proof/consistency) are all it reads.
 *
 * Steps (each PASS, FAIL or N/A with a reason; any FAIL fails the bundle):
 *   0 bundle       strict UTF-8 JSON with exactly the v1 fields, lower-case hex, canonical base64url;
 *                  the key set is self-consistent (kid = purpose-hex(SHA-256(key))[0..16), the note
 *                  verifier key is origin+id+key) and, with --keys, equals the trusted keys.
 *   1 checkpoint   the checkpoint note verifies under the checkpoint key, origin = keys.origin.
 *   2 leaf         each bundled config leaf is canonical JSON of a config event whose version is the
 *                  document's and whose hash is SHA-256(RFC 8785 JSON of the document); the config
 *                  version for `at` was created at or before `at` (that no later version was in force
 *                  at `at` is NOT proven: it would need the next version's leaf).
 *   3 inclusion    each leaf is in the checkpoint's tree at its index (RFC 9162).
 *   4 consistency  with --checkpoint: the later checkpoint verifies and extends the bundled one (equal
 *                  roots at equal sizes, else the --consistency proof); N/A without.
 *   5 receipt      the JWS verifies under the receipt key; experiment, unitHash, attrsHash (if
 *                  attributes are bundled), configVersion, phase, variant, slot and issuedAt equal the
 *                  stored assignment; its checkpoint is the bundled one or a prefix of it
 *                  (receiptConsistency) that holds the config leaf. N/A without a receipt.
 *   6 commitment   committed layers: N/A (the service has none yet); a bundle that carries one fails,
 *                  as this verifier cannot check it.
 *   7 derivation   with @sortition/core assign() (peek): the experiment and unit type are the config's;
 *                  bundled attributes are only ones the targeting reads; with a stored assignment A:
 *                  A belongs to the lineage current at `at`, A.assignedAt <= at, A's config version was
 *                  created at or before A.assignedAt, A.layerEpoch is the layer's epoch, and assign()
 *                  WITHOUT a sticky record at A.assignedAt under A's config version gives ASSIGNED with
 *                  A's phase, variant and slot (without attributes, targeting is skipped and said so);
 *                  then assign() at `at` with A as the sticky record gives the answer reported. Without
 *                  a stored assignment, the answer is assign() at `at` without a record.
 */
import { readFile } from 'node:fs/promises';
import { assign, canonicalJson, canonicalUnitId, compileConfig, sha256, toHex, type Assignment, type Attributes, type CompiledConfig, type ConditionDocument, type StickyRecord } from '@sortition/core';
import {
  attrsHash,
  base64urlDecode,
  base64urlEncode,
  formatVerifierKey,
  leafHash,
  parseVerifierKey,
  unitHash,
  verifyCheckpoint,
  verifyConsistency,
  verifyInclusion,
  verifyReceipt,
  type Checkpoint,
  type NoteVerifierKey,
} from '@sortition/proofs';
import { CliError } from '../config-file.js';

export const BUNDLE_FORMAT = 'sortition-proof-bundle/v1';

export type Verdict = 'PASS' | 'FAIL' | 'N/A';
export interface StepResult {
  readonly step: number;
  readonly name: string;
  readonly verdict: Verdict;
  readonly reason: string;
}

export interface VerifyOutcome {
  readonly ok: boolean;
  readonly steps: StepResult[];
  /** What the bundle proves (when step 7 ran). */
  readonly statement: { unit: string; experiment: string; at: string; reason: string; variant: string | null; slot: number | null; phase: string | null; configVersion: number } | null;
}

export const STEP_NAMES = ['bundle', 'checkpoint', 'leaf', 'inclusion', 'consistency', 'receipt', 'commitment', 'derivation'] as const;

interface Evidence {
  document: unknown;
  leafIndex: number;
  leaf: string;
  inclusion: string[];
}
interface StoredAssignment {
  unitType: string;
  unit: string;
  experiment: string;
  lineage: string;
  phase: string;
  variant: string;
  slot: number;
  layerEpoch: number;
  configVersion: number;
  assignedAt: number;
}
interface BundleKey {
  kid: string;
  alg: string;
  purpose: string;
  publicKey: string;
  noteVerifierKey?: string;
}
interface Bundle {
  format: string;
  unit: string;
  unitType: string;
  experiment: string;
  at: number;
  attributes?: Attributes;
  assignment: StoredAssignment | null;
  receipt?: string;
  receiptConsistency?: string[];
  config: Evidence;
  assignmentConfig?: Evidence;
  checkpoint: string;
  keys: { origin: string; keys: BundleKey[] };
  commitment?: unknown;
}

class ShapeError extends Error {}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const HEX32 = /^[0-9a-f]{64}$/;

function fields(v: unknown, path: string, required: readonly string[], optional: readonly string[] = []): Record<string, unknown> {
  if (!isObject(v)) throw new ShapeError(`${path} is not an object`);
  for (const k of required) if (!Object.hasOwn(v, k)) throw new ShapeError(`${path}/${k} is missing`);
  for (const k of Object.keys(v)) if (!required.includes(k) && !optional.includes(k)) throw new ShapeError(`${path}/${k} is not a field of ${BUNDLE_FORMAT}`);
  return v;
}
function str(v: unknown, path: string): string {
  if (typeof v !== 'string') throw new ShapeError(`${path} is not a string`);
  return v;
}
function int(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new ShapeError(`${path} is not a non-negative integer`);
  return v;
}
function hexList(v: unknown, path: string): string[] {
  if (!Array.isArray(v)) throw new ShapeError(`${path} is not an array`);
  return v.map((h, i) => {
    if (typeof h !== 'string' || !HEX32.test(h)) throw new ShapeError(`${path}/${i} is not 64 lower-case hex digits`);
    return h;
  });
}
function evidence(v: unknown, path: string): Evidence {
  const o = fields(v, path, ['document', 'leafIndex', 'leaf', 'inclusion']);
  return { document: o['document'], leafIndex: int(o['leafIndex'], `${path}/leafIndex`), leaf: str(o['leaf'], `${path}/leaf`), inclusion: hexList(o['inclusion'], `${path}/inclusion`) };
}
function storedAssignment(v: unknown): StoredAssignment | null {
  if (v === null) return null;
  const o = fields(v, '/assignment', ['unitType', 'unit', 'experiment', 'lineage', 'phase', 'variant', 'slot', 'layerEpoch', 'configVersion', 'assignedAt']);
  const s = (k: string): string => str(o[k], `/assignment/${k}`);
  const n = (k: string): number => int(o[k], `/assignment/${k}`);
  return { unitType: s('unitType'), unit: s('unit'), experiment: s('experiment'), lineage: s('lineage'), phase: s('phase'), variant: s('variant'), slot: n('slot'), layerEpoch: n('layerEpoch'), configVersion: n('configVersion'), assignedAt: n('assignedAt') };
}
function keySet(v: unknown, path: string): Bundle['keys'] {
  const o = fields(v, path, ['origin', 'keys']);
  if (!Array.isArray(o['keys'])) throw new ShapeError(`${path}/keys is not an array`);
  return {
    origin: str(o['origin'], `${path}/origin`),
    keys: o['keys'].map((k, i) => {
      // The full well-known document (--keys) has more fields: only these are read.
      const p = `${path}/keys/${i}`;
      const f = path === '/keys' ? fields(k, p, ['kid', 'alg', 'purpose', 'publicKey'], ['noteVerifierKey']) : isObject(k) ? k : fields(k, p, []);
      const key: BundleKey = { kid: str(f['kid'], `${p}/kid`), alg: str(f['alg'], `${p}/alg`), purpose: str(f['purpose'], `${p}/purpose`), publicKey: str(f['publicKey'], `${p}/publicKey`) };
      return f['noteVerifierKey'] === undefined ? key : { ...key, noteVerifierKey: str(f['noteVerifierKey'], `${p}/noteVerifierKey`) };
    }),
  };
}

function parseBundle(bytes: Uint8Array): Bundle {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new ShapeError('the file is not valid UTF-8');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ShapeError(`the file is not JSON (${(error as Error).message})`);
  }
  const o = fields(raw, '', ['format', 'unit', 'unitType', 'experiment', 'at', 'assignment', 'config', 'checkpoint', 'keys'], ['attributes', 'receipt', 'receiptConsistency', 'assignmentConfig', 'commitment']);
  if (o['format'] !== BUNDLE_FORMAT) throw new ShapeError(`/format is not "${BUNDLE_FORMAT}"`);
  const bundle: Bundle = {
    format: BUNDLE_FORMAT,
    unit: str(o['unit'], '/unit'),
    unitType: str(o['unitType'], '/unitType'),
    experiment: str(o['experiment'], '/experiment'),
    at: int(o['at'], '/at'),
    assignment: storedAssignment(o['assignment']),
    config: evidence(o['config'], '/config'),
    checkpoint: str(o['checkpoint'], '/checkpoint'),
    keys: keySet(o['keys'], '/keys'),
  };
  if (o['attributes'] !== undefined) {
    const a = fields(o['attributes'], '/attributes', [], Object.keys(isObject(o['attributes']) ? o['attributes'] : {}));
    for (const [k, v] of Object.entries(a)) if (v !== null && !['string', 'number', 'boolean'].includes(typeof v)) throw new ShapeError(`/attributes/${k} is not a string, number, boolean or null`);
    bundle.attributes = a as Attributes;
  }
  if (o['receipt'] !== undefined) bundle.receipt = str(o['receipt'], '/receipt');
  if (o['receiptConsistency'] !== undefined) {
    if (bundle.receipt === undefined) throw new ShapeError('/receiptConsistency is present without /receipt');
    bundle.receiptConsistency = hexList(o['receiptConsistency'], '/receiptConsistency');
  }
  if (o['assignmentConfig'] !== undefined) bundle.assignmentConfig = evidence(o['assignmentConfig'], '/assignmentConfig');
  if (o['commitment'] !== undefined) bundle.commitment = o['commitment'];
  return bundle;
}

/** Checks the key set: known purposes, one key each, kid derived from the key, canonical encodings. */
function checkKeys(keys: Bundle['keys']): { note: NoteVerifierKey; receipt: Record<string, Uint8Array> } {
  let note: NoteVerifierKey | undefined;
  const receipt: Record<string, Uint8Array> = {};
  for (const [i, k] of keys.keys.entries()) {
    const at = `/keys/keys/${i}`;
    if (k.alg !== 'Ed25519') throw new ShapeError(`${at}/alg is not Ed25519`);
    const pk = base64urlDecode(k.publicKey);
    if (pk?.length !== 32 || base64urlEncode(pk) !== k.publicKey) throw new ShapeError(`${at}/publicKey is not canonical base64url of 32 bytes`);
    if (k.kid !== `${k.purpose}-${toHex(sha256(pk)).slice(0, 16)}`) throw new ShapeError(`${at}/kid is not "${k.purpose}-" and the first 16 hex digits of SHA-256 of the key`);
    if (k.purpose === 'checkpoint') {
      if (note !== undefined) throw new ShapeError(`${at}: more than one checkpoint key`);
      note = { name: keys.origin, publicKey: pk };
      const expected = formatVerifierKey(note);
      if (k.noteVerifierKey !== expected || !parseVerifierKey(expected).ok) throw new ShapeError(`${at}/noteVerifierKey is not ${expected}`);
    } else if (k.purpose === 'receipt') {
      if (k.noteVerifierKey !== undefined) throw new ShapeError(`${at}/noteVerifierKey is set on a receipt key`);
      receipt[k.kid] = pk;
    } else throw new ShapeError(`${at}/purpose ${JSON.stringify(k.purpose)} is not checkpoint or receipt`);
  }
  if (note === undefined) throw new ShapeError('/keys has no checkpoint key');
  return { note, receipt };
}

interface Leaf {
  version: number;
  createdAt: number;
  config: CompiledConfig;
}

function checkLeaf(e: Evidence, path: string): Leaf {
  let event: unknown;
  try {
    event = JSON.parse(e.leaf);
  } catch {
    throw new Error(`${path}/leaf is not JSON`);
  }
  if (canonicalJson(event) !== e.leaf) throw new Error(`${path}/leaf is not RFC 8785 canonical JSON`);
  const o = fields(event, `${path}/leaf`, ['type', 'version', 'hash', 'prev', 'createdAt', 'author', 'reason']);
  if (o['type'] !== 'config') throw new Error(`${path}/leaf is not a config event`);
  const version = int(o['version'], `${path}/leaf version`);
  const createdAt = int(o['createdAt'], `${path}/leaf createdAt`);
  const hash = toHex(sha256(new TextEncoder().encode(canonicalJson(e.document))));
  if (o['hash'] !== hash) throw new Error(`${path}: the leaf's config hash ${String(o['hash'])} is not SHA-256 of the bundled document's canonical JSON (${hash})`);
  const doc = isObject(e.document) ? e.document : {};
  if (doc['version'] !== version) throw new Error(`${path}: the document's version ${String(doc['version'])} is not the leaf's version ${version}`);
  const compiled = compileConfig(e.document);
  if (!compiled.ok) throw new Error(`${path}/document is not a valid config: ${compiled.issues[0]?.path ?? ''} ${compiled.issues[0]?.message ?? ''}`);
  return { version, createdAt, config: compiled.config };
}

function conditionAttributes(condition: ConditionDocument | undefined, out = new Set<string>()): Set<string> {
  if (condition === undefined) return out;
  if ('all' in condition) condition.all.forEach((c) => conditionAttributes(c, out));
  else if ('any' in condition) condition.any.forEach((c) => conditionAttributes(c, out));
  else if ('not' in condition) conditionAttributes(condition.not, out);
  else out.add(condition.attr);
  return out;
}

/** The attrsHash input: the targeting attributes, keys sorted (as the service computes it). */
function usedAttributes(condition: ConditionDocument | undefined, attributes: Attributes): Attributes {
  const out: Record<string, Attributes[string]> = {};
  for (const name of [...conditionAttributes(condition)].sort()) if (Object.hasOwn(attributes, name) && attributes[name] !== undefined) out[name] = attributes[name];
  return out;
}

/** The same config with one experiment's targeting removed (to re-derive without attributes). */
function withoutTargeting(doc: unknown, experiment: string): CompiledConfig {
  const d = structuredClone(doc) as { experiments: { key: string; targeting?: unknown }[] };
  for (const e of d.experiments) if (e.key === experiment) delete e.targeting;
  const compiled = compileConfig(d);
  if (!compiled.ok) throw new Error('the config does not compile without targeting');
  return compiled.config;
}

function lineageAt(config: CompiledConfig, experiment: string, now: number): string | null {
  const e = config.experiments.get(experiment);
  if (e === undefined) return null;
  for (let i = e.phases.length - 1; i >= 0; i--) {
    const phase = e.phases[i]!;
    if (phase.startsAt <= now) return e.phases[phase.lineageStart]!.id;
  }
  return null;
}

const iso = (ms: number): string => (Number.isFinite(new Date(ms).getTime()) ? new Date(ms).toISOString() : String(ms));
const fromHex = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'));

export interface VerifyInput {
  readonly bundle: Uint8Array;
  /** A trusted key set (the /.well-known/sortition-keys.json document), parsed JSON. */
  readonly trustedKeys?: unknown;
  /** A later signed checkpoint (note text). */
  readonly laterCheckpoint?: string;
  /** The JSON of GET /v1/log/proof/consistency between the two checkpoints. */
  readonly consistency?: unknown;
}

export function verifyBundle(input: VerifyInput): VerifyOutcome {
  const steps: StepResult[] = [];
  const record = (step: number, verdict: Verdict, reason: string): void => {
    steps.push({ step, name: STEP_NAMES[step]!, verdict, reason });
  };
  const done = (statement: VerifyOutcome['statement'] = null): VerifyOutcome => {
    const failed = steps.find((x) => x.verdict === 'FAIL');
    for (let s = steps.length; s < STEP_NAMES.length; s++) record(s, 'N/A', `not checked: step ${failed?.step ?? '?'} (${failed?.name ?? '?'}) failed`);
    return { ok: steps.every((s) => s.verdict !== 'FAIL'), steps, statement };
  };
  const attempt = <T>(step: number, f: () => T): { ok: true; value: T } | { ok: false } => {
    try {
      return { ok: true, value: f() };
    } catch (error) {
      record(step, 'FAIL', (error as Error).message);
      return { ok: false };
    }
  };

  // 0: bundle shape and key set.
  const parsed = attempt(0, () => {
    const bundle = parseBundle(input.bundle);
    const keys = checkKeys(bundle.keys);
    if (input.trustedKeys !== undefined) {
      const trusted = keySet(input.trustedKeys, '--keys');
      const mine = canonicalJson(bundle.keys);
      const theirs = canonicalJson({ origin: trusted.origin, keys: trusted.keys.filter((k) => bundle.keys.keys.some((b) => b.kid === k.kid)) });
      if (mine !== theirs || trusted.keys.length === 0) throw new ShapeError('the bundled keys are not the trusted keys of --keys');
    }
    return { bundle, keys };
  });
  if (!parsed.ok) return done();
  const { bundle, keys } = parsed.value;
  record(0, 'PASS', `${BUNDLE_FORMAT}: unit ${JSON.stringify(bundle.unit)}, experiment ${bundle.experiment}, at ${iso(bundle.at)}; keys ${input.trustedKeys === undefined ? 'as bundled' : 'match --keys'}`);

  // 1: checkpoint signature.
  const cp = verifyCheckpoint(bundle.checkpoint, [keys.note], { origin: bundle.keys.origin });
  if (!cp.ok) {
    record(1, 'FAIL', `checkpoint: ${cp.reason}`);
    return done();
  }
  const checkpoint: Checkpoint = cp.checkpoint;
  record(1, 'PASS', `checkpoint of size ${checkpoint.size} signed by ${keys.note.name}`);

  // 2: leaves.
  const evidences: [string, Evidence][] = [['/config', bundle.config], ...(bundle.assignmentConfig === undefined ? [] : [['/assignmentConfig', bundle.assignmentConfig] as [string, Evidence]])];
  const leaves = attempt(2, () => {
    const out = evidences.map(([path, e]) => checkLeaf(e, path));
    const current = out[0]!;
    if (current.createdAt > bundle.at) throw new Error(`/config: version ${current.version} was created at ${iso(current.createdAt)}, after at (${iso(bundle.at)})`);
    if (out[1] !== undefined && out[1].version === current.version) throw new Error('/assignmentConfig repeats the config version of /config');
    return out;
  });
  if (!leaves.ok) return done();
  record(2, 'PASS', leaves.value.map((l) => `config version ${l.version} (created ${iso(l.createdAt)}) matches its leaf`).join('; '));

  // 3: inclusion.
  for (const [path, e] of evidences) {
    const r = verifyInclusion(e.leafIndex, checkpoint.size, leafHash(new TextEncoder().encode(e.leaf)), e.inclusion.map(fromHex), checkpoint.rootHash);
    if (!r.ok) {
      record(3, 'FAIL', `${path}: leaf ${e.leafIndex} is not in the checkpoint's tree: ${r.reason}`);
      return done();
    }
  }
  record(3, 'PASS', evidences.map(([, e]) => `leaf ${e.leafIndex}`).join(', ') + ` included in the tree of size ${checkpoint.size}`);

  // 4: consistency with a later checkpoint.
  if (input.laterCheckpoint === undefined) record(4, 'N/A', 'no later checkpoint given (--checkpoint FILE)');
  else {
    const later = verifyCheckpoint(input.laterCheckpoint, [keys.note], { origin: bundle.keys.origin });
    if (!later.ok) record(4, 'FAIL', `--checkpoint: ${later.reason}`);
    else {
      const l = later.checkpoint;
      const same = toHex(l.rootHash) === toHex(checkpoint.rootHash);
      if (l.size === checkpoint.size) record(4, same ? 'PASS' : 'FAIL', same ? `the later checkpoint has the same size and root` : `two checkpoints of size ${l.size} with different roots: the log forked`);
      else if (input.consistency === undefined) record(4, 'N/A', `no consistency proof given (--consistency FILE from GET /v1/log/proof/consistency?from=${Math.min(l.size, checkpoint.size)}&to=${Math.max(l.size, checkpoint.size)})`);
      else {
        const r = attempt(4, () => {
          const o = fields(input.consistency, '--consistency', ['proof'], ['from', 'to', 'fromRoot', 'toRoot']);
          const [a, b] = l.size < checkpoint.size ? [l, checkpoint] : [checkpoint, l];
          const v = verifyConsistency(a.size, b.size, hexList(o['proof'], '--consistency/proof').map(fromHex), a.rootHash, b.rootHash);
          if (!v.ok) throw new Error(`the checkpoints of sizes ${a.size} and ${b.size} are not consistent: ${v.reason}`);
          return `the checkpoint of size ${b.size} extends the one of size ${a.size}`;
        });
        if (r.ok) record(4, 'PASS', r.value);
      }
    }
  }

  const current = leaves.value[0]!;
  const assignmentLeaf = bundle.assignment === null ? undefined : leaves.value.find((l) => l.version === bundle.assignment?.configVersion);
  const assignmentEvidence = bundle.assignment === null ? undefined : evidences.find((_, i) => leaves.value[i]?.version === bundle.assignment?.configVersion)?.[1];
  const experiment = current.config.experiments.get(bundle.experiment);

  // 5: receipt.
  if (bundle.receipt === undefined) record(5, 'N/A', 'no receipt in the bundle (attach one with prove --receipt)');
  else {
    const token = bundle.receipt;
    const r = attempt(5, () => {
      const v = verifyReceipt(token, keys.receipt);
      if (!v.ok) throw new Error(`receipt: ${v.reason}`);
      const p = v.payload;
      const a = bundle.assignment;
      if (a === null) throw new Error('receipt: the bundle has no stored assignment for the receipt to match');
      const mismatch = (what: string, got: unknown, want: unknown): Error => new Error(`receipt: ${what} is ${JSON.stringify(got)}, the bundle says ${JSON.stringify(want)}`);
      if (p.experiment !== bundle.experiment) throw mismatch('experiment', p.experiment, bundle.experiment);
      const uh = unitHash(bundle.unit);
      if (p.unitHash !== uh) throw mismatch('unitHash', p.unitHash, uh);
      if (bundle.attributes !== undefined) {
        const ah = attrsHash(usedAttributes(experiment?.targeting, bundle.attributes));
        if (p.attrsHash !== ah) throw mismatch('attrsHash', p.attrsHash, ah);
      }
      for (const k of ['configVersion', 'phase', 'variant', 'slot'] as const) if (p[k] !== a[k]) throw mismatch(k, p[k], a[k]);
      if (p.issuedAt !== a.assignedAt) throw mismatch('issuedAt', p.issuedAt, a.assignedAt);
      if (assignmentEvidence === undefined) throw new Error(`receipt: config version ${p.configVersion} is not bundled`);
      if (p.checkpoint.size <= assignmentEvidence.leafIndex) throw new Error(`receipt: its checkpoint (size ${p.checkpoint.size}) does not contain config leaf ${assignmentEvidence.leafIndex}`);
      if (p.checkpoint.size > checkpoint.size) throw new Error(`receipt: its checkpoint (size ${p.checkpoint.size}) is later than the bundled one (${checkpoint.size})`);
      if (p.checkpoint.size === checkpoint.size) {
        if (bundle.receiptConsistency !== undefined && bundle.receiptConsistency.length > 0) throw new Error('receipt: receiptConsistency must be empty for equal sizes');
        if (p.checkpoint.rootHash !== toHex(checkpoint.rootHash)) throw new Error(`receipt: its checkpoint root differs from the bundled checkpoint of the same size`);
      } else {
        const c = verifyConsistency(p.checkpoint.size, checkpoint.size, (bundle.receiptConsistency ?? []).map(fromHex), fromHex(p.checkpoint.rootHash), checkpoint.rootHash);
        if (!c.ok) throw new Error(`receipt: its checkpoint (size ${p.checkpoint.size}) is not consistent with the bundled one: ${c.reason}`);
      }
      return `signed by ${v.header.kid}: ${p.experiment} ${p.phase}/${p.variant}, slot ${p.slot}, config version ${p.configVersion}, issued ${iso(p.issuedAt)}${bundle.attributes === undefined ? ' (attrsHash not checked: no attributes bundled)' : ''}`;
    });
    if (r.ok) record(5, 'PASS', r.value);
  }

  // 6: commitment / beacon.
  if (bundle.commitment === undefined) record(6, 'N/A', 'not applicable (layer is not committed)');
  else record(6, 'FAIL', 'the bundle carries a commitment, which this verifier cannot check yet');

  // 7: derivation.
  let statement: VerifyOutcome['statement'] = null;
  const d = attempt(7, () => {
    if (experiment === undefined) throw new Error(`experiment ${bundle.experiment} is not in config version ${current.version}`);
    if (experiment.layer.unit !== bundle.unitType) throw new Error(`unitType ${bundle.unitType} is not the layer's unit type ${experiment.layer.unit}`);
    if (canonicalUnitId(bundle.unit) !== bundle.unit) throw new Error(`unit ${JSON.stringify(bundle.unit)} is not a canonical unit id`);
    const read = conditionAttributes(experiment.targeting);
    const extra = Object.keys(bundle.attributes ?? {}).filter((k) => !read.has(k));
    if (extra.length > 0) throw new Error(`attributes ${extra.join(', ')} are not read by the experiment's targeting`);
    const units = { [bundle.unitType]: bundle.unit };
    const attributes = bundle.attributes === undefined ? {} : { attributes: bundle.attributes };
    const notes: string[] = [];
    let sticky: StickyRecord | null = null;
    const a = bundle.assignment;
    if (a !== null) {
      if (a.unitType !== bundle.unitType || a.unit !== bundle.unit || a.experiment !== bundle.experiment) throw new Error('the stored assignment is for another unit or experiment');
      if (assignmentLeaf === undefined) throw new Error(`the stored assignment's config version ${a.configVersion} is not bundled`);
      if (a.assignedAt > bundle.at) throw new Error(`the stored assignment (${iso(a.assignedAt)}) is later than at (${iso(bundle.at)})`);
      if (assignmentLeaf.createdAt > a.assignedAt) throw new Error(`config version ${a.configVersion} was created after the assignment`);
      const lineage = lineageAt(current.config, bundle.experiment, bundle.at);
      if (a.lineage !== lineage) throw new Error(`the stored assignment's lineage ${a.lineage} is not the lineage current at ${iso(bundle.at)} (${String(lineage)})`);
      const ae = assignmentLeaf.config.experiments.get(bundle.experiment);
      if (ae === undefined) throw new Error(`experiment ${bundle.experiment} is not in config version ${a.configVersion}`);
      if (ae.layer.epoch !== a.layerEpoch) throw new Error(`the stored layerEpoch ${a.layerEpoch} is not the layer's epoch ${ae.layer.epoch}`);
      const targeted = ae.targeting !== undefined && bundle.attributes === undefined;
      const then = assign(targeted ? withoutTargeting(bundle.assignmentConfig?.document ?? bundle.config.document, bundle.experiment) : assignmentLeaf.config, { experiment: bundle.experiment, units, ...attributes, now: a.assignedAt, sticky: null, mode: 'peek' });
      if (then.reason !== 'ASSIGNED' || then.variant !== a.variant || then.slot !== a.slot || then.phase !== a.phase) {
        throw new Error(`re-deriving at the assignment time (${iso(a.assignedAt)}, config version ${a.configVersion}) gives ${then.reason} ${then.phase ?? '-'}/${then.variant ?? '-'} slot ${String(then.slot)}, not the stored ${a.phase}/${a.variant} slot ${a.slot}`);
      }
      notes.push(`stored ${a.phase}/${a.variant} (slot ${a.slot}) re-derived at ${iso(a.assignedAt)} under config version ${a.configVersion}${targeted ? ' (targeting not checked: no attributes bundled)' : ''}`);
      sticky = { experiment: a.experiment, phase: a.phase, variant: a.variant, slot: a.slot, layerEpoch: a.layerEpoch, configVersion: a.configVersion, assignedAt: a.assignedAt };
    }
    const now: Assignment = assign(current.config, { experiment: bundle.experiment, units, ...attributes, now: bundle.at, sticky, mode: 'peek' });
    if (now.reason === 'ERROR') throw new Error(`assign() at ${iso(bundle.at)}: ${now.error?.message ?? 'error'}`);
    if (a !== null && now.slot !== a.slot) throw new Error(`the unit's slot is ${String(now.slot)}, the stored assignment says ${a.slot}`);
    statement = { unit: bundle.unit, experiment: bundle.experiment, at: iso(bundle.at), reason: now.reason, variant: now.variant, slot: now.slot, phase: now.phase, configVersion: now.configVersion };
    notes.push(`at ${iso(bundle.at)} under config version ${current.version}: ${now.reason}${now.variant === null ? '' : ` ${now.phase ?? '-'}/${now.variant}`}, slot ${String(now.slot)}`);
    return notes.join('; ');
  });
  if (d.ok) record(7, 'PASS', d.value);
  return done(statement);
}

export function formatVerify(outcome: VerifyOutcome): string {
  const lines = outcome.steps.map((s) => `${s.verdict.padEnd(4)} ${s.step} ${s.name}: ${s.reason}`);
  const failed = outcome.steps.find((s) => s.verdict === 'FAIL');
  lines.push('', failed === undefined ? 'VERIFIED' : `FAILED at step ${failed.step} (${failed.name})`);
  return lines.join('\n');
}

export interface VerifyFiles {
  readonly bundle: string;
  readonly keys?: string | undefined;
  readonly checkpoint?: string | undefined;
  readonly consistency?: string | undefined;
}

async function readInput(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new CliError('FILE_UNREADABLE', `${what} ${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { cause: error });
  }
}

function json(buffer: Buffer, file: string): unknown {
  try {
    return JSON.parse(buffer.toString('utf8'));
  } catch (error) {
    throw new CliError('FILE_UNPARSABLE', `${file}: not JSON`, { cause: error });
  }
}

/** Reads the verify command's files (no network). */
export async function readVerifyFiles(files: VerifyFiles): Promise<{ bundle: Uint8Array; trustedKeys?: unknown; laterCheckpoint?: string; consistency?: unknown }> {
  const bundle = new Uint8Array(await readInput(files.bundle, 'bundle'));
  return {
    bundle,
    ...(files.keys === undefined ? {} : { trustedKeys: json(await readInput(files.keys, '--keys'), files.keys) }),
    ...(files.checkpoint === undefined ? {} : { laterCheckpoint: (await readInput(files.checkpoint, '--checkpoint')).toString('utf8') }),
    ...(files.consistency === undefined ? {} : { consistency: json(await readInput(files.consistency, '--consistency'), files.consistency) }),
  };
}
