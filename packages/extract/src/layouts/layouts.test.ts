import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, InputError } from 'shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LABELS } from './constants.js';
import { readDfewLayout } from './dfew.js';
import { readFerv39kLayout } from './ferv39k.js';
import { readGenericLayout } from './generic.js';
import { layoutDefinitions, readLayout, registerLayout, validateLayoutConfig } from './registry.js';
import { readReferenceListLayout } from './reference-list.js';
import type { ClipCandidate, IngestProblem } from './types.js';

let tmp: string;

/** Creates files (content optional) and folders (paths ending in '/') under `root`. */
async function buildTree(root: string, entries: Record<string, string>): Promise<void> {
  for (const [relative, content] of Object.entries(entries)) {
    const target = path.join(root, relative);
    if (relative.endsWith('/')) {
      await mkdir(target, { recursive: true });
    } else {
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, content);
    }
  }
}

function byId(clips: ClipCandidate[]): Record<string, ClipCandidate> {
  return Object.fromEntries(clips.map((clip) => [clip.id, clip]));
}

/** `<clip id> | <code> | <line> | <detail>`, sorted. */
function reasons(problems: IngestProblem[]): string[] {
  return problems.map((problem) => `${problem.clipId ?? '-'} | ${problem.code} | ${problem.line ?? '-'} | ${problem.detail}`).sort();
}

const labelMap = DEFAULT_LABELS.map((name, index) => ({ index, name }));

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'pthnet-layouts-'));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('FERV39k layout', () => {
  let root: string;
  beforeAll(async () => {
    root = path.join(tmp, 'ferv39k');
    // Folder names spelled as in one of the copies, clip folders in mixed case.
    await buildTree(root, {
      '0_7_labelClips/Action/Sad/0010.mp4': '',
      '0_7_labelClips/Action/Happy/0001.mp4': '',
      '0_7_labelClips/DailyLife/Angry/0094.mp4': '',
      '2_ClipforFaceCrop/action/sad/0010/1.jpg': '',
      '2_ClipforFaceCrop/Action/Happy/0001/': '',
      '4_Setups/all_scenes/train_All.csv': [
        'Action/Sad/0010 Sad',
        'Action/Happy/0001 happy',
        '',
        'Action/Happy/0001 Happy',
        'Action/Sad/0011 Sad',
        'Action/Sad/0012 Bored',
        'garbage',
      ].join('\r\n'),
      '4_Setups/all_scenes/test_All.csv': 'DailyLife/Angry/0094 Angry\n',
    });
  });

  it('joins raw clips and face crops into one candidate, matching folder names in any case', async () => {
    const result = await readFerv39kLayout({ root });
    expect(result.labelMap).toEqual(labelMap);
    const clips = byId(result.clips);
    expect(Object.keys(clips).sort()).toEqual(['Action/Happy/0001', 'Action/Sad/0010', 'DailyLife/Angry/0094']);
    expect(clips['Action/Sad/0010']).toEqual({
      id: 'Action/Sad/0010',
      dataset: 'ferv39k',
      split: 'train',
      label: 1,
      labelName: 'Sad',
      sources: {
        raw: { path: path.join(root, '0_7_labelClips/Action/Sad/0010.mp4'), kind: 'video' },
        face: { path: path.join(root, '2_ClipforFaceCrop/action/sad/0010'), kind: 'frames' },
      },
    });
    expect(clips['Action/Happy/0001']?.label).toBe(0);
    expect(clips['DailyLife/Angry/0094']).toMatchObject({ split: 'test', label: 3, labelName: 'Angry' });
    expect(clips['DailyLife/Angry/0094']?.sources.face).toBeUndefined();
    expect(reasons(result.problems)).toEqual([
      '- | malformed_line | 7 | train_All.csv:7: malformed line "garbage" (expected "<Scene>/<Emotion>/<ID> <Emotion>")',
      'Action/Happy/0001 | duplicate | 4 | train_All.csv:4: clip listed twice (first at train_All.csv:2): line ignored',
      'Action/Sad/0011 | missing_file | - | face source missing',
      'Action/Sad/0011 | missing_file | - | raw source missing',
      'Action/Sad/0012 | unknown_label | 6 | train_All.csv:6: label "Bored" not in the label map',
      'DailyLife/Angry/0094 | missing_file | - | face source missing',
    ]);
    expect(result.problems.every((problem) => problem.dataset === 'ferv39k')).toBe(true);
  });

  it('builds the expected paths without touching the clips when checkFiles is false', async () => {
    const result = await readFerv39kLayout({ root, checkFiles: false, splits: ['train'], sources: ['face'] });
    expect(result.clips.map((clip) => clip.id)).toEqual(['Action/Sad/0010', 'Action/Happy/0001', 'Action/Sad/0011']);
    expect(result.clips[2]?.sources).toEqual({ face: { path: path.join(root, '2_ClipforFaceCrop/Action/Sad/0011'), kind: 'frames' } });
    expect(result.problems).toHaveLength(3);
  });

  it('reports a missing split list and a missing root', async () => {
    const bare = path.join(tmp, 'ferv39k-bare');
    await buildTree(bare, { '0_7_LabelClips/': '' });
    const result = await readFerv39kLayout({ root: bare, splits: ['test'] });
    expect(result.clips).toEqual([]);
    expect(result.problems.map((problem) => [problem.code, problem.detail])).toEqual([
      ['missing_folder', 'face clip folder missing (looked for 2_ClipsforFaceCrop or 2_ClipforFaceCrop, any letter case)'],
      ['missing_file', 'list file missing'],
    ]);
    expect(result.problems[1]?.path).toBe(path.join(bare, '4_setups/All_scenes/test_All.csv'));
    await expect(readFerv39kLayout({ root: path.join(tmp, 'nowhere') })).rejects.toThrow(InputError);
  });
});

