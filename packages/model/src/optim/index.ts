export * from './sgd.js';
export * from './multistep-lr.js';
export * from './constants.js';
export type * from './types.js';
