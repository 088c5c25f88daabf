import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from 'shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SGD } from '../optim/sgd.js';
import type { PthNet } from '../pthnet/pthnet.js';
import { createPthNet } from '../pthnet/pthnet.js';
import { trainStep } from '../pthnet/train-step.js';
import { CheckpointError } from 'shared';
import { validatePthNetConfig } from '../pthnet/config.js';
import { CONTROL_ABORT } from './constants.js';
import { DataParallelPthNet, splitRanges } from './data-parallel.js';
import { exchangeBuffers, shardRanges } from './exchange.js';
import type { DataParallelMethods, HostPyramidBatch } from './types.js';
import { dataParallelWorker } from './worker-service.js';

const CONFIG = { n_in: 12, n_embd: 16, mlp_dim: 8 };
const BATCH = 5;

function hostBatch(): HostPyramidBatch {
  let state = 12345;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return (state / 2147483648) * 2 - 1;
  };
  const x = (steps: number) => ({ shape: [BATCH, 12, steps], data: Float32Array.from({ length: BATCH * 12 * steps }, random) });
  const mask = (steps: number) => ({
    shape: [BATCH, 1, steps],
    data: Uint8Array.from({ length: BATCH * steps }, (_, i) => (i % steps < Math.max(1, steps - 2 * Math.floor(i / steps)) ? 1 : 0)),
  });
  return { x_L: x(4), x_M: x(8), x_H: x(16), m_L: mask(4), m_M: mask(8), m_H: mask(16) };
}

describe('splitRanges', () => {
  it('splits rows into contiguous near-equal parts, never empty', () => {
    expect(splitRanges(5, 2)).toEqual([
      [0, 2],
      [2, 5],
    ]);
    expect(splitRanges(32, 2)).toEqual([
      [0, 16],
      [16, 32],
    ]);
    expect(splitRanges(1, 2)).toEqual([[0, 1]]);
  });
});

describe('shardRanges', () => {
  it('cuts the parameter list into contiguous shards of similar total size', () => {
    expect(shardRanges([10, 10, 10, 10], 2)).toEqual([
      [0, 2],
      [2, 4],
    ]);
    expect(shardRanges([100, 1, 1, 1], 2)).toEqual([
      [0, 1],
      [1, 4],
    ]);
    expect(shardRanges([5], 2)).toEqual([
      [0, 1],
      [1, 1],
    ]);
  });
});

