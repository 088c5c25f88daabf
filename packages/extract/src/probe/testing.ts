// Test helpers: small media generated with ffmpeg. Not part of the public API.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { resolveMediaBinaries } from './binaries.js';

const execFileAsync = promisify(execFile);

export function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `pthnet-${prefix}-`));
}

export async function runFfmpeg(args: string[]): Promise<void> {
  await execFileAsync(resolveMediaBinaries().ffmpeg, ['-hide_banner', '-loglevel', 'error', '-y', ...args]);
}

/** An H.264 mp4 of `frames` frames at 25 fps from a lavfi source such as `testsrc2` or `color=c=red`. */
export async function writeLavfiVideo(file: string, source: string, frames: number, width: number, height: number): Promise<void> {
  const separator = source.includes('=') ? ':' : '=';
  await runFfmpeg([
    '-f',
    'lavfi',
    '-i',
    `${source}${separator}size=${width}x${height}:rate=25`,
    '-frames:v',
    String(frames),
    '-pix_fmt',
    'yuv420p',
    file,
  ]);
}

/** Known RGB24 frames: every byte a different function of frame, row, column and channel. */
export function patternFrames(n: number, width: number, height: number): Uint8Array {
  const bytes = new Uint8Array(n * height * width * 3);
  let i = 0;
  for (let f = 0; f < n; f++)
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) for (let c = 0; c < 3; c++) bytes[i++] = (f * 37 + y * 5 + x * 3 + c * 85) % 256;
  return bytes;
}

/** Writes raw RGB24 frames as lossless `1.png, 2.png, ...` in `dir` (via ffmpeg's rawvideo demuxer). */
export async function writePngFrames(dir: string, rgb: Uint8Array, width: number, height: number, extension = 'png'): Promise<void> {
  await mkdir(dir, { recursive: true });
  const rawPath = path.join(dir, '..', `${path.basename(dir)}.rgb`);
  await writeFile(rawPath, rgb);
  await runFfmpeg([
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    '-s',
    `${width}x${height}`,
    '-i',
    rawPath,
    '-start_number',
    '1',
    path.join(dir, `%d.${extension}`),
  ]);
}
