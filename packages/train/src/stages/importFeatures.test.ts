import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManifestStore, featureIdentity, writeNpy } from 'shared';
import { dispatch } from 'shared/cli';
import type { ListedAt } from './importFeatures.js';
import { describeListings, findSplitConflicts, foldOfSplit, importFeatures, splitFromListName } from './importFeatures.js';
import { TRAIN_STAGES } from './index.js';

const LISTS = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../../shared/data/annotations/ferv39k');
const FOLDERS = [
  'th14_vit_g_16_4',
  'th14_vit_g_16_8',
  'th14_vit_g_16_16',
  'th14_vit_g_16_4_rv',
  'th14_vit_g_16_8_rv',
  'th14_vit_g_16_16_rv',
];
/** Row counts of these clips in the real lists: (stride 4, 8, 16). */
const CLIPS = { 'Interview/Happy/0118': [5, 3, 2], 'DailyLife/Angry/0094': [4, 3, 2] } as const;

describe('import-features on the real FERV39k feature lists', () => {
  const stores: ManifestStore[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
  });

  it('registers present files by clip id, reports missing files and clips missing from a direction', async () => {
    const root = mkdtempSync(join(tmpdir(), 'pthnet-import-'));
    const stride = (folder: string) => Number(folder.split('_')[4]);
    for (const folder of FOLDERS) {
      for (const [clipId, rows] of Object.entries(CLIPS)) {
        // the second clip has no reversed features
        if (clipId === 'DailyLife/Angry/0094' && folder.endsWith('_rv')) continue;
        const n = rows[[4, 8, 16].indexOf(stride(folder))]!;
        await writeNpy(join(root, folder, `${clipId}.npy`), { data: new Float32Array(n * 8).fill(1), shape: [n, 8] });
      }
    }
    const store = await ManifestStore.open(join(root, 'manifest.sqlite'));
    stores.push(store);
    const summary = await importFeatures(store, { listsDir: LISTS, root, dataset: 'ferv39k' });

    expect(summary.clipsAdded).toBe(7847);
    expect(summary.folders.map((f) => f.folder).sort()).toEqual([...FOLDERS].sort());
    for (const f of summary.folders) {
      expect(f.split).toBe('test');
      expect(f.listed).toBe(7847);
      expect(f.registered).toBe(f.folder.endsWith('_rv') ? 1 : 2);
      expect(f.missingFiles).toBe(7847 - f.registered);
    }
    expect(summary.incomplete).toEqual([
      { clipId: 'DailyLife/Angry/0094', missingFrom: ['th14_vit_g_16_16_rv', 'th14_vit_g_16_4_rv', 'th14_vit_g_16_8_rv'] },
    ]);
    expect(await store.clips.getClip('Interview/Happy/0118')).toMatchObject({ split: 'test', label: 0, labelName: 'Happy' });
    const art = await store.artifacts.getArtifact(featureIdentity('Interview/Happy/0118', 'reversed', 8, 'raw'));
    expect(art).toMatchObject({ status: 'done', path: join(root, 'th14_vit_g_16_8_rv/Interview/Happy/0118.npy') });

    const again = await importFeatures(store, { listsDir: LISTS, root, dataset: 'ferv39k' });
    expect(again.clipsAdded).toBe(0);
    expect(again.folders.every((f) => f.registered === 0 && f.unchanged === (f.folder.endsWith('_rv') ? 1 : 2))).toBe(true);
  });

  it('maps list names to split names', async () => {
    expect(splitFromListName('/x/test_All.txt')).toBe('test');
    expect(splitFromListName('set_1.txt')).toBe('set_1');
  });
  it('tells the train/test lists of one fold apart from the lists of different folds', async () => {
    expect(['train', 'test', 'val', 'set_1_train', 'test_set_1', 'set-2-validation'].map(foldOfSplit)).toEqual([
      '',
      '',
      '',
      'set_1',
      'set_1',
      'set_2',
    ]);
    const at = (split: string, line = 1): ListedAt => ({ split, file: `${split}.txt`, line });
    const conflicts = findSplitConflicts(
      new Map([
        ['leak', [at('train', 4), at('test', 9)]],
        ['folds', [at('set_1_train'), at('test_set_2')]],
        ['fold-leak', [at('set_3_train'), at('set_3_test'), at('set_4_train')]],
        ['twice', [at('train'), at('train', 2)]],
      ]),
    );
    expect(conflicts.map((c) => c.clipId)).toEqual(['fold-leak', 'leak']);
    expect(describeListings([at('train', 4), at('test', 9), at('train', 12)])).toBe(
      'train (train.txt:4, train.txt:12) and test (test.txt:9)',
    );
  });

  it('reports a clip listed in the train and the test list as a split conflict and leaves it out of both splits', async () => {
    const root = mkdtempSync(join(tmpdir(), 'pthnet-import-conflict-'));
    const folder = 'th14_vit_g_16_4';
    const clips = { 'Interview/Happy/0001': 0, 'Action/Sad/0002': 1, 'DailyLife/Angry/0003': 3 } as const;
    for (const clipId of Object.keys(clips)) {
      await writeNpy(join(root, folder, `${clipId}.npy`), { data: new Float32Array(2 * 8).fill(1), shape: [2, 8] });
    }
    const line = (clipId: keyof typeof clips) => `get_features/${folder}/${clipId}.npy 2 ${clips[clipId]}`;
    const writeLists = (train: Array<keyof typeof clips>, test: Array<keyof typeof clips>) => {
      writeFileSync(join(root, folder, 'train_All.txt'), `${train.map(line).join('\n')}\n`);
      writeFileSync(join(root, folder, 'test_All.txt'), `${test.map(line).join('\n')}\n`);
    };
    const leak = 'DailyLife/Angry/0003';
    const where = `test (${folder}/test_All.txt:2) and train (${folder}/train_All.txt:2)`;
    const splitsOf = async (store: ManifestStore) =>
      Object.fromEntries(
        await Promise.all(
          ['train', 'test'].map(async (split) => [split, (await store.clips.listClips({ split })).map((c) => c.id)] as const),
        ),
      );

    // The leaking clip is in both lists from the start: before this was reported, it silently went to test.
    writeLists(['Interview/Happy/0001', leak], ['Action/Sad/0002', leak]);
    const store = await ManifestStore.open(join(root, 'manifest.sqlite'));
    stores.push(store);
    const summary = await importFeatures(store, { listsDir: root, root, dataset: 'ferv39k' });
    expect(summary.splitConflicts).toEqual([
      {
        clipId: leak,
        listed: [
          { split: 'test', file: `${folder}/test_All.txt`, line: 2 },
          { split: 'train', file: `${folder}/train_All.txt`, line: 2 },
        ],
      },
    ]);
    expect(summary.folders.map((f) => [f.split, f.listed, f.registered, f.splitConflicts])).toEqual([
      ['test', 2, 1, 1],
      ['train', 2, 1, 1],
    ]);
    expect(summary.clipsAdded).toBe(2);
    expect(await store.clips.getClip(leak)).toBeUndefined();
    expect(await splitsOf(store)).toEqual({ train: ['Interview/Happy/0001'], test: ['Action/Sad/0002'] });
    expect(await store.artifacts.getArtifact(featureIdentity(leak, 'forward', 4, 'raw'))).toBeUndefined();
    expect(
      (await store.clips.listIngestIssues({ dataset: 'ferv39k', reason: 'split_conflict' })).map((i) => [i.subject, i.detail]),
    ).toEqual([[leak, `listed in ${where}: left out of every split`]]);

    // The command names the clip, both lists and the lines.
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const config = join(root, 'pthnet.config.json');
      writeFileSync(config, JSON.stringify({ dataDir: join(root, 'data') }));
      expect(await dispatch(TRAIN_STAGES, ['import-features', '--config', config, '--lists', root])).toBe(0);
      const printed = log.mock.calls.flat();
      expect(printed).toContain(`${folder}/train: 2 listed, 1 registered, 0 unchanged, 0 files missing, 1 left out (split conflict)`);
      expect(printed).toContain(
        '1 clips are listed in two splits of one fold (train/test leakage); each is left out of every split and recorded as an ingest issue:',
      );
      expect(printed).toContain(`  ${leak}: listed in ${where}`);
    } finally {
      log.mockRestore();
    }

    // Lists fixed: the clip joins its one split, and the issue is gone.
    writeLists(['Interview/Happy/0001'], ['Action/Sad/0002', leak]);
    const fixed = await importFeatures(store, { listsDir: root, root, dataset: 'ferv39k' });
    expect(fixed.splitConflicts).toEqual([]);
    expect(await splitsOf(store)).toEqual({ train: ['Interview/Happy/0001'], test: ['Action/Sad/0002', leak] });
    expect((await store.artifacts.getArtifact(featureIdentity(leak, 'forward', 4, 'raw')))?.status).toBe('done');
    expect(await store.clips.listIngestIssues({ reason: 'split_conflict' })).toEqual([]);

    // A clip an earlier import put in a split, now listed in both: taken out of its split again.
    writeLists(['Interview/Happy/0001', leak], ['Action/Sad/0002', leak]);
    expect((await importFeatures(store, { listsDir: root, root, dataset: 'ferv39k' })).splitConflicts.map((c) => c.clipId)).toEqual([leak]);
    expect((await store.clips.getClip(leak))?.split).toBeNull();
    expect(await splitsOf(store)).toEqual({ train: ['Interview/Happy/0001'], test: ['Action/Sad/0002'] });
  });
});
