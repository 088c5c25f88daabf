import { access, constants as fsConstants, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import { InputError } from 'shared';
import { FRAME_NAME_PATTERN } from './constants.js';
import type { RenderedView } from './render.js';

/**
 * Options that make the output depend on the frames alone: one encoder thread (x264's
 * threaded decisions depend on timing), bit-exact muxing (no encoder version string),
 * no metadata (no creation time), fixed GOP and no B-frames.
 */
const BITEXACT_OPTIONS = ['-threads 1', '-fflags +bitexact', '-flags:v +bitexact', '-map_metadata -1'];
const VIDEO_OPTIONS = ['-c:v libx264', '-pix_fmt yuv420p', '-preset veryfast', '-crf 16', '-g 16', '-bf 0', '-an'];

/**
 * Fails early, with a clear error, when `ffmpegPath` is not an executable file: fluent-ffmpeg
 * 2.1.3 crashes the process (an uncaught TypeError) when spawning a missing binary.
 */
export async function assertFfmpegExecutable(ffmpegPath: string): Promise<void> {
  try {
    await access(ffmpegPath, fsConstants.X_OK);
  } catch (cause) {
    throw new InputError(
      `ffmpeg ${ffmpegPath}: expected an executable ffmpeg binary, got ${(cause as NodeJS.ErrnoException).code ?? 'an unusable path'}`,
      ffmpegPath,
      { cause },
    );
  }
}

function runFfmpeg(ffmpegPath: string, view: RenderedView, fps: number, output: string, outputOptions: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const { width, height } = view.size;
    ffmpeg()
      .setFfmpegPath(ffmpegPath)
      .input(Readable.from([Buffer.from(view.rgb.buffer, view.rgb.byteOffset, view.rgb.byteLength)]))
      .inputFormat('rawvideo')
      .inputOptions(['-pix_fmt rgb24', `-video_size ${width}x${height}`, `-framerate ${fps}`])
      .outputOptions([...BITEXACT_OPTIONS, ...outputOptions])
      .output(output)
      .on('error', (error: Error, _stdout: string | null, stderr: string | null) => {
        const detail = (stderr ?? '').trim().split('\n').slice(-3).join(' | ');
        reject(
          new InputError(`ffmpeg could not write ${output}: ${error.message}${detail ? ` (${detail})` : ''}`, output, { cause: error }),
        );
      })
      .on('end', () => resolve())
      .run();
  });
}

/** Encodes the frames as an H.264 (yuv420p) `.mp4`. */
export async function writeDemoVideo(ffmpegPath: string, view: RenderedView, fps: number, file: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await runFfmpeg(ffmpegPath, view, fps, file, [...VIDEO_OPTIONS, '-f mp4']);
}

/** Writes the frames as `0001.png`, `0002.png`, ... into `dir`. */
export async function writeDemoFrameFolder(ffmpegPath: string, view: RenderedView, fps: number, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await runFfmpeg(ffmpegPath, view, fps, path.join(dir, FRAME_NAME_PATTERN), [
    '-c:v png',
    '-pix_fmt rgb24',
    '-start_number 1',
    '-f image2',
  ]);
}
