import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PthnetError } from '../errors/index.js';

/**
 * The workspace root (the folder with pnpm-workspace.yaml), found from this file rather than
 * from the current directory, so stages, benchmarks and tests agree on it wherever they run.
 */
export function workspaceRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'pnpm-workspace.yaml'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new PthnetError('WORKSPACE', `no pnpm-workspace.yaml above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

/** `<workspace>/../shared`: the read-only spec, golden fixtures and reference data beside the repository. */
export function sharedDir(...parts: string[]): string {
  return path.resolve(workspaceRoot(), '..', 'shared', ...parts);
}

/** `<workspace>/../shared/fixtures/...`: the golden outputs of the reference code. */
export function fixturesDir(...parts: string[]): string {
  return sharedDir('fixtures', ...parts);
}
