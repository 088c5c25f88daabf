import * as tf from '@tensorflow/tfjs-core';
import type { PthNet, PthNetConfig, PthNetLoss, StateDict } from 'model';
import { DataParallelPthNet, SGD, createPthNet, parameterCount, pthnetParameterSpecs, trainStep, validatePthNetConfig } from 'model';
import type { BackendPreference } from 'shared';
import { describeActiveBackend, enableNativeGemm, nativeKernelsActive } from 'shared';
import type { Batch } from '../sampling/types.js';

/**
 * Where the network trains: in this thread on the selected backend, or data-parallel across
 * worker threads (each its own wasm/cpu backend; the batch is split and the gradients summed),
 * which is how training uses every CPU core. The trainer sees one interface either way.
 */
export interface TrainingEngine {
  readonly config: PthNetConfig;
  readonly description: string;
  /** The learning rate of the next step (MultiStepLR writes it). */
  lr: number;
  /** Optimiser steps taken, restored on resume (it seeds drop path in the workers). */
  stepCount: number;
  trainStep(batch: Batch, options: { dropPathProb: number; dropPathRng: () => number }): Promise<PthNetLoss<number>>;
  /** Level-H logits `[B, classes]` row-major. */
  predict(batch: Batch): Promise<Float32Array>;
  stateDict(): Promise<StateDict>;
  loadStateDict(stateDict: StateDict): Promise<void>;
  /** SGD momentum buffers, reference layout. */
  momentum(): Promise<StateDict>;
  loadMomentum(momentum: StateDict): Promise<void>;
  dispose(): Promise<void>;
}

export interface EngineOptions {
  config: Partial<PthNetConfig>;
  seed: number;
  optimizer: { lr: number; momentum: number; weightDecay: number };
  /** Worker threads; 1 trains in this thread. */
  workers: number;
  /**
   * Smallest network (in parameters) worth splitting across workers. Below it the exchange
   * between threads costs more than it saves (the demo's 64-wide network trains faster in one
   * thread); the full-size network trains faster on two with the wasm backend's own kernels
   * (1.6x). Default 1,000,000; where the native kernels run (wasm with the addon) no network is
   * split by default: the kernels themselves use `workers` threads, which beats splitting the
   * batch (about 1.4x on the full-size network, see the README's Benchmarks).
   */
  parallelFromParameters?: number;
}

const x3 = (t: { data: Float32Array; shape: readonly number[] }) => tf.tensor3d(t.data, t.shape as [number, number, number]);
const m3 = (t: { data: Uint8Array; shape: readonly number[] }) =>
  tf.tensor3d(Float32Array.from(t.data), t.shape as [number, number, number]);

class InProcessEngine implements TrainingEngine {
  readonly description: string;
  stepCount = 0;
  private readonly sgd: SGD;

  constructor(
    private readonly model: PthNet,
    optimizer: EngineOptions['optimizer'],
  ) {
    this.description = `${describeActiveBackend()}, ${nativeKernelsActive() ? 'native kernels in this process' : '1 thread'}`;
    this.sgd = new SGD(model.namedVariables(), {
      ...optimizer,
      // momentum buffers travel in checkpoints in the reference layout
      codec: { encode: (name, data) => model.toReference(name, data), decode: (name, t) => model.fromReference(name, t) },
    });
  }

  get config(): PthNetConfig {
    return this.model.config;
  }

  get lr(): number {
    return this.sgd.lr;
  }

  set lr(lr: number) {
    this.sgd.lr = lr;
  }

  async trainStep(batch: Batch, options: { dropPathProb: number; dropPathRng: () => number }): Promise<PthNetLoss<number>> {
    const inputs = {
      x_H: x3(batch.x_H),
      x_M: x3(batch.x_M),
      x_L: x3(batch.x_L),
      m_H: m3(batch.m_H),
      m_M: m3(batch.m_M),
      m_L: m3(batch.m_L),
    };
    const labels = tf.tensor1d(batch.y.data, 'int32');
    try {
      this.stepCount += 1;
      return trainStep(this.model, this.sgd, inputs, labels, { training: true, ...options }).losses;
    } finally {
      tf.dispose([labels, ...Object.values(inputs)]);
    }
  }

