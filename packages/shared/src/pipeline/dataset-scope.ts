import { ConfigError } from '../errors/index.js';
import type { ClipCatalogue } from '../manifest/interfaces.js';
import type { DatasetScope } from './catalogue.js';

/**
 * The dataset a stage works on: the one asked for (`--dataset`, config key `dataset`), or the only
 * one in the manifest. With several and none asked for, it refuses to guess and names them.
 */
export async function resolveDataset(clips: ClipCatalogue, requested: string | null | undefined): Promise<DatasetScope> {
  const datasets = await clips.listDatasets();
  const ownFolder = datasets.length > 1;
  if (requested !== null && requested !== undefined) {
    if (!datasets.includes(requested)) {
      throw new ConfigError(
        `dataset (--dataset): expected one of the manifest's datasets (${datasets.join(', ') || 'none yet: run `pnpm pthnet ingest` or `import-features` first'}), got "${requested}"`,
      );
    }
    return { name: requested, ownFolder };
  }
  const [only] = datasets;
  if (only === undefined) {
    throw new ConfigError('dataset: expected a dataset in the manifest, got none (run `pnpm pthnet ingest` or `import-features` first)');
  }
  if (ownFolder) {
    throw new ConfigError(
      `dataset (--dataset): the manifest holds several datasets (${datasets.join(', ')}); expected --dataset <name> (or the config key "dataset") to say which, got none`,
    );
  }
  return { name: only, ownFolder };
}
