import { constants as bufferConstants } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { open, readdir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { NpyFileHeader } from 'shared';
import { ConfigError, InputError, PthnetError, npyHeader, readNpyHeader, readNpySync, writeFileAtomic, writeFully } from 'shared';
import { checkFeatureHeader, firstNonFinite } from '../feature-check/check-file.js';
import { LEVELS, LEVEL_STRIDES } from '../sampling/constants.js';
import type { Level } from '../sampling/types.js';
import { PACKED_FORMAT, PACKED_NAME_PATTERN, PACKED_READ_CHUNK_BYTES, PACKED_VERSION, PACKED_WRITE_CHUNK_BYTES } from './constants.js';
import type {
  BuildPackedDatasetOptions,
  BuildPackedDatasetResult,
  OpenPackedDatasetOptions,
  PackedClipSource,
  PackedDataset,
  PackedDatasetContents,
  PackedIndex,
  PackedLevelIndex,
  RowCountMismatch,
  SkippedClip,
} from './types.js';

/*
 * Packed dataset layout (format `pthnet-packed-features`, version 1), in `outDir`:
 *
 *   <name>.index.json            the entry point: clip ids, labels, label names, D, and per
 *                                level the data file name, total rows, each clip's first row
 *                                (`offsets`) and row count (`counts`); skipped clips.
 *   <name>.<H|M|L>.<build>.npy   per level, every packed clip's feature rows `[n_i, D]`
 *                                concatenated in index order: one float32 little-endian C-order
 *                                .npy `[sum n_i, D]` (numpy.load / mmap_mode work on it). The
 *                                header is numpy's, padded to a multiple of 64 bytes, so clip
 *                                i's rows start at byte `dataOffset + offsets[i] * D * 4`.
 *
 * A reader takes one sequential read per level (or positional reads of one clip's rows), never
 * one file per sample. Every file is written to a temp name, fsynced and renamed. The data files
 * carry a per-build id and the index is renamed last, so a crash at any point leaves the
 * previous index pointing at its own, still present, data files; files of older builds are
 * removed after the new index is in place (so build one name from one process at a time).
 * Float32Array views need a little-endian host, which 'shared' (.npy I/O) already requires.
 */

interface LevelProbe {
  readonly path: string;
  readonly header: NpyFileHeader;
  readonly rows: number;
  readonly D: number;
}

interface KeptClip {
  readonly source: PackedClipSource;
  readonly probes: Readonly<Record<Level, LevelProbe>>;
}

export function packedIndexPath(dir: string, name: string): string {
  return path.join(dir, `${name}.index.json`);
}

function validateBuildOptions(options: BuildPackedDatasetOptions): void {
  if (!Array.isArray(options.clips)) {
    throw new ConfigError(`buildPackedDataset 'clips': expected an array, got ${typeof options.clips}`);
  }
  if (typeof options.outDir !== 'string' || options.outDir === '') {
    throw new ConfigError(`buildPackedDataset 'outDir': expected a folder path, got ${String(options.outDir)}`);
  }
  if (typeof options.name !== 'string' || !PACKED_NAME_PATTERN.test(options.name)) {
    throw new ConfigError(`buildPackedDataset 'name': expected letters, digits, '.', '_' or '-', got ${JSON.stringify(options.name)}`);
  }
  if (options.strides !== undefined && !isStrides(options.strides)) {
    throw new ConfigError(`buildPackedDataset 'strides': expected positive integers H, M, L, got ${JSON.stringify(options.strides)}`);
  }
  if (options.labelNames !== undefined && !options.labelNames.every((label) => typeof label === 'string')) {
    throw new ConfigError(`buildPackedDataset 'labelNames': expected an array of strings, got ${JSON.stringify(options.labelNames)}`);
  }
  const seen = new Set<string>();
  for (const clip of options.clips) {
    if (typeof clip.id !== 'string' || clip.id === '') {
      throw new ConfigError(`buildPackedDataset 'clips[].id': expected a non-empty string, got ${JSON.stringify(clip.id)}`);
    }
    if (seen.has(clip.id)) {
      throw new ConfigError(`buildPackedDataset 'clips': expected unique ids, got ${JSON.stringify(clip.id)} twice`);
    }
    seen.add(clip.id);
    if (!Number.isSafeInteger(clip.label) || clip.label < 0) {
      throw new ConfigError(`buildPackedDataset clip ${clip.id} 'label': expected a non-negative integer, got ${String(clip.label)}`);
    }
  }
}

/** Header checks of one level file (those of `import-features`); a reason to leave the clip out, or its shape. */
function probeLevel(clip: PackedClipSource, level: Level): { probe: LevelProbe } | { skipped: SkippedClip } {
  const file = clip.levels?.[level];
  if (typeof file !== 'string' || file === '') {
    return {
      skipped: { id: clip.id, level, path: '', reason: 'missing-file', check: 'missing', detail: `no ${level} feature file given` },
    };
  }
  const check = checkFeatureHeader(file);
  if (!check.ok) {
    const reason = check.code === 'missing' ? 'missing-file' : check.code === 'empty' ? 'empty' : 'unreadable';
    return { skipped: { id: clip.id, level, path: file, reason, check: check.code, detail: check.detail } };
  }
  return { probe: { path: file, header: check.header, rows: check.rows, D: check.width } };
}

/**
 * Reads one probed level file's rows as little-endian float32 bytes. Synchronous: packing reads
 * tens of thousands of small files one after another, where a thread-pool round trip per read
 * cost more than the read.
 */
function readLevelBytes(probe: LevelProbe): Uint8Array {
  const { header, rows, D } = probe;
  if (header.descr === '<f8') {
    // Rare (the extractor and the reference write float32): parse whole, narrow like `.astype(np.float32)`.
    const array = readNpySync(probe.path);
    if (array.dtype !== 'float64' || array.shape[0] !== rows || array.shape[1] !== D) {
      throw new InputError(
        `${probe.path}: expected float64 (${rows}, ${D}) as probed, got ${array.dtype} (${array.shape.join(', ')})`,
        probe.path,
      );
    }
    const values = Float32Array.from(array.data);
    refuseNonFinite(probe, values);
    return new Uint8Array(values.buffer);
  }
  const byteLength = rows * D * 4;
  const raw = new Uint8Array(byteLength);
  const fd = openSync(probe.path, 'r');
  try {
    let read = 0;
    while (read < byteLength) {
      const bytesRead = readSync(fd, raw, read, byteLength - read, header.dataOffset + read);
      if (bytesRead === 0) {
        throw new InputError(`${probe.path}: expected ${byteLength} data bytes, the file ended after ${read}`, probe.path);
      }
      read += bytesRead;
    }
  } finally {
    closeSync(fd);
  }
  refuseNonFinite(probe, new Float32Array(raw.buffer));
  return raw;
}

/**
 * NaN or infinite features would only show as a NaN loss epochs later: packing stops here,
 * naming the file (`import-features` refuses such files; this catches those made otherwise).
 */
function refuseNonFinite(probe: LevelProbe, values: Float32Array): void {
  const bad = firstNonFinite(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), 4);
  if (bad === undefined) return;
  throw new InputError(
    `${probe.path}: expected finite features, got ${bad.count} NaN or infinite (the first, ${bad.value}, at row ${Math.floor(bad.index / probe.D)}, column ${bad.index % probe.D})`,
    probe.path,
  );
}

