export type { MuSweepEntry } from './types.js';
export { DEFAULT_MU_GRID, FERV39K_MU } from './constants.js';
export { combineLogits, sweepMu, validateMu } from './combine.js';
