import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import { ConfigError, InputError } from 'shared';
import type { SourceRef } from '../layouts/types.js';
import { resolveMediaBinaries } from '../probe/binaries.js';
import { listFrameFiles } from '../probe/frames-folder.js';
import { ffprobeFile, uprightSize } from '../probe/probe.js';
import { DOWNSCALE_FLAGS, FRAME_CODEC_FAMILY, FRAME_LIST_DURATION_S } from './constants.js';
import type { DecodeOptions, DecodedClip } from './types.js';

interface FrameSize {
  width: number;
  height: number;
}

function targetSize(native: FrameSize, maxSide: number | undefined): FrameSize {
  if (maxSide === undefined) return native;
  if (!Number.isInteger(maxSide) || maxSide < 1) {
    throw new ConfigError(`decode.maxSide: expected a positive integer, got ${String(maxSide)}`);
  }
  const longer = Math.max(native.width, native.height);
  if (longer <= maxSide) return native;
  const scale = maxSide / longer;
  return { width: Math.max(1, Math.round(native.width * scale)), height: Math.max(1, Math.round(native.height * scale)) };
}

/**
 * The scale filter pins the output size, so the raw stream can be cut into frames without
 * parsing ffmpeg's log; at native size it only converts the pixel format.
 */
function scaleFilter(native: FrameSize, target: FrameSize): string {
  const resized = native.width !== target.width || native.height !== target.height;
  return `scale=${target.width}:${target.height}${resized ? `:flags=${DOWNSCALE_FLAGS}` : ''}`;
}

/** Runs one ffmpeg command writing raw RGB24 to a pipe and collects the bytes. */
function runToBuffer(configure: (command: ffmpeg.FfmpegCommand) => ffmpeg.FfmpegCommand, what: string): Promise<Buffer> {
  const { ffmpeg: ffmpegPath } = resolveMediaBinaries();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    // No 'close' event: fluent-ffmpeg takes the target's close for a failure unless the process's
    // exit is seen within 20 ms, which a busy event loop (the backbone runs in this thread) misses,
    // failing clips that decoded fine. The end of the output and the process's exit decide instead.
    const output = new PassThrough({ emitClose: false });
    let commandEnded = false;
    let outputEnded = false;
    let failed = false;
    const finish = () => {
      if (commandEnded && outputEnded && !failed) resolve(Buffer.concat(chunks));
    };
    output.on('data', (chunk: Buffer) => chunks.push(chunk));
    output.on('end', () => {
      outputEnded = true;
      finish();
    });
    const command = configure(ffmpeg().setFfmpegPath(ffmpegPath))
      .outputOptions(['-vsync', '0', '-pix_fmt', 'rgb24'])
      .format('rawvideo')
      .on('error', (error: Error) => {
        failed = true;
        reject(new InputError(`${what}: ffmpeg could not decode it (${error.message.trim()})`, what, { cause: error }));
      })
      .on('end', () => {
        commandEnded = true;
        finish();
      });
    command.pipe(output, { end: true });
  });
}

async function decodeVideo(source: SourceRef, maxSide: number | undefined): Promise<DecodedClip> {
  const info = await stat(source.path).catch((error: unknown) => {
    throw new InputError(`${source.path}: video file missing or unreadable`, source.path, { cause: error });
  });
  if (info.size === 0) throw new InputError(`${source.path}: video file is empty (0 bytes)`, source.path);
  const probed = await ffprobeFile(source.path, ['-select_streams', 'v:0']);
  const stream = probed.streams.find((candidate) => candidate.codec_type === 'video');
  if (!stream) throw new InputError(`${source.path}: expected a video stream, found none`, source.path);
  const native = uprightSize(stream);
  if (native.width === 0 || native.height === 0) throw new InputError(`${source.path}: video stream has no frame size`, source.path);
  const size = targetSize(native, maxSide);
  const bytes = await runToBuffer(
    (command) => command.input(source.path).outputOptions(['-map', '0:v:0', '-an', '-sn', '-dn']).videoFilters(scaleFilter(native, size)),
    source.path,
  );
  return framesOf(bytes, size, source.path);
}

