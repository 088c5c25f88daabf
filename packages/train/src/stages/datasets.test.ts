import { mkdtempSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ManifestStore,
  featureIdentity,
  hashFileWithSize,
  packedDatasetIdentity,
  readArtifactRecord,
  validateConfig,
  writeNpy,
} from 'shared';
import { openPackedDataset } from '../packed/packed.js';
import { buildDataset } from './datasets.js';

const D = 6;

async function addFeatures(store: ManifestStore, dir: string, clipId: string, stride: number, rows: number, fill: number) {
  const path = join(dir, `f${stride}`, `${clipId}.npy`);
  await writeNpy(path, { data: new Float32Array(rows * D).fill(fill), shape: [rows, D] });
  const identity = featureIdentity(clipId, 'forward', stride, 'raw');
  const { hash, bytes } = await hashFileWithSize(path);
  expect(store.artifacts.claim(identity, { cacheKey: `k${fill}`, path })).not.toBeNull();
  store.artifacts.complete(identity, { path, bytes, contentHash: hash });
}

describe('datasets stage', () => {
  const stores: ManifestStore[] = [];
  afterEach(() => {
    for (const s of stores.splice(0)) s.close();
  });

  it('packs clips joined by id, leaves out a clip missing a level, and rebuilds only when an input changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pthnet-datasets-'));
    const store = ManifestStore.open(join(dir, 'manifest.sqlite'));
    stores.push(store);
    store.clips.setLabelMap('demo', ['A', 'B']);
    store.clips.upsertClips(
      ['c1', 'c2', 'c3'].map((id, i) => ({
        id,
        dataset: 'demo',
        split: 'train',
        label: i % 2,
        labelName: 'AB'[i % 2]!,
        frameCount: 20,
        contentHash: id,
      })),
    );
    for (const [i, id] of ['c1', 'c2', 'c3'].entries()) {
      await addFeatures(store, dir, id, 4, 3 + i, i + 1);
      await addFeatures(store, dir, id, 8, 2, i + 1);
      if (id !== 'c3') await addFeatures(store, dir, id, 16, 1, i + 1);
    }
    const config = validateConfig({});
    const spec = { split: 'train', direction: 'forward', source: 'raw' } as const;

    const first = await buildDataset(store, config, dir, spec);
    expect(first.outcome).toBe('built');
    expect(first.clips).toBe(2);
    expect(first.incomplete).toEqual([{ clipId: 'c3', missing: ['L'] }]);
    const ds = await openPackedDataset(join(dir, 'datasets', 'raw_forward_train'), 'raw_forward_train');
    expect(ds.clipIds).toEqual(['c1', 'c2']);
    expect([...ds.labels]).toEqual([0, 1]);
    expect(ds.rowCount('H', 1)).toBe(4);
    expect([...ds.rows('H', 1).slice(0, D)]).toEqual(new Array(D).fill(2));
    await ds.close();

    // the manifest records the folder's artifact.json, written after the index and the three level files
    const recordPath = join(dir, 'datasets', 'raw_forward_train', 'artifact.json');
    expect(store.artifacts.getArtifact(packedDatasetIdentity(spec))).toMatchObject({ status: 'done', path: recordPath });
    const files = (await readArtifactRecord(recordPath)).files.map((f) => f.path);
    expect(files.map((f) => f.replace(/\.[0-9a-f]{8}\.npy$/, '.<build>.npy'))).toEqual([
      'raw_forward_train.H.<build>.npy',
      'raw_forward_train.L.<build>.npy',
      'raw_forward_train.M.<build>.npy',
      'raw_forward_train.index.json',
    ]);

    expect((await buildDataset(store, config, dir, spec)).outcome).toBe('up-to-date');

    // a level file deleted: the dataset is no longer whole, and is packed again
    unlinkSync(join(dir, 'datasets', 'raw_forward_train', files[0] ?? ''));
    expect((await buildDataset(store, config, dir, spec)).outcome).toBe('built');
    expect((await buildDataset(store, config, dir, spec)).outcome).toBe('up-to-date');

    await addFeatures(store, dir, 'c3', 16, 1, 3);
    const third = await buildDataset(store, config, dir, spec);
    expect(third).toMatchObject({ outcome: 'built', clips: 3, incomplete: [] });
    expect((await buildDataset(store, config, dir, spec)).outcome).toBe('up-to-date');
  });
});
