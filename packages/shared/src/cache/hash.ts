import { createHash, hash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { InputError } from '../errors/index.js';
import { HASH_READ_CHUNK_BYTES } from './constants.js';

/** sha256 of bytes or of a string's UTF-8 encoding, as lowercase hex. */
export function hashBytes(data: Uint8Array | string): string {
  // the one-shot form (Node 20.12+): half the cost of a Hash object, which a no-op rerun pays per feature row
  return hash('sha256', data, 'hex');
}

/** Streaming sha256 of a file and its size in bytes; reads the file once. */
export async function hashFileWithSize(path: string): Promise<{ hash: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new InputError(`cannot hash ${path}: expected a readable file`, path, { cause: error });
  }
  try {
    if (!(await handle.stat()).isFile()) {
      throw new InputError(
        `cannot hash ${path}: expected a file, got a ${(await handle.stat()).isDirectory() ? 'directory' : 'special file'}`,
        path,
      );
    }
  } catch (error) {
    await handle.close();
    throw error;
  }
  try {
    const buffer = Buffer.allocUnsafe(HASH_READ_CHUNK_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      bytes += bytesRead;
    }
  } catch (error) {
    throw new InputError(`cannot hash ${path}: read failed (${(error as Error).message})`, path, { cause: error });
  } finally {
    await handle.close();
  }
  return { hash: hash.digest('hex'), bytes };
}

/** Streaming sha256 of a file, as lowercase hex. */
export async function hashFile(path: string): Promise<string> {
  return (await hashFileWithSize(path)).hash;
}

/** One read buffer for `hashFileSync`: allocating a megabyte per file costs more than hashing a small one. */
let syncBuffer: Buffer | undefined;

/**
 * `hashFileWithSize` in this thread without the thread pool: for hashing many small files in a
 * row (a feature import: 233k files of ~20 KB), where an async open, stat, read and close per
 * file cost several times the hashing.
 */
export function hashFileSync(path: string): { hash: string; bytes: number } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new InputError(`cannot hash ${path}: expected a readable file`, path, { cause: error });
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) {
      throw new InputError(`cannot hash ${path}: expected a file, got a ${stats.isDirectory() ? 'directory' : 'special file'}`, path);
    }
    syncBuffer ??= Buffer.allocUnsafe(HASH_READ_CHUNK_BYTES);
    const hash = createHash('sha256');
    let bytes = 0;
    for (;;) {
      let bytesRead: number;
      try {
        bytesRead = readSync(fd, syncBuffer, 0, syncBuffer.length, null);
      } catch (error) {
        throw new InputError(`cannot hash ${path}: read failed (${(error as Error).message})`, path, { cause: error });
      }
      if (bytesRead === 0) break;
      hash.update(syncBuffer.subarray(0, bytesRead));
      bytes += bytesRead;
    }
    return { hash: hash.digest('hex'), bytes };
  } finally {
    closeSync(fd);
  }
}
