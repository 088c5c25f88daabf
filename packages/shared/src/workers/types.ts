/**
 * What a worker answers: for each method, the request it takes and the response it gives.
 * Declare it as a type, e.g. `type Methods = { extract: { request: Batch; response: Float32Array } }`.
 */
export type WorkerMethods<M> = { [K in keyof M]: { request: unknown; response: unknown } };

/** A thrown error as plain data: class name, code, message and path survive the thread boundary. */
export interface SerializedError {
  name: string;
  /** `PthnetError.code`; undefined for any other error. */
  code: string | undefined;
  message: string;
  /** `InputError.path` / `CheckpointError.path`, when the error has one. */
  path: string | undefined;
}

/** Main thread -> worker. */
export type HostMessage = { type: 'call'; id: number; method: string; request: unknown } | { type: 'close'; id: number };

/** Worker -> main thread. */
export type WorkerMessage =
  | { type: 'ready'; ready: unknown }
  | { type: 'failed'; error: SerializedError }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; error: SerializedError };

/** What a worker entry is started with (`workerData`). */
export interface WorkerEnvelope<Init> {
  init: Init;
}

export interface StartWorkerOptions<Init> {
  /** The worker's entry module, a TypeScript file (loaded through tsx); it calls `serveWorker`. */
  entry: URL;
  /** Plain data (structured-cloned; SharedArrayBuffers are shared) the entry's setup receives. */
  init: Init;
  /** Names the thread in every error it raises, e.g. `ViT worker 0`. */
  name: string;
  /**
   * The error a worker's thrown error becomes in this thread. Default `reviveWorkerError`: the
   * same class (by code) with `<name>: ` before the message.
   */
  revive?: (error: SerializedError, name: string) => Error;
  /** The error for a crash or an unexpected exit, given its message. Default a `PthnetError` with code `WORKER`. */
  failure?: (message: string, options?: { cause?: unknown }) => Error;
}
