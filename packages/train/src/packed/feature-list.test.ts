import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from 'shared';
import { clipIdFromFeaturePath, joinFeatureLists, readFeatureList } from './feature-list.js';
import type { FeatureList, FeatureListEntry } from './types.js';
import { sharedDir } from 'shared';

const SHARED = sharedDir();
const FERV_LISTS = path.join(SHARED, 'data/annotations/ferv39k');

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'pthnet-lists-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('clipIdFromFeaturePath', () => {
  it('keeps what follows the feature folder, in every stride and direction', () => {
    expect(clipIdFromFeaturePath('get_features/FERv39k/th14_vit_g_16_4/Interview/Happy/0118.npy')).toBe('Interview/Happy/0118');
    expect(clipIdFromFeaturePath('get_features/FERv39k/th14_vit_g_16_16_rv/Interview/Happy/0118.npy')).toBe('Interview/Happy/0118');
    expect(clipIdFromFeaturePath('/data/x/th14_vit_g_16_8_face_rv/Action/Sad/0010.npy')).toBe('Action/Sad/0010');
    // DFEW lists have no scene/emotion folders
    expect(clipIdFromFeaturePath('get_features/DFEW/th14_vit_g_16_4/1.npy')).toBe('1');
    expect(clipIdFromFeaturePath('C:\\feats\\th14_vit_g_16_4\\Crime\\Fear\\0007.npy')).toBe('Crime/Fear/0007');
  });
  it('falls back to the trailing Scene/Emotion/ID', () => {
    expect(clipIdFromFeaturePath('/somewhere/else/Social/Angry/0005.npy')).toBe('Social/Angry/0005');
  });
});

describe('readFeatureList', () => {
  it('reads the real FERV39k stride-4 test list', async () => {
    const list = await readFeatureList(path.join(FERV_LISTS, 'th14_vit_g_16_4/test_All.txt'), { baseDir: '/feats' });
    expect(list.entries).toHaveLength(7847);
    expect(list.entries[0]).toEqual({
      clipId: 'Interview/Happy/0118',
      rawPath: 'get_features/FERv39k/th14_vit_g_16_4/Interview/Happy/0118.npy',
      path: '/feats/get_features/FERv39k/th14_vit_g_16_4/Interview/Happy/0118.npy',
      windows: 5,
      label: 0,
      line: 1,
    });
    expect(list.entries[2]).toMatchObject({ clipId: 'Social/Angry/0005', windows: 8, label: 3, line: 3 });
  });

  it('joins the real H/M/L lists by id, forward and reversed alike', async () => {
    const read = (folder: string) => readFeatureList(path.join(FERV_LISTS, folder, 'test_All.txt'));
    const forward = joinFeatureLists({
      H: await read('th14_vit_g_16_4'),
      M: await read('th14_vit_g_16_8'),
      L: await read('th14_vit_g_16_16'),
    });
    const reversed = joinFeatureLists({
      H: await read('th14_vit_g_16_4_rv'),
      M: await read('th14_vit_g_16_8_rv'),
      L: await read('th14_vit_g_16_16_rv'),
    });
    for (const joined of [forward, reversed]) {
      expect(joined.clips).toHaveLength(7847);
      expect(joined.missing).toEqual([]);
      expect(joined.labelConflicts).toEqual([]);
      expect(joined.duplicates).toEqual([]);
    }
    // First clip: 5, 3, 2 windows at strides 4, 8, 16 (a 29- or 32-frame clip under the cover rule)
    expect(forward.clips[0]).toMatchObject({ id: 'Interview/Happy/0118', label: 0, windows: { H: 5, M: 3, L: 2 } });
    expect(new Set(reversed.clips.map((clip) => clip.id))).toEqual(new Set(forward.clips.map((clip) => clip.id)));
  });

  it('keeps paths with spaces and resolves them against baseDir; skips blank lines', async () => {
    const file = path.join(tmp, 'spaces.txt');
    await writeFile(file, 'feats/th14_vit_g_16_4/My Scene/Sad/0001.npy 3 1\n\n  \nfeats/th14_vit_g_16_4/A/Fear/0002.npy 0 6\r\n');
    const list = await readFeatureList(file, { baseDir: '/root' });
    expect(list.entries.map(({ clipId, path: p, windows, label, line }) => ({ clipId, p, windows, label, line }))).toEqual([
      { clipId: 'My Scene/Sad/0001', p: '/root/feats/th14_vit_g_16_4/My Scene/Sad/0001.npy', windows: 3, label: 1, line: 1 },
      { clipId: 'A/Fear/0002', p: '/root/feats/th14_vit_g_16_4/A/Fear/0002.npy', windows: 0, label: 6, line: 4 },
    ]);
  });

  it('names the file and line of a bad entry', async () => {
    const file = path.join(tmp, 'bad.txt');
    await writeFile(file, 'a/b/c.npy 3 1\na/b/d.npy three 1\n');
    await expect(readFeatureList(file)).rejects.toThrow(InputError);
    await expect(readFeatureList(file)).rejects.toThrow(/bad\.txt:2: expected a non-negative integer window count, got 'three'/);
    await writeFile(file, 'a/b/c.npy 3\n');
    await expect(readFeatureList(file)).rejects.toThrow(/bad\.txt:1: expected '<npy path> <windows> <label>'/);
    await expect(readFeatureList(path.join(tmp, 'none.txt'))).rejects.toThrow(/cannot read feature list .*none\.txt/);
  });
});

