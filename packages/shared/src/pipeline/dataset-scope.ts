import { ConfigError } from '../errors/index.js';
import type { ClipCatalogue } from '../manifest/interfaces.js';
import type { DatasetScope } from './catalogue.js';

/**
 * The dataset a stage works on: the one asked for (`--dataset`, config key `dataset`), or the only
 * one in the manifest. With several and none asked for, it refuses to guess and names them.
 */
export function resolveDataset(clips: ClipCatalogue, requested: string | null | undefined): DatasetScope {
  const datasets = clips.listDatasets();
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

/**
 * The class names of a dataset, index = label: its label map in the manifest, or `fallback` for a
 * dataset not recorded yet. Labels are validated against this one list everywhere (ingest,
 * import), so where the class set comes from is decided here only.
 */
export function datasetClassNames(clips: ClipCatalogue, dataset: string, fallback: readonly string[]): string[] {
  const recorded = clips.getLabelMap(dataset);
  return recorded.length > 0 ? recorded : [...fallback];
}
