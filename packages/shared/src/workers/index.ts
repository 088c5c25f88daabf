export { reviveWorkerError, serializeError } from './errors.js';
export { WorkerThread, startWorkers } from './host.js';
export { serveWorker, transferring, type WorkerHandlers, type WorkerService } from './serve.js';
export type * from './types.js';
