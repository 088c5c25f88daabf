import type { Level } from './types.js';

/** Levels in the order the reference loader returns them (and in which RNG draws happen). */
export const LEVELS: readonly Level[] = ['H', 'M', 'L'];

/** Target length T per level: `max_len` 16, then 16 / 2 and 16 / 4. */
export const LEVEL_LENGTHS: Readonly<Record<Level, number>> = { H: 16, M: 8, L: 4 };

/** Feature stride of each level's list (`th14_vit_g_16_<stride>`). */
export const LEVEL_STRIDES: Readonly<Record<Level, number>> = { H: 4, M: 8, L: 16 };

/** Sigma of the training input noise (reference `input_noise`). */
export const DEFAULT_INPUT_NOISE_SIGMA = 0.0005;
