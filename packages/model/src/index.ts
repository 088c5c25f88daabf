// Public API of the `model` package.
export * from './checkpoint/index.js';
export * from './pthnet/index.js';
export * from './optim/index.js';
export * from './parallel/index.js';
export * from './bench/index.js';
