import type { WindowRule } from './types.js';

/** Frames per backbone window (VideoMAE v2 clips of 16 frames). */
export const DEFAULT_WINDOW_LENGTH = 16;

export const DEFAULT_WINDOW_RULE: WindowRule = 'cover';

/** Strides of the H, M and L pyramid levels. */
export const DEFAULT_STRIDES: readonly number[] = [4, 8, 16];

export const WINDOW_RULES: readonly WindowRule[] = ['cover', 'inside'];
