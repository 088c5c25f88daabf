import { DEFAULT_PTHNET_CONFIG, pthnetLevelLengths } from 'model';
import type { Level } from './types.js';

/** Levels in the order the reference loader returns them (and in which RNG draws happen). */
export const LEVELS: readonly Level[] = ['H', 'M', 'L'];

/**
 * Target length T per level of the published config (`max_len` 16: 16, 8, 4), the default of
 * batch assembly; a network with another `max_len` is fed `pthnetLevelLengths(config)`.
 */
export const LEVEL_LENGTHS: Readonly<Record<Level, number>> = pthnetLevelLengths(DEFAULT_PTHNET_CONFIG);

/** The published feature stride of each level's list (`th14_vit_g_16_<stride>`), `datasets.strides`' default. */
export const LEVEL_STRIDES: Readonly<Record<Level, number>> = { H: 4, M: 8, L: 16 };

/** Sigma of the training input noise (reference `input_noise`). */
export const DEFAULT_INPUT_NOISE_SIGMA = 0.0005;
