import { InputError } from '../errors/index.js';
import { describe, expect, it } from 'vitest';
import { argmaxRows, computeMetrics, confusionMatrix, metricsFromConfusion } from './metrics.js';
import type { LogitMatrix } from './types.js';

function matrix(rows: number[][]): LogitMatrix {
  const cols = rows[0]!.length;
  return { data: Float32Array.from(rows.flat()), shape: [rows.length, cols] };
}

// Nine clips, four classes; class 3 never occurs in the labels but is predicted once.
// Several rows tie, and the lowest tied index must win.
const logits = matrix([
  [1, 1, 1, 1], //          all tie          -> 0
  [3, -1, 3, 0], //         tie 0, 2         -> 0
  [0, 2, 2, 2], //          tie 1, 2, 3      -> 1
  [0, 5, 1, 0], //                           -> 1
  [0.5, 0.5, -1, -1], //    tie 0, 1         -> 0
  [0, 0, 4, 4], //          tie 2, 3         -> 2
  [-3, -2, -1, -1.5], //    all negative     -> 2
  [0, 0, 0, 0.001], //                       -> 3
  [9, 0, -Infinity, 9], //  tie 0, 3         -> 0
]);
const labels = [0, 0, 0, 1, 1, 2, 2, 2, 2];

describe('argmaxRows', () => {
  it('breaks ties towards the lowest index', () => {
    expect([...argmaxRows(logits)]).toEqual([0, 0, 1, 1, 0, 2, 2, 3, 0]);
  });

  it('rejects NaN logits and mismatched shapes', () => {
    expect(() => argmaxRows(matrix([[0, Number.NaN]]))).toThrow(/NaN at row 0, class 1/);
    expect(() => argmaxRows({ data: new Float32Array(5), shape: [2, 3] })).toThrow(InputError);
  });
});

describe('computeMetrics', () => {
  const metrics = computeMetrics(logits, labels);

  it('builds the confusion matrix with rows = true, columns = predicted', () => {
    expect(metrics.confusion).toEqual([
      [2, 1, 0, 0],
      [1, 1, 0, 0],
      [1, 0, 2, 1],
      [0, 0, 0, 0],
    ]);
    expect(metrics.support).toEqual([3, 2, 4, 0]);
    expect(metrics.predictedCount).toEqual([4, 2, 2, 1]);
  });

  it('computes WAR, recall and UAR over the present classes, listing the absent one', () => {
    expect(metrics.war).toBeCloseTo(5 / 9, 12);
    expect(metrics.perClassRecall).toEqual([2 / 3, 1 / 2, 1 / 2, null]);
    expect(metrics.absentClasses).toEqual([3]);
    expect(metrics.uar).toBeCloseTo((2 / 3 + 1 / 2 + 1 / 2) / 3, 12); // 0.5556
    // the reference code scores absent class 3 as 100% and divides by all four classes
    expect(metrics.uarReference).toBeCloseTo((2 / 3 + 1 / 2 + 1 / 2 + 1) / 4, 12); // 0.6667
  });

  it('computes precision, F1 and sklearn weighted F1 by hand', () => {
    expect(metrics.perClassPrecision).toEqual([2 / 4, 1 / 2, 2 / 2, 0]);
    // F1 = 2 tp / (support + predicted)
    expect(metrics.perClassF1).toEqual([4 / 7, 2 / 4, 4 / 6, 0]);
    // (3 * 4/7 + 2 * 1/2 + 4 * 2/3 + 0 * 0) / 9 = 113 / 189
    expect(metrics.weightedF1).toBeCloseTo(113 / 189, 12);
  });

  it('leaves a class that is neither true nor predicted out of weighted F1', () => {
    // labels [0, 1, 1], predicted [0, 1, 0]; class 2 has no clip and no prediction
    const m = computeMetrics(
      matrix([
        [1, 0, 0],
        [0, 1, 0],
        [1, 0, 0],
      ]),
      [0, 1, 1],
    );
    expect(m.confusion).toEqual([
      [1, 0, 0],
      [1, 1, 0],
      [0, 0, 0],
    ]);
    expect(m.perClassF1).toEqual([2 / 3, 2 / 3, null]);
    expect(m.weightedF1).toBeCloseTo((1 * (2 / 3) + 2 * (2 / 3)) / 3, 12);
    expect(m.war).toBeCloseTo(2 / 3, 12);
    expect(m.uar).toBeCloseTo(0.75, 12);
    expect(m.uarReference).toBeCloseTo((1 + 0.5 + 1) / 3, 12);
    expect(m.absentClasses).toEqual([2]);
  });

  it('agrees with UAR when every class is present', () => {
    const m = metricsFromConfusion([
      [3, 1],
      [2, 4],
    ]);
    expect(m.war).toBeCloseTo(7 / 10, 12);
    expect(m.uar).toBeCloseTo((3 / 4 + 4 / 6) / 2, 12);
    expect(m.uarReference).toBe(m.uar);
    expect(m.absentClasses).toEqual([]);
    // F1: 2*3/(4+5) = 6/9, 2*4/(6+5) = 8/11; weighted by support 4 and 6
    expect(m.weightedF1).toBeCloseTo((4 * (6 / 9) + 6 * (8 / 11)) / 10, 12);
  });

  it('rejects labels out of range or of the wrong count', () => {
    expect(() => computeMetrics(logits, labels.slice(1))).toThrow(/expected 9 labels/);
    expect(() => computeMetrics(logits, [...labels.slice(1), 4])).toThrow(/labels\[8\].*got 4/);
    expect(() => confusionMatrix([0, 1], [0, 2], 2)).toThrow(/predictions\[1\]/);
  });
});
