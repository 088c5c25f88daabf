// A layout and a backbone that exist only in test support (one file each), added through the
// registries, then the real ingest and extract stage functions on small generated clips.
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipelineConfig } from 'shared';
import { ConfigError, ManifestStore, readNpy, validateConfig } from 'shared';
import { registerBackbone } from '../backbones/registry.js';
import { decodeClip } from '../decode/decode.js';
import { registerLayout } from '../layouts/registry.js';
import { makeTempDir, writeLavfiVideo, writePngFrames } from '../probe/testing.js';
import { toyMeanColourBackbone, writeToyCheckpoint } from '../test-support/toy-backbone.js';
import { toyListLayout } from '../test-support/toy-layout.js';
import { frameOrder, windowCount, windowFrameIndices, windowStarts } from '../windows/windows.js';
import { runExtract } from './extract.js';
import { ingestDataset } from './ingest.js';

const SIZE = 8;
const WEIGHT = [
  [1, 0, 0],
  [0.5, -1, 2],
];
const BIAS = [0, 0.25];

/** Frame f of a solid-colour clip. */
type Colour = (f: number) => [number, number, number];
const CLIP_A: Colour = (f) => [10 * f, 100, 250 - 10 * f];
const CLIP_B: Colour = (f) => [200, 5 * f, 40];

function solidFrames(n: number, colour: Colour): Uint8Array {
  const rgb = new Uint8Array(n * SIZE * SIZE * 3);
  for (let f = 0; f < n; f++) for (let p = 0; p < SIZE * SIZE; p++) rgb.set(colour(f), (f * SIZE * SIZE + p) * 3);
  return rgb;
}

/** What the toy backbone must give for one window: its mean colour in [0, 1] through W and b. */
function expectedRow(meanColour: readonly number[]): number[] {
  return WEIGHT.map((w, d) => (BIAS[d] as number) + w.reduce((sum, wc, c) => sum + (wc * (meanColour[c] as number)) / 255, 0));
}

/** Expected `[windows, 2]` rows of a clip given each stored frame's mean colour. */
function expectedFeatures(frameMeans: ReadonlyArray<readonly number[]>, stride: number, reversed: boolean): number[][] {
  const n = frameMeans.length;
  const order = frameOrder(n, reversed ? 'reversed' : 'forward');
  return windowStarts(n, stride).map((start) => {
    const frames = windowFrameIndices(start, n).map((k) => order[k] as number);
    const mean = [0, 1, 2].map((c) => frames.reduce((sum, f) => sum + (frameMeans[f]?.[c] as number), 0) / frames.length);
    return expectedRow(mean);
  });
}

function rowsOf(data: Float32Array, width: number): number[][] {
  return Array.from({ length: data.length / width }, (_, r) => [...data.subarray(r * width, (r + 1) * width)]);
}

