export * from './check.js';
export type * from './types.js';
