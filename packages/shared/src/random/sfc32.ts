import { ConfigError } from '../errors/index.js';
import { DEMO_SET_SFC32_WARMUP, GOLDEN_32, SFC32_WARMUP, TWO_POW_32, TWO_POW_53 } from './constants.js';
import { deriveSeed, fmix32 } from './mix.js';
import type { Rng, RngState } from './types.js';

/*
 * The pipeline's generator is sfc32 (Chris Doty-Humphrey's "small fast chaotic" PRNG, from
 * PractRand): 128 bits of state, passes PractRand/BigCrush, and needs only 32-bit integer ops,
 * which JS does exactly. Reproducibility is within this implementation only: the stream is not
 * numpy's or torch's (the reference's draws cannot be matched anyway: PyTorch's DataLoader
 * workers seed numpy per process).
 *
 * Two seedings of it exist, each reproducing outputs that were recorded with it:
 * - `createRng`: splitmix32 over the seed's two 32-bit halves, 53-bit floats. Training
 *   (shuffling, segment sampling, input noise, drop path); its state is saved in checkpoints,
 *   and a resumed run must continue the same stream.
 * - `createDemoSetRng`: `deriveSeed(seed, 1..3)`, 32-bit floats. The demo set generator; the demo
 *   clips' bytes follow from this stream, so it stays as it was.
 */

type Words = [number, number, number, number];

/** One splitmix32 step: the next state and its mixed output. */
function splitmix32(state: number): { state: number; value: number } {
  const next = (state + GOLDEN_32) | 0;
  return { state: next, value: fmix32(next) };
}

function splitmixWords(seed: number): Words {
  const low = seed >>> 0;
  const high = Math.floor(seed / TWO_POW_32) >>> 0;
  // Two mixing chains, so seeds that differ only above bit 32 still differ everywhere.
  const first = splitmix32(low);
  const second = splitmix32(first.state ^ high);
  const third = splitmix32(second.state);
  return [first.value, second.value, third.value, 1];
}

function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new ConfigError(`rng 'seed': expected a non-negative safe integer, got ${String(seed)}`);
  }
}

function validateState(state: RngState): void {
  const { words, spareGaussian, floatBits } = state;
  if (!Array.isArray(words) || words.length !== 4 || !words.every((word) => Number.isInteger(word) && word >= 0 && word < TWO_POW_32)) {
    throw new ConfigError(`rng state 'words': expected four integers in [0, 2^32), got ${JSON.stringify(words)}`);
  }
  if (spareGaussian !== null && !Number.isFinite(spareGaussian)) {
    throw new ConfigError(`rng state 'spareGaussian': expected a finite number or null, got ${String(spareGaussian)}`);
  }
  if (floatBits !== undefined && floatBits !== 32) {
    throw new ConfigError(`rng state 'floatBits': expected 32 or absent, got ${String(floatBits)}`);
  }
}

class Sfc32 implements Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare: number | null;
  private readonly floatBits: 32 | 53;

  constructor(words: Words, spare: number | null, floatBits: 32 | 53) {
    [this.a, this.b, this.c, this.d] = words.map((word) => word | 0) as Words;
    this.spare = spare;
    this.floatBits = floatBits;
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  nextFloat(): number {
    if (this.floatBits === 32) return this.nextUint32() / TWO_POW_32;
    const high27 = this.nextUint32() >>> 5;
    const low26 = this.nextUint32() >>> 6;
    return (high27 * 67108864 + low26) / TWO_POW_53;
  }

  uniform(low: number, high: number): number {
    return low + (high - low) * this.nextFloat();
  }

  nextInt(low: number, high: number): number {
    const span = high - low;
    if (!Number.isSafeInteger(low) || !Number.isSafeInteger(high) || span < 1 || span > TWO_POW_32) {
      throw new ConfigError(`rng nextInt: expected integers low < high with high - low <= 2^32, got low ${low}, high ${high}`);
    }
    if (span === 1) return low;
    // Rejection keeps every value equally likely (plain modulo would favour small ones).
    const limit = TWO_POW_32 - (TWO_POW_32 % span);
    let draw = this.nextUint32();
    while (draw >= limit) draw = this.nextUint32();
    return low + (draw % span);
  }

  nextGaussian(): number {
    if (this.spare !== null) {
      const value = this.spare;
      this.spare = null;
      return value;
    }
    // 1 - u lies in (0, 1], so the log is finite.
    const radius = Math.sqrt(-2 * Math.log(1 - this.nextFloat()));
    const angle = 2 * Math.PI * this.nextFloat();
    this.spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }

  getState(): RngState {
    const words: RngState['words'] = [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0];
    return this.floatBits === 32 ? { words, spareGaussian: this.spare, floatBits: 32 } : { words, spareGaussian: this.spare };
  }

  warmUp(outputs: number): this {
    for (let i = 0; i < outputs; i++) this.nextUint32();
    return this;
  }
}

/**
 * The pipeline's seeded stream: sfc32 seeded by splitmix32 (the first 12 outputs dropped, so
 * nearby seeds give unrelated streams), 53-bit floats. `seed` is a non-negative safe integer,
 * or a state from `getState()` to continue a stream exactly where it was.
 */
export function createRng(seed: number | RngState): Rng {
  if (typeof seed === 'number') {
    checkSeed(seed);
    return new Sfc32(splitmixWords(seed), null, 53).warmUp(SFC32_WARMUP);
  }
  validateState(seed);
  return new Sfc32([...seed.words], seed.spareGaussian, seed.floatBits ?? 53);
}

/**
 * The demo set's stream: sfc32 seeded with `deriveSeed(seed, 1)`, `(seed, 2)`, `(seed, 3)` (the
 * first 15 outputs dropped), 32-bit floats. The demo clips are generated from it byte for byte,
 * so it stays as it was; new code uses `createRng`.
 */
export function createDemoSetRng(seed: number): Rng {
  checkSeed(seed);
  return new Sfc32([deriveSeed(seed, 1), deriveSeed(seed, 2), deriveSeed(seed, 3), 1], null, 32).warmUp(DEMO_SET_SFC32_WARMUP);
}
