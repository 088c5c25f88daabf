import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, InputError, disableNativeGemm, enableNativeGemm, selectBackend } from 'shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SGD } from '../optim/sgd.js';
import { fixturesDir, readJson } from './fixtures.test-helper.js';
import type { PthNet } from './pthnet.js';
import { createPthNet } from './pthnet.js';
import { computeGradients, trainStep } from './train-step.js';
import { seededUniform } from 'shared';
import type { ParameterTensor, PyramidBatch } from './types.js';

const TINY = { n_in: 12, n_embd: 16, mlp_dim: 8 };
const nativeBuilt = (await selectBackend('wasm')).gemm?.active === true;

function tinyBatch(batch: number, seed: number): PyramidBatch<tf.Tensor> {
  const level = (steps: number, offset: number) => ({
    x: tf.randomNormal([batch, TINY.n_in, steps], 0, 1, 'float32', seed + offset),
    // sample b keeps its first steps - b steps (at least one)
    m: tf.tensor3d(
      Array.from({ length: batch * steps }, (_, i) => (i % steps < Math.max(1, steps - Math.floor(i / steps)) ? 1 : 0)),
      [batch, 1, steps],
    ),
  });
  const [L, M, H] = [level(4, 1), level(8, 2), level(16, 3)];
  return { x_L: L.x, x_M: M.x, x_H: H.x, m_L: L.m, m_M: M.m, m_H: H.m };
}

