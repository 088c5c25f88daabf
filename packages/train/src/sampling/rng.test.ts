import { describe, expect, it } from 'vitest';
import { ConfigError } from 'shared';
import { createRng } from './rng.js';

describe('createRng (sfc32 seeded by splitmix32)', () => {
  it('matches an independent implementation of the same generator', () => {
    // Values from a separate Python transcription of sfc32 + splitmix32 seeding + 12 warm-up steps.
    const rng = createRng(42);
    expect([rng.nextUint32(), rng.nextUint32(), rng.nextUint32(), rng.nextUint32()]).toEqual([
      2476999517, 2284424721, 914527439, 3398404915,
    ]);
    const wide = createRng(2 ** 40 + 7);
    expect([wide.nextUint32(), wide.nextUint32()]).toEqual([1965388113, 1632734616]);
    expect(createRng(0).nextFloat()).toBe(0.13773293522977814);
  });

  it('seeds differing only above bit 32 give different streams', () => {
    expect(createRng(7).nextUint32()).not.toBe(createRng(2 ** 32 + 7).nextUint32());
  });

  it('resumes exactly from a saved state, spare normal included', () => {
    const rng = createRng(123);
    rng.nextGaussian(); // leaves the pair's second value as spare
    const state = rng.getState();
    expect(state.spareGaussian).not.toBeNull();
    const expected = [rng.nextGaussian(), rng.nextGaussian(), rng.nextInt(0, 10), rng.nextFloat()];
    const resumed = createRng(JSON.parse(JSON.stringify(state)));
    expect([resumed.nextGaussian(), resumed.nextGaussian(), resumed.nextInt(0, 10), resumed.nextFloat()]).toEqual(expected);
  });

  it('nextInt covers [low, high) evenly and never leaves it', () => {
    const rng = createRng(5);
    const counts = new Map<number, number>();
    for (let i = 0; i < 30_000; i++) {
      const value = rng.nextInt(4, 7);
      counts.set(value, (counts.get(value) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([4, 5, 6]);
    // Expected 10,000 each; 300 is more than 5 standard deviations (about 82).
    for (const count of counts.values()) expect(Math.abs(count - 10_000)).toBeLessThan(300);
    expect(rng.nextInt(9, 10)).toBe(9);
  });

  it('nextGaussian has mean 0 and variance 1', () => {
    const rng = createRng(99);
    const n = 200_000;
    let sum = 0;
    let sumSquares = 0;
    for (let i = 0; i < n; i++) {
      const value = rng.nextGaussian();
      sum += value;
      sumSquares += value * value;
    }
    const mean = sum / n;
    // Standard errors: mean 1/sqrt(n) = 0.0022, variance sqrt(2/n) = 0.0032.
    expect(Math.abs(mean)).toBeLessThan(0.011);
    expect(Math.abs(sumSquares / n - mean * mean - 1)).toBeLessThan(0.016);
  });

  it('rejects bad seeds and ranges, naming the key', () => {
    expect(() => createRng(-1)).toThrow(ConfigError);
    expect(() => createRng(1.5)).toThrow(/'seed': expected a non-negative safe integer, got 1.5/);
    expect(() => createRng(1).nextInt(3, 3)).toThrow(/expected integers low < high/);
    expect(() => createRng({ words: [1, 2, 3, -4], spareGaussian: null })).toThrow(/'words'/);
  });
});