describe('DataParallelPthNet (2 worker threads)', () => {
  let pool: DataParallelPthNet;
  let reference: PthNet;
  let optimizer: SGD;
  const batch = hostBatch();
  const labels = Int32Array.from([0, 6, 2, 3, 1]);
  const tensors = () => {
    const t = (h: { shape: number[]; data: Float32Array | Uint8Array }) => tf.tensor(Float32Array.from(h.data), h.shape, 'float32');
    return { x_L: t(batch.x_L), x_M: t(batch.x_M), x_H: t(batch.x_H), m_L: t(batch.m_L), m_M: t(batch.m_M), m_H: t(batch.m_H) };
  };

  beforeAll(async () => {
    await selectBackend('wasm');
    const sgd = { lr: 0.02, momentum: 0.9, weightDecay: 1e-4 };
    pool = await DataParallelPthNet.create({ config: CONFIG, workers: 2, backend: 'wasm', seed: 9, optimizer: sgd });
    reference = createPthNet(CONFIG, { seed: 9 });
    optimizer = new SGD(reference.namedVariables(), sgd);
  });

  afterAll(async () => {
    await pool.dispose();
    reference.dispose();
  });

  it('trains like a single thread on the whole batch: same losses, same weights', async () => {
    expect(pool.backend).toBe('wasm');
    const inputs = tensors();
    for (let step = 0; step < 2; step++) {
      const parallel = await pool.trainStep(batch, labels, { training: true, dropPathProb: 0 });
      const single = trainStep(reference, optimizer, inputs, tf.tensor1d(labels, 'int32'), { training: true, dropPathProb: 0 });
      for (const key of ['loss', 'loss_ce', 'loss_kl_L', 'loss_kl_M'] as const) {
        expect(Math.abs(parallel.losses[key] - single.losses[key]), `step ${step} ${key}`).toBeLessThan(1e-5);
      }
      expect(parallel.paramsWithoutGrad).toEqual(single.paramsWithoutGrad);
      expect(parallel.paramsWithoutGrad).toHaveLength(20);
    }
    const weights = await pool.stateDict();
    const want = reference.stateDict();
    expect([...weights.keys()]).toEqual([...want.keys()]);
    let worst = 0;
    for (const [name, tensor] of weights) {
      tensor.data.forEach((v, i) => {
        worst = Math.max(worst, Math.abs(v - want.get(name)!.data[i]!));
      });
    }
    expect(worst).toBeLessThan(1e-5);
    const logits = await pool.predict(batch.x_H, batch.m_H);
    const single = reference.predict(inputs.x_H, inputs.m_H).dataSync();
    expect(logits).toHaveLength(BATCH * 7);
    logits.forEach((v, i) => {
      expect(Math.abs(v - single[i]!)).toBeLessThan(1e-4);
    });
  });

  it('keeps every replica in step when the batch has fewer clips than workers', async () => {
    const one = {
      x_L: { shape: [1, 12, 4], data: batch.x_L.data.slice(0, 48) },
      x_M: { shape: [1, 12, 8], data: batch.x_M.data.slice(0, 96) },
      x_H: { shape: [1, 12, 16], data: batch.x_H.data.slice(0, 192) },
      m_L: { shape: [1, 1, 4], data: batch.m_L.data.slice(0, 4) },
      m_M: { shape: [1, 1, 8], data: batch.m_M.data.slice(0, 8) },
      m_H: { shape: [1, 1, 16], data: batch.m_H.data.slice(0, 16) },
    };
    const t = (h: { shape: number[]; data: Float32Array | Uint8Array }) => tf.tensor(Float32Array.from(h.data), h.shape, 'float32');
    const parallel = await pool.trainStep(one, Int32Array.from([4]), { training: true, dropPathProb: 0 });
    const single = trainStep(
      reference,
      optimizer,
      { x_L: t(one.x_L), x_M: t(one.x_M), x_H: t(one.x_H), m_L: t(one.m_L), m_M: t(one.m_M), m_H: t(one.m_H) },
      tf.tensor1d([4], 'int32'),
      { training: true, dropPathProb: 0 },
    );
    expect(Math.abs(parallel.losses.loss - single.losses.loss)).toBeLessThan(1e-5);
    // both workers predict a half each: worker 1, which had no clip, must hold the same weights
    const logits = await pool.predict(batch.x_H, batch.m_H);
    const want = reference.predict(tensors().x_H, tensors().m_H).dataSync();
    logits.forEach((v, i) => {
      expect(Math.abs(v - want[i]!)).toBeLessThan(1e-4);
    });
  });

  it('exposes the momentum buffers (reference layout) and loads weights into every replica', async () => {
    const state = await pool.optimizerState();
    expect(state.momentumBuffers.size).toBe(reference.parameterNames().length - 20);
    expect(state.momentumBuffers.get('head.weight')!.shape).toEqual([7, 16]);
    const fresh = createPthNet(CONFIG, { seed: 77 });
    await pool.loadStateDict(fresh.stateDict());
    const logits = await pool.predict(batch.x_H, batch.m_H);
    const want = fresh.predict(tensors().x_H, tensors().m_H).dataSync();
    logits.forEach((v, i) => {
      expect(Math.abs(v - want[i]!)).toBeLessThan(1e-5);
    });
    fresh.dispose();
  });

  it('reports a worker-side error with its message and keeps working after a rejected load', async () => {
    await expect(pool.loadStateDict(new Map())).rejects.toThrow(
      /data-parallel worker [01]: CheckpointError: missing key embd\.0\.conv\.weight \(expected shape \[16, 12, 3\]\)/,
    );
    const logits = await pool.predict(batch.x_H, batch.m_H);
    expect(logits).toHaveLength(BATCH * 7);
  });
});

