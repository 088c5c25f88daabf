import type { SerializedError, WorkerThread } from 'shared';
import { ConfigError, InputError, TrainingError, startWorkers } from 'shared';
import type { SgdState } from '../optim/types.js';
import { validatePthNetConfig } from '../pthnet/config.js';
import { DEFAULT_PTHNET_SEED } from '../pthnet/constants.js';
import { pthnetParameterSpecs } from '../pthnet/params.js';
import type { PthNetConfig, PthNetLoss, StateDict } from '../pthnet/types.js';
import { CONTROL_ABORT, CONTROL_ARRIVED, DEFAULT_WORKERS } from './constants.js';
import { exchangeBuffers } from './exchange.js';
import type {
  DataParallelMethods,
  DataParallelOptions,
  HostArray,
  HostMask,
  HostPyramidBatch,
  ParallelStepOptions,
  ParallelStepResult,
  WorkerInit,
  WorkerReady,
} from './types.js';

type ParallelWorker = WorkerThread<DataParallelMethods, WorkerReady>;

const WORKER_ENTRY = new URL('./worker.ts', import.meta.url);

/** Every error of a worker is a TrainingError here, naming the worker and the error's class. */
function reviveTrainingError(error: SerializedError, name: string): TrainingError {
  return new TrainingError(`${name}: ${error.name}: ${error.message}`);
}

/** Rows `[start, end)` of a `[B, ...]` host array. */
function rows<D extends Float32Array | Uint8Array>(host: HostArray<D>, start: number, end: number): HostArray<D> {
  const perRow = host.shape.slice(1).reduce((n, d) => n * d, 1);
  return { shape: [end - start, ...host.shape.slice(1)], data: host.data.slice(start * perRow, end * perRow) as D };
}

/** Splits `batch` rows into `parts` contiguous, near-equal ranges. */
export function splitRanges(batch: number, parts: number): Array<[number, number]> {
  const used = Math.min(parts, batch);
  const ranges: Array<[number, number]> = [];
  for (let i = 0; i < used; i++) ranges.push([Math.floor((i * batch) / used), Math.floor(((i + 1) * batch) / used)]);
  return ranges;
}

/**
 * Data-parallel PTH-Net training and inference on worker threads, one tfjs backend each: the
 * batch is split across the workers, each computes the gradient of its share, the gradients are
 * summed through shared memory (weighted by share, so the sum is the full batch's gradient) and
 * every worker applies the same SGD step to its replica.
 */
export class DataParallelPthNet {
  readonly config: PthNetConfig;
  readonly workerCount: number;
  /** Backend each worker runs (as `selectBackend` named it). */
  readonly backend: string;
  /** The same, for logs: with the matMul library on wasm (`describeBackend`). */
  readonly backendDetail: string;
  /** Learning rate of the next step (a `MultiStepLR` can drive it). */
  lr: number;
  private readonly workers: ParallelWorker[];
  private readonly control: Int32Array;
  private steps = 0;
  private broken: Error | null = null;

  private constructor(config: PthNetConfig, workers: ParallelWorker[], control: Int32Array, backend: WorkerReady, lr: number) {
    this.config = config;
    this.workers = workers;
    this.workerCount = workers.length;
    this.control = control;
    this.backend = backend.backend;
    this.backendDetail = backend.backendDetail;
    this.lr = lr;
    // a worker lost (a crash, an exit) stops the pool: the replicas can no longer step together
    for (const worker of workers) worker.onFailure((error) => this.fail(error));
  }

  /** Starts the workers and waits until each has built its replica. */
  static async create(options: DataParallelOptions): Promise<DataParallelPthNet> {
    const config = validatePthNetConfig(options.config ?? {});
    const count = options.workers ?? DEFAULT_WORKERS;
    if (!Number.isInteger(count) || count < 1)
      throw new ConfigError(`parallel.workers: expected a positive integer, got ${JSON.stringify(count)}`);
    const exchange = exchangeBuffers(config, count);
    const workers = await startWorkers<DataParallelMethods, WorkerInit, WorkerReady>(count, (index) => ({
      entry: WORKER_ENTRY,
      init: {
        index,
        config,
        backend: options.backend ?? 'auto',
        seed: options.seed ?? DEFAULT_PTHNET_SEED,
        optimizer: options.optimizer,
        ...(options.stateDict ? { stateDict: options.stateDict } : {}),
        ...exchange,
        workers: count,
      },
      name: `data-parallel worker ${index}`,
      revive: reviveTrainingError,
      failure: (message, failureOptions) => new TrainingError(message, failureOptions),
    }));
    const backend = workers[0]?.ready;
    if (backend === undefined) throw new TrainingError('data-parallel: no worker reported a backend');
    return new DataParallelPthNet(config, workers, new Int32Array(exchange.control), backend, options.optimizer.lr);
  }

