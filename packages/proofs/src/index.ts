/**
 * @sortition/proofs: offline verification for Sortition. RFC 9162 Merkle proofs, C2SP signed
 * checkpoints, Ed25519 JWS receipts, committed layer seeds and drand beacons, and verifyBundle()
 * (the whole `sortition verify`, as data). Pure and isomorphic: no I/O, no clock, no randomness;
 * keys, times and beacon data are parameters.
 */
export {
  EMPTY_ROOT,
  HASH_SIZE,
  consistencyProof,
  inclusionProof,
  leafHash,
  nodeHash,
  rootFromInclusionProof,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from './merkle.js';
export type { VerifyResult } from './merkle.js';
export {
  MAX_NOTE_SIGNATURES,
  formatCheckpoint,
  formatVerifierKey,
  noteKeyId,
  openNote,
  parseCheckpoint,
  parseNote,
  parseVerifierKey,
  signCheckpoint,
  signNote,
  verifyCheckpoint,
} from './checkpoint.js';
export type { Checkpoint, NoteSignature, NoteSignerKey, NoteVerifierKey } from './checkpoint.js';
export { RECEIPT_ALG, RECEIPT_TYP, UNIT_DOMAIN, attrsHash, receiptPayloadError, signReceipt, unitHash, verifyReceipt } from './receipt.js';
export type { ReceiptHeader, ReceiptKeySet, ReceiptPayload, ReceiptSigningKey } from './receipt.js';
export {
  BEACON_RANDOMNESS_SIZE,
  LAYER_KEY_DOMAIN,
  OPERATOR_BEACON_DOMAIN,
  SEED_DOMAIN,
  SEED_SIZE,
  deriveLayerKey,
  layerKeyMessage,
  operatorBeaconRandomness,
  seedCommitment,
  verifyCommittedLayer,
  verifySeedReveal,
} from './commitment.js';
export type { CommittedLayerReveal } from './commitment.js';
export { QUICKNET, QUICKNET_DST, roundAt, roundMessage, roundTime, verifyBeacon } from './drand.js';
export type { DrandBeacon, DrandChain } from './drand.js';
export { base64Decode, base64Encode, base64urlDecode, base64urlEncode } from './bytes.js';
export { verifyBundle } from './bundle/verify.js';
export type { PublishedMaterial } from './bundle/verify.js';
export { STEP_NAMES, formatVerification } from './bundle/steps.js';
export type { BundleStatement, BundleVerification, StepName, Verdict, VerificationStep } from './bundle/steps.js';
export { BUNDLE_FORMAT, BundleShapeError, parseBundle } from './bundle/format.js';
export type { BundleAssignment, BundleKey, BundleKeySet, CommittedEvidence, ConfigEvidence, LeafEvidence, ProofBundle } from './bundle/format.js';
export { LEAF_TYPES, leafHashOf } from './bundle/leaves.js';
export type { LeafType } from './bundle/leaves.js';
