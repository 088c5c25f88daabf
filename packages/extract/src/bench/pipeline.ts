import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ffmpeg from 'fluent-ffmpeg';
import { decodeClip } from '../decode/decode.js';
import { resolveMediaBinaries } from '../probe/binaries.js';
import { planWindows } from '../windows/windows.js';

export interface DecodeBenchResult {
  width: number;
  height: number;
  frames: number;
  seconds: number;
  framesPerSecond: number;
}

/** Decode speed: an H.264 test clip made here, decoded to RGB frames a few times. */
export async function benchDecode(
  options: { width?: number; height?: number; frames?: number; repeats?: number } = {},
): Promise<DecodeBenchResult> {
  const { width = 640, height = 360, frames = 96, repeats = 3 } = options;
  const dir = mkdtempSync(join(tmpdir(), 'pthnet-bench-decode-'));
  const file = join(dir, 'clip.mp4');
  try {
    await new Promise<void>((resolve, reject) => {
      ffmpeg()
        .setFfmpegPath(resolveMediaBinaries().ffmpeg)
        .input(`testsrc2=size=${width}x${height}:rate=25`)
        .inputFormat('lavfi')
        .outputOptions(['-frames:v', String(frames), '-pix_fmt', 'yuv420p', '-c:v', 'libx264'])
        .on('end', () => resolve())
        .on('error', reject)
        .save(file);
    });
    const started = performance.now();
    let decoded = 0;
    for (let i = 0; i < repeats; i++) decoded += (await decodeClip({ path: file, kind: 'video' })).n;
    const seconds = (performance.now() - started) / 1000;
    return { width, height, frames: decoded, seconds, framesPerSecond: decoded / seconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface SharingBenchResult {
  source: string;
  clips: number;
  strides: number[];
  /** Backbone passes with one pass per window per stride, per direction. */
  passesWithoutSharing: number;
  passesWithSharing: number;
  saved: number;
  savedFraction: number;
}

/**
 * Backbone passes that sharing windows across strides saves, over the frame counts of a
 * reference clip list (`<path> <frames> <label>`), e.g. the real FERV39k train list.
 */
export function benchWindowSharing(listPath: string, strides: number[] = [4, 8, 16]): SharingBenchResult {
  let without = 0;
  let withSharing = 0;
  let clips = 0;
  for (const line of readFileSync(listPath, 'utf8').split('\n')) {
    const fields = line.trim().split(/\s+/);
    const n = Number(fields[fields.length - 2]);
    if (fields.length < 3 || !Number.isInteger(n) || n < 1) continue;
    const plan = planWindows(n, strides, 'cover', 'forward');
    without += plan.passesWithoutSharing;
    withSharing += plan.windows.length;
    clips += 1;
  }
  return {
    source: listPath,
    clips,
    strides,
    passesWithoutSharing: without,
    passesWithSharing: withSharing,
    saved: without - withSharing,
    savedFraction: (without - withSharing) / Math.max(without, 1),
  };
}
