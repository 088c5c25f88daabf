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
  // biome-ignore lint/style/noNonNullAssertion: one root, one path
  return insideEach([root])(text, where)[0]!;
}

/**
 * `resolveInside` of one relative path under each of several roots (a clip's feature file in
 * each feature folder), for many paths: the roots are resolved once and the path confined once
 * (a plan of 233,610 feature files would otherwise spend most of its time on both).
 */
export function insideEach(roots: readonly string[]): (text: string, where: string) => string[] {
  const resolvedRoots = roots.map((root) => path.resolve(root));
  const prefixes = resolvedRoots.map((root) => (root.endsWith(path.sep) ? root : `${root}${path.sep}`));
  return (text, where) => {
    const relative = confinedRelativePath(text, where);
    return resolvedRoots.map((root, i) => {
      // a confined path is normalised, relative and free of leading `..`: joined, it stays below the root
      const resolved = path.join(root, relative);
      // belt and braces: whatever normalisation did, the result must still be below the root
      if (!resolved.startsWith(prefixes[i] ?? root)) {
        throw new InputError(`${where}: expected a path inside ${root}, got "${text}"`, resolved, { reason: 'path_escape' });
      }
      return resolved;
    });
  };
}
