import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from 'shared';
import { InputError, selectBackend } from 'shared';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadVitWeights } from './checkpoint.js';
import { resolveVitConfig } from './config.js';
import { preprocessWindows } from './preprocess.js';
import type { TinyVitFixture } from './testing.js';
import { loadTinyVitFixture, maxAbsDiff } from './testing.js';
import { createVitModel } from './vit.js';

/** SPEC 8: features within 1e-4 absolute of the reference. */
const FEATURE_TOLERANCE = 1e-4;

let fixture: TinyVitFixture;
beforeAll(async () => {
  fixture = await loadTinyVitFixture();
});

describe.each<BackendName>(['wasm', 'cpu'])('tiny VideoMAE v2 ViT on %s against the PyTorch reference', (backend) => {
  beforeAll(async () => {
    await selectBackend(backend);
  });

  it('preprocesses [2, 16, 40, 56, 3] bytes into model_input.npy', () => {
    const input = preprocessWindows(fixture.windows, fixture.config);
    expect(input.shape).toEqual([2, 16, 32, 32, 3]);
    // Ours is channels-last; the reference's [B, 3, T, H, W] is a transpose of it.
    const asReference = tf.transpose(input, [0, 4, 1, 2, 3]);
    expect(asReference.shape).toEqual(fixture.modelInput.shape);
    expect(maxAbsDiff(asReference.dataSync(), fixture.modelInput.data)).toBeLessThan(1e-6);
    tf.dispose([input, asReference]);
  });

  it('upsamples like PyTorch bilinear with align_corners=False (edge samples clamp, no antialias)', () => {
    const config = resolveVitConfig({ preset: 'custom', patch: 2, width: 4, depth: 1, heads: 1, imageSize: 4 });
    // 16 frames of 2 x 2 pixels; frame t, pixel (y, x), channel c holds 5 * t + 40 * y + 80 * x + c.
    const data = new Uint8Array(16 * 2 * 2 * 3).map((_, i) => {
      const [t, y, x, c] = [Math.floor(i / 12), Math.floor(i / 6) % 2, Math.floor(i / 3) % 2, i % 3];
      return 5 * t + 40 * y + 80 * x + c;
    });
    const out = preprocessWindows({ data, shape: [1, 16, 2, 2, 3] }, config);
    expect(out.shape).toEqual([1, 16, 4, 4, 3]);
    // Output pixel k samples source (k + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25, clamped to [0, 1].
    const weightOfSecond = [0, 0.25, 0.75, 1];
    const values = out.dataSync();
    const expected: number[] = [];
    for (let t = 0; t < 16; t++)
      for (let y = 0; y < 4; y++)
        for (let x = 0; x < 4; x++)
          for (let c = 0; c < 3; c++)
            expected.push((5 * t + 40 * (weightOfSecond[y] as number) + 80 * (weightOfSecond[x] as number) + c) / 255);
    expect(maxAbsDiff(values, expected)).toBeLessThan(1e-6);
    out.dispose();
  });

  it('applies an optional mean/std per channel after scaling and resizing', () => {
    const mean = [0.485, 0.456, 0.406] as const;
    const std = [0.229, 0.224, 0.225] as const;
    const input = preprocessWindows(fixture.windows, { ...fixture.config, normalize: { mean, std } });
    const values = input.dataSync();
    // Reference layout [B, 3, T, H, W]: channel c of element i is (i / (16 * 32 * 32)) % 3.
    const expected = fixture.modelInput.data.map((v, i) => {
      const channel = Math.floor(i / (16 * 32 * 32)) % 3;
      return (v - (mean[channel] as number)) / (std[channel] as number);
    });
    const asReference = tf.transpose(input, [0, 4, 1, 2, 3]);
    expect(maxAbsDiff(asReference.dataSync(), expected)).toBeLessThan(1e-5);
    expect(values.length).toBe(expected.length);
    tf.dispose([input, asReference]);
  });

  it('extracts features.npy from checkpoint.pth, batched and one window at a time, without leaking tensors', async () => {
    const model = createVitModel(fixture.config, await loadVitWeights(fixture.checkpointPath, fixture.config));
    const features = await model.extractFeatures(fixture.windows);
    expect(features.length).toBe(2 * 48);
    expect(maxAbsDiff(features, fixture.features.data)).toBeLessThan(FEATURE_TOLERANCE);

    const before = tf.memory().numTensors;
    const half = fixture.windows.data.length / 2;
    const second = await model.extractFeatures({ data: fixture.windows.data.subarray(half), shape: [1, 16, 40, 56, 3] });
    expect(maxAbsDiff(second, fixture.features.data.subarray(48))).toBeLessThan(FEATURE_TOLERANCE);
    expect(tf.memory().numTensors).toBe(before);

    await model.dispose();
    expect(tf.memory().numTensors).toBe(before - (4 + 2 * (10 + 4 * 5)) - 1);
  });
});

describe('window batch checks', () => {
  it('rejects a batch whose shape does not fit the model', async () => {
    await selectBackend('cpu');
    const model = createVitModel(fixture.config, await loadVitWeights(fixture.checkpointPath, fixture.config));
    await expect(model.extractFeatures({ data: new Uint8Array(8 * 10 * 10 * 3), shape: [1, 8, 10, 10, 3] })).rejects.toThrow(
      new InputError('windows.shape: expected [batch, 16, height, width, 3], got [1,8,10,10,3]'),
    );
    await expect(model.extractFeatures({ data: new Uint8Array(10), shape: [1, 16, 10, 10, 3] })).rejects.toThrow(
      'windows.data: expected 4800 bytes for shape [1,16,10,10,3], got 10',
    );
    await model.dispose();
  });
});
