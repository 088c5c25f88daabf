import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { InputError } from '../errors/index.js';
import { HASH_READ_CHUNK_BYTES } from './constants.js';

/** sha256 of bytes or of a string's UTF-8 encoding, as lowercase hex. */
export function hashBytes(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
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
