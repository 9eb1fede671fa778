/**
 * `sortition prove`: fetches a proof bundle from GET /v1/proofs and attaches, client-side, what the
 * service does not store: the targeting attributes (only those the experiment's targeting reads are
 * kept) and a receipt (plus, when the receipt cites an earlier checkpoint, the consistency proof
 * from it to the bundled checkpoint, from GET /v1/log/proof/consistency).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { compileConfig, type ConditionDocument } from '@sortition/core';
import { base64urlDecode, parseCheckpoint } from '@sortition/proofs';
import { CliError, parseNow } from '../config-file.js';
import { parseAttributes } from './assign.js';
import { serviceJson } from './service-request.js';

export interface ProveOptions {
  readonly url: string;
  readonly key: string;
  readonly unit: string;
  readonly experiment: string;
  readonly at: string;
  readonly unitType?: string | undefined;
  /** A compact JWS, or @FILE to read it from a file. */
  readonly receipt?: string | undefined;
  readonly attrs: readonly string[];
  readonly out?: string | undefined;
  readonly fetch?: typeof fetch;
}

export interface ProveResult {
  readonly bundle: Record<string, unknown>;
  /** The file written (with --out). */
  readonly file: string | null;
}

function read(condition: ConditionDocument | undefined, out = new Set<string>()): Set<string> {
  if (condition === undefined) return out;
  if ('all' in condition) condition.all.forEach((c) => read(c, out));
  else if ('any' in condition) condition.any.forEach((c) => read(c, out));
  else if ('not' in condition) read(condition.not, out);
  else out.add(condition.attr);
  return out;
}

export async function runProve(options: ProveOptions): Promise<ProveResult> {
  const f = options.fetch ?? fetch;
  const at = parseNow(options.at, () => Date.now());
  const base = options.url.replace(/\/+$/, '');
  const query = new URLSearchParams({ unit: options.unit, experiment: options.experiment, at: String(at), ...(options.unitType === undefined ? {} : { unitType: options.unitType }) });
  const bundle = (await serviceJson(f, 'GET', `${base}/v1/proofs?${query.toString()}`, options.key)) as Record<string, unknown>;

  if (options.attrs.length > 0) {
    const compiled = compileConfig((bundle['config'] as { document?: unknown } | undefined)?.document);
    if (!compiled.ok) throw new CliError('BAD_RESPONSE', 'the bundled config does not compile');
    const used = read(compiled.config.experiments.get(options.experiment)?.targeting);
    const attributes = Object.fromEntries(Object.entries(parseAttributes(options.attrs)).filter(([k]) => used.has(k)));
    bundle['attributes'] = attributes;
  }

  if (options.receipt !== undefined) {
    const token = options.receipt.startsWith('@') ? (await readFile(options.receipt.slice(1), 'utf8')).trim() : options.receipt.trim();
    const payloadBytes = base64urlDecode(token.split('.')[1] ?? '');
    let payload: { checkpoint?: { size?: unknown } } | undefined;
    try {
      payload = payloadBytes === undefined ? undefined : (JSON.parse(new TextDecoder().decode(payloadBytes)) as typeof payload);
    } catch {
      payload = undefined;
    }
    const size = payload?.checkpoint?.size;
    if (typeof size !== 'number') throw new CliError('INVALID_ARGUMENT', '--receipt is not a Sortition receipt (compact JWS with a checkpoint)');
    bundle['receipt'] = token;
    const cp = parseCheckpoint(String(bundle['checkpoint']).split('\n\n')[0] + '\n');
    if (cp.ok && size >= 1 && size < cp.checkpoint.size) {
      const proof = (await serviceJson(f, 'GET', `${base}/v1/log/proof/consistency?from=${size}&to=${cp.checkpoint.size}`, options.key)) as { proof: string[] };
      bundle['receiptConsistency'] = proof.proof;
    }
  }

  if (options.out !== undefined) await writeFile(options.out, `${JSON.stringify(bundle, null, 2)}\n`);
  return { bundle, file: options.out ?? null };
}
