import { GOLDEN_32, TWO_POW_32 } from './constants.js';

/** murmur3's 32-bit finaliser (fmix32): spreads every input bit over the whole word. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Combines non-negative safe integers into one 32-bit seed (each part's low and high 32 bits
 * are mixed in with fmix32); different tuples give unrelated seeds. The way to give each
 * independent consumer of one base seed its own stream: `createRng(deriveSeed(seed, STREAM, i))`.
 */
export function deriveSeed(...parts: number[]): number {
  let h = GOLDEN_32;
  for (const part of parts) {
    const low = part >>> 0;
    const high = Math.floor(part / TWO_POW_32) >>> 0;
    h = fmix32(h ^ fmix32(low + 0x7f4a7c15));
    h = fmix32(h ^ fmix32(high + 0x1b873593));
  }
  return h;
}
