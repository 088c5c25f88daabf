import { Worker } from 'node:worker_threads';
import type { PthnetError } from 'shared';
import { ConfigError, InputError, TrainingError, preloadNativeGemm } from 'shared';
import type { SgdState } from '../optim/types.js';
import { validatePthNetConfig } from '../pthnet/config.js';
import { DEFAULT_PTHNET_SEED } from '../pthnet/constants.js';
import { parameterCount, pthnetParameterSpecs } from '../pthnet/params.js';
import type { PthNetConfig, PthNetLoss, StateDict } from '../pthnet/types.js';
import { CONTROL_ABORT, CONTROL_ARRIVED, CONTROL_LENGTH, DEFAULT_WORKERS } from './constants.js';
import type {
  DataParallelOptions,
  HostArray,
  HostMask,
  HostPyramidBatch,
  ParallelStepOptions,
  ParallelStepResult,
  WorkerInit,
  WorkerRequest,
  WorkerResponse,
} from './types.js';

/**
 * The worker runs TypeScript: Node cannot load `.ts` in a worker by itself, so a one-line
 * bootstrap registers tsx's loader there first (the same loader `pnpm` scripts run under).
 */
function spawnWorker(init: WorkerInit): Worker {
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./worker.js', import.meta.url).href.replace(/\.js$/, '.ts');
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: init });
}

interface Pending {
  kind: WorkerRequest['kind'];
  resolve: (response: WorkerResponse) => void;
  reject: (error: Error) => void;
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
  private readonly workers: Worker[];
  private readonly pending: Array<Map<number, Pending>>;
  private readonly control: Int32Array;
  private nextId = 0;
  private steps = 0;
  private broken: Error | null = null;

  private constructor(config: PthNetConfig, workers: Worker[], control: Int32Array, backend: { name: string; detail: string }, lr: number) {
    this.config = config;
    this.workers = workers;
    this.workerCount = workers.length;
    this.control = control;
    this.backend = backend.name;
    this.backendDetail = backend.detail;
    this.lr = lr;
    this.pending = [];
    workers.forEach((worker, index) => {
      const pending = new Map<number, Pending>();
      this.pending.push(pending);
      worker.on('message', (message: WorkerResponse) => this.settle(index, message));
      worker.on('error', (error) =>
        this.fail(new TrainingError(`data-parallel worker ${index} crashed: ${error.message}`, { cause: error })),
      );
      worker.on('exit', (code) => {
        if (pending.size > 0) this.fail(new TrainingError(`data-parallel worker ${index} exited (code ${code}) with work pending`));
      });
    });
  }

