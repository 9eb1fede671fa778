/**
 * Getting a proof bundle and checking it in this browser. The bundle comes from GET /v1/proofs; what
 * the service does not store is attached here, as `sortition prove` does: the targeting attributes
 * the experiment reads, and a receipt (with the consistency proof from the receipt's checkpoint to
 * the bundled one). The verdict is @sortition/proofs' verifyBundle, run locally on the bytes
 * received: no step of it asks the service anything.
 */
import { compileConfig, type Attributes, type ConditionDocument } from '@sortition/core';
import type { BundleVerification } from '@sortition/proofs';
import { query, type Api } from './api.js';
import { EditError } from './edit.js';

export interface ProofRequest {
  readonly unit: string;
  readonly experiment: string;
  /** RFC 3339 UTC. */
  readonly at: string;
  readonly unitType: string;
  readonly receipt: string;
  /** JSON object of targeting attributes, or ''. */
  readonly attributes: string;
  /** Check the bundle's keys against /.well-known/sortition-keys.json. */
  readonly checkPublishedKeys: boolean;
}

export interface ProofOutcome {
  readonly bundle: Record<string, unknown>;
  readonly verification: BundleVerification;
}

function attributesRead(condition: ConditionDocument | undefined, out = new Set<string>()): Set<string> {
  if (condition === undefined) return out;
  if ('all' in condition) condition.all.forEach((c) => attributesRead(c, out));
  else if ('any' in condition) condition.any.forEach((c) => attributesRead(c, out));
  else if ('not' in condition) attributesRead(condition.not, out);
  else out.add(condition.attr);
  return out;
}

function parseAttributes(text: string): Attributes | null {
  if (text.trim() === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw new EditError('attributes', `the attributes are not valid JSON (${error.message}); write an object such as {"country": "DE", "appVersion": "4.3.1"}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new EditError('attributes', 'the attributes must be a JSON object such as {"country": "DE"}');
  for (const [k, v] of Object.entries(value)) {
    if (v !== null && !['string', 'number', 'boolean'].includes(typeof v)) throw new EditError('attributes', `attribute "${k}" must be a string, number, boolean or null`);
  }
  return value as Attributes;
}

const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

export async function proveAndVerify(api: Api, request: ProofRequest): Promise<ProofOutcome> {
  if (request.unit.trim() === '') throw new EditError('unit', 'enter the unit id to prove (as the application sent it)');
  if (!TIME.test(request.at.trim())) throw new EditError('at', 'the time must be UTC, such as 2026-11-22T10:00:00Z');
  const attributes = parseAttributes(request.attributes);
  const proofs = await import('@sortition/proofs');
  const bundle = await api.get<Record<string, unknown>>(
    `/v1/proofs?${query({ unit: request.unit, experiment: request.experiment, at: request.at.trim(), unitType: request.unitType.trim() === '' ? undefined : request.unitType.trim() })}`,
  );
  if (attributes !== null) {
    const compiled = compileConfig((bundle['config'] as { document?: unknown } | undefined)?.document);
    const read = attributesRead(compiled.ok ? compiled.config.experiments.get(request.experiment)?.targeting : undefined);
    bundle['attributes'] = Object.fromEntries(Object.entries(attributes).filter(([k]) => read.has(k)));
  }
  const token = request.receipt.trim();
  if (token !== '') {
    const payloadBytes = proofs.base64urlDecode(token.split('.')[1] ?? '');
    let size: unknown;
    try {
      size = payloadBytes === undefined ? undefined : (JSON.parse(new TextDecoder().decode(payloadBytes)) as { checkpoint?: { size?: unknown } }).checkpoint?.size;
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
    }
    if (typeof size !== 'number') throw new EditError('receipt', 'this is not a Sortition receipt: paste the compact JWS returned with the first assignment ("receipt": true in POST /v1/evaluate)');
    bundle['receipt'] = token;
    const checkpoint = proofs.parseCheckpoint(`${String(bundle['checkpoint']).split('\n\n')[0] ?? ''}\n`);
    if (checkpoint.ok && size >= 1 && size < checkpoint.checkpoint.size) {
      const proof = await api.get<{ proof: string[] }>(`/v1/log/proof/consistency?${query({ from: size, to: checkpoint.checkpoint.size })}`);
      bundle['receiptConsistency'] = proof.proof;
    }
  }
  const keys = request.checkPublishedKeys ? await api.get<unknown>('/.well-known/sortition-keys.json') : undefined;
  const verification = proofs.verifyBundle(bundle, keys === undefined ? {} : { keys });
  return { bundle, verification };
}
