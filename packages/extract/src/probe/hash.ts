import type { Hash } from 'node:crypto';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from 'shared';
import type { SourceRef } from '../layouts/types.js';
import { SourceError, problemOfFsError } from './errors.js';
import { listFrameFiles } from './frames-folder.js';

async function feedFile(hash: Hash, file: string): Promise<void> {
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
}

/**
 * sha256 (hex) of a video file's bytes; for a frame folder, of each frame in natural order as
 * `<file name> NUL <byte length> NUL <bytes>`, so renaming, reordering or editing a frame changes it.
 */
export async function hashSource(source: SourceRef, frameFiles?: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  try {
    if (source.kind === 'video') {
      await feedFile(hash, source.path);
    } else {
      for (const file of frameFiles ?? (await listFrameFiles(source.path))) {
        const content = await readFile(file);
        hash.update(`${path.basename(file)}\0${content.length}\0`);
        hash.update(content);
      }
    }
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new SourceError(problemOfFsError(error), `${source.path}: cannot be read for hashing`, source.path, { cause: error });
  }
  return hash.digest('hex');
}
