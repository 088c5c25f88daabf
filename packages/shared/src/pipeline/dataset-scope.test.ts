import { describe, expect, it } from 'vitest';
import { ManifestStore } from '../manifest/store.js';
import { resolveDataset } from './dataset-scope.js';

describe('resolveDataset', () => {
  async function manifestWith(datasets: readonly string[]): Promise<ManifestStore> {
    const store = await ManifestStore.open(':memory:');
    await store.clips.upsertClips(
      datasets.map((dataset, i) => ({ id: `c${i}`, dataset, label: 0, labelName: 'A', frameCount: 1, contentHash: `h${i}` })),
    );
    return store;
  }

  it('takes the only dataset of the manifest, and keeps its artifacts where they always were', async () => {
    const store = await manifestWith(['demo']);
    try {
      expect(await resolveDataset(store.clips, null)).toEqual({ name: 'demo', ownFolder: false });
      expect(await resolveDataset(store.clips, 'demo')).toEqual({ name: 'demo', ownFolder: false });
      await expect(resolveDataset(store.clips, 'dfew')).rejects.toThrow(
        `dataset (--dataset): expected one of the manifest's datasets (demo), got "dfew"`,
      );
    } finally {
      await store.close();
    }
  });

  it('refuses to guess among several datasets, naming them; a chosen one gets a folder of its own', async () => {
    const store = await manifestWith(['ferv39k', 'dfew', 'ferv39k']);
    try {
      await expect(resolveDataset(store.clips, undefined)).rejects.toThrow(
        'dataset (--dataset): the manifest holds several datasets (dfew, ferv39k); expected --dataset <name> (or the config key "dataset") to say which, got none',
      );
      expect(await resolveDataset(store.clips, 'dfew')).toEqual({ name: 'dfew', ownFolder: true });
    } finally {
      await store.close();
    }
  });

  it('says what to run first when the manifest holds no clips', async () => {
    const store = await manifestWith([]);
    try {
      await expect(resolveDataset(store.clips, null)).rejects.toThrow(
        'dataset: expected a dataset in the manifest, got none (run `pnpm pthnet ingest`',
      );
      await expect(resolveDataset(store.clips, 'demo')).rejects.toThrow(
        '(none yet: run `pnpm pthnet ingest` or `import-features` first), got "demo"',
      );
    } finally {
      await store.close();
    }
  });
});
