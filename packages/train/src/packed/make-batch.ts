import { ConfigError } from 'shared';
import { LEVELS } from '../sampling/constants.js';
import { assembleBatch } from '../sampling/sampling.js';
import type { Batch, BatchOptions, ClipLevelRows, ClipRows, Level } from '../sampling/types.js';
import type { PackedDataset } from './types.js';

/**
 * The batch of clips `indices` of a packed dataset: each level sampled to its length (random
 * rows and input noise in `train` mode, middle rows in `eval` mode), padded and masked.
 */
export function makeBatch(dataset: PackedDataset, indices: readonly number[], options: BatchOptions): Batch {
  if (!Array.isArray(indices)) {
    throw new ConfigError(`makeBatch 'indices': expected an array of clip indices, got ${typeof indices}`);
  }
  const clips: ClipRows[] = indices.map((i) => {
    const levels = {} as Record<Level, ClipLevelRows>;
    for (const level of LEVELS) levels[level] = { data: dataset.rows(level, i), rows: dataset.rowCount(level, i) };
    return { levels, label: dataset.labels[i] as number };
  });
  return assembleBatch(clips, dataset.D, options);
}
