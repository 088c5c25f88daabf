import { ConfigError } from 'shared';
import { describe, expect, it } from 'vitest';
import { ensureVitConfig, resolveVitConfig, vitShapeOf } from './config.js';
import { vitFlopsPerWindow, vitParameterCount } from './flops.js';

describe('resolveVitConfig', () => {
  it('fills the published presets with their derived sizes', () => {
    const small = resolveVitConfig('vit-s16');
    expect(small).toEqual({
      preset: 'vit-s16',
      patchSize: 16,
      embedDim: 384,
      depth: 12,
      numHeads: 6,
      mlpRatio: 4,
      imageSize: 224,
      numFrames: 16,
      tubeletSize: 2,
      headDim: 64,
      mlpHidden: 1536,
      gridSize: 14,
      tubeCount: 8,
      tokenCount: 1568,
      normalize: null,
    });
    const giant = resolveVitConfig('vit-g14');
    expect([giant.embedDim, giant.depth, giant.numHeads, giant.patchSize, giant.headDim, giant.mlpHidden, giant.tokenCount]).toEqual([
      1408, 40, 16, 14, 88, 6144, 2048,
    ]);
    expect([resolveVitConfig('vit-b16').mlpHidden, resolveVitConfig('vit-l16').depth, resolveVitConfig('vit-h16').embedDim]).toEqual([
      3072, 24, 1280,
    ]);
  });

  it('defaults to ViT-g/14, the backbone of the published features', () => {
    expect(resolveVitConfig().preset).toBe('vit-g14');
    expect(resolveVitConfig({}).embedDim).toBe(1408);
  });

  it('overrides a preset, e.g. a smaller input for benchmarks', () => {
    const config = resolveVitConfig({ preset: 'vit-s16', imageSize: 112 });
    expect([config.gridSize, config.tokenCount, config.embedDim]).toEqual([7, 392, 384]);
  });

  it('takes a custom shape under the reference kwargs or the pipeline config names', () => {
    const reference = resolveVitConfig({
      preset: 'custom',
      img_size: 32,
      patch_size: 8,
      embed_dim: 48,
      depth: 2,
      num_heads: 4,
      mlp_ratio: 4.0,
      num_frames: 16,
      tubelet_size: 2,
      num_classes: 10,
    });
    const pipeline = resolveVitConfig({ preset: 'custom', patch: 8, width: 48, depth: 2, heads: 4, imageSize: 32 });
    expect(pipeline).toEqual(reference);
    expect([reference.headDim, reference.mlpHidden, reference.tokenCount]).toEqual([12, 192, 128]);
  });

  it('keeps a mean/std normalisation when given one', () => {
    const config = resolveVitConfig({ preset: 'vit-b16', normalize: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } });
    expect(config.normalize).toEqual({ mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
  });

  it('round-trips a resolved config through its plain shape', () => {
    const config = resolveVitConfig({ preset: 'vit-s16', imageSize: 112 });
    expect(ensureVitConfig(config)).toEqual(config);
    expect(resolveVitConfig(vitShapeOf(config))).toEqual(config);
    expect(ensureVitConfig('vit-b16').embedDim).toBe(768);
  });

  it.each([
    [{ preset: 'vit-x' }, 'backbone.preset: expected one of vit-s16, vit-b16, vit-l16, vit-h16, vit-g14, custom, got "vit-x"'],
    [{ preset: 'vit-s16', numHeads: 5 }, 'backbone.numHeads: expected a divisor of backbone.embedDim (384), got 5'],
    [{ preset: 'vit-s16', imageSize: 100 }, 'backbone.imageSize: expected a multiple of backbone.patchSize (16), got 100'],
    [{ preset: 'vit-s16', numFrames: 15 }, 'backbone.numFrames: expected a multiple of backbone.tubeletSize (2), got 15'],
    [{ preset: 'vit-s16', depth: 0 }, 'backbone.depth: expected a positive integer, got 0'],
    [{ preset: 'vit-s16', patch: 16.5 }, 'backbone.patch: expected a positive integer, got 16.5'],
    [{ preset: 'vit-s16', mlpRatio: -1 }, 'backbone.mlpRatio: expected a positive number, got -1'],
    [
      { preset: 'custom', embedDim: 64, depth: 2 },
      'backbone.numHeads: expected a positive integer (required when preset is custom), got undefined',
    ],
    [{ preset: 'vit-s16', heads: 6, numHeads: 12 }, 'backbone.numHeads: expected the same value as heads (6), got 12'],
    [{ preset: 'vit-s16', widht: 3 }, 'backbone.widht: expected one of preset, normalize, patchSize'],
    [
      { preset: 'vit-s16', normalize: { mean: [0.5, 0.5], std: [1, 1, 1] } },
      'backbone.normalize.mean: expected three finite numbers (R, G, B), got [0.5, 0.5]',
    ],
    [
      { preset: 'vit-s16', normalize: { mean: [0, 0, 0], std: [1, 0, 1] } },
      'backbone.normalize.std: expected three positive numbers, got [1, 0, 1]',
    ],
  ])('rejects %j naming the key', (input, message) => {
    expect(() => resolveVitConfig(input as Record<string, unknown>)).toThrow(ConfigError);
    expect(() => resolveVitConfig(input as Record<string, unknown>)).toThrow(message);
  });
});

describe('vitFlopsPerWindow', () => {
  it('counts the matrix products of ViT-S/16 at 224 pixels', () => {
    const flops = vitFlopsPerWindow(resolveVitConfig('vit-s16'));
    // 1568 tokens, tubes of 2 x 16 x 16 x 3 = 1536 values, D 384, MLP 1536.
    expect(flops.patchEmbed).toBe(2 * 1568 * 1536 * 384);
    expect(flops.linear).toBe(12 * 2 * 1568 * 384 * (3 * 384 + 384 + 2 * 1536));
    expect(flops.attention).toBe(12 * 4 * 1568 * 1568 * 384);
    expect(flops.total).toBe(flops.patchEmbed + flops.linear + flops.attention);
    expect(flops.total / 1e9).toBeCloseTo(113.756, 3);
  });

  it('counts the parameters behind the features (the fixture count less its 10-class head)', () => {
    const tiny = resolveVitConfig({ preset: 'custom', patch: 8, width: 48, depth: 2, heads: 4, imageSize: 32 });
    expect(vitParameterCount(tiny)).toBe(75514 - (10 * 48 + 10));
    // ViT-g/14: SPEC's 1.01 B; 1,011,610,752 without the classification head.
    expect(vitParameterCount(resolveVitConfig('vit-g14'))).toBe(1_011_610_752);
  });
});
