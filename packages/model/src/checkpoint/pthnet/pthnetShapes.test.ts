import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CheckpointError, ConfigError } from 'shared';
import { describe, expect, it } from 'vitest';
import type { PthNetConfig } from '../../pthnet/types.js';
import { fixturesDir } from '../torch/testing.js';
import { PTHNET_FERV39K_CONFIG } from './constants.js';
import { checkPthNetShapes, expectedPthNetShapes, inferPthNetConfig, validateCheckpointConfig } from './pthnetShapes.js';

const fixtures = fixturesDir();
const shapesJson = JSON.parse(readFileSync(path.join(fixtures, 'shapes.json'), 'utf8')) as {
  pthnet_ferv39k: { param_count: number; state_dict: Record<string, number[]> };
};
const tiny = JSON.parse(readFileSync(path.join(fixtures, 'pthnet/tiny/expected.json'), 'utf8')) as {
  config: PthNetConfig;
  param_count: number;
  state_dict_after_steps: Record<string, { shape: number[] }>;
};
const tinyShapes = new Map(Object.entries(tiny.state_dict_after_steps).map(([k, v]) => [k, v.shape]));
const fullShapes = new Map(Object.entries(shapesJson.pthnet_ferv39k.state_dict));

function count(shapes: Map<string, number[]>): number {
  let n = 0;
  for (const shape of shapes.values()) n += shape.reduce((a, b) => a * b, 1);
  return n;
}

describe('expectedPthNetShapes', () => {
  it('reproduces shapes.json for the FERV39k config: every key, shape and the order, 10,419,719 parameters', () => {
    const shapes = expectedPthNetShapes(PTHNET_FERV39K_CONFIG);
    expect([...shapes]).toEqual([...fullShapes]);
    expect(count(shapes)).toBe(10_419_719);
    expect(count(shapes)).toBe(shapesJson.pthnet_ferv39k.param_count);
  });

  it("reproduces the tiny fixture's state dict for its config: 38,279 parameters", () => {
    const shapes = expectedPthNetShapes(tiny.config);
    expect([...shapes]).toEqual([...tinyShapes]);
    expect(count(shapes)).toBe(tiny.param_count);
  });

  it('follows the reference layout when LayerNorm, drop path and the head are off', () => {
    const shapes = expectedPthNetShapes({ ...tiny.config, with_ln: false, path_pdrop: 0, num_classes: 0, arch: [1, 0, 1, 0] });
    // bias=not with_ln on the embedding conv, no embd_norm, no drop-path scales, Identity head.
    expect(shapes.get('embd.0.conv.bias')).toEqual([32]);
    expect(
      [...shapes.keys()].some((k) => k.startsWith('embd_norm') || k.includes('drop_path') || k.startsWith('head') || k.startsWith('stem')),
    ).toBe(false);
    expect(shapes.get('branch_1.0.psi.weight')).toEqual([32, 1, 3]);
  });
});

describe('inferPthNetConfig', () => {
  it('infers the FERV39k config from shapes.json and the tiny config from the fixture', () => {
    expect(inferPthNetConfig(fullShapes)).toEqual(PTHNET_FERV39K_CONFIG);
    expect(inferPthNetConfig(tinyShapes)).toEqual(tiny.config);
  });

  it('round-trips unusual configs through their shapes', () => {
    // A stage with no layers shows no kernel: its thr_size entry is the default (3 for branch 1).
    const configs: PthNetConfig[] = [
      {
        ...tiny.config,
        with_ln: false,
        arch: [1, 3, 0, 2],
        thr_size: [5, 3, 3, 7],
        k: [3, 5, 7],
        num_classes: 0,
        path_pdrop: 0,
        n_in: 20,
        mlp_dim: 40,
        n_embd: 48,
      },
      { ...tiny.config, arch: [3, 0, 2, 1], thr_size: [1, 1, 5, 3], k: [1, 1, 1], num_classes: 11 },
    ];
    for (const config of configs) expect(inferPthNetConfig(expectedPthNetShapes(config))).toEqual(config);
  });

  it('refuses shapes that are not a PTH-Net, naming the key', () => {
    expect(() => inferPthNetConfig(new Map([['patch_embed.proj.weight', [48, 3, 2, 8, 8]]]), 'vit.pth')).toThrowError(
      /vit\.pth: cannot infer the PTH-Net config: expected key embd\.0\.conv\.weight with at least 1 dims, got no such key/,
    );
  });

  it('names the key and both shapes when one shape does not fit what the others imply', () => {
    const shapes = new Map(tinyShapes);
    shapes.set('head.bias', [8]);
    expect(() => inferPthNetConfig(shapes, 'ckpt.pth')).toThrow(CheckpointError);
    expect(() => inferPthNetConfig(shapes, 'ckpt.pth')).toThrowError(/key head\.bias: expected shape \[7\], got \[8\]/);
  });
});

describe('checkPthNetShapes', () => {
  it('names missing, unexpected and mis-shaped keys', () => {
    const shapes = new Map(tinyShapes);
    shapes.delete('stem.1.gn.bias');
    shapes.set('stem.0.mlp.0.weight', [24, 32, 3]);
    shapes.set('extra.weight', [1]);
    let message = '';
    try {
      checkPthNetShapes(shapes, tiny.config, 'model.safetensors');
    } catch (error) {
      expect(error).toBeInstanceOf(CheckpointError);
      message = (error as Error).message;
    }
    expect(message).toContain('missing key stem.1.gn.bias (expected shape [32])');
    expect(message).toContain('key stem.0.mlp.0.weight: expected shape [24,32,1], got [24,32,3]');
    expect(message).toContain('unexpected key extra.weight');
    expect(() => checkPthNetShapes(tinyShapes, tiny.config)).not.toThrow();
  });
});

describe('validateCheckpointConfig', () => {
  it('fills absent keys from the FERV39k defaults', () => {
    expect(validateCheckpointConfig({ n_in: 768, num_classes: 6 })).toEqual({ ...PTHNET_FERV39K_CONFIG, n_in: 768, num_classes: 6 });
  });

  it('says which key is wrong, what was expected and what it got', () => {
    expect(() => validateCheckpointConfig({ n_embd: 30 })).toThrow(ConfigError);
    expect(() => validateCheckpointConfig({ n_embd: 30 })).toThrowError(/key n_embd: expected a multiple of 16 .* got 30/);
    expect(() => validateCheckpointConfig({ thr_size: [3, 2, 3, 3] })).toThrowError(
      /key thr_size\.1: expected an odd kernel size .* got 2/,
    );
    expect(() => validateCheckpointConfig({ arch: [2, 2, 1] })).toThrowError(/key arch: expected an array of 4 integers, got \[2,2,1\]/);
    expect(() => validateCheckpointConfig({ with_ln: 'yes' })).toThrowError(/key with_ln: expected true or false, got "yes"/);
    expect(() => validateCheckpointConfig({ path_pdrop: 1 })).toThrowError(/key path_pdrop: expected a number in \[0, 1\), got 1/);
  });
});
