import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from 'shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareFrameNames, listFrameFiles } from './frames-folder.js';
import { probeSource } from './probe.js';
import { makeTempDir, patternFrames, writeLavfiVideo, writePngFrames } from './testing.js';

const WIDTH = 64;
const HEIGHT = 48;
let dir: string;

beforeAll(async () => {
  dir = await makeTempDir('probe');
  await Promise.all([
    writeLavfiVideo(path.join(dir, 'v17.mp4'), 'testsrc2', 17, WIDTH, HEIGHT),
    writeLavfiVideo(path.join(dir, 'v47.mp4'), 'testsrc2', 47, WIDTH, HEIGHT),
    writePngFrames(path.join(dir, 'frames12'), patternFrames(12, WIDTH, HEIGHT), WIDTH, HEIGHT),
    writeFile(path.join(dir, 'empty.mp4'), new Uint8Array(0)),
    writeFile(path.join(dir, 'random.mp4'), randomBytes(4096)),
    mkdir(path.join(dir, 'no-frames')).then(() => writeFile(path.join(dir, 'no-frames', 'notes.txt'), 'x')),
  ]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('probeSource on videos', () => {
  it('counts the frames of a 17-frame clip exactly and reads fps, size and hash', async () => {
    const file = path.join(dir, 'v17.mp4');
    const probed = await probeSource({ path: file, kind: 'video' });
    const expectedHash = createHash('sha256')
      .update(await readFile(file))
      .digest('hex');
    expect(probed).toEqual({
      path: file,
      kind: 'video',
      frameCount: 17,
      frameCountExact: true,
      fps: 25,
      width: WIDTH,
      height: HEIGHT,
      contentHash: expectedHash,
    });
  });

  it('counts 47 frames, and falls back to the container count when not counting', async () => {
    const file = path.join(dir, 'v47.mp4');
    expect((await probeSource({ path: file, kind: 'video' }, { hash: false })).frameCount).toBe(47);
    const estimated = await probeSource({ path: file, kind: 'video' }, { countFrames: false, hash: false });
    expect(estimated.frameCount).toBe(47);
    expect(estimated.frameCountExact).toBe(false);
    expect(estimated.contentHash).toBeUndefined();
  });

  it('rejects a zero-length video with an InputError naming the file', async () => {
    const file = path.join(dir, 'empty.mp4');
    const error = await probeSource({ path: file, kind: 'video' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).path).toBe(file);
    expect((error as Error).message).toContain('empty.mp4');
  });

  it('rejects random bytes with an InputError naming the file', async () => {
    const file = path.join(dir, 'random.mp4');
    const error = await probeSource({ path: file, kind: 'video' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).path).toBe(file);
  });

  it('rejects a missing video', async () => {
    await expect(probeSource({ path: path.join(dir, 'absent.mp4'), kind: 'video' })).rejects.toThrow(InputError);
  });
});

describe('probeSource on frame folders', () => {
  it('counts the images, reads the size and hashes names + contents in natural order', async () => {
    const folder = path.join(dir, 'frames12');
    const probed = await probeSource({ path: folder, kind: 'frames' });
    const hash = createHash('sha256');
    for (let i = 1; i <= 12; i++) {
      const content = await readFile(path.join(folder, `${i}.png`));
      hash.update(`${i}.png\0${content.length}\0`);
      hash.update(content);
    }
    expect(probed).toEqual({
      path: folder,
      kind: 'frames',
      frameCount: 12,
      frameCountExact: true,
      fps: null,
      width: WIDTH,
      height: HEIGHT,
      contentHash: hash.digest('hex'),
    });
  });

  it('lists frames naturally: 1 < 2 < 10, jpg/jpeg/png only', async () => {
    expect(['10.png', '2.png', '1.png', 'frame_11.jpg', 'frame_9.jpg'].sort(compareFrameNames)).toEqual([
      '1.png',
      '2.png',
      '10.png',
      'frame_9.jpg',
      'frame_11.jpg',
    ]);
    const files = await listFrameFiles(path.join(dir, 'frames12'));
    expect(files.map((file) => path.basename(file))).toEqual(Array.from({ length: 12 }, (_, i) => `${i + 1}.png`));
  });

  it('rejects a folder without frames', async () => {
    await expect(probeSource({ path: path.join(dir, 'no-frames'), kind: 'frames' })).rejects.toThrow(
      /no-frames: expected .jpg\/.jpeg\/.png frames, found none/,
    );
    await expect(probeSource({ path: path.join(dir, 'absent'), kind: 'frames' })).rejects.toThrow(InputError);
  });
});
