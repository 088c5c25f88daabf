import type { WorkerThread } from 'shared';
import { ConfigError, PthnetError, gemmThreadsPerWorker, startWorkers } from 'shared';
import { DEFAULT_VIT_POOL_WORKERS } from './constants.js';
import { ensureVitConfig, vitShapeOf } from './config.js';
import { checkWindowBatch } from './preprocess.js';
import { checkWeightBudget } from './weights.js';
import type { VideoWindowBatch } from '../backbones/types.js';
import type { VitWorkerPool, VitWorkerPoolOptions } from './types.js';
import type { VitWorkerInit, VitWorkerMethods, VitWorkerReady } from './workerProtocol.js';

const WORKER_ENTRY = new URL('./vitWorker.ts', import.meta.url);

interface PendingTask {
  windows: VideoWindowBatch;
  resolve: (features: Float32Array) => void;
  reject: (error: Error) => void;
}

/**
 * Starts `workers` threads, each with its own tfjs backend (a wasm backend runs on one thread, so
 * this is how a CPU's cores all get used) and its own copy of the weights, or, streamed, the
 * blocks one at a time from the checkpoint file, whose one copy in the OS page cache they all
 * read. Resolves once every worker is ready; a worker that fails to start fails the pool with its error.
 */
export async function createVitWorkerPool(options: VitWorkerPoolOptions): Promise<VitWorkerPool> {
  const config = ensureVitConfig(options.config);
  const count = options.workers ?? DEFAULT_VIT_POOL_WORKERS;
  if (!Number.isInteger(count) || count < 1) throw new ConfigError(`workers: expected a positive integer, got ${String(count)}`);
  const init: VitWorkerInit = {
    config: vitShapeOf(config),
    weights:
      options.weightsPath !== undefined
        ? { path: options.weightsPath, format: options.weightsFormat ?? 'auto' }
        : { randomSeed: options.randomSeed ?? 0 },
    backend: options.backend ?? 'wasm',
    gemmThreads: gemmThreadsPerWorker(count),
    weightBudget: options.weightBudget ?? null,
  };
  // a budget no block fits is refused here, before any thread starts
  checkWeightBudget(config, init.weightBudget);

  // A worker that fails to load (its CheckpointError, say) fails the start, the others stopped.
  const workers: Array<WorkerThread<VitWorkerMethods, VitWorkerReady>> = await startWorkers<
    VitWorkerMethods,
    VitWorkerInit,
    VitWorkerReady
  >(count, (index) => ({ entry: WORKER_ENTRY, init, name: `ViT worker ${index}` }));

  const queue: PendingTask[] = [];
  const busy = workers.map(() => false);
  let broken: Error | null = null;
  let closed = false;

  // One worker lost (a crash, an exit) fails the pool: every queued and running task.
  const fail = (error: Error): void => {
    if (broken !== null) return;
    broken = error;
    for (const pending of queue.splice(0)) pending.reject(error);
    for (const worker of workers) worker.fail(error);
  };
  for (const worker of workers) worker.onFailure(fail);

  const dispatch = (): void => {
    for (const [index, worker] of workers.entries()) {
      if (busy[index]) continue;
      const pending = queue.shift();
      if (pending === undefined) return;
      busy[index] = true;
      const done = (): void => {
        busy[index] = false;
        dispatch();
      };
      worker.call('extract', pending.windows, [pending.windows.data.buffer as ArrayBuffer]).then(
        (features) => {
          pending.resolve(features);
          done();
        },
        (error: Error) => {
          pending.reject(error);
          done();
        },
      );
    }
  };

  const submit = (windows: VideoWindowBatch): Promise<Float32Array> =>
    new Promise((resolve, reject) => {
      if (broken !== null) return reject(broken);
      if (closed) return reject(new PthnetError('WORKER', 'extractFeatures: the ViT worker pool is closed'));
      queue.push({ windows, resolve, reject });
      dispatch();
    });

  return {
    config,
    workers: count,
    backend: workers[0]?.ready.backend ?? 'unknown',
    backendDetail: workers[0]?.ready.backendDetail ?? 'unknown',
    // biome-ignore lint/style/noNonNullAssertion: startWorkers resolves with `count` >= 1 started workers
    weightPlan: workers[0]!.ready.weightPlan,
    memoryStats: () => Promise.all(workers.map((worker) => worker.call('memory', undefined))),
    async extractFeatures(windows: VideoWindowBatch): Promise<Float32Array> {
      checkWindowBatch(windows, config);
      const [batch, frames, height, width, channels] = windows.shape;
      const windowBytes = frames * height * width * channels;
      // Near-equal contiguous chunks, one per worker, so a single call keeps every core busy.
      const chunks = Math.min(count, batch);
      const parts: Promise<Float32Array>[] = [];
      let first = 0;
      for (let chunk = 0; chunk < chunks; chunk++) {
        const size = Math.floor(batch / chunks) + (chunk < batch % chunks ? 1 : 0);
        // A copy of its own, transferred to the worker: never the caller's buffer (a Node Buffer's
        // own slice() is a view, hence Uint8Array's).
        const chunkData = Uint8Array.prototype.slice.call(windows.data, first * windowBytes, (first + size) * windowBytes);
        parts.push(submit({ data: chunkData, shape: [size, frames, height, width, channels] }));
        first += size;
      }
      const results = await Promise.all(parts);
      const out = new Float32Array(batch * config.embedDim);
      let offset = 0;
      for (const part of results) {
        out.set(part, offset);
        offset += part.length;
      }
      return out;
    },
    async close() {
      if (closed) return;
      closed = true;
      const reason = new PthnetError('WORKER', 'the ViT worker pool was closed');
      fail(reason);
      await Promise.all(workers.map((worker) => worker.terminate(reason)));
    },
  };
}
