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
import type { Assignment, Attributes, CompiledConfig, ConditionDocument } from '@sortition/core';
import { attrsHash, signReceipt, unitHash, type ReceiptPayload } from '@sortition/proofs';
import type { Store } from '../store/types.js';
import { ServiceKeys, DEFAULT_LOG_ORIGIN } from './keys.js';
import { TransparencyLog } from './log.js';

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
  ) {}

  /** Loads (or creates) the signing keys and logs every config version not yet in the log. */
  static async start(store: Store, now: number, origin = DEFAULT_LOG_ORIGIN): Promise<ProofService> {
    const keys = await ServiceKeys.load(store, now, origin);
    const log = new TransparencyLog(store, keys);
    await log.sync();
    return new ProofService(keys, log);
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
    return signReceipt(payload, this.keys.receiptSigner());
  }
}
