import type { Rng } from 'shared';

/** A pyramid level: H (stride 4), M (stride 8), L (stride 16). */
export type Level = 'H' | 'M' | 'L';

/**
 * `train` picks a random row in each segment and adds input noise; `eval` picks the
 * segment's middle row and adds nothing (the reference loader's `mode == 'test'`).
 */
export type SamplingMode = 'train' | 'eval';

/** The feature rows of one clip at one level: row-major `[rows, D]` (rows = windows). */
export interface ClipLevelRows {
  readonly data: Float32Array;
  readonly rows: number;
}

/** What batch assembly needs from one clip. */
export interface ClipRows {
  readonly levels: Readonly<Record<Level, ClipLevelRows>>;
  readonly label: number;
}

/** One clip-level after sampling, channels first as the network reads it. */
export interface SampledLevel {
  /** `[D, T]` row-major: `input[c * T + t]`. */
  readonly input: Float32Array;
  /** `[1, T]`: 1 on real time steps (the first `length`), 0 on padding. */
  readonly mask: Uint8Array;
  /** Number of real time steps, `min(rows, T)`. */
  readonly length: number;
  /** The feature rows picked, one per real time step. */
  readonly rowIndices: readonly number[];
}

export interface BatchOptions {
  mode: SamplingMode;
  /** Required in `train` mode (random rows and noise); ignored in `eval` mode. */
  rng?: Rng;
  /**
   * Standard deviation of the Gaussian noise added to the whole padded input tensors in
   * `train` mode. Default `DEFAULT_INPUT_NOISE_SIGMA` (0.0005); 0 turns it off.
   */
  noise?: number;
  /**
   * Time steps of each level: the network's `pthnetLevelLengths(config)` (`max_len`, / 2, / 4).
   * Default `LEVEL_LENGTHS` (16, 8, 4: the published `max_len` 16).
   */
  levelLengths?: Readonly<Record<Level, number>>;
}

export interface ResolvedBatchOptions {
  mode: SamplingMode;
  rng: Rng | undefined;
  noise: number;
}

export interface FloatTensor3 {
  readonly data: Float32Array;
  readonly shape: readonly [number, number, number];
}

export interface MaskTensor3 {
  readonly data: Uint8Array;
  readonly shape: readonly [number, number, number];
}

/**
 * A batch in the layout PTH-Net reads: inputs `[B, D, T]`, masks `[B, 1, T]` (1 = real
 * step), labels `[B]`; flat row-major arrays with their shapes.
 */
export interface Batch {
  readonly size: number;
  readonly D: number;
  readonly x_H: FloatTensor3;
  readonly x_M: FloatTensor3;
  readonly x_L: FloatTensor3;
  readonly m_H: MaskTensor3;
  readonly m_M: MaskTensor3;
  readonly m_L: MaskTensor3;
  readonly y: { readonly data: Int32Array; readonly shape: readonly [number] };
}
