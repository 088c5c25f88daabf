import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import ffmpeg from 'fluent-ffmpeg';
import { ConfigError, InputError } from 'shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFerv39kLayout } from '../layouts/ferv39k.js';
import { findMediaBinaries } from '../probe/binaries.js';
import { DEMO_LABELS, DEMO_MARKER_FILE } from './constants.js';
import { generateDemoDataset } from './generate.js';
import { demoFrameSize } from './render.js';
import type { DemoClip, DemoDataset, DemoProgressEvent, DemoStorage, DemoView } from './types.js';

const run = promisify(execFile);
const binaries = findMediaBinaries();
const SIZE = 32;
/** Small but complete: every class has each storage pair in each split. */
const LAYOUT_COUNTS = { train: 4, test: 4 };
const TINY_COUNTS = { train: 1, test: 1 };

let workDir: string;

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'pthnet-demo-test-'));
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

/** sha256 of every file under `root`, keyed by its path relative to the root. */
async function hashTree(root: string): Promise<Map<string, string>> {
  const hashes = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else
        hashes.set(
          path.relative(root, full),
          createHash('sha256')
            .update(await readFile(full))
            .digest('hex'),
        );
    }
  };
  await walk(root);
  return hashes;
}

function ffprobeCounted(file: string): Promise<ffmpeg.FfprobeData> {
  return new Promise((resolve, reject) => {
    ffmpeg(file)
      .setFfprobePath(binaries.ffprobe)
      .ffprobe(['-count_frames'], (error: Error | null, data: ffmpeg.FfprobeData) => (error ? reject(error) : resolve(data)));
  });
}

/** Decodes a clip (video or PNG folder) to RGB24 frames with ffmpeg. */
async function decodeRgb(source: string, storage: DemoStorage): Promise<Buffer> {
  const input = storage === 'video' ? ['-i', source] : ['-framerate', '25', '-start_number', '1', '-i', path.join(source, '%04d.png')];
  const { stdout } = await run(binaries.ffmpeg, ['-v', 'error', ...input, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], {
    encoding: 'buffer',
    maxBuffer: 256 * 1024 * 1024,
  });
  return stdout;
}

/** Mean RGB of the central half (in each direction) of every frame. */
async function centreColours(clip: DemoClip, view: DemoView): Promise<number[][]> {
  const { width, height } = demoFrameSize(view, SIZE);
  const rgb = await decodeRgb(view === 'raw' ? clip.rawPath : clip.facePath, view === 'raw' ? clip.rawStorage : clip.faceStorage);
  const frameBytes = width * height * 3;
  expect(rgb.length).toBe(clip.frames * frameBytes);
  const colours: number[][] = [];
  for (let f = 0; f < clip.frames; f++) {
    const sum = [0, 0, 0];
    let count = 0;
    for (let y = Math.floor(height / 4); y < Math.floor((3 * height) / 4); y++) {
      for (let x = Math.floor(width / 4); x < Math.floor((3 * width) / 4); x++) {
        const i = f * frameBytes + (y * width + x) * 3;
        for (let c = 0; c < 3; c++) sum[c] = (sum[c] ?? 0) + (rgb[i + c] ?? 0);
        count += 1;
      }
    }
    colours.push(sum.map((s) => s / count));
  }
  return colours;
}

/** The clip's centre colour over time, minus its mean, linearly resampled to 8 points. */
function temporalDescriptor(colours: number[][]): number[] {
  const mean = [0, 1, 2].map((c) => colours.reduce((s, v) => s + (v[c] ?? 0), 0) / colours.length);
  const out: number[] = [];
  for (let k = 0; k < 8; k++) {
    const at = (k / 7) * (colours.length - 1);
    const lo = Math.floor(at);
    const hi = Math.min(colours.length - 1, lo + 1);
    const w = at - lo;
    for (let c = 0; c < 3; c++) out.push((colours[lo]?.[c] ?? 0) * (1 - w) + (colours[hi]?.[c] ?? 0) * w - (mean[c] ?? 0));
  }
  return out;
}

function staticDescriptor(colours: number[][]): number[] {
  return [0, 1, 2].map((c) => colours.reduce((s, v) => s + (v[c] ?? 0), 0) / colours.length);
}

/** Accuracy on the test split of a nearest-class-centroid classifier fit on the train split. */
function nearestCentroidAccuracy(clips: DemoClip[], descriptors: number[][]): number {
  const dims = descriptors[0]?.length ?? 0;
  const centroids = DEMO_LABELS.map((_, label) => {
    const members = descriptors.filter((_, i) => clips[i]?.split === 'train' && clips[i]?.label === label);
    return Array.from({ length: dims }, (_, d) => members.reduce((s, v) => s + (v[d] ?? 0), 0) / members.length);
  });
  let correct = 0;
  let total = 0;
  clips.forEach((clip, i) => {
    if (clip.split !== 'test') return;
    const descriptor = descriptors[i] ?? [];
    const distances = centroids.map((centre) => centre.reduce((s, v, d) => s + (v - (descriptor[d] ?? 0)) ** 2, 0));
    const predicted = distances.indexOf(Math.min(...distances));
    correct += predicted === clip.label ? 1 : 0;
    total += 1;
  });
  return correct / total;
}

