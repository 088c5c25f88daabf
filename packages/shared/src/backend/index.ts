export * from './backend.js';
export * from './constants.js';
export type * from './types.js';
