export * from './bench.js';
export * from './constants.js';
export * from './profile.js';
export type * from './types.js';
