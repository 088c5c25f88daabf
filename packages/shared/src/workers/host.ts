import type { TransferListItem } from 'node:worker_threads';
import { Worker } from 'node:worker_threads';
import { preloadNativeGemm } from '../backend/native-gemm.js';
import { PthnetError } from '../errors/errors.js';
import { reviveWorkerError } from './errors.js';
import type { HostMessage, StartWorkerOptions, WorkerEnvelope, WorkerMessage, WorkerMethods } from './types.js';

/**
 * A worker thread starts as plain Node, which cannot load TypeScript, and on Node 20 a worker's
 * `--import` preload does not apply to its entry module. So the worker starts from a one-line
 * script that registers tsx's ESM hooks in its own thread, then imports the real entry. tsx is
 * resolved from this file (not the working directory), so this works under tsx, vitest and any cwd.
 */
function bootstrap(entry: URL): string {
  const tsxApi = import.meta.resolve('tsx/esm/api');
  return `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
}

function defaultFailure(message: string, options?: { cause?: unknown }): Error {
  return new PthnetError('WORKER', message, options);
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/**
 * The main thread's end of one worker: typed calls with ids, answered in any order; a call the
 * worker throws on rejects with that error revived (its class kept); a crash or an unexpected
 * exit fails every pending call and every later one. Start threads with `startWorkers`.
 */
export class WorkerThread<M extends WorkerMethods<M>, Ready = unknown> {
  readonly name: string;
  private readonly thread: Worker;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners: Array<(error: Error) => void> = [];
  private nextId = 0;
  private failed: Error | null = null;
  private stopping = false;
  private readyValue: Ready | undefined;

  private constructor(thread: Worker, name: string) {
    this.thread = thread;
    this.name = name;
  }

  /** What the worker's setup returned as `ready` (its backend, say). */
  get ready(): Ready {
    return this.readyValue as Ready;
  }

  /** The error that stopped this thread, or null while it works. */
  get failure(): Error | null {
    return this.failed;
  }

  /**
   * Spawns the thread. `started` resolves once the worker's setup has finished and rejects with
   * the setup's error (revived), a crash or an exit before that.
   */
  static spawn<M extends WorkerMethods<M>, Init, Ready>(
    options: StartWorkerOptions<Init>,
  ): { worker: WorkerThread<M, Ready>; started: Promise<void> } {
    const envelope: WorkerEnvelope<Init> = { init: options.init };
    const revive = options.revive ?? reviveWorkerError;
    const failure = options.failure ?? defaultFailure;
    const worker = new WorkerThread<M, Ready>(new Worker(bootstrap(options.entry), { eval: true, workerData: envelope }), options.name);
    const started = new Promise<void>((resolve, reject) => {
      worker.listeners.push(reject);
      worker.thread.on('message', (message: WorkerMessage) => {
        switch (message.type) {
          case 'ready':
            worker.readyValue = message.ready as Ready;
            resolve();
            return;
          case 'failed':
            worker.fail(revive(message.error, worker.name));
            return;
          case 'result':
          case 'error': {
            const waiting = worker.pending.get(message.id);
            if (waiting === undefined) return;
            worker.pending.delete(message.id);
            if (message.type === 'result') waiting.resolve(message.value);
            else waiting.reject(revive(message.error, worker.name));
            return;
          }
        }
      });
      worker.thread.on('error', (error) => worker.fail(failure(`${worker.name} crashed: ${error.message}`, { cause: error })));
      worker.thread.on('exit', (code) => {
        if (!worker.stopping) worker.fail(failure(`${worker.name} exited with code ${code}`));
      });
    });
    return { worker, started };
  }

  /**
   * Calls `method` in the worker. `transfer` lists buffers of `request` to move rather than copy
   * (they are detached here afterwards).
   */
  call<K extends keyof M & string>(
    method: K,
    request: M[K]['request'],
    transfer: readonly TransferListItem[] = [],
  ): Promise<M[K]['response']> {
    if (this.failed !== null) return Promise.reject(this.failed);
    if (this.stopping) return Promise.reject(new PthnetError('WORKER', `${this.name}: ${method}: the worker is closed`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      const message: HostMessage = { type: 'call', id, method, request };
      this.thread.postMessage(message, transfer as TransferListItem[]);
    });
  }

  /** Runs `listener` once when this thread fails (crash, exit, failed setup, or `fail`). */
  onFailure(listener: (error: Error) => void): void {
    this.listeners.push(listener);
  }

  /** Marks the thread failed: pending and later calls reject with `error`. The thread keeps running until closed. */
  fail(error: Error): void {
    if (this.failed !== null) return;
    this.failed = error;
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
    for (const listener of this.listeners.splice(0)) listener(error);
  }

  /**
   * Asks the worker to run its close hook (free its model) and stop, waits for that (skipped when
   * the thread has failed), then terminates it.
   */
  async close(): Promise<void> {
    if (this.stopping) return;
    if (this.failed === null) {
      const id = this.nextId++;
      await new Promise<unknown>((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        const message: HostMessage = { type: 'close', id };
        this.thread.postMessage(message);
      }).catch(() => undefined);
    }
    this.stopping = true;
    await this.thread.terminate();
  }

  /** Stops the thread now, without its close hook; pending calls reject with `reason`. */
  async terminate(reason: Error): Promise<void> {
    this.stopping = true;
    this.fail(reason);
    await this.thread.terminate();
  }
}

/**
 * Starts `count` worker threads; resolves when all are ready. If one fails to start, the others
 * are terminated and the first error is thrown.
 *
 * The OpenBLAS addon is loaded in this thread first: OpenBLAS picks its kernels from the
 * environment once, when the first thread loads it, and a worker's `process.env` is its own
 * copy, so only the main thread can set what the library reads (see `preloadNativeGemm`).
 */
export async function startWorkers<M extends WorkerMethods<M>, Init, Ready>(
  count: number,
  options: (index: number) => StartWorkerOptions<Init>,
): Promise<Array<WorkerThread<M, Ready>>> {
  preloadNativeGemm();
  const spawned = Array.from({ length: count }, (_, index) => WorkerThread.spawn<M, Init, Ready>(options(index)));
  try {
    await Promise.all(spawned.map(({ started }) => started));
  } catch (error) {
    const stopped = new PthnetError('WORKER', 'stopped: a worker of its pool failed to start');
    await Promise.all(spawned.map(({ worker }) => worker.terminate(stopped)));
    throw error;
  }
  return spawned.map(({ worker }) => worker);
}
