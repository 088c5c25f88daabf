export * from './data-parallel.js';
export * from './constants.js';
export type * from './types.js';