describe("a worker's service in this thread (the only worker: its barriers pass at once)", () => {
  it('steps, predicts, saves and loads like the single-thread network, and a failed step raises the abort flag', async () => {
    await selectBackend('wasm');
    const sgd = { lr: 0.02, momentum: 0.9, weightDecay: 1e-4 };
    const config = validatePthNetConfig(CONFIG);
    const exchange = exchangeBuffers(config, 1);
    const service = await dataParallelWorker({ index: 0, config, backend: 'wasm', seed: 9, optimizer: sgd, ...exchange, workers: 1 });
    const call = async <K extends keyof DataParallelMethods>(
      method: K,
      request: DataParallelMethods[K]['request'],
    ): Promise<DataParallelMethods[K]['response']> =>
      (await (service.handlers[method] as (r: typeof request) => unknown)(request)) as DataParallelMethods[K]['response'];
    const reference = createPthNet(CONFIG, { seed: 9 });
    const optimizer = new SGD(reference.namedVariables(), sgd);
    try {
      expect(service.ready).toMatchObject({ backend: 'wasm', parameterCount: reference.parameterCount });
      const batch = hostBatch();
      const labels = Int32Array.from([0, 6, 2, 3, 1]);
      const t = (h: { shape: number[]; data: Float32Array | Uint8Array }) => tf.tensor(Float32Array.from(h.data), h.shape, 'float32');
      const inputs = { x_L: t(batch.x_L), x_M: t(batch.x_M), x_H: t(batch.x_H), m_L: t(batch.m_L), m_M: t(batch.m_M), m_H: t(batch.m_H) };
      const options = { training: true, dropPathProb: 0 };
      const stepped = await call('train', { batch, labels, share: 1, lr: 0.02, options, step: 0 });
      const single = trainStep(reference, optimizer, inputs, tf.tensor1d(labels, 'int32'), options);
      expect(Math.abs(stepped.losses.loss - single.losses.loss)).toBeLessThan(1e-5);
      expect(stepped.paramsWithoutGrad).toEqual(single.paramsWithoutGrad);
      const logits = await call('predict', { x: batch.x_H, mask: batch.m_H });
      const want = reference.predict(inputs.x_H, inputs.m_H).dataSync();
      logits.forEach((v, i) => {
        expect(Math.abs(v - want[i]!)).toBeLessThan(1e-4);
      });
      // the only worker owns every parameter's momentum
      const state = await call('optimizerState', null);
      expect(state.momentumBuffers.size).toBe(reference.parameterNames().length - 20);
      await call('loadOptimizerState', { momentumBuffers: state.momentumBuffers });
      const fresh = createPthNet(CONFIG, { seed: 77 });
      expect(await call('loadStateDict', fresh.stateDict())).toBeNull();
      const saved = await call('stateDict', null);
      for (const [name, tensor] of fresh.stateDict()) expect(saved.get(name)!.data, name).toEqual(tensor.data);
      fresh.dispose();
      await expect(call('loadStateDict', new Map())).rejects.toBeInstanceOf(CheckpointError);
      // a step that throws releases the other workers waiting at the barrier
      expect(new Int32Array(exchange.control)[CONTROL_ABORT]).toBe(0);
      await expect(call('train', { batch, labels: Int32Array.from([0]), share: 1, lr: 0.02, options, step: 1 })).rejects.toThrow(
        'labels: expected shape [5], got [1]',
      );
      expect(new Int32Array(exchange.control)[CONTROL_ABORT]).toBe(1);
    } finally {
      await service.close?.();
      reference.dispose();
    }
  });
});
