import { stat } from 'node:fs/promises';
import ffmpeg from 'fluent-ffmpeg';
import type { FfprobeData, FfprobeStream } from 'fluent-ffmpeg';
import { InputError } from 'shared';
import type { SourceRef } from '../layouts/types.js';
import { resolveMediaBinaries } from './binaries.js';
import { SourceError, problemOfFsError } from './errors.js';
import { DEFAULT_PROBE_OPTIONS } from './constants.js';
import { listFrameFiles } from './frames-folder.js';
import { hashSource } from './hash.js';
import type { ProbeOptions, ProbeResult } from './types.js';

/** Runs ffprobe (through fluent-ffmpeg) on one file; InputError naming the file when it fails. */
export function ffprobeFile(file: string, extraOptions: string[] = []): Promise<FfprobeData> {
  const { ffprobe } = resolveMediaBinaries();
  return new Promise((resolve, reject) => {
    ffmpeg(file)
      .setFfprobePath(ffprobe)
      .ffprobe(extraOptions, (error: unknown, data: FfprobeData) => {
        if (error) {
          const detail =
            error instanceof Error
              ? (error.message.split('\n').find((line) => /invalid|error|no such/i.test(line)) ?? error.message.split('\n')[0])
              : String(error);
          reject(new SourceError('unreadable', `${file}: not a readable video or image (${detail?.trim()})`, file, { cause: error }));
        } else {
          resolve(data);
        }
      });
  });
}

function positiveNumber(value: unknown): number | undefined {
  const number = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  return Number.isFinite(number) && number > 0 ? number : undefined;
}

function parseRate(rate: string | undefined): number | undefined {
  if (!rate) return undefined;
  const [numerator, denominator] = rate.split('/').map(Number);
  if (numerator === undefined || !Number.isFinite(numerator)) return undefined;
  if (denominator === undefined) return positiveNumber(numerator);
  return denominator > 0 ? positiveNumber(numerator / denominator) : undefined;
}

/**
 * Size after ffmpeg's autorotation: a quarter-turn display matrix (side data `rotation`, or the
 * older `rotate` tag) swaps width and height of the decoded frames.
 */
export function uprightSize(stream: FfprobeStream): { width: number; height: number } {
  const width = positiveNumber(stream.width) ?? 0;
  const height = positiveNumber(stream.height) ?? 0;
  const rotation = Number(stream.rotation ?? (stream['tags'] as Record<string, unknown> | undefined)?.['rotate'] ?? 0);
  const quarterTurn = Number.isFinite(rotation) && Math.abs(Math.round(rotation / 90)) % 2 === 1;
  return quarterTurn ? { width: height, height: width } : { width, height };
}

function videoStreamOf(data: FfprobeData, file: string): FfprobeStream {
  const stream = data.streams.find((candidate) => candidate.codec_type === 'video');
  if (!stream) throw new SourceError('unreadable', `${file}: expected a video stream, found none`, file);
  const { width, height } = uprightSize(stream);
  if (width === 0 || height === 0) throw new SourceError('unreadable', `${file}: video stream has no frame size`, file);
  return stream;
}

async function probeVideo(source: SourceRef, countFrames: boolean): Promise<Omit<ProbeResult, 'contentHash'>> {
  const info = await stat(source.path).catch((error: unknown) => {
    throw new SourceError(problemOfFsError(error), `${source.path}: video file missing or unreadable`, source.path, { cause: error });
  });
  if (info.size === 0) throw new SourceError('zero_length', `${source.path}: video file is empty (0 bytes)`, source.path);

  const data = await ffprobeFile(source.path, countFrames ? ['-count_frames', '-select_streams', 'v:0'] : ['-select_streams', 'v:0']);
  const stream = videoStreamOf(data, source.path);
  const fps = parseRate(stream.avg_frame_rate) ?? parseRate(stream.r_frame_rate) ?? null;
  // ffprobe writes N/A where it could not count; then the container's frame count, else
  // duration x rate, is the best estimate.
  const readFrames = countFrames ? Number(stream.nb_read_frames) : NaN;
  const counted = Number.isInteger(readFrames) && readFrames >= 0 ? readFrames : undefined;
  const duration = positiveNumber(stream.duration) ?? positiveNumber(data.format.duration);
  const estimate = positiveNumber(stream.nb_frames) ?? (duration && fps ? Math.round(duration * fps) : undefined);
  const frameCount = counted ?? estimate ?? 0;
  if (frameCount === 0) throw new SourceError('zero_length', `${source.path}: expected decodable video frames, found none`, source.path);
  return { path: source.path, kind: 'video', frameCount, frameCountExact: counted !== undefined, fps, ...uprightSize(stream) };
}

async function probeFrames(source: SourceRef, frameFiles: readonly string[]): Promise<Omit<ProbeResult, 'contentHash'>> {
  const first = frameFiles[0] as string;
  const stream = videoStreamOf(await ffprobeFile(first), first);
  return { path: source.path, kind: 'frames', frameCount: frameFiles.length, frameCountExact: true, fps: null, ...uprightSize(stream) };
}

/**
 * Frame count, fps, frame size and content hash of a clip. Videos: ffprobe, counting decoded
 * frames (`-count_frames`) rather than trusting the container. Frame folders: jpg/jpeg/png files
 * in natural order, size from the first. Unreadable or empty input: InputError naming the file.
 */
export async function probeSource(source: SourceRef, options: ProbeOptions = {}): Promise<ProbeResult> {
  const countFrames = options.countFrames ?? DEFAULT_PROBE_OPTIONS.countFrames;
  const wantHash = options.hash ?? DEFAULT_PROBE_OPTIONS.hash;
  if (source.kind === 'video') {
    const [probed, contentHash] = await Promise.all([probeVideo(source, countFrames), wantHash ? hashSource(source) : undefined]);
    return contentHash === undefined ? probed : { ...probed, contentHash };
  }
  if (source.kind !== 'frames') {
    throw new InputError(`${source.path}: source kind expected video or frames, got ${String(source.kind)}`, source.path);
  }
  const frameFiles = await listFrameFiles(source.path);
  const [probed, contentHash] = await Promise.all([probeFrames(source, frameFiles), wantHash ? hashSource(source, frameFiles) : undefined]);
  return contentHash === undefined ? probed : { ...probed, contentHash };
}
