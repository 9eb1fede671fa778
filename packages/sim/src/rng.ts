/**
 * A seeded pseudo-random generator for the simulator: xoshiro128** (Blackman & Vigna, 2018) with
 * its state filled by SplitMix32 from a 32-bit seed. Every stream is derived from the run's seed
 * and a label (`stream('user', 17)`), so changing how many numbers one part of the simulation draws
 * never shifts another part: the same seed always produces the same world.
 */

/** FNV-1a over the UTF-16 code units of `text`, folded into `h` (32-bit). */
export function fnv1a(text: string, h = 0x811c9dc5): number {
  let x = h >>> 0;
  for (let i = 0; i < text.length; i++) {
    x ^= text.charCodeAt(i);
    x = Math.imul(x, 0x01000193) >>> 0;
  }
  return x;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Rng {
  // The state lives in an Int32Array: 32-bit values stored in object fields would be boxed.
  private readonly s = new Int32Array(4);

  constructor(seed: number) {
    const next = splitmix32(seed);
    for (let i = 0; i < 4; i++) this.s[i] = next();
    if ((this.s[0]! | this.s[1]! | this.s[2]! | this.s[3]!) === 0) this.s[3] = 1;
  }

  /** A generator with the given xoshiro128** state (for checking the published reference outputs). */
  static fromState(state: readonly [number, number, number, number]): Rng {
    const r = new Rng(0);
    state.forEach((x, i) => (r.s[i] = x));
    return r;
  }

  /** A generator for `label` (and optional index) derived from `seed`, independent of every other label. */
  static stream(seed: number, label: string, index = 0): Rng {
    return new Rng(fnv1a(`${label}#${index}`, fnv1a(String(seed >>> 0))));
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const s0 = s[0]!;
    const s1 = s[1]!;
    let s2 = s[2]!;
    let s3 = s[3]!;
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s[1] = s1 ^ s2;
    s[0] = s0 ^ s3;
    s[2] = s2 ^ t;
    s[3] = (s3 << 11) | (s3 >>> 21);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal (Box–Muller, one value per call). */
  normal(): number {
    const u = 1 - this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.uniform());
  }

  /** Poisson(lambda) by Knuth's multiplication method (fine for the small rates used here). */
  poisson(lambda: number): number {
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = this.uniform();
    while (p > limit) {
      k++;
      p *= this.uniform();
    }
    return k;
  }

  /** Gamma(shape, scale) for an integer shape: a sum of exponentials. */
  gammaInt(shape: number, scale: number): number {
    let s = 0;
    for (let i = 0; i < shape; i++) s -= Math.log(1 - this.uniform());
    return s * scale;
  }

  /** A 32-byte key as lower-case hex (for layer keys derived from the seed). */
  hex32(): string {
    let out = '';
    for (let i = 0; i < 8; i++) out += this.nextUint32().toString(16).padStart(8, '0');
    return out;
  }
}