describe('MAFW layout', () => {
  let root: string;
  beforeAll(async () => {
    root = path.join(tmp, 'mafw');
    await buildTree(root, {
      'data/clips/00001.mp4': '',
      'data/clips/00002.mp4': '',
      'data/clips/00004.mp4': '',
      'data/clips/00005.mp4': '',
      'data/frames/00001/1.jpg': '',
      // the formats seen in split lists: "<clip> <label>", comma, semicolon, tab, a path, a class name
      'Train & Test Set/single/no_caption/set_1/train.txt': '00001.mp4 0\n2,happiness\n00003 11\ndata/clips/00004.mp4\t3\nwhat is this\n',
      'Train & Test Set/single/no_caption/set_1/test.txt': '5;10\n1 0\n',
      'Train & Test Set/single/no_caption/set_2/train_list.csv': 'video_name,label\n00005,11\n',
    });
  });

  it('reads the 11 classes over the folds, numeric labels 0-based when a list holds a 0, and reports every line that fits none', async () => {
    const result = await readLayout({ layout: 'mafw', root, folds: [1] });
    expect(result.labelMap.map((l) => l.name)).toEqual([
      'anger',
      'disgust',
      'fear',
      'happiness',
      'neutral',
      'sadness',
      'surprise',
      'contempt',
      'anxiety',
      'helplessness',
      'disappointment',
    ]);
    expect(result.clips.map((clip) => [clip.id, clip.splits, clip.labelName, clip.sources.raw?.kind])).toEqual([
      ['00001', ['set_1_train'], 'anger', 'video'],
      ['00002', ['set_1_train'], 'happiness', 'video'],
      ['00004', ['set_1_train'], 'happiness', 'video'],
      ['00005', ['set_1_test'], 'disappointment', 'video'],
    ]);
    const train = path.join(root, 'Train & Test Set/single/no_caption/set_1/train.txt');
    expect(result.problems.find((p) => p.code === 'malformed_line')).toMatchObject({ path: train, line: 5 });
    expect(reasons(result.problems)).toEqual([
      '- | malformed_line | 5 | set_1/train.txt:5: malformed line "what is this" (expected "<clip> <label>" or "<clip>,<label>", the label a number or a class name)',
      '00001 | duplicate | 2 | set_1/test.txt:2: clip 00001 listed twice in fold 1 (first at set_1/train.txt:1)',
      '00003 | unknown_label | 3 | set_1/train.txt:3: label 11 is not one of 0..10 or a class name (anger, disgust, fear, happiness, neutral, sadness, surprise, contempt, anxiety, helplessness, disappointment)',
    ]);
  });

  it('takes frame folders, 1-based labels, a list named otherwise and a header line; folds are checked', async () => {
    const result = await readLayout({ layout: 'mafw', root, folds: [2], media: 'frames', labelBase: 1, checkFiles: false });
    expect(result.clips.map((clip) => [clip.id, clip.splits, clip.labelName, clip.sources.raw])).toEqual([
      ['00005', ['set_2_train'], 'disappointment', { path: path.join(root, 'data/frames/00005'), kind: 'frames' }],
    ]);
    // fold 2 has no test list
    expect(reasons(result.problems)).toEqual(['- | missing_file | - | list file missing']);
    expect(() => validateLayoutConfig({ layout: 'mafw', root, folds: [0] })).toThrow(
      'layout.folds: expected a non-empty list of distinct fold numbers 1..5, got [0]',
    );
    expect(() => validateLayoutConfig({ layout: 'mafw', root, labelBase: 2 })).toThrow('layout.labelBase: expected 0, 1 or "auto", got 2');
  });
});

