import type { Rng } from 'shared';
import { ConfigError, InputError } from 'shared';
import { DEFAULT_INPUT_NOISE_SIGMA, LEVELS, LEVEL_LENGTHS } from './constants.js';
import type {
  Batch,
  BatchOptions,
  ClipLevelRows,
  ClipRows,
  FloatTensor3,
  Level,
  MaskTensor3,
  ResolvedBatchOptions,
  SampledLevel,
  SamplingMode,
} from './types.js';

/**
 * Round to the nearest integer, ties to even: Python 3's `round(x)` and numpy's `np.round`,
 * which the reference segment bounds use (`round(2.5) = 2`, `round(7.5) = 8`). `Math.round`
 * sends every tie up and would shift some segment starts by one row.
 */
export function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const floor = Math.floor(x);
  // Exact for every double below 2^52: the fractional part of a double is representable.
  const fraction = x - floor;
  if (fraction < 0.5) return floor;
  if (fraction > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

function checkCounts(rowCount: number, targetLength: number): void {
  if (!Number.isSafeInteger(rowCount) || rowCount < 0) {
    throw new ConfigError(`sampling 'rowCount': expected a non-negative integer, got ${String(rowCount)}`);
  }
  if (!Number.isSafeInteger(targetLength) || targetLength < 1) {
    throw new ConfigError(`sampling 'targetLength': expected a positive integer, got ${String(targetLength)}`);
  }
}

/**
 * The `T` segments `[start, end)` of `n >= T` rows: `seg = n / T`, segment `i` spans
 * `[round(seg * i), round(seg * (i + 1)))`, ties to even. No segment is empty (numpy's
 * `randint(start, end)` would raise on one): `seg = 1` gives integer bounds, and for `seg > 1`
 * the upper bound exceeds the lower by more than 1, which even a tie rounded down cannot undo.
 */
export function segmentBounds(rowCount: number, targetLength: number): Array<[number, number]> {
  checkCounts(rowCount, targetLength);
  if (rowCount < targetLength) {
    throw new ConfigError(`segmentBounds: expected rowCount >= targetLength, got rowCount ${rowCount} < targetLength ${targetLength}`);
  }
  const segment = rowCount / targetLength;
  const bounds: Array<[number, number]> = [];
  for (let i = 0; i < targetLength; i++) {
    bounds.push([roundHalfEven(segment * i), roundHalfEven(segment * (i + 1))]);
  }
  return bounds;
}

/**
 * The feature rows a clip contributes at one level, one per real time step.
 * - `rowCount < T`: every row (the rest is padding).
 * - else in `eval` mode: `start_i + floor(seg / 2)` (the reference `start + int(seg / 2)`,
 *   with `seg` fractional: for seg = 2.5 the offset is 1, for seg = 1.0625 it is 0).
 * - else in `train` mode: a uniform row in `[start_i, end_i)` (numpy `randint(start, end)`),
 *   drawn in segment order from `rng`.
 * `rowCount == T` gives every row in both modes (each segment is one row).
 */
export function sampleRowIndices(rowCount: number, targetLength: number, mode: SamplingMode, rng?: Rng): number[] {
  checkCounts(rowCount, targetLength);
  if (rowCount < targetLength) return Array.from({ length: rowCount }, (_, i) => i);
  const bounds = segmentBounds(rowCount, targetLength);
  if (mode === 'eval') {
    const offset = Math.floor(rowCount / targetLength / 2);
    return bounds.map(([start]) => start + offset);
  }
  if (rng === undefined) {
    throw new ConfigError(`sampling 'rng': expected an Rng in mode 'train', got undefined`);
  }
  return bounds.map(([start, end]) => rng.nextInt(start, end));
}

function checkLevelRows(rows: ClipLevelRows, featureDim: number, where: string): void {
  if (!Number.isSafeInteger(rows.rows) || rows.rows < 0 || rows.data.length !== rows.rows * featureDim) {
    throw new InputError(
      `${where}: expected ${String(rows.rows)} rows of D = ${featureDim} floats (${rows.rows * featureDim}), got ${rows.data.length} floats`,
    );
  }
}

/**
 * Writes one clip-level into batch buffers: `input[inputOffset + c * T + t] = rows[idx_t, c]`
 * (the `[rows, D]` file transposed to channels first), zeros beyond the real steps, and the
 * mask. Returns the picked rows.
 */
function writeSampledLevel(
  rows: ClipLevelRows,
  featureDim: number,
  targetLength: number,
  mode: SamplingMode,
  rng: Rng | undefined,
  input: Float32Array,
  inputOffset: number,
  mask: Uint8Array,
  maskOffset: number,
): number[] {
  const rowIndices = sampleRowIndices(rows.rows, targetLength, mode, rng);
  const source = rows.data;
  for (let t = 0; t < rowIndices.length; t++) {
    const rowStart = (rowIndices[t] as number) * featureDim;
    for (let c = 0; c < featureDim; c++) {
      input[inputOffset + c * targetLength + t] = source[rowStart + c] as number;
    }
    mask[maskOffset + t] = 1;
  }
  // Padding stays as allocated: zeros in input and mask.
  return rowIndices;
}

/** One clip at one level, sampled and padded to `[D, T]` with its `[1, T]` mask; no noise. */
export function sampleClipLevel(
  rows: ClipLevelRows,
  featureDim: number,
  targetLength: number,
  mode: SamplingMode,
  rng?: Rng,
): SampledLevel {
  checkCounts(rows.rows, targetLength);
  checkLevelRows(rows, featureDim, 'sampleClipLevel');
  const input = new Float32Array(featureDim * targetLength);
  const mask = new Uint8Array(targetLength);
  const rowIndices = writeSampledLevel(rows, featureDim, targetLength, mode, rng, input, 0, mask, 0);
  return { input, mask, length: rowIndices.length, rowIndices };
}

/** Adds `sigma * N(0, 1)` to every element, in place, in array order. */
export function addGaussianNoise(data: Float32Array, sigma: number, rng: Rng): void {
  if (sigma === 0) return;
  // About 60 ns per element (measured here, CPU shared), mostly log/sqrt/cos/sin: some 75 ms
  // for a 32-clip batch at D = 1408, small beside a training step.
  for (let i = 0; i < data.length; i++) {
    data[i] = (data[i] as number) + sigma * rng.nextGaussian();
  }
}

/** Fills defaults and checks batch options; throws `ConfigError` naming the key. */
export function resolveBatchOptions(options: BatchOptions): ResolvedBatchOptions {
  const { mode, rng } = options;
  if (mode !== 'train' && mode !== 'eval') {
    throw new ConfigError(`batch option 'mode': expected 'train' or 'eval', got ${JSON.stringify(mode)}`);
  }
  const noise = options.noise ?? DEFAULT_INPUT_NOISE_SIGMA;
  if (typeof noise !== 'number' || !Number.isFinite(noise) || noise < 0) {
    throw new ConfigError(`batch option 'noise': expected a finite number >= 0, got ${String(noise)}`);
  }
  if (mode === 'train' && (rng === undefined || typeof rng.nextInt !== 'function')) {
    throw new ConfigError(`batch option 'rng': expected an Rng in mode 'train', got ${String(rng)}`);
  }
  return { mode, rng, noise };
}

/**
 * Samples, pads and stacks clips into a batch. In `train` mode the RNG is used in a fixed
 * order (for each clip in order: rows of H, M, L; then the noise of x_H, x_M, x_L over the
 * whole padded tensors), so the same seed and inputs give the same batch.
 */
export function assembleBatch(clips: readonly ClipRows[], featureDim: number, options: BatchOptions): Batch {
  const { mode, rng, noise } = resolveBatchOptions(options);
  const levelLengths = options.levelLengths ?? LEVEL_LENGTHS;
  if (!LEVELS.every((level) => Number.isSafeInteger(levelLengths[level]) && levelLengths[level] > 0)) {
    throw new ConfigError(`batch option 'levelLengths': expected positive integers H, M, L, got ${JSON.stringify(levelLengths)}`);
  }
  if (!Number.isSafeInteger(featureDim) || featureDim < 1) {
    throw new ConfigError(`batch 'featureDim': expected a positive integer, got ${String(featureDim)}`);
  }
  const size = clips.length;
  const inputs = {} as Record<Level, Float32Array>;
  const masks = {} as Record<Level, Uint8Array>;
  for (const level of LEVELS) {
    inputs[level] = new Float32Array(size * featureDim * levelLengths[level]);
    masks[level] = new Uint8Array(size * levelLengths[level]);
  }
  const labels = new Int32Array(size);

  clips.forEach((clip, b) => {
    if (!Number.isSafeInteger(clip.label) || clip.label < 0) {
      throw new InputError(`batch clip ${b}: expected a non-negative integer label, got ${String(clip.label)}`);
    }
    labels[b] = clip.label;
    for (const level of LEVELS) {
      const length = levelLengths[level];
      const rows = clip.levels[level];
      checkCounts(rows.rows, length);
      checkLevelRows(rows, featureDim, `batch clip ${b} level ${level}`);
      writeSampledLevel(rows, featureDim, length, mode, rng, inputs[level], b * featureDim * length, masks[level], b * length);
    }
  });

  if (mode === 'train' && noise > 0 && rng !== undefined) {
    for (const level of LEVELS) addGaussianNoise(inputs[level], noise, rng);
  }

  const x = (level: Level): FloatTensor3 => ({
    data: inputs[level],
    shape: [size, featureDim, levelLengths[level]],
  });
  const m = (level: Level): MaskTensor3 => ({ data: masks[level], shape: [size, 1, levelLengths[level]] });
  return {
    size,
    D: featureDim,
    x_H: x('H'),
    x_M: x('M'),
    x_L: x('L'),
    m_H: m('H'),
    m_M: m('M'),
    m_L: m('L'),
    y: { data: labels, shape: [size] },
  };
}
