import type { BigIntStats } from 'node:fs';
import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';

/**
 * A file's stamp: size, modification time (ns) and inode. Equal stamps are taken to mean equal
 * content, so that a rerun decides "unchanged" from a stat instead of reading the file; a stamp
 * that moved (a touch, a copy, a rewrite) only sends the file to be hashed again. A rewrite that
 * keeps size, mtime and inode goes unnoticed unless hashing is forced (`--rehash`).
 */
export function stampOf(stats: BigIntStats): string {
  return `${stats.size}:${stats.mtimeNs}:${stats.ino}`;
}

/** The stamp of the file at `path` (see `stampOf`), or undefined when it is not a readable file's. */
export async function fileStamp(path: string): Promise<{ stamp: string; bytes: number } | undefined> {
  const stats = await stat(path, { bigint: true }).catch(() => undefined);
  return stats?.isFile() ? { stamp: stampOf(stats), bytes: Number(stats.size) } : undefined;
}

/**
 * `fileStamp` without a round trip through the thread pool: for stat-only passes over hundreds
 * of thousands of files, where a synchronous stat costs microseconds and an async one tens.
 */
export function fileStampSync(path: string): { stamp: string; bytes: number } | undefined {
  const stats = statSync(path, { bigint: true, throwIfNoEntry: false });
  return stats?.isFile() ? { stamp: stampOf(stats), bytes: Number(stats.size) } : undefined;
}
