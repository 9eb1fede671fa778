/**
 * The proof side of the service: signing keys, the transparency log of config history, and
 * assignment receipts.
 *
 * Receipts (compact JWS, Ed25519, see @sortition/proofs receipt.ts) are issued only for a first
 * assignment (a result that stored a record) and only when the request asks for one
 * ("receipt": true). A returning unit gets no receipt and costs nothing: signing happens only on
 * the first-assignment path, after the assignment is committed. The payload cites the config
 * version the unit was assigned under and the log checkpoint current at signing, which always
 * contains that version's leaf (the log is synced first if it lags). Receipts are not stored: the
 * holder keeps the token; the stored assignment and the log are the service's record.
 *
 *   attrsHash = hex SHA-256(canonical JSON of the attributes the experiment's targeting reads,
 *               restricted to those present in the request; {} without targeting)
 */
import { canonicalJson, type Assignment, type Attributes, type CompiledConfig, type ConditionDocument } from '@sortition/core';
import { attrsHash, signReceipt, unitHash, type ReceiptPayload } from '@sortition/proofs';
import type { SigningKeyPurpose, Store } from '../store/types.js';
import { CommittedLayers } from './committed.js';
import { ServiceKeys, DEFAULT_LOG_ORIGIN } from './keys.js';
import { TransparencyLog } from './log.js';
import { SeedSealer } from './sealing.js';

export interface ProofOptions {
  /** Origin line of the log's checkpoints (default "sortition.local/log"). */
  readonly origin?: string | undefined;
  /** 32-byte key sealing committed-layer seeds at rest (64 hex digits); plain storage without. */
  readonly sealingKey?: string | Uint8Array | undefined;
  /** A committed launch names the first drand round due at least this long after it (default 60 s). */
  readonly beaconDelayMs?: number | undefined;
  /** A rotated key keeps signing this long, so every instance switches at the same instant (default 10 s). */
  readonly keyRotationGraceMs?: number | undefined;
}

function conditionAttributes(condition: ConditionDocument, out: Set<string>): Set<string> {
  if ('all' in condition) condition.all.forEach((c) => conditionAttributes(c, out));
  else if ('any' in condition) condition.any.forEach((c) => conditionAttributes(c, out));
  else if ('not' in condition) conditionAttributes(condition.not, out);
  else out.add(condition.attr);
  return out;
}

/** The attributes `condition` reads, as present in `attributes` (the input to attrsHash). */
export function attributesUsed(condition: ConditionDocument | undefined, attributes: Attributes | undefined): Attributes {
  if (condition === undefined || attributes === undefined) return {};
  const used: Record<string, Attributes[string]> = {};
  for (const name of [...conditionAttributes(condition, new Set())].sort()) {
    if (Object.hasOwn(attributes, name) && attributes[name] !== undefined) used[name] = attributes[name];
  }
  return used;
}

export class ProofService {
  private constructor(
    readonly keys: ServiceKeys,
    readonly log: TransparencyLog,
    readonly committed: CommittedLayers,
    private readonly clock: () => number,
    private readonly keyRotationGraceMs: number,
  ) {}

  /** Loads (or creates) the signing keys, logs every config version not yet in the log, reads committed layers. */
  static async start(store: Store, clockOrNow: (() => number) | number, optionsOrOrigin: ProofOptions | string = {}): Promise<ProofService> {
    // (store, now, origin) is the earlier signature, still used by callers that need no clock.
    const clock = typeof clockOrNow === 'number' ? (): number => clockOrNow : clockOrNow;
    const options: ProofOptions = typeof optionsOrOrigin === 'string' ? { origin: optionsOrOrigin } : optionsOrOrigin;
    const keys = await ServiceKeys.load(store, clock(), options.origin ?? DEFAULT_LOG_ORIGIN);
    const log = new TransparencyLog(store, keys, clock);
    await log.sync();
    const committed = new CommittedLayers(store, log, SeedSealer.from(options.sealingKey), options.beaconDelayMs ?? 60_000);
    await committed.refresh();
    return new ProofService(keys, log, committed, clock, options.keyRotationGraceMs ?? 10_000);
  }

  /** Background work: keys rotated and leaves appended by other instances. */
  async refresh(): Promise<void> {
    await this.keys.refresh();
    await this.committed.refresh();
  }

  /**
   * Rotates the signing key of `purpose` (see keys.ts) and logs a key-rotation leaf, so the key
   * history is part of the append-only record as well as of the published key set.
   */
  async rotateKey(purpose: SigningKeyPurpose, reason: string, author: string): Promise<Record<string, unknown>> {
    const now = this.clock();
    const { retired, next, at } = await this.keys.rotate(purpose, now, this.keyRotationGraceMs);
    const publicKey = Buffer.from(next.publicKey, 'hex').toString('base64url');
    const entry = await this.log.appendEvent(() => canonicalJson({ type: 'key-rotation', purpose, retired: retired.kid, kid: next.kid, publicKey, notBefore: at, createdAt: now, author, reason }));
    return { purpose, retired: retired.kid, kid: next.kid, publicKey, activeFrom: new Date(at).toISOString(), notBefore: at, logIndex: entry.index };
  }

  /** A receipt for a first assignment, or null when `result` stored no record. */
  async receipt(config: CompiledConfig, result: Assignment, attributes: Attributes | undefined, now: number): Promise<string | null> {
    if (result.stickyWrite === null || result.exposure === null || result.variant === null || result.phase === null || result.slot === null) return null;
    await this.log.ensureVersion(result.configVersion);
    const checkpoint = this.log.checkpoint();
    const payload: ReceiptPayload = {
      experiment: result.experiment,
      phase: result.phase,
      variant: result.variant,
      slot: result.slot,
      unitHash: unitHash(result.exposure.unit),
      attrsHash: attrsHash(attributesUsed(config.experiments.get(result.experiment)?.targeting, attributes)),
      configVersion: result.configVersion,
      checkpoint: { size: checkpoint.size, rootHash: checkpoint.rootHash },
      issuedAt: now,
    };
    return signReceipt(payload, this.keys.receiptSigner(now));
  }
}
