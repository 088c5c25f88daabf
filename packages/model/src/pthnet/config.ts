import { ConfigError } from 'shared';
import { ATTENTION_HEADS, DEFAULT_PTHNET_CONFIG, GROUP_NORM_GROUPS, LEVEL_LENGTH_MULTIPLE } from './constants.js';
import type { PthNetConfig } from './types.js';

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

function positiveInt(key: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ConfigError(`pthnet.${key}: expected a positive integer, got ${show(value)}`);
  }
  return value;
}

function intTuple<N extends number>(key: string, value: unknown, length: N, min: number): number[] {
  if (!Array.isArray(value) || value.length !== length) {
    throw new ConfigError(`pthnet.${key}: expected an array of ${length} integers, got ${show(value)}`);
  }
  for (const item of value) {
    if (typeof item !== 'number' || !Number.isInteger(item) || item < min) {
      throw new ConfigError(`pthnet.${key}: expected integers >= ${min}, got ${show(value)}`);
    }
  }
  return [...(value as number[])];
}

function oddKernels(key: string, kernels: number[]): void {
  // "same" padding of k // 2 keeps the length only for odd kernels, as in the reference.
  if (kernels.some((k) => k % 2 === 0)) throw new ConfigError(`pthnet.${key}: expected odd kernel sizes, got ${show(kernels)}`);
}

function exactly<T>(key: string, value: unknown, expected: T, why: string): T {
  if (value !== expected) throw new ConfigError(`pthnet.${key}: expected ${show(expected)} (${why}), got ${show(value)}`);
  return expected;
}

/**
 * Fills the defaults (the published FERV39k config) and checks every key of a PTH-Net config.
 * Throws a `ConfigError` naming the key, what was expected and what was given.
 */
export function validatePthNetConfig(partial: Partial<PthNetConfig> = {}): PthNetConfig {
  if (partial === null || typeof partial !== 'object' || Array.isArray(partial)) {
    throw new ConfigError(`pthnet: expected a config object, got ${show(partial)}`);
  }
  const known = new Set(Object.keys(DEFAULT_PTHNET_CONFIG));
  for (const key of Object.keys(partial)) {
    if (!known.has(key)) throw new ConfigError(`pthnet.${key}: expected one of ${[...known].join(', ')}, got an unknown key`);
  }
  const merged = { ...DEFAULT_PTHNET_CONFIG, ...stripUndefined(partial) };
  const n_embd = positiveInt('n_embd', merged.n_embd);
  if (n_embd % GROUP_NORM_GROUPS !== 0 || n_embd % ATTENTION_HEADS !== 0) {
    throw new ConfigError(
      `pthnet.n_embd: expected a multiple of ${GROUP_NORM_GROUPS} (norm groups) and ${ATTENTION_HEADS} (heads), got ${n_embd}`,
    );
  }
  const path_pdrop = merged.path_pdrop;
  if (typeof path_pdrop !== 'number' || !(path_pdrop >= 0 && path_pdrop < 1)) {
    throw new ConfigError(`pthnet.path_pdrop: expected a number in [0, 1), got ${show(path_pdrop)}`);
  }
  if (typeof merged.with_ln !== 'boolean') throw new ConfigError(`pthnet.with_ln: expected a boolean, got ${show(merged.with_ln)}`);
  if (typeof merged.use_pos !== 'boolean') throw new ConfigError(`pthnet.use_pos: expected a boolean, got ${show(merged.use_pos)}`);
  const thr_size = intTuple('thr_size', merged.thr_size, 4, 1) as PthNetConfig['thr_size'];
  const k = intTuple('k', merged.k, 3, 1) as PthNetConfig['k'];
  oddKernels('thr_size', thr_size);
  oddKernels('k', k);
  const arch = intTuple('arch', merged.arch, 4, 0) as PthNetConfig['arch'];
  if (arch[0] < 1) throw new ConfigError(`pthnet.arch: expected at least one embedding conv (arch[0] >= 1), got ${show(arch)}`);
  const max_len = positiveInt('max_len', merged.max_len);
  if (max_len % (LEVEL_LENGTH_MULTIPLE * 4) !== 0) {
    throw new ConfigError(
      `pthnet.max_len: expected a multiple of ${LEVEL_LENGTH_MULTIPLE * 4} (level L is max_len / 4 and is max-pooled twice), got ${max_len}`,
    );
  }
  const config: PthNetConfig = {
    n_in: positiveInt('n_in', merged.n_in),
    n_embd,
    mlp_dim: positiveInt('mlp_dim', merged.mlp_dim),
    max_len,
    arch,
    scale_factor: exactly('scale_factor', merged.scale_factor, 2, 'the branches downsample with a stride-2 max-pool'),
    with_ln: exactly('with_ln', merged.with_ln, true, 'the embedding norms are always on in the reference'),
    path_pdrop,
    downsample_type: exactly('downsample_type', merged.downsample_type, 'max', 'only max-pooling is implemented'),
    thr_size,
    k,
    use_pos: exactly('use_pos', merged.use_pos, false, 'the reference forward pass never adds the positional embedding'),
    num_classes: positiveInt('num_classes', merged.num_classes),
  };
  return config;
}

/**
 * The time steps of each pyramid level: H gets `max_len`, M `max_len / 2` and L `max_len / 4`,
 * the windows at strides s, 2s and 4s that cover the same stretch of a clip (16, 8 and 4 in the
 * published config, SPEC sections 5 and 6). The halving follows from the strides doubling level
 * to level, so only `max_len` is configurable; `validatePthNetConfig` checks it.
 *
 * `train.model.max_len` is honoured, not rejected: the layers work on any length that survives
 * the branches' two stride-2 max-pools, and the reference keeps `max_len` a config key of the
 * network; so training, evaluation and predict all sample a network's levels to these lengths.
 */
export function pthnetLevelLengths(config: Pick<PthNetConfig, 'max_len'>): { H: number; M: number; L: number } {
  return { H: config.max_len, M: config.max_len / 2, L: config.max_len / 4 };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