  async predict(batch: Batch): Promise<Float32Array> {
    const x = x3(batch.x_H);
    const m = m3(batch.m_H);
    const logits = this.model.predict(x, m);
    const out = Float32Array.from(logits.dataSync());
    tf.dispose([x, m, logits]);
    return out;
  }

  async stateDict(): Promise<StateDict> {
    return this.model.stateDict();
  }

  async loadStateDict(stateDict: StateDict): Promise<void> {
    this.model.loadStateDict(stateDict);
  }

  async momentum(): Promise<StateDict> {
    return this.sgd.state().momentumBuffers;
  }

  async loadMomentum(momentum: StateDict): Promise<void> {
    this.sgd.loadState({ momentumBuffers: momentum });
  }

  async dispose(): Promise<void> {
    this.model.dispose();
    this.sgd.dispose();
  }
}

class ParallelEngine implements TrainingEngine {
  readonly description: string;

  constructor(private readonly net: DataParallelPthNet) {
    this.description = `${net.backendDetail}, ${net.workerCount} worker threads`;
  }

  get config(): PthNetConfig {
    return this.net.config;
  }

  get lr(): number {
    return this.net.lr;
  }

  set lr(lr: number) {
    this.net.lr = lr;
  }

  get stepCount(): number {
    return this.net.stepCount;
  }

  set stepCount(steps: number) {
    this.net.stepCount = steps;
  }

  async trainStep(batch: Batch, options: { dropPathProb: number }): Promise<PthNetLoss<number>> {
    const host = { x_H: batch.x_H, x_M: batch.x_M, x_L: batch.x_L, m_H: batch.m_H, m_M: batch.m_M, m_L: batch.m_L };
    // workers draw drop path from (seed, step) themselves
    return (await this.net.trainStep(host as never, batch.y.data, { training: true, dropPathProb: options.dropPathProb })).losses;
  }

  predict(batch: Batch): Promise<Float32Array> {
    return this.net.predict(batch.x_H as never, batch.m_H as never);
  }

  stateDict(): Promise<StateDict> {
    return this.net.stateDict();
  }

  loadStateDict(stateDict: StateDict): Promise<void> {
    return this.net.loadStateDict(stateDict);
  }

  async momentum(): Promise<StateDict> {
    return (await this.net.optimizerState()).momentumBuffers;
  }

  loadMomentum(momentum: StateDict): Promise<void> {
    return this.net.loadOptimizerState({ momentumBuffers: momentum });
  }

  dispose(): Promise<void> {
    return this.net.dispose();
  }
}

/**
 * Several workers where the backend is a CPU one (wasm or cpu: one thread each in Node) and the
 * network is big enough to gain from it; on tfjs-node(-gpu), which already uses every core or
 * the GPU, one in-process network. Where the native kernels run, one in-process network whose
 * kernels use `workers` threads.
 */
export async function createTrainingEngine(options: EngineOptions): Promise<TrainingEngine> {
  const cpuBackend = tf.getBackend() === 'wasm' || tf.getBackend() === 'cpu';
  const native = nativeKernelsActive();
  const size = parameterCount(pthnetParameterSpecs(validatePthNetConfig(options.config)));
  const splitFrom = options.parallelFromParameters ?? (native ? Number.POSITIVE_INFINITY : 1_000_000);
  if (options.workers > 1 && cpuBackend && size >= splitFrom) {
    const net = await DataParallelPthNet.create({
      config: options.config,
      workers: options.workers,
      backend: tf.getBackend() as BackendPreference,
      seed: options.seed,
      optimizer: options.optimizer,
    });
    return new ParallelEngine(net);
  }
  if (native) enableNativeGemm(Math.max(1, options.workers));
  return new InProcessEngine(createPthNet(options.config, { seed: options.seed }), options.optimizer);
}
