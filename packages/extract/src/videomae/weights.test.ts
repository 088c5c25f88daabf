import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, selectBackend } from 'shared';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveVitConfig } from './config.js';
import { sinusoidPositionTable } from './position.js';
import type { TinyVitFixture } from './testing.js';
import { loadTinyVitFixture } from './testing.js';
import {
  checkVitShapes,
  disposeVitWeights,
  vitMemoryEstimate,
  expectedVitShapes,
  inferVitShape,
  matchingVitPresets,
  randomVitTensorSource,
  vitWeightsFromSource,
} from './weights.js';

let fixture: TinyVitFixture;
beforeAll(async () => {
  fixture = await loadTinyVitFixture();
});

function withoutHead(shapes: Map<string, number[]>): Map<string, number[]> {
  return new Map([...shapes].filter(([key]) => !key.startsWith('head.')));
}

describe('state dict shapes', () => {
  it('expects exactly the reference keys and shapes, less the head', () => {
    expect([...expectedVitShapes(fixture.config)]).toEqual([...withoutHead(fixture.stateDictShapes)]);
  });

  it('infers what the shapes tell from the fixture keys', () => {
    expect(inferVitShape(fixture.stateDictShapes)).toEqual({
      embedDim: 48,
      patchSize: 8,
      tubeletSize: 2,
      inChannels: 3,
      depth: 2,
      mlpHidden: 192,
    });
  });

  it('matches ViT-g shapes to vit-g14 only, and ViT-B shapes to vit-b16 only', () => {
    const giant = inferVitShape(expectedVitShapes(resolveVitConfig('vit-g14')));
    expect(giant).toEqual({ embedDim: 1408, patchSize: 14, tubeletSize: 2, inChannels: 3, depth: 40, mlpHidden: 6144 });
    expect(matchingVitPresets(giant)).toEqual(['vit-g14']);
    expect(matchingVitPresets(inferVitShape(expectedVitShapes(resolveVitConfig('vit-b16'))))).toEqual(['vit-b16']);
    expect(matchingVitPresets(inferVitShape(fixture.stateDictShapes))).toEqual([]);
  });

  it('accepts the fixture state dict for its config (head ignored)', () => {
    expect(() => checkVitShapes(fixture.stateDictShapes, fixture.config)).not.toThrow();
  });

  it('names the key and both shapes when the preset does not fit', () => {
    const check = (): void => checkVitShapes(fixture.stateDictShapes, resolveVitConfig('vit-s16'), 'tiny.pth', 'tiny.pth');
    expect(check).toThrow(CheckpointError);
    expect(check).toThrow(
      'tiny.pth: patch_embed.proj.weight: expected shape [384, 3, 2, 16, 16], got [48, 3, 2, 8, 8] (the checkpoint has D 48, patch 8, tubelet 2, depth 2, MLP 192; the config is vit-s16)',
    );
  });

  it('names a missing key, a wrong MLP width and an unknown key', () => {
    const missing = new Map(fixture.stateDictShapes);
    missing.delete('blocks.1.attn.v_bias');
    expect(() => checkVitShapes(missing, fixture.config)).toThrow('state dict: blocks.1.attn.v_bias: expected shape [48], got missing');

    const deeper = resolveVitConfig({ preset: 'custom', patch: 8, width: 48, depth: 3, heads: 4, imageSize: 32 });
    expect(() => checkVitShapes(fixture.stateDictShapes, deeper)).toThrow(
      'state dict: blocks.2.norm1.weight: expected shape [48], got missing',
    );

    const wider = resolveVitConfig({ preset: 'custom', patch: 8, width: 48, depth: 2, heads: 4, imageSize: 32, mlpRatio: 2 });
    expect(() => checkVitShapes(fixture.stateDictShapes, wider)).toThrow('blocks.0.mlp.fc1.weight: expected shape [96, 48], got [192, 48]');

    const extra = new Map(fixture.stateDictShapes).set('pos_embed', [1, 128, 48]);
    expect(() => checkVitShapes(extra, fixture.config)).toThrow(
      'state dict: pos_embed: expected no such key in a 2-block VideoMAE v2 ViT, got 1 unexpected key(s): pos_embed',
    );
  });

  it('says so when given a pre-training checkpoint', () => {
    const pretrain = new Map([['encoder.patch_embed.proj.weight', [48, 3, 2, 8, 8]]]);
    expect(() => inferVitShape(pretrain)).toThrow(
      /patch_embed\.proj\.weight: expected a Conv3d weight .*got missing \(this looks like a VideoMAE pre-training checkpoint/,
    );
  });
});

describe('sinusoidPositionTable', () => {
  it('puts sine on even and cosine on odd channels, with the frequency of the channel pair', () => {
    const table = sinusoidPositionTable(3, 4);
    const expected = [
      [0, 1, 0, 1],
      [Math.sin(1), Math.cos(1), Math.sin(1 / 100), Math.cos(1 / 100)],
      [Math.sin(2), Math.cos(2), Math.sin(2 / 100), Math.cos(2 / 100)],
    ].flat();
    expect(Array.from(table)).toEqual(expected.map((v) => Math.fround(v)));
  });
});

describe('random weights', () => {
  it('are seeded, in checkpoint layout, with unit norms and std 0.02', async () => {
    const source = randomVitTensorSource(fixture.config, 7);
    const again = randomVitTensorSource(fixture.config, 7);
    const fc1 = await source.read('blocks.1.mlp.fc1.weight');
    expect(fc1.length).toBe(192 * 48);
    expect(Array.from(await again.read('blocks.1.mlp.fc1.weight'))).toEqual(Array.from(fc1));
    expect(Array.from(await randomVitTensorSource(fixture.config, 8).read('blocks.1.mlp.fc1.weight'))).not.toEqual(Array.from(fc1));
    const mean = fc1.reduce((a, b) => a + b, 0) / fc1.length;
    const std = Math.sqrt(fc1.reduce((a, b) => a + (b - mean) ** 2, 0) / fc1.length);
    expect(Math.abs(mean)).toBeLessThan(0.002);
    expect(std).toBeGreaterThan(0.019);
    expect(std).toBeLessThan(0.021);
    expect(Array.from(await source.read('fc_norm.weight'))).toEqual(new Array(48).fill(1));
    expect(Array.from(await source.read('blocks.0.norm2.bias'))).toEqual(new Array(48).fill(0));
  });

  it('load into tensors that dispose without a leak', async () => {
    await selectBackend('cpu');
    const before = tf.memory().numTensors;
    const weights = await vitWeightsFromSource(randomVitTensorSource(fixture.config, 1), fixture.config);
    // patch kernel + bias, fc_norm x 2, and per block 10 tensors plus 5 per head.
    expect(tf.memory().numTensors - before).toBe(4 + 2 * (10 + 4 * 5));
    expect(weights.patchKernel.shape).toEqual([2 * 8 * 8 * 3, 48]);
    expect(weights.blocks[0]?.heads[3]?.queryKernel.shape).toEqual([48, 12]);
    expect(weights.blocks[1]?.fc2Kernel.shape).toEqual([192, 48]);
    disposeVitWeights(weights);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('are refused up front on wasm when the model cannot fit its 4 GiB heap (ViT-g/14)', async () => {
    await selectBackend('wasm');
    const giant = resolveVitConfig('vit-g14');
    // 1,011,610,752 float32 weights alone are 3.77 GiB.
    expect(vitMemoryEstimate(giant)).toBeGreaterThan(4 * 1_011_610_752);
    expect(vitMemoryEstimate(resolveVitConfig('vit-h16'))).toBeLessThan(3 * 1024 ** 3);
    const before = tf.memory().numTensors;
    await expect(vitWeightsFromSource(randomVitTensorSource(giant, 0), giant)).rejects.toThrow(
      /^backbone: expected a model whose weights and activations fit the wasm backend's 4\.00 GiB heap, got vit-g14 needing about 4\.0\d GiB; leave extract\.backbone\.weightBudget unset \(or set it below 3\.77 GiB\) to stream the weights block by block/,
    );
    expect(tf.memory().numTensors).toBe(before);
  });
});
