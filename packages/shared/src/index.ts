// Public API of the `shared` package: the manifest, cache keys, atomic files, .npy I/O,
// config, progress, tfjs backend selection and typed errors used by every stage.
export * from './errors/index.js';
export * from './cache/index.js';
export * from './atomic/index.js';
export * from './npy/index.js';
export * from './manifest/index.js';
export * from './charts/index.js';
export * from './config/index.js';
export * from './progress/index.js';
export * from './cli/index.js';
export * from './pipeline/index.js';
export * from './backend/index.js';
export * from './metrics/index.js';
export * from './paths/index.js';
export * from './random/index.js';
export * from './workers/index.js';
