import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { writeTorchStateDict } from 'model';
import { ConfigError, selectBackend } from 'shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveBackbone } from '../backbones/registry.js';
import type { VideoWindowBatch } from '../backbones/types.js';
import { openVitTensorSource } from './checkpoint.js';
import { resolveVitConfig } from './config.js';
import type { TinyVitFixture } from './testing.js';
import { loadTinyVitFixture, maxAbsDiff } from './testing.js';
import type { VitConfig, VitModel } from './types.js';
import { openVitModel } from './vit.js';
import { expectedVitShapes, planVitWeights, randomVitTensorSource, vitWeightBytes } from './weights.js';
import { createVitWorkerPool } from './workerPool.js';

let fixture: TinyVitFixture;
const tmp = mkdtempSync(path.join(tmpdir(), 'vit-stream-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

beforeAll(async () => {
  await selectBackend('wasm');
  fixture = await loadTinyVitFixture();
});

/** A ViT whose weights (1.9 MB) outweigh one window's activations, so that holding them whole would show in the memory figures. */
const WIDE: VitConfig = resolveVitConfig({ preset: 'custom', embedDim: 96, depth: 4, numHeads: 4, patchSize: 8, imageSize: 16 });

/** Random weights of `config` written as an official-layout `.pth` (state dict under `module`). */
async function writeRandomCheckpoint(file: string, config: VitConfig, seed: number, deflate: boolean): Promise<string> {
  const source = randomVitTensorSource(config, seed);
  const entries = [...expectedVitShapes(config)].map(([key, shape]) => ({ key, shape }));
  await writeTorchStateDict(file, { entries, values: (key) => source.read(key), deflate });
  return file;
}

function syntheticWindows(count: number, side: number): VideoWindowBatch {
  const data = new Uint8Array(count * 16 * side * side * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
  return { data, shape: [count, 16, side, side, 3] };
}

async function withModels<T>(models: VitModel[], run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } finally {
    for (const model of models) await model.dispose();
  }
}

describe('streamed ViT weights', () => {
  it('under a budget of one block, stream the tiny fixture and give the held model’s features bit for bit', async () => {
    const { config, checkpointPath } = fixture;
    const { resident, block, total } = vitWeightBytes(config);
    const budget = resident + block;
    const tensorsBefore = tf.memory().numTensors;
    const held = await openVitModel(await openVitTensorSource(checkpointPath), config, { budget: null, closeSource: true });
    const streamed = await openVitModel(await openVitTensorSource(checkpointPath), config, { budget, closeSource: true });
    await withModels([held, streamed], async () => {
      expect(held.weightPlan.streamed).toBe(false);
      expect(streamed.weightPlan).toEqual({ streamed: true, heldBytes: budget, totalBytes: total, budget });
      const expected = await held.extractFeatures(fixture.windows);
      const features = await streamed.extractFeatures(fixture.windows);
      // the same operations on the same numbers, only in another order across windows
      expect(Array.from(features)).toEqual(Array.from(expected));
      expect(maxAbsDiff(features, fixture.features.data)).toBeLessThan(1e-4);
      // both windows went through each block in one pass: every block came in once
      expect(streamed.memoryStats()).toMatchObject({ streamed: true, weightBytesPeak: budget, weightBytesLoaded: total });
      expect(held.memoryStats()).toMatchObject({ streamed: false, weightBytesPeak: total });
    });
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('stream from a deflated .pth pass after pass, past the reader’s total budget, with the same features as held weights', async () => {
    const file = await writeRandomCheckpoint(path.join(tmp, 'deflated.pth'), WIDE, 7, true);
    const { resident, block, total } = vitWeightBytes(WIDE);
    const held = await openVitModel(randomVitTensorSource(WIDE, 7), WIDE, { budget: null, closeSource: true });
    const streamed = await openVitModel(await openVitTensorSource(file), WIDE, { budget: resident + block, closeSource: true });
    await withModels([held, streamed], async () => {
      const windows = syntheticWindows(3, 20);
      const expected = Array.from(await held.extractFeatures(windows));
      // the reader lets one .pth return at most 4x its size in distinct tensors; streaming reads the same ones each pass
      const passes = Math.ceil((4 * statSync(file).size) / total) + 1;
      for (let p = 0; p < passes; p++) expect(Array.from(await streamed.extractFeatures(windows))).toEqual(expected);
      expect(streamed.memoryStats().weightBytesLoaded).toBe(resident + passes * (total - resident));
    });
  });

  it('share one copy across two workers: each holds at most its budget, far below the model, with the features of held weights', async () => {
    const file = await writeRandomCheckpoint(path.join(tmp, 'stored.pth'), WIDE, 11, false);
    const { resident, block, total } = vitWeightBytes(WIDE);
    const budget = resident + block;
    const windows = syntheticWindows(4, 16);
    const held = await createVitWorkerPool({ config: WIDE, weightsPath: file, workers: 2, backend: 'wasm' });
    let expected: number[];
    try {
      expect(held.weightPlan.streamed).toBe(false);
      expected = Array.from(await held.extractFeatures(windows));
    } finally {
      await held.close();
    }
    const pool = await createVitWorkerPool({ config: WIDE, weightsPath: file, workers: 2, backend: 'wasm', weightBudget: budget });
    try {
      expect(pool.weightPlan).toEqual({ streamed: true, heldBytes: budget, totalBytes: total, budget });
      expect(Array.from(await pool.extractFeatures(windows))).toEqual(expected);
      const stats = await pool.memoryStats();
      expect(stats).toHaveLength(2);
      for (const worker of stats) {
        expect(worker.streamed).toBe(true);
        expect(worker.weightBytesPeak).toBe(budget);
        // everything on the worker's backend (weights, positions, the residual streams of its windows)
        expect(worker.tensorBytesPeak).toBeGreaterThan(budget);
        expect(worker.tensorBytesPeak).toBeLessThan(total / 2);
      }
    } finally {
      await pool.close();
    }
  });

  it('refuse a budget too small for one block, naming the key and the smallest that works', async () => {
    const { resident, block } = vitWeightBytes(WIDE);
    const smallest = resident + block;
    const custom = { embedDim: 96, depth: 4, numHeads: 4, patchSize: 8, imageSize: 16 };
    expect(() => resolveBackbone({ preset: 'custom', custom, normalize: null, weightBudget: smallest - 1 })).toThrow(ConfigError);
    expect(() => resolveBackbone({ preset: 'custom', custom, normalize: null, weightBudget: smallest - 1 })).toThrow(
      `extract.backbone.weightBudget: expected at least ${smallest} bytes (582 KiB: the patch embedding, fc_norm and one of the 4 blocks of custom), got ${smallest - 1} (582 KiB)`,
    );
    await expect(createVitWorkerPool({ config: WIDE, workers: 2, weightBudget: 1000 })).rejects.toThrow(
      /^extract\.backbone\.weightBudget: expected at least 595584 bytes/,
    );
    expect(resolveBackbone({ preset: 'custom', custom, normalize: null, weightBudget: smallest })).toMatchObject({
      weightBudget: smallest,
    });
  });

  it('stream ViT-g/14 by default on wasm (it cannot fit the heap) and hold the smaller presets whole', () => {
    const giant = resolveVitConfig('vit-g14');
    const plan = planVitWeights(giant, null, 'wasm');
    expect(plan.streamed).toBe(true);
    // 1,011,610,752 float32 weights; held: the patch embedding, fc_norm and one of the 40 blocks (101 MB)
    expect(plan.totalBytes).toBe(4 * 1_011_610_752);
    expect(plan.heldBytes).toBe(vitWeightBytes(giant).resident + vitWeightBytes(giant).block);
    expect(plan.heldBytes).toBeLessThan(110e6);
    expect(planVitWeights(resolveVitConfig('vit-h16'), null, 'wasm').streamed).toBe(false);
    expect(planVitWeights(giant, null, 'cpu').streamed).toBe(false);
    expect(planVitWeights(resolveVitConfig('vit-s16'), 10e6, 'cpu').streamed).toBe(true);
  });
});
