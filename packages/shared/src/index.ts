// Public API of the `shared` package: the manifest, cache keys, atomic files, .npy I/O,
// config, progress, tfjs backend selection and typed errors used by every stage.
export * from './errors/index.js';
