import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readReferenceListLayout } from './reference-list.js';
import { referenceDataDir } from './testing.js';
import type { ClipCandidate } from './types.js';

const annotations = path.join(referenceDataDir(), 'annotations', 'ferv39k');
const lists = [
  { split: 'train', path: path.join(annotations, 'train_All.txt') },
  { split: 'test', path: path.join(annotations, 'test_All.txt') },
];

function classCounts(clips: ClipCandidate[], split: string): number[] {
  const counts = new Array(7).fill(0);
  for (const clip of clips) if (clip.split === split) counts[clip.label] += 1;
  return counts;
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'pthnet-reflist-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('the real FERV39k reference lists', () => {
  it('read without file checks: 38,935 clips with the published class counts', async () => {
    const root = path.join(tmp, 'absent-root');
    const result = await readReferenceListLayout({ root, lists, checkFiles: false });
    expect(result.problems).toEqual([]);
    expect(result.clips).toHaveLength(38_935);
    expect(result.clips.filter((clip) => clip.split === 'train')).toHaveLength(31_088);
    expect(result.clips.filter((clip) => clip.split === 'test')).toHaveLength(7_847);
    expect(classCounts(result.clips, 'train')).toEqual([5854, 5523, 7790, 5906, 2502, 1833, 1680]);
    const first = result.clips.find((clip) => clip.id === 'Interview/Happy/0118');
    expect(first).toEqual({
      id: 'Interview/Happy/0118',
      dataset: 'ferv39k',
      split: 'test',
      label: 0,
      labelName: 'Happy',
      sources: { face: { path: path.join(root, 'Interview/Happy/0118'), kind: 'frames' } },
      expectedFrames: 29,
    });
    const frameCounts = result.clips.map((clip) => clip.expectedFrames ?? 0);
    expect([Math.min(...frameCounts), Math.max(...frameCounts)]).toEqual([8, 47]);
  });

  it('with file checks: clips present on disk are found (any case), every other one is a missing-file problem', async () => {
    const root = path.join(tmp, 'faces');
    await mkdir(path.join(root, 'Interview/Happy/0118'), { recursive: true });
    await mkdir(path.join(root, 'crime/angry/0063'), { recursive: true });
    await mkdir(path.join(root, 'DailyLife/Angry'), { recursive: true });
    await writeFile(path.join(root, 'DailyLife/Angry/0094.mp4'), '');
    const result = await readReferenceListLayout({ root, lists });
    expect(result.clips.map((clip) => [clip.id, clip.split, clip.sources.face])).toEqual([
      ['Crime/Angry/0063', 'train', { path: path.join(root, 'crime/angry/0063'), kind: 'frames' }],
      ['Interview/Happy/0118', 'test', { path: path.join(root, 'Interview/Happy/0118'), kind: 'frames' }],
      ['DailyLife/Angry/0094', 'test', { path: path.join(root, 'DailyLife/Angry/0094.mp4'), kind: 'video' }],
    ]);
    expect(result.problems).toHaveLength(38_932);
    expect(
      result.problems.every(
        (problem) => problem.code === 'missing_file' && problem.detail === 'face source missing' && problem.clipId !== undefined,
      ),
    ).toBe(true);
  });
});
