// Directory listings instead of one stat per clip: a few hundred readdir calls index a whole
// dataset, which keeps existence checks fast and lets names match whatever their letter case.
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from 'shared';
import { VIDEO_EXTENSIONS } from './constants.js';
import type { SourceKind, SourceRef } from './types.js';

export interface ListedEntry {
  name: string;
  path: string;
  isDirectory: boolean;
  isFile: boolean;
}

/** Entries of `dir` (symbolic links followed), or undefined when it is not a readable folder. */
export async function listDirectory(dir: string): Promise<ListedEntry[] | undefined> {
  let dirents: Dirent[];
  try {
    dirents = await readdir(dir, { withFileTypes: true });
  } catch {
    return undefined;
  }
  return Promise.all(
    dirents.map(async (dirent) => {
      const entryPath = path.join(dir, dirent.name);
      if (!dirent.isSymbolicLink()) {
        return { name: dirent.name, path: entryPath, isDirectory: dirent.isDirectory(), isFile: dirent.isFile() };
      }
      const target = await stat(entryPath).catch(() => undefined);
      return { name: dirent.name, path: entryPath, isDirectory: target?.isDirectory() ?? false, isFile: target?.isFile() ?? false };
    }),
  );
}

/** The child folder of `dir` whose name equals one of `names` ignoring case (first alias wins). */
export async function findChildFolder(dir: string, names: readonly string[]): Promise<string | undefined> {
  const entries = await listDirectory(dir);
  if (!entries) return undefined;
  for (const name of names) {
    const match = entries.find((entry) => entry.isDirectory && entry.name.toLowerCase() === name.toLowerCase());
    if (match) return match.path;
  }
  return undefined;
}

/** The child file of `dir` named `name` ignoring case. */
export async function findChildFile(dir: string, name: string): Promise<string | undefined> {
  const entries = await listDirectory(dir);
  return entries?.find((entry) => entry.isFile && entry.name.toLowerCase() === name.toLowerCase())?.path;
}

export function isHidden(name: string): boolean {
  return name.startsWith('.');
}

/** `video` for a file with a video extension, `frames` for a folder, undefined otherwise. */
export function clipKindOf(entry: ListedEntry): SourceKind | undefined {
  if (entry.isDirectory) return 'frames';
  if (entry.isFile && VIDEO_EXTENSIONS.includes(path.extname(entry.name).toLowerCase())) return 'video';
  return undefined;
}

/** A file name without a video extension; folder names unchanged. */
export function clipStem(name: string): string {
  const extension = path.extname(name);
  return VIDEO_EXTENSIONS.includes(extension.toLowerCase()) ? name.slice(0, -extension.length) : name;
}

/**
 * Every clip `depth` levels below `root` (a video file or a folder), keyed by its lower-cased
 * relative path without the video extension, e.g. `action/sad/0010`. A key can hold both a
 * video and a folder.
 */
export async function indexClipTree(root: string, depth: number): Promise<Map<string, SourceRef[]>> {
  const index = new Map<string, SourceRef[]>();
  async function walk(dir: string, keyParts: string[]): Promise<void> {
    const entries = (await listDirectory(dir)) ?? [];
    if (keyParts.length === depth - 1) {
      for (const entry of entries) {
        if (isHidden(entry.name)) continue;
        const kind = clipKindOf(entry);
        if (!kind) continue;
        const key = [...keyParts, clipStem(entry.name)].join('/').toLowerCase();
        const refs = index.get(key) ?? [];
        refs.push({ path: entry.path, kind });
        index.set(key, refs);
      }
      return;
    }
    await Promise.all(
      entries.filter((entry) => entry.isDirectory && !isHidden(entry.name)).map((entry) => walk(entry.path, [...keyParts, entry.name])),
    );
  }
  await walk(root, []);
  return index;
}

/** The source of the wanted kind when the index has it, else the first one found. */
export function pickSource(refs: readonly SourceRef[] | undefined, preferred: SourceKind): SourceRef | undefined {
  if (!refs || refs.length === 0) return undefined;
  return refs.find((ref) => ref.kind === preferred) ?? refs[0];
}

/** Throws InputError when `dir` is not a folder: without its root a dataset has nothing to read. */
export async function requireFolder(dir: string, what: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new InputError(`${what} ${dir}: expected a folder, found ${info ? 'a file' : 'nothing'}`, dir);
}
