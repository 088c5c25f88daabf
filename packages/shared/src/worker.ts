/**
 * `shared/worker`: what a worker thread's entry module needs, without the rest of the package.
 * Importing `shared` loads the manifest, drizzle and tfjs (more than half a second in a fresh
 * thread); a pool of file checkers that starts in every `import-features` cannot wait for that.
 */
export { hashBytes } from './cache/hash.js';
export { fileStampSync, stampOf } from './cache/stamp.js';
export { NPY_HEADER_PROBE_BYTES } from './npy/constants.js';
export { parseNpyHeader, readNpyHeaderSync } from './npy/npy.js';
export type { NpyFileHeader } from './npy/types.js';
export { serveWorker } from './workers/serve.js';
export type { WorkerHandlers, WorkerService } from './workers/serve.js';
