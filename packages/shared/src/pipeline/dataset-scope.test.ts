import { describe, expect, it } from 'vitest';
import { ManifestStore } from '../manifest/store.js';
import { resolveDataset } from './dataset-scope.js';

describe('resolveDataset', () => {
  function manifestWith(datasets: readonly string[]): ManifestStore {
    const store = ManifestStore.open(':memory:');
    store.clips.upsertClips(
      datasets.map((dataset, i) => ({ id: `c${i}`, dataset, label: 0, labelName: 'A', frameCount: 1, contentHash: `h${i}` })),
    );
    return store;
  }

  it('takes the only dataset of the manifest, and keeps its artifacts where they always were', () => {
    const store = manifestWith(['demo']);
    try {
      expect(resolveDataset(store.clips, null)).toEqual({ name: 'demo', ownFolder: false });
      expect(resolveDataset(store.clips, 'demo')).toEqual({ name: 'demo', ownFolder: false });
      expect(() => resolveDataset(store.clips, 'dfew')).toThrow(
        `dataset (--dataset): expected one of the manifest's datasets (demo), got "dfew"`,
      );
    } finally {
      store.close();
    }
  });

  it('refuses to guess among several datasets, naming them; a chosen one gets a folder of its own', () => {
    const store = manifestWith(['ferv39k', 'dfew', 'ferv39k']);
    try {
      expect(() => resolveDataset(store.clips, undefined)).toThrow(
        'dataset (--dataset): the manifest holds several datasets (dfew, ferv39k); expected --dataset <name> (or the config key "dataset") to say which, got none',
      );
      expect(resolveDataset(store.clips, 'dfew')).toEqual({ name: 'dfew', ownFolder: true });
    } finally {
      store.close();
    }
  });

  it('says what to run first when the manifest holds no clips', () => {
    const store = manifestWith([]);
    try {
      expect(() => resolveDataset(store.clips, null)).toThrow(
        'dataset: expected a dataset in the manifest, got none (run `pnpm pthnet ingest`',
      );
      expect(() => resolveDataset(store.clips, 'demo')).toThrow(
        '(none yet: run `pnpm pthnet ingest` or `import-features` first), got "demo"',
      );
    } finally {
      store.close();
    }
  });
});
