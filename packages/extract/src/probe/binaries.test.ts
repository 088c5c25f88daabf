import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findMediaBinaries } from './binaries.js';

const require = createRequire(import.meta.url);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pthnet-bin-'));
  for (const name of ['ffmpeg', 'ffprobe']) {
    await writeFile(path.join(dir, name), '#!/bin/sh\nexit 0\n');
    await chmod(path.join(dir, name), 0o755);
  }
  await writeFile(path.join(dir, 'not-executable'), '');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('findMediaBinaries', () => {
  it('prefers executables on PATH', () => {
    expect(findMediaBinaries({ PATH: ['/nonexistent', dir].join(path.delimiter) })).toEqual({
      ffmpeg: path.join(dir, 'ffmpeg'),
      ffprobe: path.join(dir, 'ffprobe'),
    });
  });

  it('falls back to the installer packages when PATH has none', () => {
    expect(findMediaBinaries({ PATH: '/nonexistent' })).toEqual({
      ffmpeg: (require('@ffmpeg-installer/ffmpeg') as { path: string }).path,
      ffprobe: (require('@ffprobe-installer/ffprobe') as { path: string }).path,
    });
  });

  it('lets FFMPEG_PATH / FFPROBE_PATH override both', () => {
    expect(findMediaBinaries({ PATH: dir, FFMPEG_PATH: '/opt/ff/ffmpeg', FFPROBE_PATH: '/opt/ff/ffprobe' })).toEqual({
      ffmpeg: '/opt/ff/ffmpeg',
      ffprobe: '/opt/ff/ffprobe',
    });
  });
});
