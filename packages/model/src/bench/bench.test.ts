import { ConfigError } from 'shared';
import { describe, expect, it } from 'vitest';
import { makeBenchBatch, parseBenchArgs } from './bench.js';
import { DEFAULT_BENCH_OPTIONS } from './constants.js';

describe('model benchmark', () => {
  it('defaults to batch 32, 5 s per phase, 2 workers, every backend', () => {
    expect(parseBenchArgs([])).toEqual(DEFAULT_BENCH_OPTIONS);
    expect(DEFAULT_BENCH_OPTIONS).toMatchObject({ batch: 32, seconds: 5, workers: 2, backends: ['node-gpu', 'node', 'wasm', 'cpu'] });
    expect(parseBenchArgs(['--backends', 'wasm,cpu', '--seconds', '1.5', '--workers', '0'])).toMatchObject({
      backends: ['wasm', 'cpu'],
      seconds: 1.5,
      workers: 0,
    });
  });

  it('rejects bad flags naming them', () => {
    expect(() => parseBenchArgs(['--batch', '0'])).toThrow('bench --batch: expected an integer >= 1, got "0"');
    expect(() => parseBenchArgs(['--backends', 'tpu'])).toThrow(ConfigError);
    expect(() => parseBenchArgs(['--seconds', 'x'])).toThrow('bench --seconds: expected a number >= 0, got "x"');
  });

  it('builds full-length levels (H 16, M 8, L 4) with every step real', () => {
    const { inputs, labels } = makeBenchBatch(3, 5, 1);
    expect([inputs.x_H.shape, inputs.x_M.shape, inputs.x_L.shape]).toEqual([
      [3, 5, 16],
      [3, 5, 8],
      [3, 5, 4],
    ]);
    expect([inputs.m_H.shape, inputs.m_L.shape]).toEqual([
      [3, 1, 16],
      [3, 1, 4],
    ]);
    expect(Array.from(inputs.m_M.data).every((v) => v === 1)).toBe(true);
    expect(Array.from(labels)).toEqual([0, 1, 2]);
    const again = makeBenchBatch(3, 5, 1);
    expect(Array.from(again.inputs.x_H.data)).toEqual(Array.from(inputs.x_H.data));
  });
});