describe('a toy layout and a toy backbone, added through the registries, run by the real ingest and extract', () => {
  let root: string;
  let store: ManifestStore;
  let config: PipelineConfig;
  const unregister: Array<() => void> = [];
  const frameMeans = new Map<string, number[][]>();

  beforeAll(async () => {
    unregister.push(registerLayout(toyListLayout), registerBackbone(toyMeanColourBackbone));
    root = await makeTempDir('registries');
    await mkdir(join(root, 'clips'), { recursive: true });
    await writePngFrames(join(root, 'clips/a'), solidFrames(20, CLIP_A), SIZE, SIZE);
    await writePngFrames(join(root, 'clips/b'), solidFrames(5, CLIP_B), SIZE, SIZE);
    await writeLavfiVideo(join(root, 'clips/c.mp4'), 'color=c=blue', 17, 16, 16);
    frameMeans.set(
      'clips/a',
      Array.from({ length: 20 }, (_, f) => CLIP_A(f)),
    );
    frameMeans.set(
      'clips/b',
      Array.from({ length: 5 }, (_, f) => CLIP_B(f)),
    );
    // the video is lossy: its frames' mean colours are what the decoder gives
    const video = await decodeClip({ path: join(root, 'clips/c.mp4'), kind: 'video' });
    const pixels = video.width * video.height;
    frameMeans.set(
      'clips/c',
      Array.from({ length: video.n }, (_, f) =>
        [0, 1, 2].map((c) => {
          let sum = 0;
          for (let p = 0; p < pixels; p++) sum += video.frames[(f * pixels + p) * 3 + c] as number;
          return sum / pixels;
        }),
      ),
    );
    await writeFile(
      join(root, 'clips.csv'),
      [
        'train,happy,clips/a',
        'train,sad,clips/b',
        'test,happy,clips/c.mp4',
        'train,bored,clips/d',
        'test,happy',
        'test,sad,clips/gone.mp4',
      ].join('\n'),
    );
    await writeToyCheckpoint(join(root, 'toy.json'), { weight: WEIGHT, bias: BIAS });
    store = await ManifestStore.open(join(root, 'data', 'manifest.sqlite'));
    config = validateConfig({
      workers: 2,
      ingest: { datasets: [{ name: 'toy', layout: 'toy-list', root: 'clips/..', labels: ['happy', 'sad'] }] },
      extract: {
        backbone: { name: 'toy-mean-colour', preset: 'toy-2', checkpoint: join(root, 'toy.json') },
        tag: 'toy',
        strides: [4, 8],
        batchSize: 4,
      },
    });
  });
  afterAll(async () => {
    await store?.close();
    for (const undo of unregister) undo();
  });

  it('ingests the toy list: its clips with their labels, and its bad lines with the codes the layout gave', async () => {
    const entry = config.ingest.datasets[0]!;
    const summary = await ingestDataset(store, entry, { cwd: root, runId: await store.runs.startRun('ingest', {}) });
    expect(summary).toMatchObject({ dataset: 'toy', clips: 3, inserted: 3 });
    expect(summary.problems).toEqual({ unknown_label: 1, malformed_line: 1, missing_file: 1 });
    expect(await store.clips.getLabelMap('toy')).toEqual(['happy', 'sad']);
    expect((await store.clips.listClips()).map((clip) => [clip.id, clip.split, clip.labelName, clip.frameCount])).toEqual([
      ['clips/a', 'train', 'happy', 20],
      ['clips/b', 'train', 'sad', 5],
      ['clips/c', 'test', 'happy', 17],
    ]);
    expect(
      (await store.clips.listIngestIssues({ dataset: 'toy' })).map((issue) => [issue.reason, issue.clipId, issue.detail]).sort(),
    ).toEqual([
      ['malformed_line', null, 'clips.csv:5: malformed line "test,happy" (expected "<split>,<label>,<clip path>")'],
      ['missing_file', 'clips/gone', 'clips.csv:6: clips/gone.mp4 missing'],
      ['unknown_label', 'clips/d', 'clips.csv:4: label "bored" unknown'],
    ]);
  });

  it("extracts every clip with the toy backbone: [windows, 2] rows equal to its mean colour through the checkpoint's map", async () => {
    const summary = await runExtract(store, config, join(root, 'data'), { runId: await store.runs.startRun('extract', {}) });
    expect(summary).toMatchObject({ clips: 3, produced: 12, upToDate: 0, failed: 0, backend: 'js' });
    for (const [id, means] of frameMeans) {
      for (const stride of [4, 8]) {
        for (const reversed of [false, true]) {
          const file = await readNpy(join(root, 'data/features', `toy_16_${stride}${reversed ? '_rv' : ''}`, `${id}.npy`));
          expect(file.shape, `${id} stride ${stride}`).toEqual([windowCount(means.length, stride), 2]);
          const got = rowsOf(file.data as Float32Array, 2);
          const want = expectedFeatures(means, stride, reversed);
          got.forEach((row, r) => {
            row.forEach((value, d) => {
              expect(value, `${id} stride ${stride}${reversed ? ' reversed' : ''} row ${r}`).toBeCloseTo(want[r]![d]!, 5);
            });
          });
        }
      }
    }
    // clip a's first stride-4 window: frames 0..15, mean colour (75, 100, 175): 75/255 and 0.25 + (37.5 - 100 + 350)/255
    const first = await readNpy(join(root, 'data/features/toy_16_4/clips/a.npy'));
    expect([...(first.data as Float32Array).subarray(0, 2)].map((v) => Number(v.toFixed(5)))).toEqual([0.29412, 1.37745]);
    // the backbone's own cache params key the features, and the lists follow the reference format
    const params = (await store.artifacts.listArtifacts({ stage: 'extract' })).map(
      (row) => JSON.parse(row.params ?? '{}') as Record<string, unknown>,
    );
    expect(params.every((p) => JSON.stringify(p['toyMeanColour']) === '{"featureDim":2}' && !('vit' in p))).toBe(true);
    expect(readFileSync(join(root, 'data/features/toy_16_8/train.txt'), 'utf8')).toBe(
      'features/toy_16_8/clips/a.npy 2 0\nfeatures/toy_16_8/clips/b.npy 1 1\n',
    );
  });

  it('reruns nothing when nothing changed, and refuses a window length the backbone does not take', async () => {
    const again = await runExtract(store, config, join(root, 'data'), { runId: await store.runs.startRun('extract', {}) });
    expect(again).toMatchObject({ clips: 0, produced: 0, upToDate: 12 });
    const eight = validateConfig({ ...config, extract: { ...config.extract, windowLength: 8 } });
    const runId = await store.runs.startRun('extract', {});
    await expect(runExtract(store, eight, join(root, 'data'), { runId })).rejects.toThrow(
      new ConfigError('extract.windowLength: expected 16 (the frames per window of backbone toy-mean-colour toy-2), got 8'),
    );
  });
});
