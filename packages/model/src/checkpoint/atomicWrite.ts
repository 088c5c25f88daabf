/**
 * Checkpoint files are replaced atomically through `shared`'s `writeFileAtomic` (temp file,
 * fsync, rename, folder fsync); this adapter reports failures as `CheckpointError` and adds
 * the write loop the piecewise writers (header, then tensor by tensor) need.
 */
import type { FileHandle } from 'node:fs/promises';
import type { FileHandleWriter } from 'shared';
import { CheckpointError, writeFileAtomic } from 'shared';

/** Largest single write: Linux caps one write(2) just under 2 GiB. */
const MAX_WRITE_CHUNK = 1 << 30;

export async function writeAtomically(path: string, write: FileHandleWriter): Promise<void> {
  try {
    await writeFileAtomic(path, write);
  } catch (cause) {
    if (cause instanceof CheckpointError) throw cause;
    throw new CheckpointError(`cannot write checkpoint file ${path}: ${(cause as Error).message}`, path, { cause });
  }
}

/** Writes all of `bytes` at `position`, looping over short writes; returns the next position. */
export async function writeFully(handle: FileHandle, bytes: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, Math.min(bytes.length - done, MAX_WRITE_CHUNK), position + done);
    done += bytesWritten;
  }
  return position + done;
}
