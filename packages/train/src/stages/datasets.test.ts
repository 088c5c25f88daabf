import { mkdtempSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
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
import { dispatch } from 'shared/cli';
import { buildDataset } from './datasets.js';
import { TRAIN_STAGES } from './index.js';

const D = 6;

async function addFeatures(store: ManifestStore, dir: string, clipId: string, stride: number, rows: number, fill: number) {
  const path = join(dir, `f${stride}`, `${clipId}.npy`);
  await writeNpy(path, { data: new Float32Array(rows * D).fill(fill), shape: [rows, D] });
  const identity = featureIdentity(clipId, 'forward', stride, 'raw');
  const { hash, bytes } = await hashFileWithSize(path);
  expect(await store.artifacts.claim(identity, { cacheKey: `k${fill}`, path })).not.toBeNull();
  await store.artifacts.complete(identity, { path, bytes, contentHash: hash });
}

describe('datasets stage', () => {
  const stores: ManifestStore[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
  });

  it('packs clips joined by id, leaves out a clip missing a level, and rebuilds only when an input changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pthnet-datasets-'));
    const store = await ManifestStore.open(join(dir, 'manifest.sqlite'));
    stores.push(store);
    await store.clips.setLabelMap('demo', ['A', 'B']);
    await store.clips.upsertClips(
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
    const scope = { name: 'demo', ownFolder: false };

    const first = await buildDataset(store, config, dir, scope, spec);
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
    expect(await store.artifacts.getArtifact(packedDatasetIdentity('demo', spec))).toMatchObject({ status: 'done', path: recordPath });
    const files = (await readArtifactRecord(recordPath)).files.map((f) => f.path);
    expect(files.map((f) => f.replace(/\.[0-9a-f]{8}\.npy$/, '.<build>.npy'))).toEqual([
      'raw_forward_train.H.<build>.npy',
      'raw_forward_train.L.<build>.npy',
      'raw_forward_train.M.<build>.npy',
      'raw_forward_train.index.json',
    ]);

    expect((await buildDataset(store, config, dir, scope, spec)).outcome).toBe('up-to-date');

    // a level file deleted: the dataset is no longer whole, and is packed again
    unlinkSync(join(dir, 'datasets', 'raw_forward_train', files[0] ?? ''));
    expect((await buildDataset(store, config, dir, scope, spec)).outcome).toBe('built');
    expect((await buildDataset(store, config, dir, scope, spec)).outcome).toBe('up-to-date');

    await addFeatures(store, dir, 'c3', 16, 1, 3);
    const third = await buildDataset(store, config, dir, scope, spec);
    expect(third).toMatchObject({ outcome: 'built', clips: 3, incomplete: [] });
    expect((await buildDataset(store, config, dir, scope, spec)).outcome).toBe('up-to-date');
  });
  it('packs only the chosen dataset of a manifest holding several, with its own labels, in a folder of its own; without --dataset it asks which', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pthnet-datasets-two-'));
    const store = await ManifestStore.open(join(dir, 'data', 'manifest.sqlite'));
    stores.push(store);
    // two datasets with the same split name and different label maps
    const datasets = {
      ferv39k: { clips: ['f1', 'f2'], labels: ['Happy', 'Sad'] },
      dfew: { clips: ['d1', 'd2', 'd3'], labels: ['Angry', 'Fear', 'Neutral'] },
    };
    for (const [dataset, { clips, labels }] of Object.entries(datasets)) {
      await store.clips.setLabelMap(dataset, labels);
      await store.clips.upsertClips(
        clips.map((id, i) => ({
          id,
          dataset,
          split: 'train',
          label: i % 2,
          labelName: labels[i % 2] ?? '',
          frameCount: 20,
          contentHash: id,
        })),
      );
      for (const id of clips) for (const stride of [4, 8, 16]) await addFeatures(store, join(dir, 'data'), id, stride, 2, 1);
    }
    const config = join(dir, 'pthnet.config.json');
    writeFileSync(
      config,
      JSON.stringify({ dataDir: join(dir, 'data'), extract: { directions: ['forward'] }, datasets: { testSplit: 'train' } }),
    );
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      expect(await dispatch(TRAIN_STAGES, ['datasets', '--config', config])).toBe(1);
      expect(errors.mock.calls.flat().join('\n')).toContain(
        'pthnet datasets: dataset (--dataset): the manifest holds several datasets (dfew, ferv39k); expected --dataset <name> (or the config key "dataset") to say which, got none',
      );
      expect(await store.artifacts.listArtifacts({ kind: 'packed-dataset' })).toEqual([]);

      for (const dataset of ['ferv39k', 'dfew'] as const) {
        expect(await dispatch(TRAIN_STAGES, ['datasets', '--config', config, '--dataset', dataset])).toBe(0);
        const folder = join(dir, 'data', 'datasets', dataset, 'raw_forward_train');
        const ds = await openPackedDataset(folder, 'raw_forward_train');
        expect(ds.clipIds).toEqual(datasets[dataset].clips);
        expect(ds.labelNames).toEqual(datasets[dataset].labels);
        await ds.close();
      }
      // both are there, each under its own identity and path: the second did not overwrite the first
      const rows = await store.artifacts.listArtifacts({ kind: 'packed-dataset' });
      expect(rows.map((row) => [row.dataset, row.status, row.path])).toEqual([
        ['ferv39k', 'done', join(dir, 'data', 'datasets', 'ferv39k', 'raw_forward_train', 'artifact.json')],
        ['dfew', 'done', join(dir, 'data', 'datasets', 'dfew', 'raw_forward_train', 'artifact.json')],
      ]);
      expect(await dispatch(TRAIN_STAGES, ['datasets', '--config', config, '--dataset', 'ferv39k'])).toBe(0);
      expect(log.mock.calls.flat().at(-1)).toBe('datasets ferv39k raw_forward_train: up-to-date, 2 clips');
      expect(await dispatch(TRAIN_STAGES, ['datasets', '--config', config, '--dataset', 'affwild'])).toBe(1);
      expect(errors.mock.calls.flat().at(-1)).toContain('expected one of the manifest\'s datasets (dfew, ferv39k), got "affwild"');
    } finally {
      errors.mockRestore();
      log.mockRestore();
    }
  });
});