describe('generateDemoDataset: determinism and idempotence', () => {
  const tiny = { clipsPerClass: TINY_COUNTS, size: SIZE, minFrames: 8, maxFrames: 20 };

  it('writes byte-identical files for the same seed, different ones for another seed', async () => {
    const events: DemoProgressEvent[] = [];
    const first = await generateDemoDataset({ ...tiny, root: path.join(workDir, 'a'), seed: 7, onProgress: (e) => events.push(e) });
    const second = await generateDemoDataset({ ...tiny, root: path.join(workDir, 'b'), seed: 7 });
    expect(first.generated).toBe(true);
    expect(first.clips).toHaveLength(14);
    expect(events).toHaveLength(14);
    expect(events.at(-1)).toMatchObject({ done: 14, total: 14 });

    const hashesA = await hashTree(first.root);
    const hashesB = await hashTree(second.root);
    // 14 clips x 2 views, each a video or up to 20 PNGs, plus two lists and the marker.
    expect(hashesA.size).toBeGreaterThan(28 + 3);
    expect([...hashesA.entries()]).toEqual([...hashesB.entries()]);

    // Re-running on a complete root with the same config does nothing.
    const markerPath = path.join(first.root, DEMO_MARKER_FILE);
    const before = (await stat(markerPath)).mtimeMs;
    const again = await generateDemoDataset({ ...tiny, root: path.join(workDir, 'a'), seed: 7 });
    expect(again.generated).toBe(false);
    expect(again.clips).toEqual(first.clips);
    expect((await stat(markerPath)).mtimeMs).toBe(before);

    // Another seed replaces the earlier demo dataset and changes the content; the half-written
    // folder of a generator that died (no process has this pid) is removed on the way.
    await mkdir(path.join(workDir, 'a.2147483646.0123456789ab.tmp/0_7_LabelClips'), { recursive: true });
    const other = await generateDemoDataset({ ...tiny, root: path.join(workDir, 'a'), seed: 8 });
    expect(other.generated).toBe(true);
    const hashesC = await hashTree(other.root);
    const media = [...hashesA.keys()].filter((key) => key.endsWith('.mp4') || key.endsWith('.png'));
    const changed = media.filter((key) => hashesC.has(key) && hashesC.get(key) !== hashesA.get(key));
    const unchanged = media.filter((key) => hashesC.get(key) === hashesA.get(key));
    expect(changed.length).toBeGreaterThan(0);
    expect(unchanged).toEqual([]);
    expect(JSON.parse(await readFile(markerPath, 'utf8')).config.seed).toBe(8);
    // No temp folders are left beside the root.
    expect((await readdir(workDir)).sort()).toEqual(['a', 'b']);
  });

  it('reports a missing ffmpeg binary before writing anything', async () => {
    const root = path.join(workDir, 'broken');
    const missing = path.join(workDir, 'no-such-ffmpeg');
    const attempt = generateDemoDataset({ ...tiny, root, ffmpegPath: missing });
    await expect(attempt).rejects.toThrow(InputError);
    await expect(attempt).rejects.toThrow(`ffmpeg ${missing}: expected an executable ffmpeg binary, got ENOENT`);
    expect((await readdir(workDir)).filter((name) => name.startsWith('broken'))).toEqual([]);
  });

  it('reports an ffmpeg failure naming the file, leaving neither the root nor a temp folder', async () => {
    // An executable that exits with an error, standing in for an ffmpeg that cannot encode.
    const failing = path.join(workDir, 'failing-ffmpeg');
    await writeFile(failing, '#!/bin/sh\necho "Unknown encoder libx264" >&2\nexit 1\n', { mode: 0o755 });
    const root = path.join(workDir, 'broken');
    const attempt = generateDemoDataset({ ...tiny, root, ffmpegPath: failing });
    await expect(attempt).rejects.toThrow(InputError);
    await expect(attempt).rejects.toThrow(
      /ffmpeg could not write .*broken\.\d+\.[0-9a-f]{12}\.tmp\/0_7_LabelClips\/.*Unknown encoder libx264/,
    );
    expect((await readdir(workDir)).filter((name) => name.startsWith('broken'))).toEqual([]);
  });

  it('refuses a root that holds something other than a demo dataset', async () => {
    const foreign = path.join(workDir, 'foreign');
    await mkdir(foreign);
    await writeFile(path.join(foreign, 'notes.txt'), 'mine');
    await expect(generateDemoDataset({ ...tiny, root: foreign })).rejects.toThrow(ConfigError);
    await expect(generateDemoDataset({ ...tiny, root: foreign })).rejects.toThrow(/expected an empty folder or an earlier demo dataset/);
    expect(await readdir(foreign)).toEqual(['notes.txt']);
  });
});

