import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { PthnetError } from '../errors/index.js';
import { DEFAULT_TEMP_MAX_AGE_MS, MAX_WRITE_CHUNK_BYTES, TEMP_FILE_PATTERN, TEMP_NAME_RANDOM_BYTES } from './constants.js';
import { isProcessAlive } from './liveness.js';
import type { CleanTempFilesOptions, FileHandleWriter, WriteFileAtomicOptions } from './types.js';

/** A fresh temp path beside `target`: same folder, so the final rename stays on one file system. */
export function tempPathFor(target: string): string {
  const random = randomBytes(TEMP_NAME_RANDOM_BYTES).toString('hex');
  return path.join(path.dirname(target), `${path.basename(target)}.${process.pid}.${random}.tmp`);
}

/** Flushes a folder's entries (a rename is durable only once its folder is). */
export async function fsyncDirectory(directory: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch (error) {
    // Some platforms (Windows) and file systems cannot open or sync a folder; the rename
    // itself is still atomic there, only its durability across power loss is weaker.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EACCES') throw error;
  } finally {
    await handle?.close();
  }
}

/** Flushes a file's data to disk. */
export async function fsyncFile(filePath: string): Promise<void> {
  const handle = await open(filePath, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Renames a complete, fsynced temp file over `target` and fsyncs the folder. */
export async function renameDurably(tempPath: string, target: string): Promise<void> {
  await rename(tempPath, target);
  await fsyncDirectory(path.dirname(target));
}

/**
 * Writes all of `bytes` through an open handle, looping over short writes (one write call may
 * write less, and Linux writes at most about 2 GiB per call). At `position` when given, else at
 * the handle's current position. Returns the position after the bytes (`position` counts as 0
 * when not given, so piecewise writers can chain calls either way).
 */
export async function writeFully(handle: FileHandle, bytes: Uint8Array, position?: number): Promise<number> {
  let done = 0;
  while (done < bytes.length) {
    const length = Math.min(bytes.length - done, MAX_WRITE_CHUNK_BYTES);
    const { bytesWritten } = await handle.write(bytes, done, length, position === undefined ? null : position + done);
    done += bytesWritten;
  }
  return (position ?? 0) + done;
}

/**
 * Writes `target` so that readers (and a crash) see either the old file or the complete new
 * one: the data goes to `<name>.<pid>.<random>.tmp` in the same folder, is fsynced, renamed over
 * the target, and the folder is fsynced. `data` is bytes, a string (UTF-8) or a function that
 * writes through the open temp file handle.
 */
export async function writeFileAtomic(
  target: string,
  data: string | Uint8Array | FileHandleWriter,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const { mkdir: makeFolder = true, mode = 0o666 } = options;
  if (makeFolder) await mkdir(path.dirname(target), { recursive: true });
  const tempPath = tempPathFor(target);
  try {
    const handle = await open(tempPath, 'wx', mode);
    try {
      if (typeof data === 'function') await data(handle);
      else await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await renameDurably(tempPath, target);
  } catch (error) {
    await unlink(tempPath).catch(() => undefined);
    if (error instanceof PthnetError) throw error;
    throw new PthnetError('IO', `cannot write ${target} atomically: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Removes temp files left by killed writers in `directory`: those whose pid is not running
 * (this process's own are kept: they may be in progress) or that are older than `maxAgeMs`.
 * Returns the removed paths. A missing folder has nothing to clean.
 */
export async function cleanStaleTempFiles(directory: string, options: CleanTempFilesOptions = {}): Promise<string[]> {
  const { recursive = false, maxAgeMs = DEFAULT_TEMP_MAX_AGE_MS } = options;
  const removed: string[] = [];
  let entries: Dirent[];
  try {
    entries = await readdir(directory, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return removed;
    throw error;
  }
  for (const entry of entries) {
    const entryPath = path.join(directory, entry.name);
    if (entry.isDirectory()) {
      if (recursive) removed.push(...(await cleanStaleTempFiles(entryPath, options)));
      continue;
    }
    const match = TEMP_FILE_PATTERN.exec(entry.name);
    if (!match || !entry.isFile()) continue;
    const pid = Number(match[2]);
    if (pid === process.pid) continue;
    let stale = !isProcessAlive(pid);
    if (!stale) {
      const info = await stat(entryPath).catch(() => undefined);
      stale = info !== undefined && Date.now() - info.mtimeMs > maxAgeMs;
    }
    if (!stale) continue;
    try {
      await unlink(entryPath);
      removed.push(entryPath);
    } catch (error) {
      // Another process cleaning the same folder got there first.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return removed;
}
