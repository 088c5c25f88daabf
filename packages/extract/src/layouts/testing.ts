// Test helpers: where the repository's shared reference data lives. Not part of the public API.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding pnpm-workspace.yaml, found by walking up from `fromUrl`. */
export function repoRoot(fromUrl: string): string {
  let dir = path.dirname(fileURLToPath(fromUrl));
  while (!existsSync(path.join(dir, 'pnpm-workspace.yaml'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no pnpm-workspace.yaml above ${fileURLToPath(fromUrl)}`);
    dir = parent;
  }
  return dir;
}

/** `<repo>/../shared/data`: the real reference lists (read-only). */
export function referenceDataDir(fromUrl: string): string {
  return path.resolve(repoRoot(fromUrl), '../shared/data');
}
