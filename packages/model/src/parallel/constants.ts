/** Two cores on the reference machine: one wasm backend per core. */
export const DEFAULT_WORKERS = 2;
/** How long a worker waits at a barrier between checks of the abort flag. */
export const BARRIER_POLL_MS = 200;
/** Indices in the control Int32Array. */
export const CONTROL_ARRIVED = 0;
export const CONTROL_GENERATION = 1;
export const CONTROL_ABORT = 2;
export const CONTROL_LENGTH = 3;
