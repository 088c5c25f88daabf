import { ConfigError } from 'shared';
import type { Rng, RngState } from './types.js';

/*
 * The generator is sfc32 (Chris Doty-Humphrey's "small fast chaotic" PRNG, from PractRand):
 * 128 bits of state, passes PractRand/BigCrush, and needs only 32-bit integer ops, which JS
 * does exactly. The seed is spread over the state with splitmix32 and the first 12 outputs
 * are dropped, as its author recommends, so nearby seeds give unrelated streams.
 * Reproducibility is within this implementation only: the stream is not numpy's or torch's.
 */

const TWO_POW_32 = 0x1_0000_0000;
const TWO_POW_53 = 2 ** 53;
const WARMUP_OUTPUTS = 12;

function splitmix32Step(state: number): { state: number; value: number } {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return { state: next, value: z >>> 0 };
}

function seedWords(seed: number): [number, number, number, number] {
  const low = seed >>> 0;
  const high = Math.floor(seed / TWO_POW_32) >>> 0;
  // Two mixing chains, so seeds that differ only above bit 32 still differ everywhere.
  let chain = low;
  const first = splitmix32Step(chain);
  chain = first.state;
  const second = splitmix32Step(chain ^ high);
  chain = second.state;
  const third = splitmix32Step(chain);
  return [first.value, second.value, third.value, 1];
}

function validateState(state: RngState): void {
  const { words, spareGaussian } = state;
  if (!Array.isArray(words) || words.length !== 4 || !words.every((word) => Number.isInteger(word) && word >= 0 && word < TWO_POW_32)) {
    throw new ConfigError(`rng state 'words': expected four integers in [0, 2^32), got ${JSON.stringify(words)}`);
  }
  if (spareGaussian !== null && !Number.isFinite(spareGaussian)) {
    throw new ConfigError(`rng state 'spareGaussian': expected a finite number or null, got ${String(spareGaussian)}`);
  }
}

/**
 * A seeded `Rng`. `seed` is a non-negative safe integer, or a state from `getState()` to
 * continue a stream exactly where it was.
 */
export function createRng(seed: number | RngState): Rng {
  let a: number;
  let b: number;
  let c: number;
  let d: number;
  let spare: number | null = null;

  const step = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };

  if (typeof seed === 'number') {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new ConfigError(`rng 'seed': expected a non-negative safe integer, got ${String(seed)}`);
    }
    [a, b, c, d] = seedWords(seed);
    for (let i = 0; i < WARMUP_OUTPUTS; i++) step();
  } else {
    validateState(seed);
    [a, b, c, d] = seed.words.map((word) => word | 0) as [number, number, number, number];
    spare = seed.spareGaussian;
  }

  const nextFloat = (): number => {
    const high27 = step() >>> 5;
    const low26 = step() >>> 6;
    return (high27 * 67108864 + low26) / TWO_POW_53;
  };

  return {
    nextUint32: step,
    nextFloat,
    nextInt(low: number, high: number): number {
      const span = high - low;
      if (!Number.isSafeInteger(low) || !Number.isSafeInteger(high) || span < 1 || span > TWO_POW_32) {
        throw new ConfigError(`rng nextInt: expected integers low < high with high - low <= 2^32, got low ${low}, high ${high}`);
      }
      if (span === 1) return low;
      // Rejection keeps every value equally likely (plain modulo would favour small ones).
      const limit = TWO_POW_32 - (TWO_POW_32 % span);
      let draw = step();
      while (draw >= limit) draw = step();
      return low + (draw % span);
    },
    nextGaussian(): number {
      if (spare !== null) {
        const value = spare;
        spare = null;
        return value;
      }
      // 1 - u lies in (0, 1], so the log is finite.
      const radius = Math.sqrt(-2 * Math.log(1 - nextFloat()));
      const angle = 2 * Math.PI * nextFloat();
      spare = radius * Math.sin(angle);
      return radius * Math.cos(angle);
    },
    getState(): RngState {
      return { words: [a >>> 0, b >>> 0, c >>> 0, d >>> 0], spareGaussian: spare };
    },
  };
}
