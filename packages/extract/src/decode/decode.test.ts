import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, InputError } from 'shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, patternFrames, runFfmpeg, writeLavfiVideo, writePngFrames } from '../probe/testing.js';
import { decodeClip } from './decode.js';

const WIDTH = 64;
const HEIGHT = 48;
const FRAME_BYTES = WIDTH * HEIGHT * 3;
let dir: string;
const pattern12 = patternFrames(12, WIDTH, HEIGHT);

function frameOf(bytes: Uint8Array, index: number): Uint8Array {
  return bytes.subarray(index * FRAME_BYTES, (index + 1) * FRAME_BYTES);
}

beforeAll(async () => {
  dir = await makeTempDir('decode');
  await Promise.all([
    writeLavfiVideo(path.join(dir, 'v17.mp4'), 'testsrc2', 17, WIDTH, HEIGHT),
    writeLavfiVideo(path.join(dir, 'v47.mp4'), 'color=c=0x3366CC', 47, WIDTH, HEIGHT),
    writePngFrames(path.join(dir, 'png12'), pattern12, WIDTH, HEIGHT),
    writeFile(path.join(dir, 'empty.mp4'), new Uint8Array(0)),
    writeFile(path.join(dir, 'random.mp4'), randomBytes(4096)),
  ]);
  // The 17-frame video written out as lossless PNGs by ffmpeg's own decoder.
  await mkdir(path.join(dir, 'v17-png'));
  await runFfmpeg(['-i', path.join(dir, 'v17.mp4'), '-start_number', '1', path.join(dir, 'v17-png', '%d.png')]);
  // Mixed folder: 1.png, 2.jpg, 3.png (pattern frames 0 and 2 losslessly, a JPEG between them).
  await mkdir(path.join(dir, 'mixed'));
  await copyFile(path.join(dir, 'png12', '1.png'), path.join(dir, 'mixed', '1.png'));
  await runFfmpeg(['-f', 'lavfi', '-i', `color=c=red:size=${WIDTH}x${HEIGHT}`, '-frames:v', '1', path.join(dir, 'mixed', '2.jpg')]);
  await copyFile(path.join(dir, 'png12', '3.png'), path.join(dir, 'mixed', '3.png'));
  // A folder with one broken image among good ones.
  await mkdir(path.join(dir, 'broken'));
  await copyFile(path.join(dir, 'png12', '1.png'), path.join(dir, 'broken', '1.png'));
  await writeFile(path.join(dir, 'broken', '2.png'), randomBytes(512));
  await copyFile(path.join(dir, 'png12', '3.png'), path.join(dir, 'broken', '3.png'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('decodeClip on frame folders', () => {
  it('returns exactly the RGB pixels written to the PNGs, in natural order (1..12)', async () => {
    const decoded = await decodeClip({ path: path.join(dir, 'png12'), kind: 'frames' });
    expect(decoded.n).toBe(12);
    expect(decoded.width).toBe(WIDTH);
    expect(decoded.height).toBe(HEIGHT);
    expect(decoded.frames).toBeInstanceOf(Uint8Array);
    expect(decoded.frames.length).toBe(12 * FRAME_BYTES);
    expect(Buffer.from(decoded.frames).equals(Buffer.from(pattern12))).toBe(true);
  });

  it('decodes a folder mixing PNG and JPEG frames', async () => {
    const decoded = await decodeClip({ path: path.join(dir, 'mixed'), kind: 'frames' });
    expect(decoded.n).toBe(3);
    expect(Buffer.from(frameOf(decoded.frames, 0)).equals(Buffer.from(frameOf(pattern12, 0)))).toBe(true);
    expect(Buffer.from(frameOf(decoded.frames, 2)).equals(Buffer.from(frameOf(pattern12, 2)))).toBe(true);
    const middle = frameOf(decoded.frames, 1);
    // A solid red JPEG: within JPEG's rounding of (255, 0, 0) at the centre.
    const centre = ((HEIGHT / 2) * WIDTH + WIDTH / 2) * 3;
    expect(middle[centre]).toBeGreaterThanOrEqual(250);
    expect(middle[centre + 1]).toBeLessThanOrEqual(5);
    expect(middle[centre + 2]).toBeLessThanOrEqual(5);
  });

  it('shrinks to maxSide keeping the aspect ratio', async () => {
    const decoded = await decodeClip({ path: path.join(dir, 'png12'), kind: 'frames' }, { maxSide: 32 });
    expect([decoded.n, decoded.width, decoded.height, decoded.frames.length]).toEqual([12, 32, 24, 12 * 32 * 24 * 3]);
    await expect(decodeClip({ path: path.join(dir, 'png12'), kind: 'frames' }, { maxSide: 0 })).rejects.toThrow(ConfigError);
  });

  it('rejects a folder with an undecodable frame instead of dropping it', async () => {
    const folder = path.join(dir, 'broken');
    await expect(decodeClip({ path: folder, kind: 'frames' })).rejects.toThrow(/expected 3 decodable frames, got 2/);
  });
});

describe('decodeClip on videos', () => {
  it('decodes all 17 frames with the same pixels as the frames extracted to PNG', async () => {
    const video = await decodeClip({ path: path.join(dir, 'v17.mp4'), kind: 'video' });
    expect([video.n, video.width, video.height, video.frames.length]).toEqual([17, WIDTH, HEIGHT, 17 * FRAME_BYTES]);
    const frames = await decodeClip({ path: path.join(dir, 'v17-png'), kind: 'frames' });
    expect(frames.n).toBe(17);
    expect(Buffer.from(video.frames).equals(Buffer.from(frames.frames))).toBe(true);
    // testsrc2 moves, so the comparison covers distinct frames in order.
    expect(Buffer.from(frameOf(video.frames, 0)).equals(Buffer.from(frameOf(video.frames, 16)))).toBe(false);
  });

  it('decodes 47 frames of a solid colour close to its RGB value', async () => {
    const video = await decodeClip({ path: path.join(dir, 'v47.mp4'), kind: 'video' });
    expect(video.n).toBe(47);
    const centre = (46 * HEIGHT * WIDTH + (HEIGHT / 2) * WIDTH + WIDTH / 2) * 3;
    const [r, g, b] = [video.frames[centre], video.frames[centre + 1], video.frames[centre + 2]];
    // 0x3366CC = (51, 102, 204); yuv420p round trip moves each channel by a few levels.
    expect(Math.abs((r ?? 0) - 51)).toBeLessThanOrEqual(4);
    expect(Math.abs((g ?? 0) - 102)).toBeLessThanOrEqual(4);
    expect(Math.abs((b ?? 0) - 204)).toBeLessThanOrEqual(4);
  });

  it('rejects zero-length and random-byte videos with an InputError naming the file', async () => {
    for (const name of ['empty.mp4', 'random.mp4']) {
      const file = path.join(dir, name);
      const error = await decodeClip({ path: file, kind: 'video' }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(InputError);
      expect((error as InputError).path).toBe(file);
      expect((error as Error).message).toContain(name);
    }
  });
});
