import { describe, expect, it } from 'vitest';
import { ConfigError, createRng } from 'shared';
import { LEVEL_LENGTHS } from './constants.js';
import {
  addGaussianNoise,
  assembleBatch,
  resolveBatchOptions,
  roundHalfEven,
  sampleClipLevel,
  sampleRowIndices,
  segmentBounds,
} from './sampling.js';
import type { ClipLevelRows, ClipRows } from './types.js';

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** `rows` rows of D floats where row r, channel c holds `100 * r + c` (so values name their origin). */
function numberedRows(rows: number, featureDim: number, base = 0): ClipLevelRows {
  const data = new Float32Array(rows * featureDim);
  for (let r = 0; r < rows; r++) for (let c = 0; c < featureDim; c++) data[r * featureDim + c] = base + 100 * r + c;
  return { data, rows };
}

describe('roundHalfEven', () => {
  it('rounds ties to the even neighbour like Python round()', () => {
    expect([0.5, 1.5, 2.5, 3.5, 7.5, 12.5, 13.5, -0.5, -1.5, -2.5].map(roundHalfEven)).toEqual([0, 2, 2, 4, 8, 12, 14, 0, -2, -2]);
  });
  it('rounds everything else to the nearest integer', () => {
    expect([0.49999999999999994, 0.5000000000000001, 2.4, 2.6, 5.625, 12.375, -2.6, 7].map(roundHalfEven)).toEqual([
      0, 1, 2, 3, 6, 12, -3, 7,
    ]);
  });
});

describe('segmentBounds', () => {
  it('seg = 2.5 (n 40, T 16): ties at 2.5, 7.5, 12.5, ... go to the even side', () => {
    // round(2.5) = 2, round(7.5) = 8, round(12.5) = 12, round(17.5) = 18, ...
    expect(segmentBounds(40, 16)).toEqual([
      [0, 2],
      [2, 5],
      [5, 8],
      [8, 10],
      [10, 12],
      [12, 15],
      [15, 18],
      [18, 20],
      [20, 22],
      [22, 25],
      [25, 28],
      [28, 30],
      [30, 32],
      [32, 35],
      [35, 38],
      [38, 40],
    ]);
  });
  it('seg = 1.125 (n 18, T 16): 4.5 -> 4 makes segment 4 two rows long, 13.5 -> 14 segment 11', () => {
    const bounds = segmentBounds(18, 16);
    expect(bounds[4]).toEqual([4, 6]);
    expect(bounds[11]).toEqual([12, 14]);
    expect(bounds.filter(([start, end]) => end - start === 2)).toEqual([
      [4, 6],
      [12, 14],
    ]);
  });
  it('refuses n < T', () => {
    expect(() => segmentBounds(3, 4)).toThrow(ConfigError);
  });
});

describe('sampleRowIndices, eval mode (start + floor(seg / 2))', () => {
  // Each expectation worked out by hand from seg = n / T; checked against the reference
  // `_get_seq_frames` in numpy while writing this test.
  it('level H (T 16)', () => {
    expect(sampleRowIndices(3, 16, 'eval')).toEqual([0, 1, 2]); // n < T: every row
    expect(sampleRowIndices(16, 16, 'eval')).toEqual(range(16)); // n == T: every row
    // seg 1.0625, offset 0; round(8.5) = 8, round(9.5625) = 10: row 9 is skipped
    expect(sampleRowIndices(17, 16, 'eval')).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16]);
    // seg 1.125, offset 0; starts round(4.5) = 4, round(5.625) = 6, round(13.5) = 14
    expect(sampleRowIndices(18, 16, 'eval')).toEqual([0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 14, 15, 16, 17]);
    // seg 1.5, offset floor(0.75) = 0; starts 0, round(1.5)=2, 3, round(4.5)=4, 6, round(7.5)=8, ...
    expect(sampleRowIndices(24, 16, 'eval')).toEqual([0, 2, 3, 4, 6, 8, 9, 10, 12, 14, 15, 16, 18, 20, 21, 22]);
    // seg 2.5, offset floor(1.25) = 1; starts 0, 2, 5, 8, 10, 12, 15, 18, ...
    expect(sampleRowIndices(40, 16, 'eval')).toEqual([1, 3, 6, 9, 11, 13, 16, 19, 21, 23, 26, 29, 31, 33, 36, 39]);
  });
  it('level M (T 8)', () => {
    expect(sampleRowIndices(5, 8, 'eval')).toEqual([0, 1, 2, 3, 4]);
    expect(sampleRowIndices(8, 8, 'eval')).toEqual(range(8));
    // seg 1.5: starts 0, round(1.5)=2, 3, round(4.5)=4, 6, round(7.5)=8, 9, round(10.5)=10
    expect(sampleRowIndices(12, 8, 'eval')).toEqual([0, 2, 3, 4, 6, 8, 9, 10]);
    // seg 2.5, offset 1: starts 0, round(2.5)=2, 5, round(7.5)=8, 10, round(12.5)=12, 15, round(17.5)=18
    expect(sampleRowIndices(20, 8, 'eval')).toEqual([1, 3, 6, 9, 11, 13, 16, 19]);
  });
  it('level L (T 4)', () => {
    expect(sampleRowIndices(1, 4, 'eval')).toEqual([0]);
    expect(sampleRowIndices(4, 4, 'eval')).toEqual([0, 1, 2, 3]);
    // seg 1.5: starts 0, round(1.5)=2, 3, round(4.5)=4
    expect(sampleRowIndices(6, 4, 'eval')).toEqual([0, 2, 3, 4]);
    // seg 2.5, offset 1: starts 0, round(2.5)=2, 5, round(7.5)=8
    expect(sampleRowIndices(10, 4, 'eval')).toEqual([1, 3, 6, 9]);
    // seg 4.75, offset floor(2.375) = 2: starts 0, round(4.75)=5, round(9.5)=10, round(14.25)=14
    expect(sampleRowIndices(19, 4, 'eval')).toEqual([2, 7, 12, 16]);
  });
  it('gives no rows for an empty clip', () => {
    expect(sampleRowIndices(0, 4, 'eval')).toEqual([]);
  });
});

