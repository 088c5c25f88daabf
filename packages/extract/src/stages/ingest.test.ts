import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DatasetSourceConfig } from 'shared';
import { ConfigError, ManifestStore, featureIdentity } from 'shared';
import { makeTempDir, patternFrames, writeLavfiVideo, writePngFrames } from '../probe/testing.js';
import { ingestDataset } from './ingest.js';

/** A FERV39k-shaped tree: 3 good clips (one also with face crops), one corrupt, one missing, one listed twice, one unknown label. */
async function buildTree(root: string): Promise<void> {
  const clips = join(root, '0_7_labelClips'); // lower-case l: copies differ in case
  await mkdir(join(clips, 'Action/Sad'), { recursive: true });
  await mkdir(join(clips, 'Action/Happy'), { recursive: true });
  await writeLavfiVideo(join(clips, 'Action/Sad/0001.mp4'), 'testsrc2', 17, 64, 48);
  await writeLavfiVideo(join(clips, 'Action/Sad/0002.mp4'), 'testsrc2', 9, 64, 48);
  await writeLavfiVideo(join(clips, 'Action/Happy/0003.mp4'), 'testsrc2', 47, 64, 48);
  await writeFile(join(clips, 'Action/Happy/0004.mp4'), Buffer.from('this is not a video at all, just some bytes'));
  const face = join(root, '2_ClipsforFaceCrop/Action/Sad/0001');
  await mkdir(face, { recursive: true });
  await writePngFrames(face, patternFrames(12, 16, 16), 16, 16);
  await mkdir(join(root, '4_setups/All_scenes'), { recursive: true });
  await writeFile(
    join(root, '4_setups/All_scenes/train_All.csv'),
    ['Action/Sad/0001 Sad', 'Action/Sad/0002 Sad', 'Action/Happy/0004 Happy', 'Action/Happy/0005 Happy', 'Action/Sad/0002 Sad'].join('\n') +
      '\n',
  );
  await writeFile(
    join(root, '4_setups/All_scenes/test_All.csv'),
    `${['Action/Happy/0003 Happy', 'Action/Happy/0003x Bored'].join('\n')}\n`,
  );
}

