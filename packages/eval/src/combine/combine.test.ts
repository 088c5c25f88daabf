import { ConfigError, InputError } from 'shared';
import { describe, expect, it } from 'vitest';
import type { LogitMatrix } from 'shared';
import { combineLogits, sweepMu } from './combine.js';
import { DEFAULT_MU_GRID } from './constants.js';

function matrix(rows: number[][]): LogitMatrix {
  return { data: Float32Array.from(rows.flat()), shape: [rows.length, rows[0]!.length] };
}

describe('combineLogits', () => {
  it('weights forward by mu and reversed by 1 - mu', () => {
    const combined = combineLogits(
      matrix([
        [1, 2],
        [-1, 0.5],
      ]),
      matrix([
        [3, 0],
        [1, 1],
      ]),
      0.7,
    );
    expect(combined.shape).toEqual([2, 2]);
    const expected = [0.7 * 1 + 0.3 * 3, 0.7 * 2, -0.7 + 0.3, 0.35 + 0.3];
    [...combined.data].forEach((value, i) => {
      expect(value).toBeCloseTo(expected[i]!, 6);
    });
  });

  it('rounds like float32 PyTorch', () => {
    // 0.1f * 0.3f + 0.9f * 0.7f, each step rounded to float32
    const combined = combineLogits(matrix([[0.3]]), matrix([[0.7]]), 0.1);
    const f = Math.fround;
    expect(combined.data[0]).toBe(f(f(f(0.1) * f(0.3)) + f(f(0.9) * f(0.7))));
  });

  it('rejects a bad mu or mismatched shapes', () => {
    expect(() => combineLogits(matrix([[1]]), matrix([[1]]), 1.5)).toThrow(ConfigError);
    expect(() => combineLogits(matrix([[1, 2]]), matrix([[1], [2]]), 0.5)).toThrow(InputError);
  });
});

describe('sweepMu', () => {
  // Four clips, two classes. Combined logits by clip:
  //   clip 0 (label 0): [2 mu, 1 - mu]      -> class 0 when mu > 1/3
  //   clip 1 (label 1): [0, 2 - mu]         -> class 1 always
  //   clip 2 (label 1): [mu, 3 (1 - mu)]    -> class 0 when mu > 3/4
  //   clip 3 (label 1): [1 - mu, mu]        -> class 1 when mu > 1/2; an exact tie at 1/2 -> class 0
  const forward = matrix([
    [2, 0],
    [0, 1],
    [1, 0],
    [0, 1],
  ]);
  const reversed = matrix([
    [0, 1],
    [0, 2],
    [0, 3],
    [1, 0],
  ]);
  const labels = [0, 1, 1, 1];

  it('uses mu = k / 10 exactly', () => {
    expect(DEFAULT_MU_GRID).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
  });

  it('scores every mu of the grid', () => {
    const sweep = sweepMu(forward, reversed, labels);
    expect(sweep.map((entry) => entry.mu)).toEqual([...DEFAULT_MU_GRID]);
    const war = sweep.map((entry) => entry.metrics.war);
    const uar = sweep.map((entry) => entry.metrics.uar);
    // mu 0..0.3: predictions [1,1,1,0]; 0.4, 0.5: [0,1,1,0]; 0.6, 0.7: [0,1,1,1]; 0.8..1: [0,1,0,1]
    expect(war).toEqual([0.5, 0.5, 0.5, 0.5, 0.75, 0.75, 1, 1, 0.75, 0.75, 0.75]);
    const low = (0 + 2 / 3) / 2;
    const mid = (1 + 2 / 3) / 2;
    expect(uar).toEqual([low, low, low, low, mid, mid, 1, 1, mid, mid, mid]);
  });

  it('accepts a custom grid and rejects mus outside [0, 1]', () => {
    expect(sweepMu(forward, reversed, labels, [0.65]).map((e) => e.metrics.war)).toEqual([1]);
    expect(() => sweepMu(forward, reversed, labels, [0.5, -0.1])).toThrow(/mus\[1\].*got -0.1/);
  });
});