  /**
   * One SGD step on a batch: forward of the three levels, PTH-Net loss, gradient, update.
   * `labels` are class indices `[B]`.
   */
  async trainStep(batch: HostPyramidBatch, labels: Int32Array, options: ParallelStepOptions = {}): Promise<ParallelStepResult> {
    const size = batch.x_H.shape[0];
    if (size === undefined) throw new InputError('x_H: expected shape [B, ...], got []');
    if (labels.length !== size) throw new InputError(`labels: expected ${size} labels (one per clip), got ${labels.length}`);
    const ranges = splitRanges(size, this.workerCount);
    Atomics.store(this.control, CONTROL_ARRIVED, 0);
    const step = this.steps++;
    // every worker takes part (one without rows still updates its shard and its replica)
    const responses = await Promise.all(
      this.workers.map((_, index) => {
        const range = ranges[index];
        const part =
          range === undefined
            ? null
            : {
                x_L: rows(batch.x_L, range[0], range[1]),
                x_M: rows(batch.x_M, range[0], range[1]),
                x_H: rows(batch.x_H, range[0], range[1]),
                m_L: rows(batch.m_L, range[0], range[1]),
                m_M: rows(batch.m_M, range[0], range[1]),
                m_H: rows(batch.m_H, range[0], range[1]),
              };
        const request = {
          batch: part,
          labels: range === undefined ? new Int32Array(0) : labels.slice(range[0], range[1]),
          share: range === undefined ? 0 : (range[1] - range[0]) / size,
          lr: this.lr,
          options,
          step,
        };
        // the rows and labels are fresh copies: move them to the worker
        const transfer = [
          request.labels.buffer as ArrayBuffer,
          ...(part === null ? [] : Object.values(part).map((h) => h.data.buffer as ArrayBuffer)),
        ];
        // after a failed step the replicas may differ: refuse further work
        return this.call(index, 'train', request, transfer).catch((error: Error) => {
          this.fail(error);
          throw error;
        });
      }),
    );
    const losses: PthNetLoss<number> = { loss: 0, loss_ce: 0, loss_kl_L: 0, loss_kl_M: 0 };
    responses.forEach((response, index) => {
      const range = ranges[index];
      if (range === undefined) return;
      const share = (range[1] - range[0]) / size;
      for (const key of Object.keys(losses) as Array<keyof typeof losses>) losses[key] += share * response.losses[key];
    });
    const first = responses[0];
    if (first === undefined) throw new TrainingError('data-parallel: no worker replied to the step');
    return { losses, paramsWithoutGrad: first.paramsWithoutGrad };
  }

  /**
   * Steps taken so far. Drop path in the workers is seeded by (seed, step), so a resumed run
   * sets this to the steps it has done and draws the same masks as an uninterrupted one.
   */
  get stepCount(): number {
    return this.steps;
  }

  set stepCount(steps: number) {
    if (!Number.isInteger(steps) || steps < 0)
      throw new ConfigError(`parallel.stepCount: expected an integer >= 0, got ${JSON.stringify(steps)}`);
    this.steps = steps;
  }

  /** Level-H logits `[B, classes]` (row-major), the batch split across the workers. */
  async predict(x_H: HostArray, m_H: HostMask): Promise<Float32Array> {
    const size = x_H.shape[0];
    if (size === undefined) throw new InputError('x_H: expected shape [B, ...], got []');
    const ranges = splitRanges(size, this.workerCount);
    const parts = await Promise.all(
      ranges.map(async ([start, end], index) => {
        const x = rows(x_H, start, end);
        const mask = rows(m_H, start, end);
        return {
          start,
          logits: await this.call(index, 'predict', { x, mask }, [x.data.buffer as ArrayBuffer, mask.data.buffer as ArrayBuffer]),
        };
      }),
    );
    const logits = new Float32Array(size * this.config.num_classes);
    for (const part of parts) logits.set(part.logits, part.start * this.config.num_classes);
    return logits;
  }

  /** The (identical) replicas' parameters, reference layout and order. */
  stateDict(): Promise<StateDict> {
    return this.call(0, 'stateDict', null);
  }

  async loadStateDict(stateDict: StateDict): Promise<void> {
    await Promise.all(this.workers.map((_, index) => this.call(index, 'loadStateDict', stateDict)));
  }

  /** SGD momentum buffers (reference layout, reference order) and hyperparameters. */
  async optimizerState(): Promise<SgdState> {
    // each worker owns the momentum of its shard of parameters
    const parts = await Promise.all(this.workers.map((_, index) => this.call(index, 'optimizerState', null)));
    const merged = new Map<string, HostArray>();
    let state: SgdState | undefined;
    for (const part of parts) {
      state ??= part;
      for (const [name, buffer] of part.momentumBuffers) merged.set(name, buffer);
    }
    if (state === undefined) throw new TrainingError('data-parallel: no worker replied with optimizer state');
    const ordered = new Map(
      pthnetParameterSpecs(this.config).flatMap((s) => {
        const buffer = merged.get(s.name);
        return buffer === undefined ? [] : [[s.name, buffer] as const];
      }),
    );
    return { ...state, lr: this.lr, momentumBuffers: ordered };
  }

  async loadOptimizerState(state: Pick<SgdState, 'momentumBuffers'>): Promise<void> {
    await Promise.all(this.workers.map((_, index) => this.call(index, 'loadOptimizerState', state)));
  }

  /** Stops the workers (each frees its replica first unless the pool has failed; their backends go with them). */
  async dispose(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.close()));
  }

  private call<K extends keyof DataParallelMethods & string>(
    index: number,
    method: K,
    request: DataParallelMethods[K]['request'],
    transfer: ArrayBuffer[] = [],
  ): Promise<DataParallelMethods[K]['response']> {
    if (this.broken) return Promise.reject(this.broken);
    const worker = this.workers[index];
    if (worker === undefined) return Promise.reject(new TrainingError(`data-parallel: no worker ${index}`));
    return worker.call(method, request, transfer);
  }

  private fail(error: Error): void {
    if (this.broken !== null) return;
    this.broken = error;
    // workers waiting at a barrier for the one that failed give up
    Atomics.store(this.control, CONTROL_ABORT, 1);
    for (const worker of this.workers) worker.fail(error);
  }
}
