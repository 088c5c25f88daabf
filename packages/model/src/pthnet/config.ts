import { ConfigError, configIssues } from 'shared';
import { z } from 'zod';
import { ATTENTION_HEADS, DEFAULT_PTHNET_CONFIG, GROUP_NORM_GROUPS, LEVEL_LENGTH_MULTIPLE } from './constants.js';
import type { PthNetConfig } from './types.js';

/**
 * The one validator of a PTH-Net config, wherever it comes from: the `train.model` section of
 * the pipeline config, a checkpoint's sidecar or metadata, the config a state dict's shapes
 * imply, or an API caller. Keys are named as in the reference code; absent keys take the
 * published FERV39k config. Errors name the key as the caller knows it (`keyPrefix`).
 */

const D = DEFAULT_PTHNET_CONFIG;
const int = (min: number, error: string) => z.number({ error }).int({ error }).min(min, { error });
const positiveInt = int(1, 'expected a positive integer');
const oddKernel = positiveInt.refine((k) => k % 2 === 1, { error: 'expected an odd kernel size ("same" padding keeps the length)' });
const bool = z.boolean({ error: 'expected true or false' });
const layerCount = int(0, 'expected a layer count >= 0');

export const pthnetConfigSchema = z.strictObject({
  n_in: positiveInt.default(D.n_in),
  n_embd: positiveInt
    .refine((c) => c % GROUP_NORM_GROUPS === 0 && c % ATTENTION_HEADS === 0, {
      error: `expected a multiple of ${GROUP_NORM_GROUPS} (norm groups) and ${ATTENTION_HEADS} (heads)`,
    })
    .default(D.n_embd),
  mlp_dim: positiveInt.default(D.mlp_dim),
  max_len: positiveInt.default(D.max_len),
  /** [embedding convs, stem layers, branch-1 layers, branch-2 layers]. */
  arch: z
    .tuple([int(1, 'expected at least one embedding conv'), layerCount, layerCount, layerCount], {
      error: 'expected an array of 4 integers',
    })
    .default([D.arch[0], D.arch[1], D.arch[2], D.arch[3]]),
  scale_factor: positiveInt.default(D.scale_factor),
  with_ln: bool.default(D.with_ln),
  path_pdrop: z
    .number({ error: 'expected a number in [0, 1)' })
    .min(0, { error: 'expected a number in [0, 1)' })
    .lt(1, { error: 'expected a number in [0, 1)' })
    .default(D.path_pdrop),
  downsample_type: z.literal('max', { error: 'expected "max" (only max-pooling is implemented)' }).default('max'),
  /** Kernel sizes: [embedding, stem, branch 1, branch 2]. */
  thr_size: z
    .tuple([oddKernel, oddKernel, oddKernel, oddKernel], { error: 'expected an array of 4 odd kernel sizes' })
    .default([...D.thr_size]),
  /** Level-specific kernels [L, M, H]. */
  k: z.tuple([oddKernel, oddKernel, oddKernel], { error: 'expected an array of 3 odd kernel sizes' }).default([...D.k]),
  use_pos: bool.default(D.use_pos),
  /** 0: a state dict without a classification head (a feature extractor). */
  num_classes: int(0, 'expected an integer >= 0').default(D.num_classes),
});

export interface PthNetConfigSource {
  /** Prepended to every key in errors: `pthnet.` (default), `train.model.`, `<file> config: `. */
  keyPrefix?: string;
}

/** Parses `raw` (absent keys take the defaults); throws one ConfigError listing every bad key as "key: expected X, got Y". */
export function parsePthNetConfig(raw: unknown, source: PthNetConfigSource = {}): PthNetConfig {
  const keyPrefix = source.keyPrefix ?? 'pthnet.';
  const result = pthnetConfigSchema.safeParse(raw ?? {});
  if (!result.success) {
    const lines = configIssues(result.error, raw, { keyPrefix, schema: pthnetConfigSchema }).map(({ key, text }) => `${key}: ${text}`);
    throw new ConfigError(lines.join('\n'), { cause: result.error });
  }
  return result.data;
}

/** What this implementation of the network cannot run, though a checkpoint may describe it. */
function checkImplemented(config: PthNetConfig, keyPrefix: string): void {
  const fail = (key: keyof PthNetConfig, expected: string): never => {
    throw new ConfigError(`${keyPrefix}${key}: expected ${expected}, got ${JSON.stringify(config[key])}`);
  };
  if (config.max_len % (LEVEL_LENGTH_MULTIPLE * 4) !== 0)
    fail('max_len', `a multiple of ${LEVEL_LENGTH_MULTIPLE * 4} (level L is max_len / 4 and is max-pooled twice)`);
  if (config.scale_factor !== 2) fail('scale_factor', '2 (the branches downsample with a stride-2 max-pool)');
  if (!config.with_ln) fail('with_ln', 'true (the embedding norms are always on in the reference)');
  if (config.use_pos) fail('use_pos', 'false (the reference forward pass never adds the positional embedding)');
  if (config.num_classes < 1) fail('num_classes', 'a positive integer (the network ends in a classification head)');
}

/**
 * A config the network can be built from: `parsePthNetConfig` plus what this implementation
 * supports. Throws a `ConfigError` naming the key, what was expected and what was given.
 */
export function validatePthNetConfig(partial: unknown = {}, source: PthNetConfigSource = {}): PthNetConfig {
  const config = parsePthNetConfig(partial, source);
  checkImplemented(config, source.keyPrefix ?? 'pthnet.');
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