describe('sampleRowIndices, train mode', () => {
  it('n <= T takes every row whatever the RNG', () => {
    const rng = createRng(1);
    expect(sampleRowIndices(7, 16, 'train', rng)).toEqual(range(7));
    expect(sampleRowIndices(8, 8, 'train', rng)).toEqual(range(8));
    expect(sampleRowIndices(4, 4, 'train', rng)).toEqual(range(4));
  });
  it('picks inside each half-even segment and reaches every row of it', () => {
    const rng = createRng(2);
    // n 10, T 4: segments [0,2) [2,5) [5,8) [8,10)
    const seen = [new Set<number>(), new Set<number>(), new Set<number>(), new Set<number>()];
    for (let draw = 0; draw < 400; draw++) {
      sampleRowIndices(10, 4, 'train', rng).forEach((row, i) => {
        seen[i]!.add(row);
      });
    }
    expect(seen.map((rows) => [...rows].sort((a, b) => a - b))).toEqual([
      [0, 1],
      [2, 3, 4],
      [5, 6, 7],
      [8, 9],
    ]);
  });
  it('is reproducible from the seed', () => {
    const a = sampleRowIndices(40, 16, 'train', createRng(11));
    const b = sampleRowIndices(40, 16, 'train', createRng(11));
    expect(a).toEqual(b);
  });
  it('needs an rng', () => {
    expect(() => sampleRowIndices(40, 16, 'train')).toThrow(/'rng': expected an Rng in mode 'train'/);
  });
});

describe('sampleClipLevel', () => {
  it('transposes the picked rows to [D, T] and pads with zeros (n < T)', () => {
    const sampled = sampleClipLevel(numberedRows(3, 2), 2, 4, 'eval');
    // input[c * T + t] = rows[t][c]
    expect(Array.from(sampled.input)).toEqual([0, 100, 200, 0, 1, 101, 201, 0]);
    expect(Array.from(sampled.mask)).toEqual([1, 1, 1, 0]);
    expect(sampled.length).toBe(3);
  });
  it('takes the eval rows when n > T', () => {
    const sampled = sampleClipLevel(numberedRows(10, 2), 2, 4, 'eval');
    expect(sampled.rowIndices).toEqual([1, 3, 6, 9]);
    expect(Array.from(sampled.input)).toEqual([100, 300, 600, 900, 101, 301, 601, 901]);
    expect(Array.from(sampled.mask)).toEqual([1, 1, 1, 1]);
  });
});

describe('addGaussianNoise', () => {
  it('adds sigma times the rng normals in array order', () => {
    const data = new Float32Array([1, 2, 3]);
    const normals = createRng(8);
    const expected = [1, 2, 3].map((value) => Math.fround(value + 0.5 * normals.nextGaussian()));
    addGaussianNoise(data, 0.5, createRng(8));
    expect(Array.from(data)).toEqual(expected);
  });
});