/**
 * Packs per-clip feature files into one data file per level plus an index (layout above).
 * Clips missing a level, or whose file is empty or unreadable, are reported in `skipped` and
 * left out of every level, so the levels stay aligned. All files must share one D.
 */
export async function buildPackedDataset(options: BuildPackedDatasetOptions): Promise<BuildPackedDatasetResult> {
  validateBuildOptions(options);
  const { clips, outDir, name, onProgress } = options;

  const kept: KeptClip[] = [];
  const skipped: SkippedClip[] = [];
  const rowCountMismatches: RowCountMismatch[] = [];
  let featureDim: number | undefined;
  let featureDimSource = '';
  for (const [done, clip] of clips.entries()) {
    const results = LEVELS.map((level) => probeLevel(clip, level));
    const failures = results.flatMap((result) => ('skipped' in result ? [result.skipped] : []));
    if (failures.length > 0) {
      skipped.push(...failures);
    } else {
      const probes = Object.fromEntries(LEVELS.map((level, i) => [level, (results[i] as { probe: LevelProbe }).probe])) as Record<
        Level,
        LevelProbe
      >;
      for (const level of LEVELS) {
        const probe = probes[level];
        if (featureDim === undefined) {
          featureDim = probe.D;
          featureDimSource = probe.path;
        } else if (probe.D !== featureDim) {
          throw new InputError(
            `${probe.path}: expected D = ${featureDim} (as in ${featureDimSource}), got D = ${probe.D}; all levels and clips must share one feature width`,
            probe.path,
          );
        }
        const listed = clip.windows?.[level];
        if (listed !== undefined && listed !== probe.rows) {
          rowCountMismatches.push({ id: clip.id, level, path: probe.path, listed, actual: probe.rows });
        }
      }
      kept.push({ source: clip, probes });
    }
    onProgress?.({ phase: 'probe', done: done + 1, total: clips.length });
  }
  if (kept.length === 0 || featureDim === undefined) {
    throw new InputError(
      `packed dataset ${name}: expected at least one clip with all three levels, got none of ${clips.length} (${skipped.length} level files missing or unusable)`,
    );
  }
  const D = featureDim;

  const buildId = randomBytes(4).toString('hex');
  const levels = {} as Record<Level, PackedLevelIndex>;
  const dataPaths = {} as Record<Level, string>;
  for (const level of LEVELS) {
    const counts = kept.map((clip) => clip.probes[level].rows);
    const offsets: number[] = [];
    let total = 0;
    for (const count of counts) {
      offsets.push(total);
      total += count;
    }
    const file = `${name}.${level}.${buildId}.npy`;
    levels[level] = { file, rows: total, offsets, counts };
    dataPaths[level] = path.join(outDir, file);

    await writeFileAtomic(dataPaths[level], async (handle) => {
      await writeFully(handle, npyHeader('float32', [total, D]));
      const chunk = new Uint8Array(PACKED_WRITE_CHUNK_BYTES);
      let filled = 0;
      for (const [done, clip] of kept.entries()) {
        const bytes = readLevelBytes(clip.probes[level]);
        if (filled + bytes.length > chunk.length) {
          await writeFully(handle, chunk.subarray(0, filled));
          filled = 0;
        }
        if (bytes.length > chunk.length) {
          await writeFully(handle, bytes);
        } else {
          chunk.set(bytes, filled);
          filled += bytes.length;
        }
        onProgress?.({ phase: level, done: done + 1, total: kept.length });
      }
      await writeFully(handle, chunk.subarray(0, filled));
    });
  }

  const index: PackedIndex = {
    format: PACKED_FORMAT,
    version: PACKED_VERSION,
    name,
    buildId,
    createdAt: new Date().toISOString(),
    dtype: '<f4',
    D,
    size: kept.length,
    clipIds: kept.map((clip) => clip.source.id),
    labels: kept.map((clip) => clip.source.label),
    labelNames: options.labelNames ? [...options.labelNames] : null,
    strides: { ...(options.strides ?? LEVEL_STRIDES) },
    levels,
    skipped,
  };
  const indexPath = packedIndexPath(outDir, name);
  await writeFileAtomic(indexPath, `${JSON.stringify(index)}\n`);
  await removeOtherBuilds(outDir, name, buildId);

  return {
    indexPath,
    dataPaths,
    size: kept.length,
    D,
    rows: { H: levels.H.rows, M: levels.M.rows, L: levels.L.rows },
    skipped,
    rowCountMismatches,
  };
}

