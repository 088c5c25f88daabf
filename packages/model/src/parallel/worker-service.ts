/**
 * What one data-parallel worker does (`worker.ts` serves it in its thread): its own tfjs backend
 * and PTH-Net replica. Every replica starts from
 * the same weights, sums the same gradients in the same order and applies the same SGD update,
 * so the replicas stay identical without ever sending weights around.
 */
// biome-ignore-all lint/style/noNonNullAssertion: init.index < init.workers, the number of shards; i ranges over the parameters, and names, sizes, offsets, specs and variables all have one entry per parameter; noUncheckedIndexedAccess cannot see that
import * as tf from '@tensorflow/tfjs-core';
import type { WorkerService } from 'shared';
import { describeBackend, gemmThreadsPerWorker, seededUniformStream, selectBackend } from 'shared';
import { SGD } from '../optim/sgd.js';
import { PthNet } from '../pthnet/pthnet.js';
import { computeGradients } from '../pthnet/train-step.js';
import type { GradientResult } from '../pthnet/train-step.js';
import type { PthNetLoss } from '../pthnet/types.js';
import { CONTROL_ABORT } from './constants.js';
import { barrier, parameterOffsets, reduceGradient, shardRanges } from './exchange.js';
import { hostBatchTensors, hostTensor } from './host-batch.js';
import type { DataParallelMethods, TrainRequest, WorkerInit, WorkerReady } from './types.js';

/** Builds the replica and the methods the main thread calls; `init.index` says which shard of the update is this worker's. */
export async function dataParallelWorker(init: WorkerInit): Promise<WorkerService<DataParallelMethods, WorkerReady>> {
  const selected = await selectBackend(init.backend, { gemmThreads: gemmThreadsPerWorker(init.workers) });
  const model = new PthNet(init.config, { seed: init.seed });
  if (init.stateDict) model.loadStateDict(init.stateDict);
  const optimizer = new SGD(model.namedVariables(), {
    ...init.optimizer,
    codec: { encode: (name, data) => model.toReference(name, data), decode: (name, tensor) => model.fromReference(name, tensor) },
  });
  const names = model.parameterNames();
  const sizes = model.specs.map((s) => s.internalShape.reduce((n, d) => n * d, 1));
  const { offsets, total } = parameterOffsets(sizes);
  const slots = new Float32Array(init.gradients);
  const flags = new Int32Array(init.gradientFlags);
  const control = new Int32Array(init.control);

  const shard = shardRanges(sizes, init.workers)[init.index]!;
  const inShard = (i: number): boolean => i >= shard[0] && i < shard[1];
  const weights = new Float32Array(init.weights);
  const updatedFlags = new Int32Array(init.updatedFlags);
  const variables = model.namedVariables();

  /**
   * Gradient of this worker's rows, written to its slot; then, after everyone has written, the
   * sum and SGD update of this worker's shard of parameters, written to the shared weights; then,
   * after every shard is written, every replica loads all of them.
   */
  const train = (request: TrainRequest): { losses: PthNetLoss<number>; paramsWithoutGrad: string[] } => {
    let losses = { loss: 0, loss_ce: 0, loss_kl_L: 0, loss_kl_M: 0 };
    const flagRow = init.index * names.length;
    if (request.batch === null) {
      flags.fill(0, flagRow, flagRow + names.length);
    } else {
      const host = request.batch;
      const batch = tf.tidy(() => hostBatchTensors(host));
      const labels = tf.tensor1d(request.labels, 'int32');
      const rng = seededUniformStream(init.seed, request.step * init.workers + init.index + 1);
      let result: GradientResult;
      try {
        result = computeGradients(model, batch, labels, {
          ...request.options,
          training: request.options.training ?? true,
          dropPathRng: rng,
          gradScale: request.share,
        });
      } finally {
        tf.dispose([...Object.values(batch), labels]);
      }
      losses = result.losses;
      const slotStart = init.index * total;
      names.forEach((name, i) => {
        const grad = result.grads.get(name);
        flags[flagRow + i] = grad === undefined ? 0 : 1;
        if (grad !== undefined) slots.set(grad.dataSync() as Float32Array, slotStart + offsets[i]!);
      });
      tf.dispose([...result.grads.values()]);
    }
    barrier(control, init.workers);
    optimizer.lr = request.lr;
    for (let i = shard[0]; i < shard[1]; i++) {
      const sum = reduceGradient(slots, flags, total, names.length, init.workers, i, offsets[i]!, sizes[i]!);
      updatedFlags[i] = sum === null ? 0 : 1;
      if (sum !== null) weights.set(optimizer.update(names[i]!, variables.get(names[i]!)!.dataSync() as Float32Array, sum), offsets[i]!);
    }
    barrier(control, init.workers);
    tf.tidy(() => {
      names.forEach((name, i) => {
        if (updatedFlags[i] === 0) return;
        // a copy: the cpu backend would otherwise keep the shared memory as the tensor's storage
        const values = weights.slice(offsets[i]!, offsets[i]! + sizes[i]!);
        variables.get(name)!.assign(tf.tensor(values, model.specs[i]!.internalShape, 'float32'));
      });
    });
    const withoutGrad = names.filter((_, i) => updatedFlags[i] === 0);
    return { losses, paramsWithoutGrad: withoutGrad };
  };

  return {
    ready: { backend: selected.name, backendDetail: describeBackend(selected), parameterCount: model.parameterCount },
    handlers: {
      train: (request) => {
        try {
          return train(request);
        } catch (error) {
          // a failed step leaves the others waiting at the barrier: release them
          Atomics.store(control, CONTROL_ABORT, 1);
          throw error;
        }
      },
      predict: (request) => {
        const logits = tf.tidy(() => model.predict(hostTensor(request.x), hostTensor(request.mask)));
        const data = logits.dataSync() as Float32Array;
        logits.dispose();
        return data;
      },
      stateDict: () => model.stateDict(),
      loadStateDict: (stateDict) => {
        model.loadStateDict(stateDict);
        return null;
      },
      optimizerState: () => {
        // each worker owns the momentum of its shard; the main thread merges them
        const state = optimizer.state();
        const own = new Map([...state.momentumBuffers].filter(([name]) => inShard(names.indexOf(name))));
        return { ...state, momentumBuffers: own };
      },
      loadOptimizerState: (state) => {
        optimizer.loadState({
          // names the network does not have are kept, so the optimizer rejects them
          momentumBuffers: new Map([...state.momentumBuffers].filter(([name]) => names.indexOf(name) < 0 || inShard(names.indexOf(name)))),
        });
        return null;
      },
    },
    close: () => {
      optimizer.dispose();
      model.dispose();
    },
  };
}
