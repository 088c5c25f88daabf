export type { Rng, RngState } from './types.js';
export { deriveSeed } from './mix.js';
export { createDemoSetRng, createRng } from './sfc32.js';
export { seededUniform, seededUniformStream } from './mulberry32.js';