/** Data files of earlier builds of `name`, unreferenced once the new index is in place. */
async function removeOtherBuilds(outDir: string, name: string, buildId: string): Promise<void> {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`^${escaped}\\.[HML]\\.([0-9a-f]+)\\.npy$`);
  for (const entry of await readdir(outDir)) {
    const match = pattern.exec(entry);
    if (match && match[1] !== buildId) await unlink(path.join(outDir, entry)).catch(() => undefined);
  }
}

function isStrides(value: unknown): value is Record<Level, number> {
  if (typeof value !== 'object' || value === null) return false;
  const strides = value as Record<string, unknown>;
  return LEVELS.every((level) => Number.isSafeInteger(strides[level]) && (strides[level] as number) > 0);
}

function showStrides(strides: Readonly<Record<Level, number>>): string {
  return LEVELS.map((level) => `${level} ${strides[level]}`).join(', ');
}

function isIntegerArray(value: unknown, length: number): value is number[] {
  return Array.isArray(value) && value.length === length && value.every((item) => Number.isSafeInteger(item) && (item as number) >= 0);
}

/** Checks an index file's content; throws `InputError` naming the key. */
function validateIndex(json: unknown, file: string): PackedIndex {
  const fail = (key: string, expected: string, got: unknown): never => {
    throw new InputError(`${file}: '${key}': expected ${expected}, got ${JSON.stringify(got)?.slice(0, 80)}`, file);
  };
  if (typeof json !== 'object' || json === null) return fail('(root)', 'an object', json);
  const index = json as Record<string, unknown>;
  if (index.format !== PACKED_FORMAT) fail('format', JSON.stringify(PACKED_FORMAT), index.format);
  if (index.version !== PACKED_VERSION) fail('version', String(PACKED_VERSION), index.version);
  if (index.dtype !== '<f4') fail('dtype', "'<f4'", index.dtype);
  const D = index.D;
  if (!Number.isSafeInteger(D) || (D as number) < 1) fail('D', 'a positive integer', D);
  const size = index.size;
  if (!Number.isSafeInteger(size) || (size as number) < 0) fail('size', 'a non-negative integer', size);
  const n = size as number;
  if (!Array.isArray(index.clipIds) || index.clipIds.length !== n || !index.clipIds.every((id) => typeof id === 'string')) {
    fail('clipIds', `${n} strings`, index.clipIds);
  }
  if (!isIntegerArray(index.labels, n)) fail('labels', `${n} non-negative integers`, index.labels);
  if (index.labelNames !== null && !(Array.isArray(index.labelNames) && index.labelNames.every((label) => typeof label === 'string'))) {
    fail('labelNames', 'null or an array of strings', index.labelNames);
  }
  if (!isStrides(index.strides)) fail('strides', 'positive integers H, M, L', index.strides);
  const levels = index.levels as Record<string, unknown> | undefined;
  if (typeof levels !== 'object' || levels === null) return fail('levels', 'an object with H, M, L', levels);
  for (const level of LEVELS) {
    const entry = levels[level] as Record<string, unknown> | undefined;
    if (typeof entry !== 'object' || entry === null) fail(`levels.${level}`, 'an object', entry);
    const { file: dataFile, rows, offsets, counts } = entry as Record<string, unknown>;
    if (typeof dataFile !== 'string' || dataFile.includes('/') || dataFile.includes('\\')) {
      fail(`levels.${level}.file`, 'a file name in the same folder', dataFile);
    }
    if (!isIntegerArray(counts, n) || !counts.every((count) => count > 0)) {
      fail(`levels.${level}.counts`, `${n} positive integers`, counts);
    }
    if (!isIntegerArray(offsets, n)) fail(`levels.${level}.offsets`, `${n} non-negative integers`, offsets);
    let total = 0;
    (counts as number[]).forEach((count, i) => {
      if ((offsets as number[])[i] !== total)
        fail(`levels.${level}.offsets[${i}]`, `${total} (sum of earlier counts)`, (offsets as number[])[i]);
      total += count;
    });
    if (rows !== total) fail(`levels.${level}.rows`, `${total} (sum of counts)`, rows);
  }
  return index as unknown as PackedIndex;
}

