// Public API of the `eval` package.
export * from './combine/index.js';
export * from './report/index.js';
export * from './cv-report/index.js';
