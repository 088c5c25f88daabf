import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { FRAME_EXTENSIONS } from './constants.js';
import { SourceError, problemOfFsError } from './errors.js';

const naturalCollator = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });

/** Natural order (1.png < 2.png < 10.png), code units breaking ties such as 01.png vs 1.png. */
export function compareFrameNames(a: string, b: string): number {
  return naturalCollator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

/** The jpg/jpeg/png files of a frame folder in natural order; InputError when there are none. */
export async function listFrameFiles(folder: string): Promise<string[]> {
  let names: string[];
  try {
    const entries = await readdir(folder, { withFileTypes: true });
    names = entries
      .filter((entry) => (entry.isFile() || entry.isSymbolicLink()) && !entry.name.startsWith('.'))
      .map((entry) => entry.name)
      .filter((name) => FRAME_EXTENSIONS.includes(path.extname(name).toLowerCase()));
  } catch (error) {
    throw new SourceError(problemOfFsError(error), `frame folder ${folder}: cannot be read`, folder, { cause: error });
  }
  if (names.length === 0) {
    throw new SourceError('zero_length', `frame folder ${folder}: expected ${FRAME_EXTENSIONS.join('/')} frames, found none`, folder);
  }
  return names.sort(compareFrameNames).map((name) => path.join(folder, name));
}
