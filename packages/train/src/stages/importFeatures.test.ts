import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ManifestStore, featureIdentity, writeNpy } from 'shared';
import { importFeatures, splitFromListName } from './importFeatures.js';

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
const CLIPS = { 'Interview/Happy/0118': [5, 3, 2], 'DailyLife/Angry/0094': [4, 2, 1] } as const;

describe('import-features on the real FERV39k feature lists', () => {
  const stores: ManifestStore[] = [];
  afterEach(() => {
    for (const s of stores.splice(0)) s.close();
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
    const store = ManifestStore.open(join(root, 'manifest.sqlite'));
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
    expect(store.clips.getClip('Interview/Happy/0118')).toMatchObject({ split: 'test', label: 0, labelName: 'Happy' });
    const art = store.artifacts.getArtifact(featureIdentity('Interview/Happy/0118', 'reversed', 8, 'raw'));
    expect(art).toMatchObject({ status: 'done', path: join(root, 'th14_vit_g_16_8_rv/Interview/Happy/0118.npy') });

    const again = await importFeatures(store, { listsDir: LISTS, root, dataset: 'ferv39k' });
    expect(again.clipsAdded).toBe(0);
    expect(again.folders.every((f) => f.registered === 0 && f.unchanged === (f.folder.endsWith('_rv') ? 1 : 2))).toBe(true);
  });

  it('maps list names to split names', () => {
    expect(splitFromListName('/x/test_All.txt')).toBe('test');
    expect(splitFromListName('set_1.txt')).toBe('set_1');
  });
});
