/**
 * Which engine trains: in this thread, or data-parallel workers. With the native kernels (wasm
 * with the addon) a network trains in this thread with its kernels on `workers` threads unless a
 * split threshold is given; without them a network of a million parameters or more is split.
 */
import { disableNativeGemm, enableNativeGemm, nativeGemmStatus, selectBackend } from 'shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrainingEngine } from './engine.js';

const SMALL = { n_in: 12, n_embd: 16, mlp_dim: 8 };
const optimizer = { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 };
const nativeBuilt = (await selectBackend('wasm')).gemm?.active === true;

describe('createTrainingEngine on wasm', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  afterAll(() => {
    enableNativeGemm();
  });

  it.runIf(nativeBuilt)('trains in this thread with the native kernels on `workers` threads, the full-size network too', async () => {
    const engine = await createTrainingEngine({ config: {}, seed: 1, optimizer, workers: 2 });
    try {
      expect(engine.description).toMatch(/^wasm \+ OpenBLAS .*, native kernels in this process$/);
      expect(nativeGemmStatus()).toMatchObject({ active: true, threads: 2 });
    } finally {
      await engine.dispose();
    }
    const single = await createTrainingEngine({ config: SMALL, seed: 1, optimizer, workers: 1 });
    expect(nativeGemmStatus()).toMatchObject({ active: true, threads: 1 });
    await single.dispose();
    // a threshold given still splits (the data-parallel engine stays available)
    const split = await createTrainingEngine({ config: SMALL, seed: 1, optimizer, workers: 2, parallelFromParameters: 1 });
    expect(split.description).toMatch(/, 2 worker threads$/);
    await split.dispose();
  });

  it('without the native kernels, splits a network from the threshold up and keeps smaller ones in one thread', async () => {
    disableNativeGemm();
    try {
      const small = await createTrainingEngine({ config: SMALL, seed: 1, optimizer, workers: 2 });
      expect(small.description).toMatch(/, 1 thread$/);
      await small.dispose();
      const split = await createTrainingEngine({ config: SMALL, seed: 1, optimizer, workers: 2, parallelFromParameters: 1 });
      expect(split.description).toMatch(/, 2 worker threads$/);
      await split.dispose();
    } finally {
      enableNativeGemm();
    }
  });
});
