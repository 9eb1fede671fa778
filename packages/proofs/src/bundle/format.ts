/**
 * The proof bundle format "sortition-proof-bundle/v1" and its strict parser. A bundle is what GET
 * /v1/proofs (or `sortition prove`) returns for one unit, experiment and time:
 *
 *   {
 *     format: "sortition-proof-bundle/v1",
 *     unit, unitType, experiment,
 *     at: milliseconds since the epoch (the question asked; signed by nobody),
 *     attributes?: the targeting attributes (attached by the caller),
 *     assignment: the stored first assignment of the unit's lineage current at `at`, or null,
 *     receipt?: compact JWS, receiptConsistency?: hex[] (from the receipt's checkpoint to `checkpoint`),
 *     config: evidence of the config version in force at `at`,
 *     assignmentConfig?: the same for the stored assignment's config version when it differs,
 *     checkpoint: the signed checkpoint every inclusion proof leads to (C2SP note text),
 *     keys: {origin, keys: [{kid, alg, purpose, publicKey, noteVerifierKey?}]} (validity windows are
 *           read from the published key set, when the verifier is given it),
 *     committed?: {launch, beacon?, reveal?, beaconStatus?}: log leaves of the experiment's committed
 *                 layer (§4.1) and the service's word on the beacon ("drand-verified" or "operator-supplied")
 *   }
 *   leaf evidence = {leafIndex, leaf (the leaf text, verbatim), inclusion: hex[] (to `checkpoint`)}
 *   evidence      = leaf evidence + {document, next?: leaf evidence, rest?: leaf evidence[]}
 *                   next: the leaf of the following config version (the upper bound of "in force");
 *                   rest: every leaf after this one in the checkpoint's tree (none is a config
 *                   version: this one was the latest there)
 *
 * Parsing is strict: unknown fields, wrong types and non-hex hashes are refused with the JSON
 * pointer of the field at fault, so every byte is either checked or part of the statement.
 */
import type { Attributes } from '@sortition/core';
import { utf8Decode } from '../bytes.js';

export const BUNDLE_FORMAT = 'sortition-proof-bundle/v1';

export interface LeafEvidence {
  readonly leafIndex: number;
  readonly leaf: string;
  readonly inclusion: readonly string[];
}

export interface ConfigEvidence extends LeafEvidence {
  readonly document: unknown;
  readonly next?: LeafEvidence;
  readonly rest?: readonly LeafEvidence[];
}

export interface BundleAssignment {
  readonly unitType: string;
  readonly unit: string;
  readonly experiment: string;
  readonly lineage: string;
  readonly phase: string;
  readonly variant: string;
  readonly slot: number;
  readonly layerEpoch: number;
  readonly configVersion: number;
  readonly assignedAt: number;
}

export interface BundleKey {
  readonly kid: string;
  readonly alg: string;
  readonly purpose: string;
  readonly publicKey: string;
  readonly noteVerifierKey?: string;
  /** Unix ms from which the key signs (its creation). */
  readonly notBefore?: number;
  /** Unix ms at which the key was rotated out (it signs nothing issued later); absent while current. */
  readonly notAfter?: number;
}

export interface BundleKeySet {
  readonly origin: string;
  readonly keys: readonly BundleKey[];
}

export interface CommittedEvidence {
  readonly launch: LeafEvidence;
  readonly beacon?: LeafEvidence;
  readonly reveal?: LeafEvidence;
  /** What the service says of the beacon; the verifier checks it against the beacon leaf. */
  readonly beaconStatus?: 'drand-verified' | 'operator-supplied';
}

export interface ProofBundle {
  readonly format: typeof BUNDLE_FORMAT;
  readonly unit: string;
  readonly unitType: string;
  readonly experiment: string;
  readonly at: number;
  readonly attributes?: Attributes;
  readonly assignment: BundleAssignment | null;
  readonly receipt?: string;
  readonly receiptConsistency?: readonly string[];
  readonly config: ConfigEvidence;
  readonly assignmentConfig?: ConfigEvidence;
  readonly checkpoint: string;
  readonly keys: BundleKeySet;
  readonly committed?: CommittedEvidence;
}

/** A structural problem in a bundle or in published material; the message starts with a JSON pointer. */
export class BundleShapeError extends Error {
  readonly code = 'BUNDLE_SHAPE';
}

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const HEX32 = /^[0-9a-f]{64}$/;