describe('ingest', () => {
  const stores: ManifestStore[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
  });

  it('records clips with both sources, reports every bad input, and re-ingests an unchanged tree as unchanged', async () => {
    const root = await makeTempDir('pthnet-ingest-');
    await buildTree(root);
    const store = await ManifestStore.open(join(root, 'manifest.sqlite'));
    stores.push(store);
    const entry = { name: 'ferv39k', layout: 'ferv39k', root, sources: ['raw', 'face'] } as DatasetSourceConfig;
    const runId = await store.runs.startRun('ingest', {});

    const first = await ingestDataset(store, entry, { cwd: root, runId });
    expect(first.clips).toBe(3);
    expect(first.inserted).toBe(3);
    const clip = await store.clips.getClip('Action/Sad/0001');
    expect(clip).toMatchObject({ dataset: 'ferv39k', split: 'train', label: 1, labelName: 'Sad', frameCount: 17, width: 64, height: 48 });
    expect(await store.clips.getClip('Action/Happy/0003')).toMatchObject({ split: 'test', label: 0, frameCount: 47 });
    expect((await store.clips.getClip('Action/Sad/0002'))?.frameCount).toBe(9);
    const sources = (await store.clips.getClipSources('Action/Sad/0001')).map((s) => [s.kind, s.frameCount, s.isFrameFolder]);
    expect(sources.sort()).toEqual([
      ['face', 12, true],
      ['raw', 17, false],
    ]);
    expect(await store.clips.getLabelMap('ferv39k')).toEqual(['Happy', 'Sad', 'Neutral', 'Angry', 'Surprise', 'Disgust', 'Fear']);

    // corrupt video, missing clip, a clip listed twice, an unknown label
    expect(first.problems.unreadable).toBe(1);
    expect(first.problems.missing_file).toBeGreaterThanOrEqual(1);
    expect(first.problems.duplicate).toBe(1);
    expect(first.problems.unknown_label).toBe(1);
    const issues = await store.clips.listIngestIssues({ dataset: 'ferv39k' });
    expect(issues.find((i) => i.reason === 'unreadable')?.clipId).toBe('Action/Happy/0004');

    const again = await ingestDataset(store, entry, { cwd: root, runId });
    expect(again).toMatchObject({ clips: 3, inserted: 0, updated: 0, unchanged: 3, artifactsMarkedStale: 0 });
    expect(await store.clips.listIngestIssues({ dataset: 'ferv39k' })).toHaveLength(issues.length);

    // a changed file: that clip alone is updated and its artifacts become stale
    const identity = featureIdentity('Action/Sad/0002', 'forward', 4, 'raw');
    const claimed = await store.artifacts.claim(identity, { cacheKey: 'k', path: join(root, 'f.npy') });
    expect(claimed).not.toBeNull();
    await writeFile(join(root, 'f.npy'), 'x');
    await store.artifacts.complete(identity, { path: join(root, 'f.npy'), bytes: 1, contentHash: 'h' });
    await writeLavfiVideo(join(root, '0_7_labelClips/Action/Sad/0002.mp4'), 'testsrc2', 20, 64, 48);
    const changed = await ingestDataset(store, entry, { cwd: root, runId });
    expect(changed).toMatchObject({ inserted: 0, updated: 1, unchanged: 2 });
    expect(changed.artifactsMarkedStale).toBeGreaterThanOrEqual(1);
    expect((await store.clips.getClip('Action/Sad/0002'))?.frameCount).toBe(20);
    expect((await store.artifacts.getArtifact(identity))?.status).toBe('stale');
  });

  it('records each problem with the code its layout reader gave, never a code guessed from the wording', async () => {
    const root = await makeTempDir('pthnet-ingest-codes-');
    // FERV39k without its raw-clip folder ("0_7_LabelClips": the name holds the word "label").
    const faces = join(root, 'ferv39k/2_ClipsforFaceCrop/Action/Sad/0001');
    await writePngFrames(faces, patternFrames(3, 16, 16), 16, 16);
    await mkdir(join(root, 'ferv39k/4_setups/All_scenes'), { recursive: true });
    await writeFile(join(root, 'ferv39k/4_setups/All_scenes/train_All.csv'), 'Action/Sad/0001 Sad\n');
    await writeFile(join(root, 'ferv39k/4_setups/All_scenes/test_All.csv'), '');
    // DFEW with a line whose expected form names the labels ("<video number>,<label 1..7>").
    await writePngFrames(join(root, 'dfew/Clip/clip_224x224/00001'), patternFrames(3, 16, 16), 16, 16);
    await mkdir(join(root, 'dfew/Clip/original'), { recursive: true });
    await writeLavfiVideo(join(root, 'dfew/Clip/original/00001.mp4'), 'testsrc2', 3, 16, 16);
    await mkdir(join(root, 'dfew/EmoLabel_DataSplit/train(single-labeled)'), { recursive: true });
    await mkdir(join(root, 'dfew/EmoLabel_DataSplit/test(single-labeled)'), { recursive: true });
    await writeFile(join(root, 'dfew/EmoLabel_DataSplit/train(single-labeled)/set_1.csv'), 'video_name,label\n1,1\nabc,1\n');
    await writeFile(join(root, 'dfew/EmoLabel_DataSplit/test(single-labeled)/set_1.csv'), 'video_name,label\n');
    // A reference list with a line that has no frame count ("<path> <frames> <label index>").
    await writePngFrames(join(root, 'faces/Action/Sad/0001'), patternFrames(3, 16, 16), 16, 16);
    await writeFile(join(root, 'list.txt'), '/x/Action/Sad/0001 3 1\n/x/Action/Sad/0002 1\n');
    // Generic: an empty video, a frame folder without frames, a stray file; the probe says which is which.
    await mkdir(join(root, 'generic/train/happy'), { recursive: true });
    await writeLavfiVideo(join(root, 'generic/train/happy/good.mp4'), 'testsrc2', 2, 16, 16);
    await writeFile(join(root, 'generic/train/happy/empty.mp4'), '');
    await mkdir(join(root, 'generic/train/happy/no-frames'), { recursive: true });
    await writeFile(join(root, 'generic/train/happy/notes.txt'), 'not a clip');

    const store = await ManifestStore.open(join(root, 'manifest.sqlite'));
    stores.push(store);
    const runId = await store.runs.startRun('ingest', {});
    const entries = [
      { name: 'ferv39k', layout: 'ferv39k', root: join(root, 'ferv39k') },
      { name: 'dfew', layout: 'dfew', root: join(root, 'dfew') },
      { name: 'listed', layout: 'reference-list', root: join(root, 'faces'), lists: [{ split: 'test', path: 'list.txt' }] },
      { name: 'generic', layout: 'generic', root: join(root, 'generic') },
    ] as DatasetSourceConfig[];
    const summaries = [];
    for (const entry of entries) summaries.push(await ingestDataset(store, entry, { cwd: root, runId }));
    expect(summaries.map((s) => [s.dataset, s.clips, s.problems])).toEqual([
      ['ferv39k', 1, { missing_folder: 1 }],
      ['dfew', 1, { malformed_line: 1 }],
      ['listed', 1, { malformed_line: 1 }],
      ['generic', 1, { not_a_clip: 1, zero_length: 2 }],
    ]);
    const issues = (await store.clips.listIngestIssues()).map((i) => [i.dataset, i.reason, i.path, i.clipId]);
    expect(issues.sort()).toEqual([
      ['dfew', 'malformed_line', join(root, 'dfew/EmoLabel_DataSplit/train(single-labeled)/set_1.csv'), null],
      ['ferv39k', 'missing_folder', join(root, 'ferv39k/0_7_LabelClips'), null],
      ['generic', 'not_a_clip', join(root, 'generic/train/happy/notes.txt'), null],
      ['generic', 'zero_length', join(root, 'generic/train/happy/empty.mp4'), 'train/happy/empty'],
      ['generic', 'zero_length', join(root, 'generic/train/happy/no-frames'), 'train/happy/no-frames'],
      ['listed', 'malformed_line', join(root, 'list.txt'), null],
    ]);
  });

  it('names the dataset, the key and the registered layouts when the config asks for a layout nobody registered', async () => {
    const root = await makeTempDir('pthnet-ingest-layout-');
    const store = await ManifestStore.open(join(root, 'manifest.sqlite'));
    stores.push(store);
    const entry = { name: 'mine', layout: 'lmdb', root } as DatasetSourceConfig;
    await expect(ingestDataset(store, entry, { cwd: root, runId: await store.runs.startRun('ingest', {}) })).rejects.toThrow(
      new ConfigError('ingest.datasets "mine": layout.layout: expected one of ferv39k, dfew, mafw, reference-list, generic, got "lmdb"'),
    );
  });
});
