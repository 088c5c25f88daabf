import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, ConfigError, selectBackend } from 'shared';
import { beforeAll, describe, expect, it } from 'vitest';
import { MultiStepLR } from './multistep-lr.js';
import { SGD } from './sgd.js';

const values = (t: tf.Tensor): number[] => Array.from(t.dataSync());
const close = (got: number[], want: number[]): void => {
  got.forEach((g, i) => {
    expect(g).toBeCloseTo(want[i]!, 6);
  });
};

describe('SGD (PyTorch semantics)', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('applies weight decay, momentum (buf = g on the first step) and lr, by hand', () => {
    const p = tf.variable(tf.tensor1d([1, 2]));
    const idle = tf.variable(tf.tensor1d([5]));
    const sgd = new SGD(
      new Map([
        ['p', p],
        ['idle', idle],
      ]),
      { lr: 0.1, momentum: 0.9, weightDecay: 0.01 },
    );
    const g = tf.tensor1d([0.5, -1]);
    // step 1: g' = g + 0.01 p = [0.51, -0.98]; buf = g'; p = [1, 2] - 0.1 buf
    expect(sgd.step(new Map([['p', g]]))).toEqual({ updated: ['p'], skipped: ['idle'] });
    close(values(p), [0.949, 2.098]);
    // step 2: g' = [0.50949, -0.97902]; buf = 0.9 [0.51, -0.98] + g' = [0.96849, -1.86102]
    sgd.step(new Map([['p', g]]));
    close(values(p), [0.852151, 2.284102]);
    // a parameter without gradient is not touched: no weight decay either
    expect(values(idle)).toEqual([5]);
    expect([...sgd.state().momentumBuffers.keys()]).toEqual(['p']);
    close(Array.from(sgd.state().momentumBuffers.get('p')!.data), [0.96849, -1.86102]);
  });

  it('without momentum is p -= lr (g + wd p); takes host gradients too', () => {
    const p = tf.variable(tf.tensor1d([1, -1]));
    const sgd = new SGD(new Map([['p', p]]), { lr: 0.5, weightDecay: 0.1 });
    sgd.step(new Map([['p', Float32Array.from([1, 1])]]));
    close(values(p), [1 - 0.5 * 1.1, -1 - 0.5 * 0.9]);
    expect(sgd.state().momentumBuffers.size).toBe(0);
  });

  it('saves and restores momentum buffers through a codec, continuing identically', () => {
    const make = () =>
      tf.variable(
        tf.tensor2d([
          [1, 2],
          [3, 4],
        ]),
      );
    const [a, b] = [make(), make()];
    // saved layout is the transpose, as PTH-Net saves its matMul-oriented weights
    const codec = {
      encode: (_: string, data: Float32Array, shape: number[]) => ({
        shape: [shape[1]!, shape[0]!],
        data: Float32Array.from([data[0]!, data[2]!, data[1]!, data[3]!]),
      }),
      decode: (_: string, t: { data: Float32Array }) => Float32Array.from([t.data[0]!, t.data[2]!, t.data[1]!, t.data[3]!]),
    };
    const first = new SGD(new Map([['w', a]]), { lr: 0.1, momentum: 0.9, codec });
    const grad = tf.tensor2d([
      [1, 0],
      [0, -1],
    ]);
    first.step(new Map([['w', grad]]));
    const saved = first.state();
    expect(saved.momentumBuffers.get('w')).toEqual({ shape: [2, 2], data: Float32Array.from([1, 0, 0, -1]) });
    b.assign(a);
    const second = new SGD(new Map([['w', b]]), { lr: 0.1, momentum: 0.9, codec });
    second.loadState(saved);
    first.step(new Map([['w', grad]]));
    second.step(new Map([['w', grad]]));
    expect(values(b)).toEqual(values(a));
  });

  it('rejects bad hyperparameters, foreign gradients and mismatched buffers', () => {
    const p = tf.variable(tf.tensor1d([1, 2]));
    expect(() => new SGD(new Map([['p', p]]), { lr: -1 })).toThrow('sgd.lr: expected a finite number >= 0, got -1');
    const sgd = new SGD(new Map([['p', p]]), { lr: 0.1, momentum: 0.9 });
    expect(() => sgd.step(new Map([['q', tf.tensor1d([1])]]))).toThrow(ConfigError);
    expect(() => sgd.step(new Map([['p', tf.tensor1d([1])]]))).toThrow('sgd: gradient for p has 1 values, the parameter has 2');
    expect(() => sgd.loadState({ momentumBuffers: new Map([['p', { shape: [3], data: new Float32Array(3) }]]) })).toThrow(CheckpointError);
    expect(() => sgd.loadState({ momentumBuffers: new Map([['x', { shape: [2], data: new Float32Array(2) }]]) })).toThrow(
      'optimizer state: momentum buffer for unknown parameter x',
    );
  });
});

describe('MultiStepLR', () => {
  it('multiplies by gamma at each milestone, counting step() calls', () => {
    const optimizer = { lr: 0 };
    const scheduler = new MultiStepLR(optimizer, { baseLr: 0.005, milestones: [5, 10, 15], gamma: 0.1 });
    const rates = [optimizer.lr];
    for (let epoch = 1; epoch <= 16; epoch++) rates.push(scheduler.step());
    const want = [
      0.005, 0.005, 0.005, 0.005, 0.005, 0.0005, 0.0005, 0.0005, 0.0005, 0.0005, 0.00005, 0.00005, 0.00005, 0.00005, 0.00005, 0.000005,
      0.000005,
    ];
    rates.forEach((r, i) => {
      expect(r).toBeCloseTo(want[i]!, 12);
    });
    expect(scheduler.state()).toEqual({ lastEpoch: 16, baseLr: 0.005, milestones: [5, 10, 15], gamma: 0.1 });
  });

  it('resumes from a saved state', () => {
    const optimizer = { lr: 1 };
    const scheduler = new MultiStepLR(optimizer, { baseLr: 1, milestones: [2, 4] });
    scheduler.loadState({ lastEpoch: 3, baseLr: 1, milestones: [2, 4], gamma: 0.1 });
    expect(optimizer.lr).toBeCloseTo(0.1, 12);
    expect(scheduler.step()).toBeCloseTo(0.01, 12);
    expect(() => scheduler.loadState({ lastEpoch: 1, baseLr: 1, milestones: [3], gamma: 0.1 })).toThrow(ConfigError);
  });

  it('rejects milestones that do not increase', () => {
    expect(() => new MultiStepLR({ lr: 0 }, { baseLr: 1, milestones: [5, 5] })).toThrow(
      'lr_scheduler.milestones: expected increasing non-negative integers, got [5,5]',
    );
  });
});