export function fields(v: unknown, path: string, required: readonly string[], optional: readonly string[] = []): Record<string, unknown> {
  if (!isObject(v)) throw new BundleShapeError(`${path || '/'} is not an object`);
  for (const k of required) if (!Object.hasOwn(v, k)) throw new BundleShapeError(`${path}/${k} is missing`);
  for (const k of Object.keys(v)) if (!required.includes(k) && !optional.includes(k)) throw new BundleShapeError(`${path}/${k} is not a field of ${BUNDLE_FORMAT}`);
  return v;
}

export function str(v: unknown, path: string): string {
  if (typeof v !== 'string') throw new BundleShapeError(`${path} is not a string`);
  return v;
}

export function int(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new BundleShapeError(`${path} is not a non-negative integer`);
  return v;
}

export function hexList(v: unknown, path: string): string[] {
  if (!Array.isArray(v)) throw new BundleShapeError(`${path} is not an array`);
  return v.map((h, i) => {
    if (typeof h !== 'string' || !HEX32.test(h)) throw new BundleShapeError(`${path}/${i} is not 64 lower-case hex digits`);
    return h;
  });
}

function leafEvidence(v: unknown, path: string): LeafEvidence {
  const o = fields(v, path, ['leafIndex', 'leaf', 'inclusion']);
  return { leafIndex: int(o['leafIndex'], `${path}/leafIndex`), leaf: str(o['leaf'], `${path}/leaf`), inclusion: hexList(o['inclusion'], `${path}/inclusion`) };
}

function configEvidence(v: unknown, path: string): ConfigEvidence {
  const o = fields(v, path, ['document', 'leafIndex', 'leaf', 'inclusion'], ['next', 'rest']);
  const base = { document: o['document'], ...leafEvidence({ leafIndex: o['leafIndex'], leaf: o['leaf'], inclusion: o['inclusion'] }, path) };
  if (o['next'] !== undefined && o['rest'] !== undefined) throw new BundleShapeError(`${path} has both next and rest`);
  if (o['next'] !== undefined) return { ...base, next: leafEvidence(o['next'], `${path}/next`) };
  if (o['rest'] !== undefined) {
    const rest = o['rest'];
    if (!Array.isArray(rest)) throw new BundleShapeError(`${path}/rest is not an array`);
    return { ...base, rest: rest.map((r, i) => leafEvidence(r, `${path}/rest/${i}`)) };
  }
  return base;
}

function storedAssignment(v: unknown): BundleAssignment | null {
  if (v === null) return null;
  const o = fields(v, '/assignment', ['unitType', 'unit', 'experiment', 'lineage', 'phase', 'variant', 'slot', 'layerEpoch', 'configVersion', 'assignedAt']);
  const s = (k: string): string => str(o[k], `/assignment/${k}`);
  const n = (k: string): number => int(o[k], `/assignment/${k}`);
  return { unitType: s('unitType'), unit: s('unit'), experiment: s('experiment'), lineage: s('lineage'), phase: s('phase'), variant: s('variant'), slot: n('slot'), layerEpoch: n('layerEpoch'), configVersion: n('configVersion'), assignedAt: n('assignedAt') };
}

const KEY_FIELDS = ['kid', 'alg', 'purpose', 'publicKey'];
// Validity windows come from the published key set only: a bundle's own keys are the bundle
// author's word, so windows there would prove nothing.
const KEY_OPTIONAL = ['noteVerifierKey'];

/**
 * A key set: the bundle's own (strict) or a published /.well-known/sortition-keys.json document
 * (`published`: other fields, such as jwk and created, are allowed and ignored).
 */
export function parseKeySet(v: unknown, path: string, published = false): BundleKeySet {
  const o = published ? fields(v, path, ['origin', 'keys'], Object.keys(isObject(v) ? v : {})) : fields(v, path, ['origin', 'keys']);
  if (!Array.isArray(o['keys'])) throw new BundleShapeError(`${path}/keys is not an array`);
  return {
    origin: str(o['origin'], `${path}/origin`),
    keys: o['keys'].map((k, i): BundleKey => {
      const p = `${path}/keys/${i}`;
      const f = published ? fields(k, p, KEY_FIELDS, Object.keys(isObject(k) ? k : {})) : fields(k, p, KEY_FIELDS, KEY_OPTIONAL);
      const key: { -readonly [K in keyof BundleKey]: BundleKey[K] } = { kid: str(f['kid'], `${p}/kid`), alg: str(f['alg'], `${p}/alg`), purpose: str(f['purpose'], `${p}/purpose`), publicKey: str(f['publicKey'], `${p}/publicKey`) };
      if (f['noteVerifierKey'] !== undefined) key.noteVerifierKey = str(f['noteVerifierKey'], `${p}/noteVerifierKey`);
      if (published && f['notBefore'] !== undefined) key.notBefore = int(f['notBefore'], `${p}/notBefore`);
      // The published document says null for a current key.
      if (published && f['notAfter'] !== undefined && f['notAfter'] !== null) key.notAfter = int(f['notAfter'], `${p}/notAfter`);
      return key;
    }),
  };
}

