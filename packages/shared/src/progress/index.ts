export * from './progress.js';
export type * from './types.js';
