/**
 * `sortition rotate-key`: asks a running service to rotate its checkpoint or receipt signing key
 * (POST /v1/signing-keys/rotate, admin key). The new key signs after a short grace; the old one stays
 * published with its validity window, and the rotation is a transparency-log leaf.
 */
import { CliError } from '../config-file.js';
import { serviceJson } from './service-request.js';

export type KeyPurpose = 'checkpoint' | 'receipt';

export interface RotateKeyOptions {
  readonly url: string;
  readonly key: string;
  readonly purpose: string;
  readonly reason: string;
  readonly fetch?: typeof fetch;
}

export async function runRotateKey(options: RotateKeyOptions): Promise<Record<string, unknown>> {
  if (options.purpose !== 'checkpoint' && options.purpose !== 'receipt') {
    throw new CliError('INVALID_ARGUMENT', `--purpose must be "checkpoint" or "receipt", not "${options.purpose}"`, { exitCode: 2 });
  }
  if (options.reason.trim() === '') throw new CliError('INVALID_ARGUMENT', '--reason is empty: say why the key is rotated (it is logged)', { exitCode: 2 });
  const base = options.url.replace(/\/+$/, '');
  const purpose: KeyPurpose = options.purpose;
  return (await serviceJson(options.fetch ?? fetch, 'POST', `${base}/v1/signing-keys/rotate`, options.key, { purpose, reason: options.reason })) as Record<string, unknown>;
}