function committedEvidence(v: unknown): CommittedEvidence {
  const o = fields(v, '/committed', ['launch'], ['beacon', 'reveal', 'beaconStatus']);
  const status = o['beaconStatus'];
  if (status !== undefined && status !== 'drand-verified' && status !== 'operator-supplied') throw new BundleShapeError('/committed/beaconStatus is not "drand-verified" or "operator-supplied"');
  return {
    ...(status === undefined ? {} : { beaconStatus: status }),
    launch: leafEvidence(o['launch'], '/committed/launch'),
    ...(o['beacon'] === undefined ? {} : { beacon: leafEvidence(o['beacon'], '/committed/beacon') }),
    ...(o['reveal'] === undefined ? {} : { reveal: leafEvidence(o['reveal'], '/committed/reveal') }),
  };
}

/** The JSON value of a bundle given as bytes (strict UTF-8), text, or an already parsed value. */
function jsonValue(input: Uint8Array | string | object): unknown {
  if (!(input instanceof Uint8Array) && typeof input !== 'string') return input;
  const text = typeof input === 'string' ? input : utf8Decode(input);
  if (text === undefined) throw new BundleShapeError('the bundle is not valid UTF-8');
  try {
    return JSON.parse(text.startsWith('\ufeff') ? text.slice(1) : text) as unknown;
  } catch (error) {
    throw new BundleShapeError(`the bundle is not JSON (${(error as Error).message})`, { cause: error });
  }
}

/** Parses and shape-checks a bundle; throws BundleShapeError naming the field at fault. */
export function parseBundle(input: Uint8Array | string | object): ProofBundle {
  const raw = jsonValue(input);
  const o = fields(raw, '', ['format', 'unit', 'unitType', 'experiment', 'at', 'assignment', 'config', 'checkpoint', 'keys'], ['attributes', 'receipt', 'receiptConsistency', 'assignmentConfig', 'committed']);
  if (o['format'] !== BUNDLE_FORMAT) throw new BundleShapeError(`/format is not "${BUNDLE_FORMAT}"`);
  const bundle: { -readonly [K in keyof ProofBundle]: ProofBundle[K] } = {
    format: BUNDLE_FORMAT,
    unit: str(o['unit'], '/unit'),
    unitType: str(o['unitType'], '/unitType'),
    experiment: str(o['experiment'], '/experiment'),
    at: int(o['at'], '/at'),
    assignment: storedAssignment(o['assignment']),
    config: configEvidence(o['config'], '/config'),
    checkpoint: str(o['checkpoint'], '/checkpoint'),
    keys: parseKeySet(o['keys'], '/keys'),
  };
  if (o['attributes'] !== undefined) {
    const a = fields(o['attributes'], '/attributes', [], Object.keys(isObject(o['attributes']) ? o['attributes'] : {}));
    for (const [k, v] of Object.entries(a)) if (v !== null && !['string', 'number', 'boolean'].includes(typeof v)) throw new BundleShapeError(`/attributes/${k} is not a string, number, boolean or null`);
    bundle.attributes = a as Attributes;
  }
  if (o['receipt'] !== undefined) bundle.receipt = str(o['receipt'], '/receipt');
  if (o['receiptConsistency'] !== undefined) {
    if (bundle.receipt === undefined) throw new BundleShapeError('/receiptConsistency is present without /receipt');
    bundle.receiptConsistency = hexList(o['receiptConsistency'], '/receiptConsistency');
  }
  if (o['assignmentConfig'] !== undefined) bundle.assignmentConfig = configEvidence(o['assignmentConfig'], '/assignmentConfig');
  if (o['committed'] !== undefined) bundle.committed = committedEvidence(o['committed']);
  return bundle;
}