describe('joinFeatureLists', () => {
  const entry = (stride: number, id: string, label: number, line: number): FeatureListEntry => ({
    clipId: id,
    rawPath: `th14_vit_g_16_${stride}/${id}.npy`,
    path: `/f/th14_vit_g_16_${stride}/${id}.npy`,
    windows: 20 / stride,
    label,
    line,
  });
  const list = (stride: number, clips: Array<[string, number]>): FeatureList => ({
    source: `list_${stride}.txt`,
    entries: clips.map(([id, label], i) => entry(stride, id, label, i + 1)),
  });

  it('reports missing clips, label disagreements and duplicates, and keeps the rest in H order', () => {
    const joined = joinFeatureLists({
      H: list(4, [
        ['S/Happy/3', 0],
        ['S/Sad/1', 1],
        ['S/Fear/2', 6],
        ['S/Angry/4', 3],
        ['S/Only/H', 2],
      ]),
      M: list(8, [
        ['S/Sad/1', 1],
        ['S/Angry/4', 3],
        ['S/Happy/3', 0],
        ['S/Fear/2', 5],
        ['S/Sad/1', 1],
        ['S/Only/M', 2],
      ]),
      L: list(16, [
        ['S/Fear/2', 6],
        ['S/Happy/3', 0],
        ['S/Sad/1', 1],
        ['S/Angry/4', 3],
        ['S/Only/H', 2],
      ]),
    });
    expect(joined.clips.map((clip) => clip.id)).toEqual(['S/Happy/3', 'S/Angry/4']);
    expect(joined.clips[1]).toEqual({
      id: 'S/Angry/4',
      label: 3,
      levels: { H: '/f/th14_vit_g_16_4/S/Angry/4.npy', M: '/f/th14_vit_g_16_8/S/Angry/4.npy', L: '/f/th14_vit_g_16_16/S/Angry/4.npy' },
      windows: { H: 5, M: 2.5, L: 1.25 },
    });
    expect(joined.missing).toEqual([
      { id: 'S/Only/H', missingFrom: ['M'] },
      { id: 'S/Only/M', missingFrom: ['H', 'L'] },
    ]);
    expect(joined.labelConflicts).toEqual([{ id: 'S/Fear/2', labels: { H: 6, M: 5, L: 6 } }]);
    expect(joined.duplicates).toEqual([{ id: 'S/Sad/1', level: 'M', lines: [1, 5] }]);
  });
});