describe('assembleBatch', () => {
  const D = 3;
  const clips: ClipRows[] = [
    // H: n 40 > 16, M: n 8 == 8, L: n 2 < 4
    { label: 4, levels: { H: numberedRows(40, D), M: numberedRows(8, D, 10_000), L: numberedRows(2, D, 20_000) } },
    // H: n 5 < 16, M: n 20 > 8, L: n 4 == 4
    { label: 1, levels: { H: numberedRows(5, D), M: numberedRows(20, D, 10_000), L: numberedRows(4, D, 20_000) } },
  ];

  it('eval: sampled, transposed, padded, masked; shapes [B, D, T] / [B, 1, T] / [B]', () => {
    const batch = assembleBatch(clips, D, { mode: 'eval' });
    expect(batch.size).toBe(2);
    expect(batch.x_H.shape).toEqual([2, D, 16]);
    expect(batch.x_M.shape).toEqual([2, D, 8]);
    expect(batch.x_L.shape).toEqual([2, D, 4]);
    expect(batch.m_H.shape).toEqual([2, 1, 16]);
    expect(batch.m_L.shape).toEqual([2, 1, 4]);
    expect(Array.from(batch.y.data)).toEqual([4, 1]);

    const at = (x: { data: Float32Array }, T: number, b: number, c: number, t: number): number => x.data[(b * D + c) * T + t] as number;
    // Clip 0, H: rows [1, 3, 6, 9, ...] (seg 2.5), channel 2
    expect(range(16).map((t) => at(batch.x_H, 16, 0, 2, t))).toEqual(
      [1, 3, 6, 9, 11, 13, 16, 19, 21, 23, 26, 29, 31, 33, 36, 39].map((row) => 100 * row + 2),
    );
    // Clip 1, H: 5 rows then padding
    expect(range(16).map((t) => at(batch.x_H, 16, 1, 1, t))).toEqual([1, 101, 201, 301, 401, ...Array(11).fill(0)]);
    expect(Array.from(batch.m_H.data)).toEqual([...Array(16).fill(1), ...Array(5).fill(1), ...Array(11).fill(0)]);
    // Clip 0, M: every row; clip 1, M: rows [1, 3, 6, 9, 11, 13, 16, 19]
    expect(range(8).map((t) => at(batch.x_M, 8, 0, 0, t))).toEqual(range(8).map((row) => 10_000 + 100 * row));
    expect(range(8).map((t) => at(batch.x_M, 8, 1, 0, t))).toEqual([1, 3, 6, 9, 11, 13, 16, 19].map((row) => 10_000 + 100 * row));
    // L: clip 0 has 2 rows, clip 1 all 4
    expect(range(4).map((t) => at(batch.x_L, 4, 0, 1, t))).toEqual([20_001, 20_101, 0, 0]);
    expect(Array.from(batch.m_L.data)).toEqual([1, 1, 0, 0, 1, 1, 1, 1]);
    expect(Array.from(batch.m_M.data)).toEqual(Array(16).fill(1));
  });

  it('train: reproducible; picks stay in their segments; noise of sigma covers padding too', () => {
    const a = assembleBatch(clips, D, { mode: 'train', rng: createRng(3) });
    const b = assembleBatch(clips, D, { mode: 'train', rng: createRng(3) });
    expect(Array.from(a.x_H.data)).toEqual(Array.from(b.x_H.data));
    expect(Array.from(a.m_H.data)).toEqual(Array.from(b.m_H.data));

    const bounds = segmentBounds(40, 16);
    for (let t = 0; t < 16; t++) {
      // channel 0 of clip 0 holds 100 * row (+ noise of sigma 0.0005)
      const row = Math.round((a.x_H.data[t] as number) / 100);
      const [start, end] = bounds[t]!;
      expect(row >= start && row < end).toBe(true);
    }

    // Padding of clip 1 (H steps 5..15) is pure noise: small, not all zero.
    const padding: number[] = [];
    for (let c = 0; c < D; c++) for (let t = 5; t < 16; t++) padding.push(a.x_H.data[(1 * D + c) * 16 + t] as number);
    expect(padding.every((value) => value !== 0 && Math.abs(value) < 0.0005 * 6)).toBe(true);

    const quiet = assembleBatch(clips, D, { mode: 'train', rng: createRng(3), noise: 0 });
    expect(range(16).map((t) => quiet.x_H.data[(1 * D + 0) * 16 + t])).toEqual([0, 100, 200, 300, 400, ...Array(11).fill(0)]);
  });

  it('eval ignores noise and rng', () => {
    const batch = assembleBatch(clips, D, { mode: 'eval', noise: 0.1, rng: createRng(1) });
    expect(batch.x_L.data[0]).toBe(20_000);
    expect(batch.x_L.data[2]).toBe(0);
  });

  it('rejects rows that do not match D', () => {
    const bad: ClipRows = { label: 0, levels: { H: numberedRows(2, 2), M: numberedRows(2, 3), L: numberedRows(2, 3) } };
    expect(() => assembleBatch([bad], D, { mode: 'eval' })).toThrow(/clip 0 level H: expected 2 rows of D = 3/);
  });
});

describe('resolveBatchOptions', () => {
  it('fills the default noise sigma', () => {
    expect(resolveBatchOptions({ mode: 'eval' })).toEqual({ mode: 'eval', rng: undefined, noise: 0.0005 });
  });
  it('names the bad key', () => {
    expect(() => resolveBatchOptions({ mode: 'test' as 'eval' })).toThrow(/'mode': expected 'train' or 'eval', got "test"/);
    expect(() => resolveBatchOptions({ mode: 'eval', noise: -1 })).toThrow(/'noise': expected a finite number >= 0, got -1/);
    expect(() => resolveBatchOptions({ mode: 'train' })).toThrow(/'rng': expected an Rng in mode 'train', got undefined/);
  });
  it('level lengths are 16, 8, 4', () => {
    expect(LEVEL_LENGTHS).toEqual({ H: 16, M: 8, L: 4 });
  });
});