interface LevelStore {
  readonly data: Float32Array | undefined;
  readonly fd: number | undefined;
  readonly dataOffset: number;
}

async function preloadLevel(file: string, dataOffset: number, byteLength: number): Promise<Float32Array> {
  const buffer = new ArrayBuffer(byteLength);
  const bytes = new Uint8Array(buffer);
  const handle = await open(file, 'r');
  try {
    let read = 0;
    while (read < byteLength) {
      const want = Math.min(PACKED_READ_CHUNK_BYTES, byteLength - read);
      const { bytesRead } = await handle.read(bytes, read, want, dataOffset + read);
      if (bytesRead === 0) throw new InputError(`${file}: expected ${byteLength} data bytes, the file ended after ${read}`, file);
      read += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return new Float32Array(buffer);
}

async function readIndex(dir: string, name: string): Promise<{ index: PackedIndex; indexPath: string }> {
  const indexPath = packedIndexPath(dir, name);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(indexPath, 'utf8'));
  } catch (error) {
    throw new InputError(`cannot read packed index ${indexPath}: ${(error as Error).message}`, indexPath, { cause: error });
  }
  return { index: validateIndex(json, indexPath), indexPath };
}

function checkStrides(index: PackedIndex, wanted: Readonly<Record<Level, number>>, name: string, indexPath: string): void {
  if (LEVELS.some((level) => index.strides[level] !== wanted[level])) {
    throw new ConfigError(
      `datasets.strides: expected ${showStrides(wanted)}, got a packed dataset ${name} built from features at ${showStrides(index.strides)} (${indexPath}); run \`pnpm pthnet datasets\` with these strides`,
    );
  }
}

/**
 * What a packed dataset holds, from its index alone: how many clips were packed and which were
 * left out and why (a stage reports an up-to-date dataset with these, never with what it planned).
 */
export async function packedDatasetContents(dir: string, name: string): Promise<PackedDatasetContents> {
  const { index } = await readIndex(dir, name);
  return {
    size: index.size,
    D: index.D,
    labelNames: index.labelNames,
    maxLabel: Math.max(-1, ...index.labels),
    skipped: Array.isArray(index.skipped) ? index.skipped : [],
  };
}