describe('generateDemoDataset: layout and content', () => {
  let dataset: DemoDataset;

  beforeAll(async () => {
    dataset = await generateDemoDataset({ root: path.join(workDir, 'layout'), seed: 0, clipsPerClass: LAYOUT_COUNTS, size: SIZE });
  });

  it('writes the FERV39k split lists', async () => {
    for (const [split, file] of [
      ['train', 'train_All.csv'],
      ['test', 'test_All.csv'],
    ] as const) {
      const lines = (await readFile(path.join(dataset.root, '4_setups/All_scenes', file), 'utf8')).trimEnd().split('\n');
      expect(lines).toHaveLength(7 * LAYOUT_COUNTS[split]);
      for (const line of lines) expect(line).toMatch(/^(Street|Office|Party)\/(\w+)\/\d{4} (\w+)$/);
      for (const label of DEMO_LABELS) {
        expect(lines.filter((line) => line.endsWith(` ${label}`) && line.includes(`/${label}/`))).toHaveLength(LAYOUT_COUNTS[split]);
      }
      expect(lines).toEqual(dataset.clips.filter((c) => c.split === split).map((c) => `${c.id} ${c.labelName}`));
    }
    expect(dataset.labels).toEqual(['Happy', 'Sad', 'Neutral', 'Angry', 'Surprise', 'Disgust', 'Fear']);
  });

  it('stores each view as a video or a PNG folder with the planned frame count', async () => {
    const rawVideos = dataset.clips.filter((c) => c.rawStorage === 'video');
    const faceFolders = dataset.clips.filter((c) => c.faceStorage === 'frames');
    expect(rawVideos.length).toBeGreaterThan(0);
    expect(rawVideos.length).toBeLessThan(dataset.clips.length);
    expect(faceFolders.length).toBeGreaterThan(0);
    expect(faceFolders.length).toBeLessThan(dataset.clips.length);

    for (const clip of dataset.clips) {
      expect(clip.frames).toBeGreaterThanOrEqual(8);
      expect(clip.frames).toBeLessThanOrEqual(48);
      for (const view of ['raw', 'face'] as const) {
        const where = view === 'raw' ? clip.rawPath : clip.facePath;
        const storage = view === 'raw' ? clip.rawStorage : clip.faceStorage;
        const base = path.join(dataset.root, view === 'raw' ? '0_7_LabelClips' : '2_ClipsforFaceCrop', clip.id);
        expect(where).toBe(storage === 'video' ? `${base}.mp4` : base);
        if (storage === 'frames') {
          const names = (await readdir(where)).sort();
          expect(names).toEqual(Array.from({ length: clip.frames }, (_, i) => `${String(i + 1).padStart(4, '0')}.png`));
        }
      }
    }

    // ffprobe a few videos of each view: H.264, yuv420p, the right size, every frame there.
    const sample = [
      ...rawVideos.slice(0, 3).map((c) => [c, 'raw'] as const),
      ...dataset.clips
        .filter((c) => c.faceStorage === 'video')
        .slice(0, 3)
        .map((c) => [c, 'face'] as const),
    ];
    for (const [clip, view] of sample) {
      const data = await ffprobeCounted(view === 'raw' ? clip.rawPath : clip.facePath);
      const stream = data.streams[0];
      expect(data.streams).toHaveLength(1);
      expect(stream?.codec_name).toBe('h264');
      expect(stream?.pix_fmt).toBe('yuv420p');
      expect({ width: stream?.width, height: stream?.height }).toEqual(demoFrameSize(view, SIZE));
      expect(Number(stream?.nb_read_frames)).toBe(clip.frames);
    }
  });

  it('is read back in full by the FERV39k layout reader', async () => {
    const result = await readFerv39kLayout({ root: dataset.root });
    expect(result.problems).toEqual([]);
    expect(result.clips).toHaveLength(dataset.clips.length);
    const byId = new Map(result.clips.map((clip) => [clip.id, clip]));
    for (const clip of dataset.clips) {
      const read = byId.get(clip.id);
      expect(read?.split).toBe(clip.split);
      expect(read?.label).toBe(clip.label);
      expect(read?.sources.raw).toEqual({ path: clip.rawPath, kind: clip.rawStorage });
      expect(read?.sources.face).toEqual({ path: clip.facePath, kind: clip.faceStorage });
    }
  });

  it('separates the classes by how the face changes over time, not by its average colour', async () => {
    for (const view of ['face', 'raw'] as const) {
      const colours = await Promise.all(dataset.clips.map((clip) => centreColours(clip, view)));
      const temporal = nearestCentroidAccuracy(dataset.clips, colours.map(temporalDescriptor));
      const still = nearestCentroidAccuracy(dataset.clips, colours.map(staticDescriptor));
      // Chance is 1/7 (0.14). On this split the temporal descriptor scores 0.93 in both views, the
      // mean colour 0.25 (face) and 0.18 (raw); 0.21 and 0.06 with 24 + 16 clips per class.
      expect(temporal, `${view} temporal`).toBeGreaterThanOrEqual(0.6);
      expect(still, `${view} static`).toBeLessThanOrEqual(0.3);
    }
  });
});