describe('PthNet', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('builds the full FERV39k network with exactly the reference keys, order, shapes and count', () => {
    const reference = readJson<{ pthnet_ferv39k: { param_count: number; state_dict: Record<string, number[]> } }>(
      path.join(fixturesDir(), 'shapes.json'),
    ).pthnet_ferv39k;
    const model = createPthNet();
    try {
      expect(model.specs.map((s) => [s.name, s.shape])).toEqual(Object.entries(reference.state_dict));
      expect(model.parameterCount).toBe(10_419_719);
      expect(model.parameterCount).toBe(reference.param_count);
      expect([...model.namedVariables().keys()]).toEqual(Object.keys(reference.state_dict));
    } finally {
      model.dispose();
    }
  });

  describe('state dict', () => {
    let source: PthNet;
    let target: PthNet;
    beforeAll(() => {
      source = createPthNet(TINY, { seed: 1 });
      target = createPthNet(TINY, { seed: 2 });
    });
    afterAll(() => {
      source.dispose();
      target.dispose();
    });

    it('round-trips in reference layout (and accepts a module. prefix)', () => {
      const batch = tinyBatch(3, 10);
      const before = source.predict(batch.x_H, batch.m_H).dataSync();
      expect(Array.from(target.predict(batch.x_H, batch.m_H).dataSync())).not.toEqual(Array.from(before));
      const prefixed = new Map([...source.stateDict()].map(([k, v]) => [`module.${k}`, v]));
      target.loadStateDict(prefixed);
      expect(Array.from(target.predict(batch.x_H, batch.m_H).dataSync())).toEqual(Array.from(before));
      const head = source.stateDict().get('head.weight')!;
      expect(head.shape).toEqual([7, 16]);
    });

    it('initialises like the reference: zero biases, unit norms, 1e-4 drop-path scales, bounded uniform weights', () => {
      const state = source.stateDict();
      expect(Array.from(state.get('stem.0.cross_att.query.bias')!.data).every((v) => v === 0)).toBe(true);
      expect(Array.from(state.get('stem.0.ln.weight')!.data).every((v) => v === 1)).toBe(true);
      expect(Array.from(state.get('branch_1.0.drop_path_out.scale')!.data).every((v) => Math.abs(v - 1e-4) < 1e-9)).toBe(true);
      const conv = state.get('embd.0.conv.weight')!.data;
      const bound = 1 / Math.sqrt(12 * 3);
      expect(Math.max(...Array.from(conv, Math.abs))).toBeLessThanOrEqual(bound);
      expect(Math.max(...Array.from(conv, Math.abs))).toBeGreaterThan(0.9 * bound);
    });

    it('rejects a missing key, an unexpected key and a shape mismatch, naming the key and shapes', () => {
      const good = source.stateDict();
      const missing = new Map(good);
      missing.delete('stem.1.gn.bias');
      expect(() => target.loadStateDict(missing)).toThrow(CheckpointError);
      expect(() => target.loadStateDict(missing)).toThrow('missing key stem.1.gn.bias (expected shape [16])');
      const extra = new Map<string, ParameterTensor>(good);
      extra.set('stem.9.gn.bias', { shape: [16], data: new Float32Array(16) });
      expect(() => target.loadStateDict(extra)).toThrow('unexpected key stem.9.gn.bias (shape [16]): PTH-Net has no such parameter');
      const wrong = new Map(good);
      wrong.set('stem.0.mlp.0.weight', { shape: [8, 16], data: new Float32Array(128) });
      expect(() => target.loadStateDict(wrong)).toThrow('stem.0.mlp.0.weight: expected shape [8, 16, 1], got [8, 16]');
    });
  });

  describe('forward', () => {
    let model: PthNet;
    beforeAll(() => {
      model = createPthNet(TINY, { seed: 3 });
    });
    afterAll(() => model.dispose());

    it('takes bool or 0/1 float masks alike', () => {
      const batch = tinyBatch(2, 20);
      const asFloat = model.predict(batch.x_H, batch.m_H).dataSync();
      const asBool = model.predict(batch.x_H, tf.cast(batch.m_H, 'bool')).dataSync();
      expect(Array.from(asBool)).toEqual(Array.from(asFloat));
    });

    it('reads one step into the padding (the k=3 embedding conv, as in the reference) and no further', () => {
      const lengths = [5, 9];
      const x = tf.randomNormal([2, TINY.n_in, 16], 0, 1, 'float32', 31);
      const mask = tf.tensor3d(
        lengths.flatMap((n) => Array.from({ length: 16 }, (_, t) => (t < n ? 1 : 0))),
        [2, 1, 16],
      );
      const beyond = (offset: number) =>
        tf.tensor3d(
          lengths.flatMap((n) => Array.from({ length: 16 }, (_, t) => (t >= n + offset ? 1 : 0))),
          [2, 1, 16],
        );
      const before = model.predict(x, mask).dataSync();
      const farNoise = model.predict(tf.add(x, tf.mul(beyond(1), 100)), mask).dataSync();
      Array.from(farNoise).forEach((v, i) => {
        expect(Math.abs(v - before[i]!)).toBeLessThan(1e-4);
      });
      const nearNoise = model.predict(tf.add(x, tf.mul(beyond(0), 100)), mask).dataSync();
      expect(Math.max(...Array.from(nearNoise, (v, i) => Math.abs(v - before[i]!)))).toBeGreaterThan(1e-3);
    });

    it('rejects inputs of the wrong shape', () => {
      expect(() => model.predict(tf.zeros([2, 11, 16]), tf.ones([2, 1, 16]))).toThrow(InputError);
      expect(() => model.predict(tf.zeros([2, 12, 16]), tf.ones([2, 1, 16]))).not.toThrow();
      expect(() => model.predict(tf.zeros([2, 12, 6]), tf.ones([2, 1, 6]))).toThrow(
        'x_H: expected T a multiple of 4 (two stride-2 pools), got T = 6',
      );
      expect(() => model.predict(tf.zeros([2, 12, 16]), tf.ones([2, 16]))).toThrow('m_H: expected shape [2, 1, 16], got [2, 16]');
    });

    it('stochastic depth: off at probability 0 or in eval, seeded and per sample otherwise', () => {
      const batch = tinyBatch(4, 40);
      const evalH = model.forwardTrain(batch, { training: false }).p_H.dataSync();
      expect(Array.from(model.forwardTrain(batch, { training: true, dropPathProb: 0 }).p_H.dataSync())).toEqual(Array.from(evalH));
      const seeded = (seed: number) => {
        let state = seed;
        return () => {
          state = (state * 1103515245 + 12345) % 2147483648;
          return state / 2147483648;
        };
      };
      const a = model.forwardTrain(batch, { training: true, dropPathProb: 0.5, dropPathRng: seeded(7) }).p_H.dataSync();
      const b = model.forwardTrain(batch, { training: true, dropPathProb: 0.5, dropPathRng: seeded(7) }).p_H.dataSync();
      expect(Array.from(a)).toEqual(Array.from(b));
      expect(Array.from(a)).not.toEqual(Array.from(evalH));
    });

    it('gives no gradient to other levels convs when only level H runs', () => {
      const batch = tinyBatch(2, 50);
      const variables = model.namedVariables();
      const { grads, value } = tf.variableGrads(() => tf.sum(model.forwardLevel(batch.x_H, batch.m_H, 'H', null)), [...variables.values()]);
      const without = [...variables].filter(([, v]) => grads[v.name] === undefined).map(([name]) => name);
      expect(
        without
          .filter((n) => n.includes('convw_') || n.includes('convkw_'))
          .every((n) => !n.endsWith('_H.weight') && !n.endsWith('_H.bias')),
      ).toBe(true);
      expect(without).toContain('stem.0.convw_L.weight');
      expect(without).toContain('branch_2.0.convkw_M.bias');
      expect(without).toContain('pos_embed.conv.weight');
      expect(without).not.toContain('stem.0.convw_H.weight');
      tf.dispose([value, ...Object.values(grads)]);
    });

    it.runIf(nativeBuilt)('takes the same training step on the native kernels as on the tfjs ops (stochastic depth on, same draws)', () => {
      const batch = tinyBatch(4, 70);
      const labels = tf.tensor1d([1, 0, 6, 2], 'int32');
      const run = () => {
        const rng = seededUniform(5);
        const { losses, grads } = computeGradients(model, batch, labels, { training: true, dropPathProb: 0.5, dropPathRng: rng });
        const values = new Map([...grads].map(([name, g]) => [name, g.dataSync() as Float32Array]));
        tf.dispose([...grads.values()]);
        return { losses, values, predicted: model.predict(batch.x_H, batch.m_H).dataSync() };
      };
      const native = run();
      disableNativeGemm();
      try {
        const ops = run();
        expect(Math.abs(native.losses.loss - ops.losses.loss)).toBeLessThan(1e-5);
        for (const [i, v] of native.predicted.entries()) expect(Math.abs(v - ops.predicted[i]!)).toBeLessThan(1e-5);
        expect([...native.values.keys()]).toEqual([...ops.values.keys()]);
        // relative to the step's largest gradient, as the parity tests (some are rounding noise around 0,
        // e.g. the key norm's bias, which shifts every score of a query alike)
        const largest = Math.max(...[...ops.values.values()].map((g) => Math.max(...Array.from(g, Math.abs))));
        for (const [name, g] of native.values) {
          const want = ops.values.get(name)!;
          const worst = Math.max(...Array.from(g, (v, i) => Math.abs(v - want[i]!)));
          expect(worst / largest, name).toBeLessThan(1e-5);
        }
      } finally {
        enableNativeGemm();
      }
    });

    it('leaks no tensors across training steps and predictions', () => {
      const batch = tinyBatch(3, 60);
      const labels = tf.tensor1d([0, 3, 6], 'int32');
      const optimizer = new SGD(model.namedVariables(), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
      trainStep(model, optimizer, batch, labels, { training: true });
      model.predict(batch.x_H, batch.m_H).dispose();
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) {
        const result = trainStep(model, optimizer, batch, labels, { training: true });
        expect(Number.isFinite(result.losses.loss)).toBe(true);
        model.predict(batch.x_H, batch.m_H).dispose();
      }
      expect(tf.memory().numTensors).toBe(before);
    });
  });
});
