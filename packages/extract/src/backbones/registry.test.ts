import { ConfigError, selectBackend } from 'shared';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TinyVitFixture } from '../videomae/testing.js';
import { loadTinyVitFixture, maxAbsDiff } from '../videomae/testing.js';
import { backboneDefinitions, openBackbone, randomBackboneTensors, registerBackbone, resolveBackbone } from './registry.js';
import type { BackboneConfig } from './types.js';
import type { VideoMaeSpec } from './videomae-v2.js';

/** The tiny fixture's shape, as the pipeline config spells it. */
const TINY: BackboneConfig = {
  preset: 'custom',
  custom: { patch: 8, width: 48, depth: 2, heads: 4, image_size: 32 },
  checkpoint: 'unused.pth',
  normalize: null,
};

let fixture: TinyVitFixture;
beforeAll(async () => {
  fixture = await loadTinyVitFixture();
  await selectBackend('wasm');
});

describe('backbone registry', () => {
  it('has the VideoMAE v2 ViT as its one backbone and the default, with the ViT presets', () => {
    expect(backboneDefinitions().map((b) => [b.name, b.presets])).toEqual([
      ['videomae-v2', ['vit-s16', 'vit-b16', 'vit-l16', 'vit-h16', 'vit-g14', 'custom']],
    ]);
    const spec = resolveBackbone({ normalize: null });
    expect([spec.backbone, spec.label, spec.featureDim, spec.window]).toEqual([
      'videomae-v2',
      'vit-g14',
      1408,
      { frames: 16, height: 224, width: 224 },
    ]);
    expect(spec.checkpointKind).toBe('VideoMAE v2 checkpoint (.pth or .safetensors)');
  });

  it('describes the ViT with the cache params its features always had, so existing features stay up to date', () => {
    const spec = resolveBackbone({ ...TINY, normalize: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] } });
    expect(spec.cacheParams).toEqual({
      vit: {
        embedDim: 48,
        depth: 2,
        numHeads: 4,
        patchSize: 8,
        tubeletSize: 2,
        mlpRatio: 4,
        imageSize: 32,
        numFrames: 16,
        normalize: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
      },
    });
    // 128 tokens (8 tubes x 4 x 4) of width 48: patch 2*128*384*48, 2 blocks of 2*128*48*(4*48+2*192), attention 2 x 4*128*128*48
    expect(spec.flopsPerWindow).toBe(4_718_592 + 14_155_776 + 6_291_456);
  });

  it('names the key and the registered backbones for an unknown name, and the ViT key for a bad preset', () => {
    expect(() => resolveBackbone({ name: 'resnet', normalize: null })).toThrow(
      new ConfigError('extract.backbone.name: expected one of videomae-v2, got "resnet"'),
    );
    expect(() => resolveBackbone({ preset: 'vit-x', normalize: null })).toThrow(
      new ConfigError('extract.backbone.preset: expected one of vit-s16, vit-b16, vit-l16, vit-h16, vit-g14, custom, got "vit-x"'),
    );
  });

  it('names a bad custom shape key as the user wrote it, where they wrote it (issue 11: was backbone.numHeads)', () => {
    const custom = { patch: 8, width: 48, depth: 2, heads: 5, imageSize: 32 };
    expect(() => resolveBackbone({ preset: 'custom', custom, normalize: null })).toThrow(
      new ConfigError('extract.backbone.custom.heads: expected a divisor of extract.backbone.custom.width (48), got 5'),
    );
  });

  it('opens the ViT from a checkpoint in this thread: the reference features of the tiny fixture', async () => {
    const backbone = await openBackbone(resolveBackbone(TINY), { weights: { checkpoint: fixture.checkpointPath } });
    try {
      expect([backbone.workers, backbone.backend, backbone.spec.featureDim]).toEqual([0, 'wasm', 48]);
      expect(maxAbsDiff(await backbone.extractFeatures(fixture.windows), fixture.features.data)).toBeLessThan(1e-4);
    } finally {
      await backbone.close();
    }
  });

  it('gives seeded random weights in checkpoint layout, and loads the same from tensors at hand as from the seed', async () => {
    const spec = resolveBackbone(TINY);
    const tensors = randomBackboneTensors(spec, 5);
    expect(tensors.shapes.get('patch_embed.proj.weight')).toEqual([48, 3, 2, 8, 8]);
    const fromSeed = await openBackbone(spec, { weights: { randomSeed: 5 } });
    const fromTensors = await openBackbone(spec, { weights: { tensors } });
    try {
      const a = await fromSeed.extractFeatures(fixture.windows);
      const b = await fromTensors.extractFeatures(fixture.windows);
      expect(maxAbsDiff(a, b)).toBe(0);
      expect(maxAbsDiff(a, fixture.features.data)).toBeGreaterThan(0.1);
    } finally {
      await fromSeed.close();
      await fromTensors.close();
    }
    await expect(openBackbone(spec, { weights: { tensors }, workers: 2 })).rejects.toThrow(
      new ConfigError('videomae-v2: weights from tensors at hand load in this thread only, got workers: 2'),
    );
  });

  it('takes an extra backbone without editing the registry, refuses a name twice, and forgets it when removed', () => {
    const vit = backboneDefinitions()[0]!;
    const unregister = registerBackbone({
      ...vit,
      name: 'vit-again',
      resolve: (config) => ({ ...vit.resolve(config), backbone: 'vit-again' }),
    });
    try {
      expect(backboneDefinitions().map((b) => b.name)).toEqual(['videomae-v2', 'vit-again']);
      expect(resolveBackbone({ ...TINY, name: 'vit-again' })).toMatchObject({ backbone: 'vit-again', featureDim: 48 });
      expect(() => registerBackbone(vit)).toThrow(
        new ConfigError('registerBackbone: expected a new backbone name, got "videomae-v2" again'),
      );
    } finally {
      unregister();
    }
    expect(() => resolveBackbone({ ...TINY, name: 'vit-again' })).toThrow('expected one of videomae-v2, got "vit-again"');
    expect((resolveBackbone(TINY) as VideoMaeSpec).vit.tokenCount).toBe(128);
  });
});
