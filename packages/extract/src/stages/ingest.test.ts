import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DatasetSourceConfig } from 'shared';
import { ManifestStore, featureIdentity } from 'shared';
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
  afterEach(() => {
    for (const s of stores.splice(0)) s.close();
  });

  it('records clips with both sources, reports every bad input, and re-ingests an unchanged tree as unchanged', async () => {
    const root = await makeTempDir('pthnet-ingest-');
    await buildTree(root);
    const store = ManifestStore.open(join(root, 'manifest.sqlite'));
    stores.push(store);
    const entry = { name: 'ferv39k', layout: 'ferv39k', root, sources: ['raw', 'face'] } as DatasetSourceConfig;
    const runId = store.runs.startRun('ingest', {});

    const first = await ingestDataset(store, entry, { cwd: root, runId });
    expect(first.clips).toBe(3);
    expect(first.inserted).toBe(3);
    const clip = store.clips.getClip('Action/Sad/0001');
    expect(clip).toMatchObject({ dataset: 'ferv39k', split: 'train', label: 1, labelName: 'Sad', frameCount: 17, width: 64, height: 48 });
    expect(store.clips.getClip('Action/Happy/0003')).toMatchObject({ split: 'test', label: 0, frameCount: 47 });
    expect(store.clips.getClip('Action/Sad/0002')?.frameCount).toBe(9);
    const sources = store.clips.getClipSources('Action/Sad/0001').map((s) => [s.kind, s.frameCount, s.isFrameFolder]);
    expect(sources.sort()).toEqual([
      ['face', 12, true],
      ['raw', 17, false],
    ]);
    expect(store.clips.getLabelMap('ferv39k')).toEqual(['Happy', 'Sad', 'Neutral', 'Angry', 'Surprise', 'Disgust', 'Fear']);

    // corrupt video, missing clip, a clip listed twice, an unknown label
    expect(first.problems.unreadable).toBe(1);
    expect(first.problems.missing_file).toBeGreaterThanOrEqual(1);
    expect(first.problems.duplicate).toBe(1);
    expect(first.problems.unknown_label).toBe(1);
    const issues = store.clips.listIngestIssues({ dataset: 'ferv39k' });
    expect(issues.find((i) => i.reason === 'unreadable')?.clipId).toBe('Action/Happy/0004');

    const again = await ingestDataset(store, entry, { cwd: root, runId });
    expect(again).toMatchObject({ clips: 3, inserted: 0, updated: 0, unchanged: 3, artifactsMarkedStale: 0 });
    expect(store.clips.listIngestIssues({ dataset: 'ferv39k' })).toHaveLength(issues.length);

    // a changed file: that clip alone is updated and its artifacts become stale
    const identity = featureIdentity('Action/Sad/0002', 'forward', 4, 'raw');
    const claimed = store.artifacts.claim(identity, { cacheKey: 'k', path: join(root, 'f.npy') });
    expect(claimed).not.toBeNull();
    await writeFile(join(root, 'f.npy'), 'x');
    store.artifacts.complete(identity, { path: join(root, 'f.npy'), bytes: 1, contentHash: 'h' });
    await writeLavfiVideo(join(root, '0_7_labelClips/Action/Sad/0002.mp4'), 'testsrc2', 20, 64, 48);
    const changed = await ingestDataset(store, entry, { cwd: root, runId });
    expect(changed).toMatchObject({ inserted: 0, updated: 1, unchanged: 2 });
    expect(changed.artifactsMarkedStale).toBeGreaterThanOrEqual(1);
    expect(store.clips.getClip('Action/Sad/0002')?.frameCount).toBe(20);
    expect(store.artifacts.getArtifact(identity)?.status).toBe('stale');
  });
});