describe('DFEW layout', () => {
  let root: string;
  beforeAll(async () => {
    root = path.join(tmp, 'dfew');
    await buildTree(root, {
      'Clip/original/00001.mp4': '',
      'Clip/original/00002.mp4': '',
      'Clip/original/00005.mp4': '',
      'Clip/clip_224x224/00001/00001_1.jpg': '',
      'Clip/clip_224x224/00002.mp4': '',
      'EmoLabel_DataSplit/train(single-labeled)/set_1.csv': 'video_name,label\n1,1\n00002,7\n3,8\n2,7\nabc,1\n',
      'EmoLabel_DataSplit/test(single-labeled)/set_1.csv': 'video_name,label\n5,3\n4,2\n',
      'EmoLabel_DataSplit/train(single-labeled)/set_2.csv': 'video_name,label\n5,5\n',
      'EmoLabel_DataSplit/test(single-labeled)/set_2.csv': 'video_name,label\n1,1\n',
    });
  });

  it('reads a fold: labels 1..7 shifted to 0..6, names padded, aligned faces as folders or videos', async () => {
    const result = await readDfewLayout({ root });
    const clips = byId(result.clips);
    expect(Object.keys(clips).sort()).toEqual(['00001', '00002', '00005']);
    expect(clips['00001']).toEqual({
      id: '00001',
      dataset: 'dfew',
      split: 'train',
      label: 0,
      labelName: 'Happy',
      sources: {
        raw: { path: path.join(root, 'Clip/original/00001.mp4'), kind: 'video' },
        face: { path: path.join(root, 'Clip/clip_224x224/00001'), kind: 'frames' },
      },
    });
    expect(clips['00002']).toMatchObject({ label: 6, labelName: 'Fear', sources: { face: { kind: 'video' } } });
    expect(clips['00005']).toMatchObject({ split: 'test', label: 2, labelName: 'Neutral' });
    expect(reasons(result.problems)).toEqual([
      '- | malformed_line | 6 | train/set_1.csv:6: malformed line "abc,1" (expected "<video number>,<label 1..7>")',
      '00002 | duplicate | 5 | train/set_1.csv:5: clip listed twice (first at train/set_1.csv:3): line ignored',
      '00003 | unknown_label | 4 | train/set_1.csv:4: label 8 not in 1..7',
      '00004 | missing_file | - | face source missing',
      '00004 | missing_file | - | raw source missing',
      '00005 | missing_file | - | face source missing',
    ]);
  });

  it('reads another fold and validates the fold number', async () => {
    const result = await readDfewLayout({ root, fold: 2, sources: ['raw'] });
    expect(result.clips.map((clip) => [clip.id, clip.split, clip.label])).toEqual([
      ['00005', 'train', 4],
      ['00001', 'test', 0],
    ]);
    expect(result.problems).toEqual([]);
    await expect(readDfewLayout({ root, fold: 6 })).rejects.toThrow('layout.fold: expected an integer 1..5, got 6');
  });

  it('reads several folds at once ("folds"): each clip once, in the split of every fold that lists it', async () => {
    const result = await readDfewLayout({ root, folds: [2, 1], sources: ['raw'] });
    expect(result.clips.map((clip) => [clip.id, clip.split, clip.splits, clip.label])).toEqual([
      ['00001', null, ['set_1_train', 'set_2_test'], 0],
      ['00002', null, ['set_1_train'], 6],
      ['00005', null, ['set_1_test'], 2],
    ]);
    expect(reasons(result.problems)).toContain(
      '00002 | duplicate | 5 | train/set_1.csv:5: clip 00002 listed twice in fold 1 (first at train/set_1.csv:3)',
    );
    // fold 2 lists 00005 with another label than fold 1: neither is guessed right, the second is reported
    expect(reasons(result.problems)).toContain(
      '00005 | duplicate | 2 | train/set_2.csv:2: clip 00005 listed with label Surprise here and Neutral at test/set_1.csv:2',
    );
    await expect(readDfewLayout({ root, fold: 1, folds: [1] })).rejects.toThrow(
      'layout.folds: expected either "fold" or "folds", not both',
    );
    await expect(readDfewLayout({ root, folds: [] })).rejects.toThrow(
      'layout.folds: expected a non-empty list of distinct fold numbers 1..5',
    );
  });
});