function quoteForConcatList(file: string): string {
  return `'${file.replace(/'/g, "'\\''")}'`;
}

/** Consecutive files that one concat run can decode (same codec family). */
function runsOfSameCodec(files: readonly string[]): string[][] {
  const runs: string[][] = [];
  let previousFamily: string | undefined;
  for (const file of files) {
    const family = FRAME_CODEC_FAMILY[path.extname(file).toLowerCase()];
    const current = runs[runs.length - 1];
    if (current && family === previousFamily) current.push(file);
    else runs.push([file]);
    previousFamily = family;
  }
  return runs;
}

async function decodeFrameFolder(source: SourceRef, maxSide: number | undefined): Promise<DecodedClip> {
  const files = await listFrameFiles(source.path);
  const first = files[0] as string;
  const firstStream = (await ffprobeFile(first)).streams.find((candidate) => candidate.codec_type === 'video');
  if (!firstStream) throw new InputError(`${first}: expected an image, found no picture in it`, first);
  const native = uprightSize(firstStream);
  const size = targetSize(native, maxSide);

  // The concat demuxer feeds every image through one ffmpeg process; the list lives in a
  // private temp folder because list paths are resolved against the list's own location.
  const listDir = await mkdtemp(path.join(os.tmpdir(), 'pthnet-frames-'));
  try {
    const parts: Buffer[] = [];
    for (const [i, run] of runsOfSameCodec(files).entries()) {
      const listPath = path.join(listDir, `run-${i}.ffconcat`);
      const lines = [
        'ffconcat version 1.0',
        ...run.flatMap((file) => [`file ${quoteForConcatList(path.resolve(file))}`, `duration ${FRAME_LIST_DURATION_S}`]),
      ];
      await writeFile(listPath, `${lines.join('\n')}\n`);
      parts.push(
        await runToBuffer(
          (command) => command.input(listPath).inputOptions(['-f', 'concat', '-safe', '0']).videoFilters(scaleFilter(native, size)),
          source.path,
        ),
      );
    }
    const decoded = framesOf(Buffer.concat(parts), size, source.path);
    // ffmpeg skips an undecodable image and still exits 0: only the count shows it.
    if (decoded.n !== files.length) {
      throw new InputError(`frame folder ${source.path}: expected ${files.length} decodable frames, got ${decoded.n}`, source.path);
    }
    return decoded;
  } finally {
    await rm(listDir, { recursive: true, force: true });
  }
}

function framesOf(bytes: Buffer, size: FrameSize, file: string): DecodedClip {
  const frameBytes = size.width * size.height * 3;
  if (bytes.length === 0) throw new InputError(`${file}: expected decodable frames, found none`, file);
  if (bytes.length % frameBytes !== 0) {
    throw new InputError(`${file}: decoded ${bytes.length} bytes, not a whole number of ${size.width}x${size.height} RGB frames`, file);
  }
  // A view when the bytes own their buffer; small results may sit in Node's shared pool, so copy those.
  const ownsBuffer = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  return {
    frames: ownsBuffer ? new Uint8Array(bytes.buffer, 0, bytes.length) : new Uint8Array(bytes),
    n: bytes.length / frameBytes,
    width: size.width,
    height: size.height,
  };
}

/**
 * Every frame of a clip as RGB24 at native size (or shrunk to `maxSide`), through ffmpeg for
 * videos and frame folders alike so both give the same pixels for the same picture. Videos
 * give each decoded frame once (`-vsync 0`), the frames `probeSource` counts. The images of a
 * folder are decoded at the first image's size (ffmpeg rescales any that differ).
 */
export async function decodeClip(source: SourceRef, options: DecodeOptions = {}): Promise<DecodedClip> {
  if (source.kind === 'video') return decodeVideo(source, options.maxSide);
  if (source.kind === 'frames') return decodeFrameFolder(source, options.maxSide);
  throw new InputError(`${source.path}: source kind expected video or frames, got ${String(source.kind)}`, source.path);
}
