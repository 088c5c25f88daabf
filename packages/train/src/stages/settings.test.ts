import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManifestStore, featureIdentity, hashFileWithSize, selectBackend, validateConfig, writeNpy } from 'shared';
import { dispatch } from 'shared/cli';
import { loadPthNetCheckpoint } from 'model';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { checkPackedStrides, openPackedDataset } from '../packed/packed.js';
import { buildDataset } from './datasets.js';
import { fixtureWorkspace } from './fixture.test-helper.js';
import { TRAIN_STAGES } from './index.js';

const D = 6;

/** A done feature artifact of one clip at one stride: `rows` rows of `fill`. */
async function addFeatures(store: ManifestStore, dir: string, clipId: string, stride: number, rows: number, fill: number) {
  const path = join(dir, `f${stride}`, `${clipId}.npy`);
  await writeNpy(path, { data: new Float32Array(rows * D).fill(fill), shape: [rows, D] });
  const identity = featureIdentity(clipId, 'forward', stride, 'raw');
  const { hash, bytes } = await hashFileWithSize(path);
  expect(await store.artifacts.claim(identity, { cacheKey: `k${stride}`, path })).not.toBeNull();
  await store.artifacts.complete(identity, { path, bytes, contentHash: hash });
}

describe('datasets.strides is honoured: recorded in the packed index, checked by train', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });
  afterEach(async () => {
    vi.restoreAllMocks();
  });

  it('the datasets stage packs the configured strides and records them; opening with other strides is an error naming the key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pthnet-strides-'));
    const store = await ManifestStore.open(join(dir, 'manifest.sqlite'));
    try {
      await store.clips.setLabelMap('demo', ['A', 'B']);
      await store.clips.upsertClips(
        ['c1', 'c2'].map((id, i) => ({
          id,
          dataset: 'demo',
          split: 'train',
          label: i,
          labelName: 'AB'[i]!,
          frameCount: 30,
          contentHash: id,
        })),
      );
      // Strides 2, 4 and 8, each clip's rows filled with the stride: the level files are told apart by value.
      for (const id of ['c1', 'c2'])
        for (const [stride, rows] of [
          [2, 8],
          [4, 4],
          [8, 2],
          [16, 1],
        ] as const)
          await addFeatures(store, dir, id, stride, rows, stride);
      const strides = { H: 2, M: 4, L: 8 };
      const config = validateConfig({ datasets: { strides } });
      const built = await buildDataset(
        store,
        config,
        dir,
        { name: 'demo', ownFolder: false },
        { split: 'train', direction: 'forward', source: 'raw' },
      );
      expect(built).toMatchObject({ outcome: 'built', clips: 2 });
      const folder = join(dir, 'datasets', 'raw_forward_train');
      expect(JSON.parse(readFileSync(join(folder, 'raw_forward_train.index.json'), 'utf8')).strides).toEqual(strides);
      await checkPackedStrides(folder, 'raw_forward_train', strides);
      const ds = await openPackedDataset(folder, 'raw_forward_train');
      expect(ds.strides).toEqual(strides);
      expect([ds.rowCount('H', 0), ds.rowCount('M', 0), ds.rowCount('L', 0)]).toEqual([8, 4, 2]);
      expect([ds.rows('H', 0)[0], ds.rows('M', 0)[0], ds.rows('L', 0)[0]]).toEqual([2, 4, 8]);
      await ds.close();
      await expect(checkPackedStrides(folder, 'raw_forward_train', { H: 4, M: 8, L: 16 })).rejects.toThrow(
        'datasets.strides: expected H 4, M 8, L 16, got a packed dataset raw_forward_train built from features at H 2, M 4, L 8',
      );
    } finally {
      await store.close();
    }
  });

  it('train refuses a dataset packed at other strides, and records the strides it trained on in the checkpoint', async () => {
    const { work, config } = await fixtureWorkspace('pthnet-strides-train-', ['forward']);
    const otherStrides = join(work, 'other-strides.json');
    const settings = JSON.parse(readFileSync(config, 'utf8')) as { datasets: Record<string, unknown> };
    writeFileSync(otherStrides, JSON.stringify({ ...settings, datasets: { ...settings.datasets, strides: { H: 4, M: 8, L: 32 } } }));
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const train = (file: string) => dispatch(TRAIN_STAGES, ['train', '--config', file, '--direction', 'forward', '--epochs', '1']);
    expect(await train(config)).toBe(0);
    const best = await loadPthNetCheckpoint(join(work, 'data/runs/raw_forward/best.safetensors'));
    expect(best.provenance?.featureStrides).toEqual({ H: 4, M: 8, L: 16 });
    expect(errors).not.toHaveBeenCalled();
    // The run is done and up to date; other strides must still be refused, not answered with it.
    expect(await train(otherStrides)).toBe(1);
    expect(errors).toHaveBeenCalledWith(
      expect.stringContaining(
        'pthnet train: datasets.strides: expected H 4, M 8, L 32, got a packed dataset raw_forward_train built from features at H 4, M 8, L 16',
      ),
    );
  });
});

describe('train.model is checked before any work', () => {
  it('names a bad network setting where the user wrote it (issue 11: was pthnet.n_embd), with no manifest touched', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pthnet-model-key-'));
    const config = join(dir, 'pthnet.config.json');
    writeFileSync(config, JSON.stringify({ dataDir: join(dir, 'data'), train: { model: { n_embd: 100 } } }));
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: string) => {
      errors.push(line);
    });
    const code = await dispatch(TRAIN_STAGES, ['train', '--config', config]).finally(() => vi.restoreAllMocks());
    expect(code).toBe(1);
    expect(errors.join('\n')).toBe('pthnet train: train.model.n_embd: expected a multiple of 16 (norm groups) and 8 (heads), got 100');
    expect(existsSync(join(dir, 'data', 'manifest.sqlite'))).toBe(false);
  });
});
