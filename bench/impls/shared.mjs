/**
 * The one experiment every implementation is configured with: two variants, 50/50 over all units,
 * bucketed by the unit id. Keys and salts are fixed so every run assigns the same ids the same way.
 */
export const EXPERIMENT_KEY = 'bench_exp';
export const CONTROL = 'control';
export const TREATMENT = 'treatment';
export const VARIANTS = [CONTROL, TREATMENT];

/** A fixed 32-byte layer key (64 lower-case hex characters), for Sortition and the HMAC floors. */
export const LAYER_KEY_HEX = '49c44a7d9ac84d469105548d341dae62fbbbb822e25a13aef27ef625c0e22e64';
export const LAYER_ID = 'bench';
export const SLOTS = 10_000;

/** A point in time inside the experiment's only phase. */
export const NOW = Date.parse('2026-06-01T00:00:00Z');

export function hexToBytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
