/** Snapshot of an `Rng`, enough to resume the exact same stream (e.g. with a checkpoint). */
export interface RngState {
  /** The four 32-bit words of the sfc32 state. */
  readonly words: readonly [number, number, number, number];
  /** Box-Muller makes normals in pairs; the unused second one, if any. */
  readonly spareGaussian: number | null;
  /** Bits per float: absent (53) for `createRng` streams, 32 for `createDemoSetRng` streams. */
  readonly floatBits?: 32;
}

/** A seeded pseudo-random stream (sfc32, see sfc32.ts). */
export interface Rng {
  /** Uniform integer in [0, 2^32). */
  nextUint32(): number;
  /** Uniform float in [0, 1): 53 random bits (`createRng`) or 32 (`createDemoSetRng`). */
  nextFloat(): number;
  /** Uniform float in [low, high): `low + (high - low) * nextFloat()`. */
  uniform(low: number, high: number): number;
  /** Uniform integer in [low, high), unbiased; like numpy's `randint(low, high)`. */
  nextInt(low: number, high: number): number;
  /** Standard normal (mean 0, variance 1), Box-Muller on two `nextFloat`s. */
  nextGaussian(): number;
  getState(): RngState;
}
