import { toHex } from '@sortition/core';

/** A fresh 32-byte layer key from the platform CSPRNG, as the config wants it (lower-case hex). */
export function runKeygen(random: (bytes: Uint8Array) => Uint8Array): { readonly key: string } {
  return { key: toHex(random(new Uint8Array(32))) };
}
