import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/index.js';
import { deriveSeed } from './mix.js';
import { seededUniform, seededUniformStream } from './mulberry32.js';
import { createDemoSetRng, createRng } from './sfc32.js';

describe('createRng (sfc32 seeded by splitmix32: training)', () => {
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

// The values below were printed by the four generator modules this one replaced
// (train/sampling/rng.ts, extract/demo/random.ts, model/pthnet/random.ts, shared/random/random.ts)
// before they were merged: the streams, and all that is drawn from them, are unchanged.
describe('createDemoSetRng (the demo set generator)', () => {
  it('gives the stream the demo set was generated from', () => {
    const rng = createDemoSetRng(deriveSeed(7, 1, 2, 2 ** 40));
    expect([rng.nextUint32(), rng.nextFloat(), rng.uniform(-2, 3), rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian()]).toEqual([
      703106215, 0.19921023910865188, -0.7997399270534515, -0.5860136335139022, -0.15941257422771898, 1.93862150792388,
    ]);
  });

  it('has 32-bit floats with mean 1/2, normals with mean 0, and resumes from its state', () => {
    const rng = createDemoSetRng(7);
    let sum = 0;
    let sumNormal = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const u = rng.nextFloat();
      expect(Number.isInteger(u * 2 ** 32)).toBe(true);
      sum += u;
      sumNormal += rng.nextGaussian();
    }
    expect(sum / n).toBeCloseTo(0.5, 2);
    expect(Math.abs(sumNormal / n)).toBeLessThan(0.03);
    rng.nextGaussian();
    const state = rng.getState();
    expect(state.floatBits).toBe(32);
    const expected = [rng.nextGaussian(), rng.nextFloat(), rng.nextGaussian()];
    const resumed = createRng(JSON.parse(JSON.stringify(state)));
    expect([resumed.nextGaussian(), resumed.nextFloat(), resumed.nextGaussian()]).toEqual(expected);
    expect(() => createRng({ ...state, floatBits: 16 as 32 })).toThrow(/'floatBits': expected 32 or absent, got 16/);
  });
});

describe('deriveSeed', () => {
  it('gives the seeds it always gave, different for different tuples', () => {
    expect([deriveSeed(0), deriveSeed(1, 2), deriveSeed(7, 3, 1, 2, 5), deriveSeed(2 ** 40 + 3)]).toEqual([
      1359364069, 3594428786, 125482061, 1810935850,
    ]);
    expect(deriveSeed(1, 2)).not.toBe(deriveSeed(2, 1));
    expect(deriveSeed(2 ** 40)).not.toBe(deriveSeed(0));
  });
});

describe('seededUniform and seededUniformStream (mulberry32: initial weights, drop path)', () => {
  it('give the values the initial weights and stochastic depth were drawn from', () => {
    const uniform = seededUniform(123);
    expect([uniform(), uniform(), uniform()]).toEqual([0.7872516233474016, 0.1785435655619949, 0.49531551403924823]);
    // PthNet's drop-path stream of seed 5 (stream 0x64726f70).
    const dropPath = seededUniformStream(5, 0x64726f70);
    expect([dropPath(), dropPath(), dropPath()]).toEqual([0.9107968350872397, 0.9469335644971579, 0.9184070450719446]);
    // Stream seeds of the old model deriveSeed(seed, stream): 301794027, 2533096567, 1564014358.
    expect(seededUniformStream(0, 0)()).toBe(seededUniform(301794027)());
    expect(seededUniformStream(9, 5)()).toBe(seededUniform(2533096567)());
    expect(seededUniformStream(2 ** 31 + 5, 77)()).toBe(seededUniform(1564014358)());
  });
});