describe('generic layout', () => {
  let root: string;
  beforeAll(async () => {
    root = path.join(tmp, 'generic');
    await buildTree(root, {
      'train/happy/a.mp4': '',
      'train/happy/b/1.png': '',
      'train/sad/c.AVI': '',
      'train/sad/notes.txt': '',
      'train/sad/.DS_Store': '',
      'test/neutral/d.mp4': '',
      'test/happy/e/': '',
    });
  });

  it('takes sorted label folder names by default', async () => {
    const result = await readGenericLayout({ root, dataset: 'mine' });
    expect(result.labelMap).toEqual([
      { index: 0, name: 'happy' },
      { index: 1, name: 'neutral' },
      { index: 2, name: 'sad' },
    ]);
    expect(result.clips.map((clip) => [clip.id, clip.split, clip.label, clip.sources.raw?.kind])).toEqual([
      ['test/happy/e', 'test', 0, 'frames'],
      ['test/neutral/d', 'test', 1, 'video'],
      ['train/happy/a', 'train', 0, 'video'],
      ['train/happy/b', 'train', 0, 'frames'],
      ['train/sad/c', 'train', 2, 'video'],
    ]);
    expect(result.clips[4]?.sources.raw?.path).toBe(path.join(root, 'train/sad/c.AVI'));
    expect(result.problems).toEqual([
      {
        dataset: 'mine',
        code: 'not_a_clip',
        path: path.join(root, 'train/sad/notes.txt'),
        detail: 'neither a video file nor a folder of frames',
      },
    ]);
  });

  it('follows a given label order and split list', async () => {
    const result = await readGenericLayout({ root, labels: ['sad', 'happy'], splits: ['train', 'val'], sourceRole: 'face' });
    expect(result.labelMap).toEqual([
      { index: 0, name: 'sad' },
      { index: 1, name: 'happy' },
    ]);
    expect(result.clips.map((clip) => [clip.id, clip.label])).toEqual([
      ['train/happy/a', 1],
      ['train/happy/b', 1],
      ['train/sad/c', 0],
    ]);
    expect(result.clips[0]?.sources).toEqual({ face: { path: path.join(root, 'train/happy/a.mp4'), kind: 'video' } });
    expect(result.problems.map((problem) => [problem.code, problem.detail])).toEqual([
      ['missing_folder', 'split folder "val" missing'],
      ['not_a_clip', 'neither a video file nor a folder of frames'],
    ]);
  });

  it('reports the same clip stored twice (video and folder)', async () => {
    const twice = path.join(tmp, 'generic-twice');
    await buildTree(twice, { 'train/happy/x.mp4': '', 'train/happy/x/': '' });
    const result = await readLayout({ layout: 'generic', root: twice });
    expect(result.clips).toHaveLength(1);
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatchObject({ code: 'duplicate', path: path.join(twice, 'train/happy/x.mp4') });
    expect(result.problems[0]?.detail).toMatch(/clip listed twice/);
  });
});