  /** Starts the workers and waits until each has built its replica. */
  static async create(options: DataParallelOptions): Promise<DataParallelPthNet> {
    const config = validatePthNetConfig(options.config ?? {});
    const count = options.workers ?? DEFAULT_WORKERS;
    if (!Number.isInteger(count) || count < 1)
      throw new ConfigError(`parallel.workers: expected a positive integer, got ${JSON.stringify(count)}`);
    const specs = pthnetParameterSpecs(config);
    const total = parameterCount(specs);
    const gradients = new SharedArrayBuffer(count * total * Float32Array.BYTES_PER_ELEMENT);
    const gradientFlags = new SharedArrayBuffer(count * specs.length * Int32Array.BYTES_PER_ELEMENT);
    const weights = new SharedArrayBuffer(total * Float32Array.BYTES_PER_ELEMENT);
    const updatedFlags = new SharedArrayBuffer(specs.length * Int32Array.BYTES_PER_ELEMENT);
    const control = new SharedArrayBuffer(CONTROL_LENGTH * Int32Array.BYTES_PER_ELEMENT);
    const workers: Worker[] = [];
    preloadNativeGemm();
    const ready: Array<Promise<{ name: string; detail: string }>> = [];
    for (let index = 0; index < count; index++) {
      const worker = spawnWorker({
        index,
        config,
        backend: options.backend ?? 'auto',
        seed: options.seed ?? DEFAULT_PTHNET_SEED,
        optimizer: options.optimizer,
        ...(options.stateDict ? { stateDict: options.stateDict } : {}),
        gradients,
        gradientFlags,
        weights,
        updatedFlags,
        control,
        workers: count,
      });
      workers.push(worker);
      ready.push(
        new Promise((resolve, reject) => {
          const onMessage = (message: WorkerResponse): void => {
            if (message.kind === 'ready') resolve({ name: message.backend, detail: message.backendDetail });
            else if (message.kind === 'error') reject(errorFrom(index, message));
          };
          worker.once('message', onMessage);
          worker.once('error', reject);
        }),
      );
    }
    let backends: Array<{ name: string; detail: string }>;
    try {
      backends = await Promise.all(ready);
    } catch (error) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw error;
    }
    const [backend] = backends;
    if (backend === undefined) throw new TrainingError('data-parallel: no worker reported a backend');
    return new DataParallelPthNet(config, workers, new Int32Array(control), backend, options.optimizer.lr);
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
        return this.request(index, (id) => ({
          kind: 'train',
          id,
          batch:
            range === undefined
              ? null
              : {
                  x_L: rows(batch.x_L, range[0], range[1]),
                  x_M: rows(batch.x_M, range[0], range[1]),
                  x_H: rows(batch.x_H, range[0], range[1]),
                  m_L: rows(batch.m_L, range[0], range[1]),
                  m_M: rows(batch.m_M, range[0], range[1]),
                  m_H: rows(batch.m_H, range[0], range[1]),
                },
          labels: range === undefined ? new Int32Array(0) : labels.slice(range[0], range[1]),
          share: range === undefined ? 0 : (range[1] - range[0]) / size,
          lr: this.lr,
          options,
          step,
        }));
      }),
    );
    const losses: PthNetLoss<number> = { loss: 0, loss_ce: 0, loss_kl_L: 0, loss_kl_M: 0 };
    responses.forEach((response, index) => {
      if (response.kind !== 'trained') throw new TrainingError(`worker ${index}: unexpected reply ${response.kind}`);
      const range = ranges[index];
      if (range === undefined) return;
      const share = (range[1] - range[0]) / size;
      for (const key of Object.keys(losses) as Array<keyof typeof losses>) losses[key] += share * response.losses[key];
    });
    const first = responses[0] as Extract<WorkerResponse, { kind: 'trained' }>;
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
      ranges.map(async ([start, end], index) => ({
        start,
        part: await this.request(index, (id) => ({ kind: 'predict', id, x: rows(x_H, start, end), mask: rows(m_H, start, end) })),
      })),
    );
    const logits = new Float32Array(size * this.config.num_classes);
    parts.forEach(({ start, part }, index) => {
      if (part.kind !== 'predicted') throw new TrainingError(`worker ${index}: unexpected reply ${part.kind}`);
      logits.set(part.logits, start * this.config.num_classes);
    });
    return logits;
  }

  /** The (identical) replicas' parameters, reference layout and order. */
  async stateDict(): Promise<StateDict> {
    const response = await this.request(0, (id) => ({ kind: 'stateDict', id }));
    if (response.kind !== 'stateDict') throw new TrainingError(`worker 0: unexpected reply ${response.kind}`);
    return response.stateDict;
  }

  async loadStateDict(stateDict: StateDict): Promise<void> {
    await Promise.all(this.workers.map((_, index) => this.request(index, (id) => ({ kind: 'loadStateDict', id, stateDict }))));
  }

  /** SGD momentum buffers (reference layout, reference order) and hyperparameters. */
  async optimizerState(): Promise<SgdState> {
    // each worker owns the momentum of its shard of parameters
    const parts = await Promise.all(this.workers.map((_, index) => this.request(index, (id) => ({ kind: 'optimizerState', id }))));
    const merged = new Map<string, HostArray>();
    let state: SgdState | undefined;
    for (const [index, part] of parts.entries()) {
      if (part.kind !== 'optimizerState') throw new TrainingError(`worker ${index}: unexpected reply ${part.kind}`);
      state ??= part.state;
      for (const [name, buffer] of part.state.momentumBuffers) merged.set(name, buffer);
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
    await Promise.all(this.workers.map((_, index) => this.request(index, (id) => ({ kind: 'loadOptimizerState', id, state }))));
  }

  /** Stops the workers (their replicas and backends go with them). */
  async dispose(): Promise<void> {
    await Promise.allSettled(this.workers.map((_, index) => this.request(index, (id) => ({ kind: 'close', id }))));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private request(index: number, build: (id: number) => WorkerRequest): Promise<WorkerResponse> {
    if (this.broken) return Promise.reject(this.broken);
    const id = this.nextId++;
    const message = build(id);
    return new Promise((resolve, reject) => {
      const worker = this.workers[index];
      const pending = this.pending[index];
      // thrown in the executor, so the promise rejects with it
      if (worker === undefined || pending === undefined) throw new TrainingError(`data-parallel: no worker ${index}`);
      pending.set(id, { kind: message.kind, resolve, reject });
      worker.postMessage(message);
    });
  }

  private settle(index: number, message: WorkerResponse): void {
    if (message.kind === 'ready') return;
    const id = message.id;
    if (id === null) {
      this.fail(errorFrom(index, message as Extract<WorkerResponse, { kind: 'error' }>));
      return;
    }
    const pending = this.pending[index];
    const waiting = pending?.get(id);
    if (pending === undefined || waiting === undefined) return;
    pending.delete(id);
    if (message.kind === 'error') {
      const error = errorFrom(index, message);
      // after a failed step the replicas may differ: refuse further work
      if (waiting.kind === 'train') this.fail(error);
      waiting.reject(error);
    } else {
      waiting.resolve(message);
    }
  }

  private fail(error: Error): void {
    this.broken ??= error;
    Atomics.store(this.control, CONTROL_ABORT, 1);
    for (const pending of this.pending) {
      for (const waiting of pending.values()) waiting.reject(error);
      pending.clear();
    }
  }
}

function errorFrom(index: number, message: Extract<WorkerResponse, { kind: 'error' }>): PthnetError {
  return new TrainingError(`data-parallel worker ${index}: ${message.name}: ${message.message}`);
}
