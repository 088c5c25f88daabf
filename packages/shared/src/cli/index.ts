export * from './common.js';
export * from './flags.js';
export type * from './types.js';
export * from './run.js';
export * from './dispatch.js';
export * from './rehash.js';
export * from './bench-flags.js';