describe('reference list layout (small)', () => {
  it('re-roots list paths, keeps the expected frame count and reports bad lines', async () => {
    const root = path.join(tmp, 'reflist');
    await buildTree(root, {
      'faces/Action/Sad/0010/1.jpg': '',
      'faces/My Scene/Happy/0002.mp4': '',
      'list.txt': [
        '/home/someone/FERV39k/Action/Sad/0010 31 1',
        '/home/someone/FERV39k/My Scene/Happy/0002 20 0',
        '/home/someone/FERV39k/Action/Sad/0010 31 1',
        '/home/someone/FERV39k/Action/Sad/0011 31 9',
        'Action/Sad/0012 x 1',
        '0013 12 1',
      ].join('\n'),
    });
    const result = await readReferenceListLayout({
      root: path.join(root, 'faces'),
      lists: [{ split: 'test', path: path.join(root, 'list.txt') }],
    });
    expect(result.clips).toEqual([
      {
        id: 'Action/Sad/0010',
        dataset: 'ferv39k',
        split: 'test',
        label: 1,
        labelName: 'Sad',
        sources: { face: { path: path.join(root, 'faces/Action/Sad/0010'), kind: 'frames' } },
        expectedFrames: 31,
      },
      {
        id: 'My Scene/Happy/0002',
        dataset: 'ferv39k',
        split: 'test',
        label: 0,
        labelName: 'Happy',
        sources: { face: { path: path.join(root, 'faces/My Scene/Happy/0002.mp4'), kind: 'video' } },
        expectedFrames: 20,
      },
    ]);
    expect(reasons(result.problems)).toEqual([
      '- | malformed_line | 5 | list.txt:5: malformed line "Action/Sad/0012 x 1" (expected "<path> <frames> <label index>")',
      '- | malformed_line | 6 | list.txt:6: malformed line "0013 12 1" (expected "<path> <frames> <label index>")',
      'Action/Sad/0010 | duplicate | 3 | list.txt:3: clip listed twice (first at list.txt:1): line ignored',
      "Action/Sad/0011 | unknown_label | 4 | list.txt:4: clip Action/Sad/0011 (split test): label 9 not in 0..6 (the dataset's 7 classes)",
    ]);
  });
});

