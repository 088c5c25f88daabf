import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CheckpointError, ConfigError, InputError, PthnetError, gemmThreadsPerWorker, preloadNativeGemm } from 'shared';
import { DEFAULT_VIT_POOL_WORKERS } from './constants.js';
import { ensureVitConfig, vitShapeOf } from './config.js';
import { checkWindowBatch } from './preprocess.js';
import type { VideoWindowBatch, VitWorkerPool, VitWorkerPoolOptions } from './types.js';
import type { SerializedError, VitWorkerInit, VitWorkerMessage, VitWorkerTask } from './workerProtocol.js';

const WORKER_ENTRY = new URL('./vitWorker.ts', import.meta.url);

/**
 * A worker thread starts as plain Node, which cannot load TypeScript, and on Node 20 a worker's
 * `--import` preload does not apply to its entry module. So the worker starts from a one-line
 * script that registers tsx's ESM hooks in its own thread, then imports the real entry. tsx is
 * found from this file (not the working directory), so this works under tsx, vitest and any cwd.
 */
function workerBootstrap(): string {
  const require = createRequire(import.meta.url);
  const packageJson = require.resolve('tsx/package.json');
  const manifest = JSON.parse(readFileSync(packageJson, 'utf8')) as {
    exports?: Record<string, { import?: { default?: string } } | string>;
  };
  const entry = manifest.exports?.['./esm/api'];
  const relative = typeof entry === 'object' ? entry.import?.default : undefined;
  if (relative === undefined) throw new PthnetError('WORKER', `${packageJson}: expected an export './esm/api' (tsx >= 4), found none`);
  const api = pathToFileURL(path.join(path.dirname(packageJson), relative)).href;
  return `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_ENTRY.href)}); });`;
}

function revive(error: SerializedError, where: string): PthnetError {
  const message = `${where}: ${error.message}`;
  switch (error.code) {
    case 'CHECKPOINT':
      return new CheckpointError(message, error.path);
    case 'CONFIG':
      return new ConfigError(message);
    case 'INPUT':
      return new InputError(message, error.path);
    default:
      return new PthnetError(error.code ?? 'WORKER', `${message} (${error.name})`);
  }
}

interface PendingTask {
  task: VitWorkerTask;
  resolve: (features: Float32Array) => void;
  reject: (error: Error) => void;
}

interface PoolWorker {
  index: number;
  thread: Worker;
  busy: PendingTask | null;
}

/**
 * Starts `workers` threads, each with its own tfjs backend and its own copy of the weights
 * (a wasm backend runs on one thread, so this is how a CPU's cores all get used). Resolves once
 * every worker has loaded; a worker that fails to start fails the pool with its error.
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
  };

  const queue: PendingTask[] = [];
  const workers: PoolWorker[] = [];
  let nextId = 0;
  let broken: PthnetError | null = null;
  let closed = false;

  const fail = (error: PthnetError): void => {
    if (broken === null) broken = error;
    for (const worker of workers) {
      worker.busy?.reject(error);
      worker.busy = null;
    }
    for (const pending of queue.splice(0)) pending.reject(error);
  };

  const dispatch = (): void => {
    for (const worker of workers) {
      if (worker.busy !== null) continue;
      const pending = queue.shift();
      if (pending === undefined) return;
      worker.busy = pending;
      worker.thread.postMessage(pending.task, [pending.task.data.buffer as ArrayBuffer]);
    }
  };

  preloadNativeGemm();
  const bootstrap = workerBootstrap();
  const started = Array.from({ length: count }, (_, index) => {
    const thread = new Worker(bootstrap, { eval: true, workerData: init });
    const worker: PoolWorker = { index, thread, busy: null };
    workers.push(worker);
    const where = `ViT worker ${index}`;
    return new Promise<{ name: string; detail: string }>((resolve, reject) => {
      thread.on('message', (message: VitWorkerMessage) => {
        switch (message.type) {
          case 'ready':
            resolve({ name: message.backend, detail: message.backendDetail });
            return;
          case 'failed':
            reject(revive(message.error, where));
            return;
          case 'result':
          case 'error': {
            const pending = worker.busy;
            worker.busy = null;
            if (pending !== null && pending.task.id === message.id) {
              if (message.type === 'result') pending.resolve(message.features);
              else pending.reject(revive(message.error, where));
            }
            dispatch();
            return;
          }
        }
      });
      thread.on('error', (error) => {
        const wrapped = new PthnetError('WORKER', `${where} crashed: ${error.message}`, { cause: error });
        reject(wrapped);
        fail(wrapped);
      });
      thread.on('exit', (code) => {
        if (closed) return;
        const wrapped = new PthnetError('WORKER', `${where} exited with code ${code}`);
        reject(wrapped);
        fail(wrapped);
      });
    });
  });

  let backends: Array<{ name: string; detail: string }>;
  try {
    backends = await Promise.all(started);
  } catch (error) {
    closed = true;
    await Promise.all(workers.map((worker) => worker.thread.terminate()));
    throw error;
  }

  const submit = (data: Uint8Array, shape: VitWorkerTask['shape']): Promise<Float32Array> =>
    new Promise((resolve, reject) => {
      if (broken !== null) return reject(broken);
      if (closed) return reject(new PthnetError('WORKER', 'extractFeatures: the ViT worker pool is closed'));
      queue.push({ task: { type: 'extract', id: nextId++, data, shape }, resolve, reject });
      dispatch();
    });

  return {
    config,
    workers: count,
    backend: backends[0]?.name ?? 'unknown',
    backendDetail: backends[0]?.detail ?? 'unknown',
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
        parts.push(submit(chunkData, [size, frames, height, width, channels]));
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
      fail(new PthnetError('WORKER', 'the ViT worker pool was closed'));
      await Promise.all(workers.map((worker) => worker.thread.terminate()));
    },
  };
}
