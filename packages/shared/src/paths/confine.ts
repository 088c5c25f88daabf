import path from 'node:path';
import { InputError } from '../errors/index.js';

/**
 * A relative path taken from input (a clip id, a listed file), normalised: `/` separators (a
 * `\` is one too), no empty or `.` segments, inner `..` resolved. Throws `InputError` with reason
 * `path_escape`, naming `where` (e.g. `train_All.txt:3`), when it is absolute or its `..`
 * segments lead outside the folder it is relative to: input never names a file outside its root.
 */
export function confinedRelativePath(text: string, where: string): string {
  const slashed = text.replace(/\\/g, '/');
  if (slashed.startsWith('/') || /^[A-Za-z]:/.test(slashed)) {
    throw new InputError(`${where}: expected a path relative to its root, got the absolute "${text}"`, undefined, {
      reason: 'path_escape',
    });
  }
  const normalised = path.posix.normalize(slashed).replace(/\/+$/, '');
  if (normalised === '..' || normalised.startsWith('../')) {
    throw new InputError(`${where}: expected a path inside its root, got "${text}", whose ".." segments lead outside it`, undefined, {
      reason: 'path_escape',
    });
  }
  if (normalised === '.' || normalised === '') {
    throw new InputError(`${where}: expected a path naming something inside its root, got "${text}"`, undefined, { reason: 'path_escape' });
  }
  return normalised;
}

/**
 * `root` joined with a relative path taken from input, confined to `root` (see
 * `confinedRelativePath`): the one way a stage turns a clip id or listed path into a file name.
 */
export function resolveInside(root: string, text: string, where: string): string {
  const resolvedRoot = path.resolve(root);
  const resolved = path.resolve(resolvedRoot, confinedRelativePath(text, where));
  // belt and braces: whatever normalisation did, the result must still be below the root
  const relative = path.relative(resolvedRoot, resolved);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new InputError(`${where}: expected a path inside ${resolvedRoot}, got "${text}"`, resolved, { reason: 'path_escape' });
  }
  return resolved;
}