describe('hostile list lines', () => {
  it('refuses ids that climb out of the root, and names clips listed twice, with two labels or in two splits', async () => {
    const root = path.join(tmp, 'hostile');
    await buildTree(root, {
      'faces/Action/Sad/0010/1.jpg': '',
      'faces/Action/Sad/0020/1.jpg': '',
      'faces/Action/Sad/0030/1.jpg': '',
      'faces/Action/Sad/0040/1.jpg': '',
      'train.txt': [
        '/home/author/../../x 20 1',
        '/data/FERV39k/Action/../Sad/0099 20 1',
        '/data/FERV39k/Action/Sad/0010 20 1',
        '/data/FERV39k/Action/Sad/0010 20 1',
        '/data/FERV39k/Action/Sad/0020 20 1',
        '/data/FERV39k/Action/Sad/0020 20 2',
        '/data/FERV39k/Action/Sad/0030 20 1',
      ].join('\n'),
      'test.txt': ['/data/FERV39k/Action/Sad/0030 20 1', '/data/FERV39k/Action/Sad/0040 20 1'].join('\n'),
      // FERV39k's own lists: ids relative to the clip folders
      'ferv/0_7_LabelClips/Action/Sad/0001.mp4': '',
      'ferv/4_setups/All_scenes/train_All.csv': ['../../../etc/passwd Sad', 'Action/Sad/0001 Sad'].join('\n'),
      'ferv/4_setups/All_scenes/test_All.csv': '',
    });
    const result = await readReferenceListLayout({
      root: path.join(root, 'faces'),
      lists: [
        { split: 'train', path: path.join(root, 'train.txt') },
        { split: 'test', path: path.join(root, 'test.txt') },
      ],
    });
    // kept: the clip listed twice alike (once) and the clip of one split; left out: two labels, two splits
    expect(result.clips.map((clip) => [clip.id, clip.split, clip.label])).toEqual([
      ['Action/Sad/0010', 'train', 1],
      ['Action/Sad/0040', 'test', 1],
    ]);
    expect(reasons(result.problems)).toEqual([
      '- | path_escape | 1 | train.txt:1: expected a clip path without ".." segments, got "/home/author/../../x" (split train)',
      '- | path_escape | 2 | train.txt:2: expected a clip path without ".." segments, got "/data/FERV39k/Action/../Sad/0099" (split train)',
      'Action/Sad/0010 | duplicate | 4 | train.txt:4: clip listed twice (first at train.txt:3): line ignored',
      'Action/Sad/0020 | duplicate | 6 | train.txt:6: clip listed with label 2 (Neutral) here and 1 (Sad) at train.txt:5: left out',
      'Action/Sad/0030 | split_conflict | 1 | test.txt:1: clip listed in split test here and in split train at train.txt:7 (train/test leakage): left out of every split',
    ]);
    expect(result.problems.every((problem) => problem.path !== undefined)).toBe(true);

    const ferv = await readFerv39kLayout({ root: path.join(root, 'ferv'), sources: ['raw'] });
    expect(ferv.clips.map((clip) => clip.id)).toEqual(['Action/Sad/0001']);
    expect(reasons(ferv.problems)).toEqual([
      '../etc/passwd | path_escape | 1 | train_All.csv:1: expected a path inside its root, got "../etc/passwd", whose ".." segments lead outside it',
    ]);
  });

  it('reads lists named as fold splits (set_<k>_train / set_<k>_test) as folds, with the class names of the config', async () => {
    const root = path.join(tmp, 'reference-folds');
    await buildTree(root, {
      'f1_train.txt': '/x/A/b/01 16 0\n/x/A/b/02 16 2\n',
      'f1_test.txt': '/x/A/b/03 16 1\n',
      'f2_train.txt': '/x/A/b/03 16 1\n/x/A/b/01 16 0\n',
      'f2_test.txt': '/x/A/b/02 16 2\n/x/A/b/01 16 0\n',
    });
    const result = await readReferenceListLayout({
      root,
      checkFiles: false,
      dataset: 'cremad',
      labels: ['ANG', 'DIS', 'FEA'],
      lists: [1, 2].flatMap((k) =>
        (['train', 'test'] as const).map((role) => ({ split: `set_${k}_${role}`, path: path.join(root, `f${k}_${role}.txt`) })),
      ),
    });
    expect(result.clips.map((clip) => [clip.id, clip.split, clip.splits, clip.labelName, clip.expectedFrames])).toEqual([
      ['A/b/01', null, ['set_1_train', 'set_2_train'], 'ANG', 16],
      ['A/b/02', null, ['set_1_train', 'set_2_test'], 'FEA', 16],
      ['A/b/03', null, ['set_1_test', 'set_2_train'], 'DIS', 16],
    ]);
    expect(reasons(result.problems)).toEqual([
      'A/b/01 | duplicate | 2 | f2_test.txt:2: clip A/b/01 listed twice in fold 2 (first at f2_train.txt:2)',
    ]);
  });
});

