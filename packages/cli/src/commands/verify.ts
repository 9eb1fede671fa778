/**
 * `sortition verify BUNDLE`: reads a proof bundle (sortition-proof-bundle/v1, from GET /v1/proofs or
 * `sortition prove`) and, optionally, the published key set (--keys), a later checkpoint
 * (--checkpoint) and the consistency proof to it (--consistency), then runs the offline verifier of
 * @sortition/proofs (verifyBundle: every step with PASS, WARN, FAIL or N/A). No network. Exit status
 * 1 on any FAIL. The checks themselves live in @sortition/proofs so that browsers run the same code.
 */
import { readFile } from 'node:fs/promises';
import { STEP_NAMES, formatVerification, verifyBundle as verifyBundleOffline, type BundleVerification, type PublishedMaterial } from '@sortition/proofs';
import { CliError } from '../config-file.js';

export { STEP_NAMES };
export type VerifyOutcome = BundleVerification;

export interface VerifyInput {
  readonly bundle: Uint8Array;
  readonly published: PublishedMaterial;
}

/** Runs the offline verifier on what readVerifyFiles read. */
export function verifyBundle(input: VerifyInput): VerifyOutcome {
  return verifyBundleOffline(input.bundle, input.published);
}

export function formatVerify(outcome: VerifyOutcome): string {
  return formatVerification(outcome);
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
export async function readVerifyFiles(files: VerifyFiles): Promise<VerifyInput> {
  const bundle = new Uint8Array(await readInput(files.bundle, 'bundle'));
  return {
    bundle,
    published: {
      ...(files.keys === undefined ? {} : { keys: json(await readInput(files.keys, '--keys'), files.keys) }),
      ...(files.checkpoint === undefined ? {} : { checkpoint: (await readInput(files.checkpoint, '--checkpoint')).toString('utf8') }),
      ...(files.consistency === undefined ? {} : { consistency: json(await readInput(files.consistency, '--consistency'), files.consistency) }),
    },
  };
}
