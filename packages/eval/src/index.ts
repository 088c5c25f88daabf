// Public API of the `eval` package.
export * from './combine/index.js';
export * from './report/index.js';
