// Seeded synthetic data for the engine tests (no Math.random): a small PRNG, a normal sampler, and
// the scenarios of the post-mortem (a salt rotation flipping units before a weekend) and a ramp.

/** mulberry32: a 32-bit seeded PRNG returning floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal by Box–Muller. */
export function normal(rng: () => number): number {
  const u = 1 - rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export interface ExposureRow {
  unit_id: string;
  experiment: string;
  variant: string;
  timestamp: string;
  phase?: string;
  config_version?: number;
}

export interface EventRow {
  unit_id: string;
  timestamp: string;
  metric: string;
  value: number;
}

const DAY = 86_400_000;
/** Monday 2024-01-01 00:00 UTC. */
export const MONDAY = Date.UTC(2024, 0, 1);
const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Seven days from a Monday; every unit is exposed and has one revenue event each day (baseline 1 on
 * weekdays, 2 on the weekend, noise N(0, 0.5²), true effect 0). At Saturday 00:00 a salt rotation
 * (config version 2) moves `flipControl` of all units from control to treatment and `flipTreatment`
 * from treatment to control; they are exposed to their new variant from then on.
 */
export function saltRotationScenario(seed: number, units: number, flipControl = 0.25, flipTreatment = 0.05): { exposures: ExposureRow[]; events: EventRow[]; flipped: number } {
  const rng = prng(seed);
  const exposures: ExposureRow[] = [];
  const events: EventRow[] = [];
  let flipped = 0;
  for (let i = 0; i < units; i++) {
    const unit = `u${i}`;
    const first = rng() < 0.5 ? 'control' : 'treatment';
    const r = rng();
    const flips = first === 'control' ? r < flipControl * 2 : r < flipTreatment * 2;
    if (flips) flipped++;
    const later = flips ? (first === 'control' ? 'treatment' : 'control') : first;
    for (let day = 0; day < 7; day++) {
      const weekend = day >= 5;
      const variant = weekend ? later : first;
      const at = MONDAY + day * DAY;
      exposures.push({ unit_id: unit, experiment: 'checkout', variant, timestamp: iso(at + 10 * 3_600_000 + i), config_version: weekend ? 2 : 1 });
      events.push({ unit_id: unit, timestamp: iso(at + 12 * 3_600_000 + i), metric: 'revenue', value: (weekend ? 2 : 1) + 0.5 * normal(rng) });
    }
  }
  return { exposures, events, flipped };
}

/**
 * Two phases: "p1" (days 0-6) splits control/treatment 80/20 with baseline 1, "p2" (days 7-13)
 * 50/50 with baseline 3; the true effect is `effect` in both. One pre-period event (a latent unit
 * level, for CUPED) a day before exposure and one revenue event after it.
 */
export function rampScenario(seed: number, unitsPerPhase: number, effect: number): { exposures: ExposureRow[]; events: EventRow[] } {
  const rng = prng(seed);
  const exposures: ExposureRow[] = [];
  const events: EventRow[] = [];
  for (const [p, phase] of ['p1', 'p2'].entries()) {
    const treatmentShare = phase === 'p1' ? 0.2 : 0.5;
    const baseline = phase === 'p1' ? 1 : 3;
    for (let i = 0; i < unitsPerPhase; i++) {
      const unit = `${phase}-${i}`;
      const variant = rng() < treatmentShare ? 'treatment' : 'control';
      const at = MONDAY + (p * 7 + 1 + (i % 6)) * DAY + i;
      const latent = normal(rng);
      exposures.push({ unit_id: unit, experiment: 'ramp', variant, timestamp: iso(at), phase, config_version: p + 1 });
      events.push({ unit_id: unit, timestamp: iso(at - DAY), metric: 'revenue', value: latent + 0.3 * normal(rng) });
      events.push({ unit_id: unit, timestamp: iso(at + 3_600_000), metric: 'revenue', value: baseline + latent + (variant === 'treatment' ? effect : 0) + 0.5 * normal(rng) });
    }
  }
  return { exposures, events };
}
