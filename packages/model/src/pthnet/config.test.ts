import { ConfigError } from 'shared';
import { describe, expect, it } from 'vitest';
import { validatePthNetConfig } from './config.js';
import type { PthNetConfig } from './types.js';

describe('validatePthNetConfig', () => {
  it('fills the published FERV39k config', () => {
    expect(validatePthNetConfig()).toEqual({
      n_in: 1408,
      n_embd: 512,
      mlp_dim: 768,
      max_len: 16,
      arch: [2, 2, 1, 1],
      scale_factor: 2,
      with_ln: true,
      path_pdrop: 0.1,
      downsample_type: 'max',
      thr_size: [3, 1, 3, 3],
      k: [1, 3, 5],
      use_pos: false,
      num_classes: 7,
    });
  });

  it('keeps given keys and defaults the rest', () => {
    const config = validatePthNetConfig({ n_in: 48, n_embd: 32, mlp_dim: 24, path_pdrop: 0 });
    expect([config.n_in, config.n_embd, config.mlp_dim, config.path_pdrop, config.num_classes]).toEqual([48, 32, 24, 0, 7]);
  });

  it.each<[Partial<Record<keyof PthNetConfig | 'bogus' | 'n_embed', unknown>>, string]>([
    [{ n_embd: 100 }, 'pthnet.n_embd: expected a multiple of 16 (norm groups) and 8 (heads), got 100'],
    [{ n_in: 0 }, 'pthnet.n_in: expected a positive integer, got 0'],
    [{ mlp_dim: 2.5 }, 'pthnet.mlp_dim: expected a positive integer, got 2.5'],
    [{ path_pdrop: 1 }, 'pthnet.path_pdrop: expected a number in [0, 1), got 1'],
    [{ arch: [2, 2, 1] }, 'pthnet.arch: expected an array of 4 integers, got [2,2,1]'],
    [{ arch: [0, 2, 1, 1] }, 'pthnet.arch.0: expected at least one embedding conv, got 0'],
    [{ thr_size: [3, 2, 3, 3] }, 'pthnet.thr_size.1: expected an odd kernel size ("same" padding keeps the length), got 2'],
    [{ max_len: 8 }, 'pthnet.max_len: expected a multiple of 16 (level L is max_len / 4 and is max-pooled twice), got 8'],
    [{ use_pos: true }, 'pthnet.use_pos: expected false (the reference forward pass never adds the positional embedding), got true'],
    [{ downsample_type: 'avg' }, 'pthnet.downsample_type: expected "max" (only max-pooling is implemented), got "avg"'],
    [
      { bogus: 1 },
      'pthnet.bogus: unknown key; expected one of n_in, n_embd, mlp_dim, max_len, arch, scale_factor, with_ln, path_pdrop, downsample_type, thr_size, k, use_pos, num_classes',
    ],
    [{ n_embed: 64 }, 'pthnet.n_embed: unknown key (did you mean "n_embd"?); expected one of n_in, n_embd,'],
    [{ path_pdrop: Number.NaN }, 'pthnet.path_pdrop: expected a number in [0, 1), got NaN'],
  ])('rejects %j', (partial, message) => {
    expect(() => validatePthNetConfig(partial as Partial<PthNetConfig>)).toThrow(ConfigError);
    expect(() => validatePthNetConfig(partial as Partial<PthNetConfig>)).toThrow(message);
  });
});