describe('layout config validation', () => {
  it('fills defaults', () => {
    expect(validateLayoutConfig({ layout: 'ferv39k', root: '/data' })).toEqual({
      layout: 'ferv39k',
      root: '/data',
      splits: ['train', 'test'],
      sources: ['raw', 'face'],
      checkFiles: true,
    });
    expect(validateLayoutConfig({ layout: 'reference-list', root: '/r', lists: [{ split: 'train', path: '/l.txt' }] })).toMatchObject({
      dataset: 'ferv39k',
      labels: [...DEFAULT_LABELS],
      sourceRole: 'face',
      sourceKind: 'frames',
      checkFiles: true,
    });
  });

  it('names the bad key and value', () => {
    expect(() => validateLayoutConfig({ layout: 'lmdb', root: '/x' })).toThrow(
      'layout.layout: expected one of ferv39k, dfew, mafw, reference-list, generic, got "lmdb"',
    );
    expect(() => validateLayoutConfig({ layout: 'dfew' })).toThrow('layout.root: expected a non-empty string, got undefined');
    expect(() => validateLayoutConfig({ layout: 'ferv39k', root: '/x', sources: ['raw', 'depth'] })).toThrow(ConfigError);
    expect(() => validateLayoutConfig({ layout: 'ferv39k', root: '/x', checkFiles: 'no' })).toThrow(
      'layout.checkFiles: expected true or false, got "no"',
    );
    expect(() => validateLayoutConfig({ layout: 'reference-list', root: '/x' })).toThrow(/layout.lists: expected a non-empty list/);
    expect(() => validateLayoutConfig(null)).toThrow('layout: expected an object, got null');
  });
});

describe('layout registry', () => {
  it('lists the four built-in layouts in registration order and names them in the error for an unknown one', async () => {
    expect(layoutDefinitions().map((layout) => layout.name)).toEqual(['ferv39k', 'dfew', 'mafw', 'reference-list', 'generic']);
    await expect(readLayout({ layout: 'lmdb', root: tmp })).rejects.toThrow(
      new ConfigError('layout.layout: expected one of ferv39k, dfew, mafw, reference-list, generic, got "lmdb"'),
    );
  });

  it('takes an extra layout without editing the registry, refuses a name twice, and forgets it when removed', async () => {
    const unregister = registerLayout({
      name: 'one-clip',
      summary: 'a single clip at the root',
      validate: (options) => ({ layout: 'one-clip', root: String(options['root']) }),
      read: async (config) => ({
        labelMap: [{ index: 0, name: 'only' }],
        clips: [
          { id: 'x', dataset: 'one', split: 'test', label: 0, labelName: 'only', sources: { raw: { path: config.root, kind: 'video' } } },
        ],
        problems: [],
      }),
    });
    try {
      expect(layoutDefinitions().map((layout) => layout.name)).toEqual([
        'ferv39k',
        'dfew',
        'mafw',
        'reference-list',
        'generic',
        'one-clip',
      ]);
      expect((await readLayout({ layout: 'one-clip', root: '/v.mp4' })).clips[0]?.sources.raw?.path).toBe('/v.mp4');
      expect(() => validateLayoutConfig({ layout: 'lmdb', root: '/x' })).toThrow(
        'layout.layout: expected one of ferv39k, dfew, mafw, reference-list, generic, one-clip, got "lmdb"',
      );
      expect(() => registerLayout({ ...layoutDefinitions()[0]!, summary: 'again' })).toThrow(
        new ConfigError('registerLayout: expected a new layout name, got "ferv39k" again'),
      );
    } finally {
      unregister();
    }
    expect(layoutDefinitions().map((layout) => layout.name)).toEqual(['ferv39k', 'dfew', 'mafw', 'reference-list', 'generic']);
  });

  it('resolves relative paths (root, list files) against the context directory', () => {
    expect(validateLayoutConfig({ layout: 'generic', root: 'clips' }, { cwd: '/work' })).toMatchObject({ root: '/work/clips' });
    expect(
      validateLayoutConfig({ layout: 'reference-list', root: '/abs', lists: [{ split: 'test', path: 'l/test.txt' }] }, { cwd: '/work' }),
    ).toMatchObject({ root: '/abs', lists: [{ split: 'test', path: '/work/l/test.txt' }] });
  });
});