/**
 * Throws a `ConfigError` naming `datasets.strides` unless the packed dataset `name` in `dir` was
 * packed from features at `strides`. Reads the index only: stages call it before deciding that
 * a result is up to date, so a changed setting is never answered with an old result.
 */
export async function checkPackedStrides(dir: string, name: string, strides: Readonly<Record<Level, number>>): Promise<void> {
  const { index, indexPath } = await readIndex(dir, name);
  checkStrides(index, strides, name, indexPath);
}

/**
 * Opens a packed dataset written by `buildPackedDataset`. Checks the index and that each data
 * file's header and size match it, then preloads (default) or keeps the files open for
 * positional reads.
 */
export async function openPackedDataset(dir: string, name: string, options: OpenPackedDatasetOptions = {}): Promise<PackedDataset> {
  const preload = options.preload ?? true;
  if (typeof preload !== 'boolean') {
    throw new ConfigError(`openPackedDataset 'preload': expected a boolean, got ${String(preload)}`);
  }
  const { index, indexPath } = await readIndex(dir, name);
  const { D } = index;

  const stores = {} as Record<Level, LevelStore>;
  const openFds: number[] = [];
  try {
    for (const level of LEVELS) {
      const { file, rows } = index.levels[level];
      const dataPath = path.join(dir, file);
      let header: NpyFileHeader;
      try {
        header = await readNpyHeader(dataPath);
      } catch (error) {
        throw new InputError(`packed data ${dataPath} (level ${level} of ${indexPath}): ${(error as Error).message}`, dataPath, {
          cause: error,
        });
      }
      const byteLength = rows * D * 4;
      if (
        header.descr !== '<f4' ||
        header.fortranOrder ||
        header.shape.length !== 2 ||
        header.shape[0] !== rows ||
        header.shape[1] !== D ||
        header.fileSize !== header.dataOffset + byteLength ||
        header.dataOffset % 4 !== 0
      ) {
        throw new InputError(
          `${dataPath}: expected '<f4' (${rows}, ${D}) in ${header.dataOffset + byteLength} bytes as ${indexPath} says, got ${header.descr} (${header.shape.join(', ')}) in ${header.fileSize} bytes`,
          dataPath,
        );
      }
      if (preload && byteLength <= bufferConstants.MAX_LENGTH) {
        stores[level] = { data: await preloadLevel(dataPath, header.dataOffset, byteLength), fd: undefined, dataOffset: header.dataOffset };
      } else {
        const fd = openSync(dataPath, 'r');
        openFds.push(fd);
        stores[level] = { data: undefined, fd, dataOffset: header.dataOffset };
      }
    }
  } catch (error) {
    for (const fd of openFds) closeSync(fd);
    throw error;
  }

  let closed = false;
  const checkIndex = (level: Level, i: number): void => {
    if (closed) throw new PthnetError('CLOSED', `packed dataset ${name} in ${dir} is closed`);
    if (!LEVELS.includes(level)) throw new ConfigError(`packed dataset 'level': expected H, M or L, got ${String(level)}`);
    if (!Number.isSafeInteger(i) || i < 0 || i >= index.size) {
      throw new ConfigError(`packed dataset ${name} clip index: expected an integer in [0, ${index.size}), got ${String(i)}`);
    }
  };

  return {
    name,
    dir,
    size: index.size,
    D,
    clipIds: index.clipIds,
    labels: Int32Array.from(index.labels),
    labelNames: index.labelNames,
    strides: index.strides,
    rowCount(level: Level, i: number): number {
      checkIndex(level, i);
      return index.levels[level].counts[i] as number;
    },
    rows(level: Level, i: number): Float32Array {
      checkIndex(level, i);
      const offset = index.levels[level].offsets[i] as number;
      const count = index.levels[level].counts[i] as number;
      const store = stores[level];
      if (store.data !== undefined) return store.data.subarray(offset * D, (offset + count) * D);
      const values = new Float32Array(count * D);
      const bytes = new Uint8Array(values.buffer);
      const position = store.dataOffset + offset * D * 4;
      let read = 0;
      while (read < bytes.length) {
        const bytesRead = readSync(store.fd as number, bytes, read, bytes.length - read, position + read);
        if (bytesRead === 0) throw new InputError(`packed data of level ${level} ended early at clip ${i}`, index.levels[level].file);
        read += bytesRead;
      }
      return values;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const fd of openFds) closeSync(fd);
    },
  };
}
